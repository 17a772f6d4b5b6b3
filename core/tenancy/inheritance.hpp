#pragma once
// What a tenant inherits from its ancestors (SPEC §4): maintenance windows from the nearest
// ancestor that has its own, and settings key by key, the nearest tenant that sets a key winning.

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/model/object.hpp"

namespace fleet::tenancy {

/// An effective value and the tenant it comes from: the tenant itself or an ancestor.
struct Inherited {
    nlohmann::json value;
    std::string from;
};

/// A tenant's effective policy.
struct Policy {
    std::map<std::string, Inherited> settings;  ///< by key
    std::optional<Inherited> windows;           ///< nullopt: no tenant on the way up sets windows (any time)
    /// updatePolicy.maxParallel: the most devices of this tenant installing at once, over every
    /// rollout and runner; nullopt: no cap. Like windows, from the nearest tenant that sets it, and
    /// counted for each tenant on its own (a provider's cap applies to each customer separately).
    std::optional<Inherited> max_parallel;

    /// The settings' values alone, by key.
    nlohmann::json settings_json() const;
    /// The windows' list; empty when there are none (no restriction).
    nlohmann::json windows_json() const;
};

/// The spec of a tenant by name, or null when there is no such tenant.
using SpecOf = std::function<const nlohmann::json*(const std::string& tenant)>;

/// The effective policy of tenant: its own `settings` and `updatePolicy.windows`, completed from
/// its ancestors nearest first. A tenant whose `updatePolicy.windows` is present (even empty)
/// has its own windows; `updatePolicy.maxParallel` is inherited the same way.
Policy effective_policy(const std::string& tenant, const SpecOf& spec_of);

/// The same over a list of tenants, such as Store::tenant_structure() returns.
Policy effective_policy(const std::string& tenant, const std::vector<model::Object>& tenants);

} // namespace fleet::tenancy
