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

/// Which tenants a command reads or acts on: `--tenant T`, `--tenant T --subtree`, or every visible one.
struct Scope {
    std::string tenant;    ///< empty: every tenant the caller can see
    bool subtree = false;  ///< with tenant: also every tenant below it that the caller can see
};

/// The tenants of a scope that names a tenant, sorted: the tenant alone, or with its visible
/// descendants. not_found when the caller cannot see the tenant. Within the store's open transaction.
util::Result<std::vector<std::string>> scope_tenants(store::Store& store, const Scope& scope);

/// The object of a kind named `name` in one of `tenants` (sorted): not_found when none of them has it (or
/// the caller cannot see it), usage when several do (naming them).
util::Result<model::Object> resolve_among(store::Store& store, model::Kind kind, const std::string& name,
                                          const std::vector<std::string>& tenants);

/// The device limit a tenant spec sets, if any.
std::optional<std::int64_t> device_limit(const nlohmann::json& spec);

} // namespace fleet::tenancy
