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
