#pragma once
// Deleting objects by name: `fleetadm delete`.

#include <string>
#include <vector>

#include "core/model/resource.hpp"
#include "core/store/store.hpp"

namespace fleet::apply {

/// One object to delete.
struct Target {
    model::Kind kind;
    std::string tenant;  ///< owning tenant; empty for tenants
    std::string name;
};

/// What to delete and how.
struct DeleteRequest {
    std::vector<Target> targets;
    bool cascade = false;           ///< delete a tenant with its child tenants and objects
    bool ignore_not_found = false;  ///< a missing target is not an error
    bool dry_run = false;
};

/// Deletes the targets in one transaction and returns the refs of everything deleted, in order.
/// A missing target fails with not_found; the provider, or a non-empty tenant without cascade,
/// with conflict. Nothing is written unless every target can be deleted.
util::Result<std::vector<std::string>> delete_objects(store::Store& store, const DeleteRequest& request);

} // namespace fleet::apply
