#pragma once
// One device, one tenant (SPEC §4): recognizing a device that its source moved to another tenant, and
// keeping identity.serial and identity.mac unique across the store.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/store.hpp"
#include "core/util/diagnostics.hpp"
#include "core/util/error.hpp"

namespace fleet::apply {

/// A device of the input that a plan creates, moves, or gives a new identity.
struct DeviceClaim {
    std::string_view tenant, name;
    std::string_view serial, mac;  ///< identity as given; empty: none
    util::Location where;
    bool created = false;          ///< true: no device of this name is stored in tenant
    std::string moved_from;        ///< the tenant the device moves from; empty: none
};

/// True when the input declares a device (tenant, name).
using Declared = std::function<bool(const std::string& tenant, const std::string& name)>;

/// Finds, for each created claim, the tenant its source moved it from: the one device of that name
/// applied from source in another tenant that the input no longer declares there, and whose serial and
/// MAC do not differ from the claim's (a device without identity is recognized by source and name
/// alone). Sets moved_from. A device that `device move
/// --detach` took out of the source, or one the caller cannot see, is a conflict.
util::Result<void> find_moves(store::Store& store, const std::string& source, std::vector<DeviceClaim>& claims,
                              const Declared& declared);

/// True when a stored device (tenant, name) leaves or gives up its identity in this plan.
using Leaving = std::function<bool(const std::string& tenant, const std::string& name)>;

/// Checks that no claim takes a serial number or MAC address (compared in lower case) that another
/// device holds: another claim (invalid input, reported into diags, usage error) or a stored device
/// that stays (conflict, naming that device only when the caller can see its tenant).
util::Result<void> check_identities(store::Store& store, const std::vector<DeviceClaim>& claims,
                                    const Leaving& leaving, util::Diagnostics& diags);

} // namespace fleet::apply
