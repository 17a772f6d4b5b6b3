#pragma once
// Audit checkpoints: each tenant's newest entry (sequence, hash, time), kept outside the store (a
// git repository, a ticket), and the proof that the log still holds every checkpointed entry
// unchanged. The hash chain alone cannot catch someone who rewrites an entry and all that follow it
// consistently (a database owner can); a checkpoint they do not control can.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/store/audit_chain.hpp"
#include "core/store/store.hpp"

namespace fleet::store {

/// One tenant's newest audit entry when the checkpoint was taken.
struct CheckpointHead {
    std::string tenant;
    std::int64_t seq = 0;
    std::string hash;
    std::string at;  ///< the entry's time
};

/// The newest entry of each audit log the caller can read (one tenant's, when given), in tenant
/// order. Reads the entries themselves, not the store's record of the heads.
util::Result<std::vector<CheckpointHead>> take_checkpoint(Store& store, const std::string* tenant);

/// The checkpoint document: {"apiVersion": "fleetadm/v1", "kind": "AuditCheckpoint", "takenAt", "heads": [...]}.
nlohmann::json checkpoint_json(const std::vector<CheckpointHead>& heads, const std::string& taken_at);

/// Reads a checkpoint document; errors name file and the field (usage errors).
util::Result<std::vector<CheckpointHead>> parse_checkpoint(const std::string& text, const std::string& file);

/// A checkpointed entry the log no longer holds unchanged.
struct CheckpointBreak {
    std::string tenant;
    ChainBreak where;
};

/// Checks that the logs the caller can read (one tenant's, when given) still hold each checkpointed
/// entry with the same hash; returns the first break per tenant, in tenant order.
util::Result<std::vector<CheckpointBreak>> check_checkpoint(Store& store, const std::vector<CheckpointHead>& heads,
                                                            const std::string* tenant);

} // namespace fleet::store
