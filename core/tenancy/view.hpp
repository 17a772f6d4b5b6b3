#pragma once
// The tenants a caller can see, with their tree and device usage, read in one go.

#include <map>
#include <string>
#include <vector>

#include "core/model/object.hpp"
#include "core/store/store.hpp"
#include "core/tenancy/hierarchy.hpp"

namespace fleet::tenancy {

/// Visible tenants, their hierarchy and usage per subtree.
struct TenantView {
    std::map<std::string, model::Object> tenants;
    Hierarchy tree;
    std::map<std::string, std::int64_t> usage;  ///< devices in each tenant's subtree

    /// The computed status of one tenant, as `get -o json` shows it.
    nlohmann::json status(const std::string& name) const;
};

/// Reads the view within the store's open transaction.
util::Result<TenantView> read_view(store::Store& store);

/// The device limit a tenant spec sets, if any.
std::optional<std::int64_t> device_limit(const nlohmann::json& spec);

} // namespace fleet::tenancy
