#pragma once
// The audit log's hash chain: each tenant's entries link to the previous entry's hash, and each
// entry's own hash covers its content and that link, so that an edited, removed or reordered
// entry breaks the chain at a place verify_chain can name.

#include <optional>
#include <string>
#include <vector>

#include "core/store/backend.hpp"

namespace fleet::store {

/// SHA-256 (hex) over an entry's previous hash, sequence, time, actor, tenant, action, object and summary.
std::string entry_hash(const AuditEntry& entry);
/// The same hash for an entry that is given its sequence and previous hash apart (while appending).
std::string entry_hash(std::string_view prev_hash, std::int64_t seq, const AuditEntry& entry);

/// Where a tenant's chain breaks, and why.
struct ChainBreak {
    std::int64_t seq = 0;  ///< the first entry that does not verify (0: the head, for a truncated log)
    std::string reason;
};

/// Checks one tenant's entries (in sequence order) against each other and against the head
/// recorded at the last commit; nullopt when the chain is intact.
std::optional<ChainBreak> verify_chain(const std::vector<AuditEntry>& entries, const std::optional<AuditHead>& head);

} // namespace fleet::store
