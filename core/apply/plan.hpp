#pragma once
// What `apply` would change, computed against the store inside one transaction.

#include <cstdint>
#include <string>
#include <vector>

#include "core/apply/diff.hpp"
#include "core/model/resource.hpp"
#include "core/store/store.hpp"
#include "core/util/diagnostics.hpp"
#include "core/util/error.hpp"

namespace fleet::apply {

/// What happens to one object.
enum class Op { create, configure, prune, unchanged };

/// The verb apply prints for an operation: "created", "configured", "pruned", "unchanged".
std::string_view op_verb(Op op);

/// One object's change, with the fields that differ for a configure.
struct Change {
    Op op = Op::unchanged;
    model::Resource resource;  ///< desired state; for a prune the stored object
    std::vector<FieldChange> fields;
};

/// Counts per operation, for the summary line.
struct Counts {
    std::size_t created = 0, configured = 0, pruned = 0, unchanged = 0;
};

/// The full set of changes for one apply.
struct Plan {
    std::string source;                     ///< the source key whose objects prune may delete
    std::string commit;                     ///< git commit the resources come from, if any
    std::int64_t revision = 0;              ///< store revision the plan was computed at
    bool prune = false;
    bool confirm_prune = false;
    std::vector<model::Resource> desired;   ///< the input, kept so that a saved plan can be applied
    std::vector<Change> changes;

    /// Counts per operation.
    Counts counts() const;
    /// True when applying would write anything.
    bool has_changes() const;
};

/// The input of a plan.
struct Request {
    std::vector<model::Resource> desired;
    std::string source;
    std::string commit;
    bool prune = false;
    bool confirm_prune = false;
};

/// Computes the plan for request within the store's open transaction. Invalid input
/// (references, hierarchy, duplicates) is reported into diags and fails with a usage error;
/// limits, objects in use and over-large prunes fail with a conflict.
util::Result<Plan> make_plan(store::Store& store, Request request, util::Diagnostics& diags);

/// Writes the plan's changes within the store's open write transaction.
util::Result<void> execute(store::Store& store, const Plan& plan);

} // namespace fleet::apply
