#pragma once
// What `apply` would change, computed against the store inside one transaction.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/apply/diff.hpp"
#include "core/model/resource.hpp"
#include "core/resource/device_rows.hpp"
#include "core/store/artifacts.hpp"
#include "core/store/store.hpp"
#include "core/util/diagnostics.hpp"
#include "core/util/error.hpp"

namespace fleet::apply {

/// What happens to one object. A move is a device that its source now declares in another tenant
/// (Change::from): moved with its status, then configured if its fields differ.
enum class Op { create, configure, prune, unchanged, move };

/// The verb apply prints for an operation: "created", "configured", "pruned", "unchanged", "moved".
std::string_view op_verb(Op op);

/// One object's change, with the fields that differ for a configure.
struct Change {
    Op op = Op::unchanged;
    /// Desired state (in Plan::desired); for a prune the stored object (in Plan::pruned); null for a
    /// bulk device record, which record points to instead.
    const model::Resource* resource = nullptr;
    std::vector<FieldChange> fields;
    std::int64_t generation = 0;  ///< stored generation; 0 for a create
    std::string created_at;       ///< stored creation time of a configured object; else empty
    const resource::DeviceRecord* record = nullptr;  ///< a device read as text (in Plan::bulk), or null
    std::string from{};           ///< a move: the tenant the device is stored in now

    /// "device/name".
    std::string ref() const;
    /// The tenant that owns the object; empty for a Tenant (which belongs to no tenant).
    std::string tenant() const;
    /// "acme-prod/device/name", or "tenant/acme" for a tenant: as diff, plan and apply print it.
    std::string qualified_ref() const;
    /// The kind of the object.
    model::Kind kind() const;
    /// The object's name.
    const std::string& name() const;
};

/// Counts per operation, for the summary line; a move counts as configured.
struct Counts {
    std::size_t created = 0, configured = 0, pruned = 0, unchanged = 0;
};

/// The full set of changes for one apply. Changes point into desired and pruned, so a plan is
/// moved, never copied.
struct Plan {
    Plan() = default;
    Plan(Plan&&) = default;
    Plan& operator=(Plan&&) = default;
    Plan(const Plan&) = delete;
    Plan& operator=(const Plan&) = delete;

    std::string source;                     ///< the source key whose objects prune may delete
    /// The key an earlier version recorded this source under (its absolute paths), whose objects
    /// the plan counts as the source's; execute() renames it to source first. Empty: none.
    std::string adopted_source;
    std::string commit;                     ///< git commit the resources come from, if any
    std::string previous_commit;            ///< for a git source: the commit applied from it last, if any
    std::int64_t revision = 0;              ///< store revision the plan was computed at
    bool prune = false;
    bool confirm_prune = false;
    std::vector<model::Resource> desired;   ///< the input, kept so that a saved plan can be applied
    std::vector<model::Resource> pruned;    ///< stored objects that prune deletes
    resource::DeviceBatch bulk;             ///< devices of the input read as text (CSV rows)
    std::map<std::string, std::string> artifact_contents;  ///< SHA-256 → bytes of artifacts read from a git tree
    std::vector<Change> changes;
    util::Diagnostics rejected;             ///< with skip_invalid: why objects were left out

    /// Counts per operation.
    Counts counts() const;
    /// True when applying would write anything.
    bool has_changes() const;
};

/// The input of a plan.
struct Request {
    std::vector<model::Resource> desired;
    std::string source;
    /// The key earlier versions recorded the same input under (input::legacy_source_key); adopted
    /// when nothing is recorded under source yet. Empty: none.
    std::string legacy_source;
    std::string commit;
    bool prune = false;
    bool confirm_prune = false;
    bool skip_invalid = false;  ///< drop objects with broken references (reported as rejected) instead of failing
    /// Devices read as text (CSV rows through input::LoadRequest::bulk): planned and written without
    /// JSON trees; their changes point at records instead of resources.
    resource::DeviceBatch bulk{};
    /// Artifacts of a git source, read from its tree (SHA-256 → bytes): stored from here, never
    /// from a path on this machine.
    std::map<std::string, std::string> artifact_contents;
};

/// Computes the plan for request within the store's open transaction. Invalid input
/// (references, hierarchy, duplicates) is reported into diags and fails with a usage error;
/// limits, objects in use and over-large prunes fail with a conflict.
util::Result<Plan> make_plan(store::Store& store, Request request, util::Diagnostics& diags);

/// Writes the plan's changes within the store's open write transaction; artifact files it copies
/// into the area are recorded in copies, which removes them unless the transaction commits.
util::Result<void> execute(store::Store& store, const Plan& plan, store::ArtifactCopies& copies);

} // namespace fleet::apply
