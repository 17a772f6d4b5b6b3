#pragma once
// The audit log's hash chain: each tenant's entries link to the previous entry's hash, and each
// entry's own hash covers its content and that link, so that an edited, removed or reordered
// entry breaks the chain at a place verify_chain can name.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
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

/// Appends entries to the tenants' audit logs through a backend, each chained to its tenant's
/// previous entry. The log's next sequence number and each tenant's last hash are read once per
/// write transaction and then kept here, which is sound because write transactions are serialized
/// (Backend's contract); the heads appended to are recorded when the transaction commits.
class AuditChain {
public:
    /// Appends to the logs of backend, which must outlive this.
    explicit AuditChain(Backend& backend) : m_backend(backend) {}

    /// Gives entry its sequence number, previous hash and hash, and inserts it.
    util::Result<void> append(AuditEntry& entry);
    /// As append for each entry in order, inserted together (Backend::insert_audits).
    util::Result<void> append(std::span<AuditEntry> entries);
    /// Records the head of every log appended to; called just before the transaction commits.
    util::Result<void> record_heads();
    /// Forgets what was read and appended (a transaction began, committed or was rolled back).
    void reset() noexcept;

private:
    /// Gives entry its sequence number, previous hash and hash, as the next entry of its tenant's log.
    util::Result<void> link(AuditEntry& entry);

    Backend& m_backend;
    std::optional<std::int64_t> m_next_seq;
    std::unordered_map<std::string, std::string> m_last_hash;  // per tenant, as of this transaction
    std::map<std::string, AuditHead> m_heads_written;
};

} // namespace fleet::store
