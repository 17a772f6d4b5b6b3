#include "core/store/checkpoint.hpp"

#include <fmt/format.h>

#include <map>

namespace fleet::store {

using util::ErrorKind;
using util::fail;
using util::Result;

Result<std::vector<CheckpointHead>> take_checkpoint(Store& store, const std::string* tenant)
{
    std::map<std::string, CheckpointHead> newest;
    auto r = store.audit(tenant, {}, [&](AuditEntry&& e) {
        auto& head = newest[e.tenant];
        if (e.seq >= head.seq) head = CheckpointHead{e.tenant, e.seq, std::move(e.hash), std::move(e.at)};
    });
    if (!r) return std::unexpected(r.error());
    std::vector<CheckpointHead> out;
    for (auto& [name, head] : newest) out.push_back(std::move(head));
    return out;
}

nlohmann::json checkpoint_json(const std::vector<CheckpointHead>& heads, const std::string& taken_at)
{
    nlohmann::json items = nlohmann::json::array();
    for (const auto& h : heads) items.push_back({{"tenant", h.tenant}, {"seq", h.seq}, {"hash", h.hash}, {"time", h.at}});
    return {{"apiVersion", "fleetadm/v1"}, {"kind", "AuditCheckpoint"}, {"takenAt", taken_at}, {"heads", items}};
}

Result<std::vector<CheckpointHead>> parse_checkpoint(const std::string& text, const std::string& file)
{
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded())
        return fail(ErrorKind::usage, fmt::format("{}: not JSON (expected the output of `fleetadm audit checkpoint`)", file));
    auto bad = [&](const std::string& field, const std::string& why) {
        return fail(ErrorKind::usage, fmt::format("{}: {}: {}", file, field, why));
    };
    if (!doc.is_object() || doc.value("kind", nlohmann::json()) != "AuditCheckpoint")
        return bad("kind", "expected \"AuditCheckpoint\" (the output of `fleetadm audit checkpoint`)");
    if (!doc.contains("heads") || !doc["heads"].is_array()) return bad("heads", "expected a list");
    std::vector<CheckpointHead> out;
    std::size_t i = 0;
    for (const auto& h : doc["heads"]) {
        std::string at = fmt::format("heads[{}]", i++);
        if (!h.is_object()) return bad(at, "expected an object");
        if (!h.contains("tenant") || !h["tenant"].is_string() || h["tenant"].get_ref<const std::string&>().empty())
            return bad(at + ".tenant", "expected a tenant name");
        if (!h.contains("seq") || !h["seq"].is_number_integer() || h["seq"].get<std::int64_t>() < 1)
            return bad(at + ".seq", "expected a sequence number (1 or more)");
        if (!h.contains("hash") || !h["hash"].is_string() || h["hash"].get_ref<const std::string&>().size() != 64)
            return bad(at + ".hash", "expected a SHA-256 in hex");
        out.push_back({h["tenant"].get<std::string>(), h["seq"].get<std::int64_t>(), h["hash"].get<std::string>(),
                       h.value("time", std::string())});
    }
    return out;
}

Result<std::vector<CheckpointBreak>> check_checkpoint(Store& store, const std::vector<CheckpointHead>& heads,
                                                      const std::string* tenant)
{
    // Each checkpointed entry, looked up by tenant and sequence number while the log streams by.
    std::map<std::pair<std::string, std::int64_t>, const CheckpointHead*> wanted;
    for (const auto& h : heads)
        if (!tenant || h.tenant == *tenant) wanted[{h.tenant, h.seq}] = &h;
    std::map<std::pair<std::string, std::int64_t>, std::string> found;  // the hash each has now
    auto r = store.audit(tenant, {}, [&](AuditEntry&& e) {
        if (auto it = wanted.find({e.tenant, e.seq}); it != wanted.end()) found[it->first] = std::move(e.hash);
    });
    if (!r) return std::unexpected(r.error());
    std::map<std::string, CheckpointBreak> breaks;  // the first per tenant
    for (const auto& [key, head] : wanted) {
        if (breaks.contains(key.first)) continue;
        auto now = found.find(key);
        if (now == found.end()) {
            breaks[key.first] = {key.first, {key.second, fmt::format("entry {} of the checkpoint is no longer in the log "
                                                                     "(entries were removed, or the log is not visible "
                                                                     "to you)",
                                                                     key.second)}};
        } else if (now->second != head->hash) {
            breaks[key.first] = {
                key.first, {key.second, fmt::format("entry {} no longer has the checkpointed hash {} (now {}): it or an "
                                                    "entry before it was rewritten",
                                                    key.second, head->hash.substr(0, 12), now->second.substr(0, 12))}};
        }
    }
    std::vector<CheckpointBreak> out;
    for (auto& [name, b] : breaks) out.push_back(std::move(b));
    return out;
}

} // namespace fleet::store
