#pragma once
// Moving devices between tenants and decommissioning them.

#include <string>
#include <vector>

#include "core/store/store.hpp"

namespace fleet::apply {

/// Which devices, and where they are.
struct DeviceSelection {
    std::vector<std::string> names;
    std::string tenant;  ///< tenant the devices are in; empty: find each name among the visible tenants
    bool dry_run = false;
    bool detach = false;  ///< move: take source-owned devices out of their source
};

/// Moves devices to tenant `to` in one transaction: the destination and its ancestors must have room
/// (exit 5 otherwise), and the credentials the devices use must exist in the destination. A device applied
/// from a source moves only with selection.detach, which takes it out of that source (exit 5 otherwise):
/// the source's next apply would create it again where it was.
/// Returns one line per device ("device/x moved from a to b").
util::Result<std::vector<std::string>> move_devices(store::Store& store, const DeviceSelection& selection,
                                                    const std::string& to);

/// Removes devices in one transaction, freeing their tenants' quota; audited as decommissioned.
util::Result<std::vector<std::string>> decommission_devices(store::Store& store, const DeviceSelection& selection);

} // namespace fleet::apply
