// fleetadm audit [verify|checkpoint]: read the tenants' audit logs, check their hash chains, and take
// or check checkpoints kept outside the store.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/output.hpp"
#include "core/model/object.hpp"
#include "core/store/checkpoint.hpp"
#include "core/util/duration.hpp"

namespace fleet::cli {

namespace {

struct AuditOptions {
    std::string since;
    std::string action;
    bool all_tenants = false;
    bool subtree = false;
    std::string checkpoint;  ///< verify --checkpoint FILE
};

/// A checkpoint file's heads: errors name the file (and the field).
util::Result<std::vector<store::CheckpointHead>> read_checkpoint(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return util::fail(util::ErrorKind::usage, fmt::format("--checkpoint {}: cannot read the file", path));
    constexpr std::size_t limit = 64 << 20;  // a heads list of a million tenants is far below
    std::string text;
    char buffer[1 << 16];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        text.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (text.size() > limit)
            return util::fail(util::ErrorKind::usage, fmt::format("{}: larger than 64 MiB: not a checkpoint", path));
    }
    return store::parse_checkpoint(text, path);
}

/// The tenants an audit command covers: `tenant()` for the store's calls (null: every visible one)
/// and, with --subtree, the tenants whose logs are kept of what they return.
class AuditScope {
public:
    static util::Result<AuditScope> of(store::Store& store, const AuditOptions& opts, const Globals& g)
    {
        auto scope = tenant_scope(g, opts.all_tenants, opts.subtree);
        if (!scope) return std::unexpected(scope.error());
        AuditScope out;
        out.m_subtree = scope->subtree;
        if (scope->tenant.empty()) return out;
        auto tenants = tenancy::scope_tenants(store, *scope);
        if (!tenants) return std::unexpected(tenants.error());
        if (out.m_subtree)
            out.m_keep = std::move(*tenants);
        else
            out.m_tenant = scope->tenant;
        return out;
    }
    const std::string* tenant() const { return m_tenant.empty() ? nullptr : &m_tenant; }
    bool keeps(const std::string& tenant) const
    {
        return !m_subtree || std::binary_search(m_keep.begin(), m_keep.end(), tenant);
    }

private:
    std::string m_tenant;
    bool m_subtree = false;
    std::vector<std::string> m_keep;  ///< sorted
};

nlohmann::json entry_json(const store::AuditEntry& e)
{
    return {{"seq", e.seq},       {"time", e.at},       {"actor", e.actor},         {"tenant", e.tenant},
            {"action", e.action}, {"object", e.object}, {"summary", e.summary},     {"prevHash", e.prev_hash},
            {"hash", e.hash}};
}

Outcome run_audit(const AuditOptions& opts, const Globals& g)
{
    store::AuditFilter filter{"", opts.action};
    if (!opts.since.empty()) {
        if (opts.since.find('T') != std::string::npos) {
            filter.since = opts.since;
        } else {
            auto ago = util::parse_duration(opts.since);
            if (!ago) return std::unexpected(ago.error());
            filter.since = util::utc_ago(*ago);
        }
    }
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto tx = (*store)->begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto scope = AuditScope::of(**store, opts, g);
    if (!scope) return std::unexpected(scope.error());
    Table table({"SEQ", "TIME", "ACTOR", "TENANT", "ACTION", "OBJECT", "SUMMARY"});
    std::size_t count = 0;
    if (g.format() == Format::json) std::cout << R"({"apiVersion":"fleetadm/v1","kind":"AuditLog","items":[)";
    if (g.format() == Format::csv) std::cout << "seq,time,actor,tenant,action,object,summary,prev_hash,hash\n";
    auto r = (*store)->audit(scope->tenant(), filter, [&](store::AuditEntry&& e) {
        if (!scope->keeps(e.tenant)) return;
        if (g.format() == Format::json)
            std::cout << (count ? ",\n" : "\n") << entry_json(e).dump();
        else if (g.format() == Format::csv)
            std::cout << fmt::format("{},{},{},{},{},{},{},{},{}\n", e.seq, e.at, csv_field(e.actor), e.tenant,
                                     e.action, csv_field(e.object), csv_field(e.summary), e.prev_hash, e.hash);
        else
            table.add({std::to_string(e.seq), e.at, e.actor, e.tenant, e.action, e.object, e.summary});
        ++count;
    });
    if (!r) return std::unexpected(r.error());
    if (g.format() == Format::json) std::cout << (count ? "\n" : "") << "]}\n";
    if (g.format() == Format::table || g.format() == Format::wide) {
        if (count)
            table.print(std::cout);
        else if (!g.quiet)
            std::cerr << "No audit entries found.\n";
    }
    return util::exit_ok;
}

Outcome run_verify(const AuditOptions& opts, const Globals& g)
{
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto tx = (*store)->begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto scope = AuditScope::of(**store, opts, g);
    if (!scope) return std::unexpected(scope.error());
    std::vector<store::CheckpointHead> checkpoint;
    if (!opts.checkpoint.empty()) {
        auto read = read_checkpoint(opts.checkpoint);
        if (!read) return std::unexpected(read.error());
        checkpoint = std::move(*read);
    }
    auto results = (*store)->verify_audit(scope->tenant());
    if (!results) return std::unexpected(results.error());
    std::erase_if(*results, [&](const auto& r) { return !scope->keeps(std::get<0>(r)); });
    if (!opts.checkpoint.empty()) {
        // A log whose chain holds may still have been rewritten from some entry on, consistently;
        // the checkpoint (kept elsewhere) says which entries it must still hold unchanged.
        auto breaks = store::check_checkpoint(**store, checkpoint, scope->tenant());
        if (!breaks) return std::unexpected(breaks.error());
        for (auto& b : *breaks) {
            if (!scope->keeps(b.tenant)) continue;
            auto it = std::find_if(results->begin(), results->end(), [&](const auto& r) { return std::get<0>(r) == b.tenant; });
            if (it == results->end())
                results->emplace_back(b.tenant, 0, b.where);
            else if (!std::get<2>(*it) || std::get<2>(*it)->seq > b.where.seq)
                std::get<2>(*it) = b.where;
        }
        std::sort(results->begin(), results->end(),
                  [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
    }
    bool broken = false;
    nlohmann::json items = nlohmann::json::array();
    for (const auto& [name, count, fault] : *results) {
        broken = broken || fault.has_value();
        nlohmann::json item = {{"tenant", name}, {"entries", count}, {"intact", !fault}};
        if (fault) item["brokenAt"] = fault->seq, item["reason"] = fault->reason;
        items.push_back(std::move(item));
        if (g.format() == Format::json || g.quiet) continue;
        if (fault)
            std::cout << fmt::format("tenant {}: BROKEN at entry {}: {}\n", name, fault->seq, fault->reason);
        else
            std::cout << fmt::format("tenant {}: {} entries, chain intact\n", name, count);
    }
    if (g.format() == Format::json) std::cout << nlohmann::json{{"intact", !broken}, {"logs", items}}.dump(2) << "\n";
    return broken ? util::exit_non_clean : util::exit_ok;
}

Outcome run_checkpoint(const AuditOptions& opts, const Globals& g)
{
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto tx = (*store)->begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto scope = AuditScope::of(**store, opts, g);
    if (!scope) return std::unexpected(scope.error());
    auto heads = store::take_checkpoint(**store, scope->tenant());
    if (!heads) return std::unexpected(heads.error());
    std::erase_if(*heads, [&](const store::CheckpointHead& h) { return !scope->keeps(h.tenant); });
    std::cout << store::checkpoint_json(*heads, model::now_utc()).dump(2) << "\n";
    return util::exit_ok;
}

} // namespace

void setup_audit(Context& ctx)
{
    auto opts = std::make_shared<AuditOptions>();
    auto* cmd = ctx.root.add_subcommand("audit", "List audit log entries (-o table|json|csv), or check the logs' hash chains");
    cmd->add_option("--since", opts->since, "Entries since an RFC 3339 time or a duration ago (30m, 2h, 7d)")
        ->type_name("TIME|DURATION");
    cmd->add_option("--action", opts->action, "Only entries of this action (created, configured, deleted, ...)");
    cmd->add_flag("-A,--all-tenants", opts->all_tenants, "Every tenant's log the caller can see (default without --tenant)");
    add_subtree_flag(*cmd, opts->subtree);
    auto* verify = cmd->add_subcommand("verify", "Recompute each audit log's hash chain; exit 1 and name the first "
                                                 "broken entry if one was edited, removed or reordered");
    verify->add_flag("-A,--all-tenants", opts->all_tenants, "Every tenant's log the caller can see");
    add_subtree_flag(*verify, opts->subtree);
    verify->add_option("--checkpoint", opts->checkpoint,
                       "Also prove that the logs still hold every entry of a checkpoint (from `audit checkpoint`) "
                       "unchanged; exit 1 naming the first tenant and entry that do not")
        ->type_name("FILE");
    verify->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_verify(*opts, g); }; });
    auto* checkpoint = cmd->add_subcommand(
        "checkpoint", "Print each visible tenant's newest audit entry (tenant, sequence, hash, time) as JSON, to keep "
                      "outside the store for `audit verify --checkpoint`");
    checkpoint->add_flag("-A,--all-tenants", opts->all_tenants, "Every tenant's log the caller can see");
    add_subtree_flag(*checkpoint, opts->subtree);
    checkpoint->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_checkpoint(*opts, g); }; });
    cmd->callback([opts, verify, checkpoint, &ctx] {
        if (verify->parsed() || checkpoint->parsed()) return;
        ctx.runner = [opts, &g = ctx.globals] { return run_audit(*opts, g); };
    });
}

} // namespace fleet::cli
