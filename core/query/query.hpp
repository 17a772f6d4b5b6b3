#pragma once
// Reading objects for get and describe, with the status fleetadm computes for each kind.

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/model/object.hpp"
#include "core/query/field_selector.hpp"
#include "core/store/store.hpp"

namespace fleet::query {

/// Which objects to read.
struct ListRequest {
    model::Kind kind = model::Kind::tenant;
    std::string tenant;              ///< only this tenant's objects; empty: every visible tenant
    std::vector<std::string> names;  ///< only these (each must exist); empty: all
    std::string selector;            ///< label selector
    const FieldSelector* fields = nullptr;  ///< --field-selector over metadata, spec and status
    bool subtree = false;            ///< with tenant: also the objects of every visible tenant below it
};

/// Calls visit with each matching object and its status, in (tenant, name) order, holding one
/// object at a time (a named object that does not exist fails with not_found before any visit).
/// Runs in its own read transaction.
util::Result<std::size_t> for_each(store::Store& store, const ListRequest& request,
                                   const std::function<void(model::Object&&, nlohmann::json&&)>& visit);

/// The members of a device group: the devices its selector matches or its list names that exist.
util::Result<std::vector<std::string>> group_members(store::Store& store, const model::Object& group);

/// Rollouts of one tenant by state, for `tenant tree`.
struct RolloutHealth {
    /// Rollouts per state as `rollout status` reports it now (SPEC §8).
    std::size_t running = 0, queued = 0, waiting = 0, paused = 0, aborted = 0, completed = 0, not_started = 0;
    std::size_t failed_devices = 0;  ///< failed devices in this tenant's rollouts
};

/// Rollout health of every tenant the caller can see that has rollouts.
util::Result<std::map<std::string, RolloutHealth>> rollout_health(store::Store& store);

/// One line for people: "1 running, 1 paused (3 failed)", or "-" when there are none.
std::string health_text(const RolloutHealth& health);

} // namespace fleet::query
