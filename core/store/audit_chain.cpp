#include "core/store/audit_chain.hpp"

#include <fmt/format.h>

#include <charconv>

#include "core/util/sha256.hpp"

namespace fleet::store {

std::string entry_hash(const AuditEntry& e) { return entry_hash(e.prev_hash, e.seq, e); }

std::string entry_hash(std::string_view prev_hash, std::int64_t seq, const AuditEntry& e)
{
    // The lines "prev\nseq\nat\nactor\ntenant\naction\nobject\nsummary", in a buffer reused between calls.
    thread_local util::Sha256 hasher;
    thread_local std::string text;
    char number[24];
    auto end = std::to_chars(number, number + sizeof number, seq).ptr;
    text.assign(prev_hash);
    text += '\n';
    text.append(number, end);
    for (const std::string* part : {&e.at, &e.actor, &e.tenant, &e.action, &e.object, &e.summary}) {
        text += '\n';
        text += *part;
    }
    hasher.update(text);
    return util::to_hex(hasher.digest());
}

util::Result<void> AuditChain::append(AuditEntry& e)
{
#ifdef FLEETADM_BENCH_WITHOUT_AUDIT
    (void)e;
    return {};  // bench/audit.sh's baseline build: the audit step skipped
#endif
    if (auto r = link(e); !r) return r;
    if (auto r = m_backend.insert_audit(e); !r) {
        reset();  // the failed statement may have ended the transaction
        return r;
    }
    return {};
}

util::Result<void> AuditChain::append(std::span<AuditEntry> entries)
{
#ifdef FLEETADM_BENCH_WITHOUT_AUDIT
    (void)entries;
    return {};
#endif
    for (auto& e : entries)
        if (auto r = link(e); !r) return r;
    if (auto r = m_backend.insert_audits(entries); !r) {
        reset();
        return r;
    }
    return {};
}

util::Result<void> AuditChain::link(AuditEntry& e)
{
    if (!m_next_seq) {
        auto next = m_backend.next_audit_seq();
        if (!next) return std::unexpected(next.error());
        m_next_seq = *next;
    }
    auto last = m_last_hash.find(e.tenant);
    if (last == m_last_hash.end()) {
        // The head recorded at the last commit: a key lookup, where the log itself would need an index
        // (one more write per entry) to find a tenant's newest entry.
        auto head = m_backend.audit_head(e.tenant);
        if (!head) return std::unexpected(head.error());
        last = m_last_hash.emplace(e.tenant, *head ? std::move((*head)->hash) : std::string()).first;
    }
    e.seq = *m_next_seq;
    e.prev_hash = last->second;
    e.hash = entry_hash(e);
    ++*m_next_seq;
    last->second = e.hash;
    m_heads_written[e.tenant] = AuditHead{e.seq, e.hash};
    return {};
}

util::Result<void> AuditChain::record_heads()
{
    for (const auto& [tenant, head] : m_heads_written)
        if (auto r = m_backend.put_audit_head(tenant, head); !r) return r;
    return {};
}

void AuditChain::reset() noexcept
{
    m_next_seq.reset();
    m_last_hash.clear();
    m_heads_written.clear();
}

std::optional<ChainBreak> verify_chain(const std::vector<AuditEntry>& entries, const std::optional<AuditHead>& head)
{
    std::string previous;
    std::int64_t previous_seq = 0;
    for (const auto& e : entries) {
        if (e.seq <= previous_seq)
            return ChainBreak{e.seq, fmt::format("sequence {} follows {}: entries were reordered", e.seq, previous_seq)};
        if (e.prev_hash != previous) {
            for (const auto& later : entries)
                if (later.seq > e.seq && later.hash == e.prev_hash)
                    return ChainBreak{e.seq, fmt::format("it links to entry {}, which comes after it: entries were "
                                                         "reordered",
                                                         later.seq)};
        }
        if (e.prev_hash != previous)
            return ChainBreak{e.seq, previous_seq == 0 && !e.prev_hash.empty()
                                         ? "it links to an entry that is no longer there (earlier entries were removed)"
                                         : fmt::format("it does not link to entry {} (an entry between them was removed "
                                                       "or changed)",
                                                       previous_seq)};
        if (entry_hash(e) != e.hash) return ChainBreak{e.seq, "its content does not match its hash (it was edited)"};
        previous = e.hash;
        previous_seq = e.seq;
    }
    if (head && (head->seq != previous_seq || head->hash != previous))
        return ChainBreak{previous_seq, fmt::format("the log ends at entry {}, but the last commit recorded entry {}: "
                                                    "newer entries were removed",
                                                    previous_seq, head->seq)};
    return std::nullopt;
}

} // namespace fleet::store
