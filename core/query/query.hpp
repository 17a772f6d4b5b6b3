#pragma once
// Reading objects for get and describe, with the status fleetadm computes for each kind.

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/model/object.hpp"
#include "core/store/store.hpp"

namespace fleet::query {

/// Which objects to read.
struct ListRequest {
    model::Kind kind = model::Kind::tenant;
    std::string tenant;              ///< only this tenant's objects; empty: every visible tenant
    std::vector<std::string> names;  ///< only these (each must exist); empty: all
    std::string selector;            ///< label selector
};

/// Calls visit with each matching object and its status, in (tenant, name) order, holding one
/// object at a time (a named object that does not exist fails with not_found before any visit).
/// Runs in its own read transaction.
util::Result<std::size_t> for_each(store::Store& store, const ListRequest& request,
                                   const std::function<void(model::Object&&, nlohmann::json&&)>& visit);

/// The members of a device group: the devices its selector matches or its list names that exist.
util::Result<std::vector<std::string>> group_members(store::Store& store, const model::Object& group);

} // namespace fleet::query
