#pragma once
// `store migrate`: copies a whole store into an empty one, between any two backends.

#include <cstdint>
#include <string>

#include "core/store/store.hpp"
#include "core/util/error.hpp"

namespace fleet::store {

/// What a migration copied.
struct MigrateCounts {
    std::size_t objects = 0, sources = 0, statuses = 0, rollout_runs = 0, rollout_devices = 0, outputs = 0;
    std::size_t audit_entries = 0, artifacts = 0;
    bool target_caller_is_admin = true;  ///< whether the target's own caller (its database login) is a provider admin there
};

/// Copies everything in `from` into `to`, which must be empty (initialized by nobody): objects with
/// their bookkeeping, sources with their commits and detached devices, device status and outputs,
/// rollout runtime (runs, leases, per-device progress), the store revision, every audit log with its
/// sequence numbers, hashes and heads unchanged, and every artifact's bytes (verified by SHA-256 as
/// they are copied). One read transaction on `from`, which is left unchanged, and one write
/// transaction on `to`: the copy lands whole or not at all. The caller must be an admin of the
/// provider tenant in `from`; the copy is written as that caller.
util::Result<MigrateCounts> migrate(Store& from, Store& to);

} // namespace fleet::store
