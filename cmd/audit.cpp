// fleetadm audit [verify]: read the tenants' audit logs and check their hash chains.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/output.hpp"
#include "core/util/duration.hpp"

namespace fleet::cli {

namespace {

struct AuditOptions {
    std::string since;
    std::string action;
    bool all_tenants = false;
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
    std::string tenant = opts.all_tenants ? "" : g.default_tenant();
    auto tx = (*store)->begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    Table table({"SEQ", "TIME", "ACTOR", "TENANT", "ACTION", "OBJECT", "SUMMARY"});
    std::size_t count = 0;
    if (g.format() == Format::json) std::cout << R"({"apiVersion":"fleetadm/v1","kind":"AuditLog","items":[)";
    if (g.format() == Format::csv) std::cout << "seq,time,actor,tenant,action,object,summary,prev_hash,hash\n";
    auto r = (*store)->audit(tenant.empty() ? nullptr : &tenant, filter, [&](store::AuditEntry&& e) {
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
    std::string tenant = opts.all_tenants ? "" : g.default_tenant();
    auto tx = (*store)->begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto results = (*store)->verify_audit(tenant.empty() ? nullptr : &tenant);
    if (!results) return std::unexpected(results.error());
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

} // namespace

void setup_audit(Context& ctx)
{
    auto opts = std::make_shared<AuditOptions>();
    auto* cmd = ctx.root.add_subcommand("audit", "List audit log entries (-o table|json|csv), or check the logs' hash chains");
    cmd->add_option("--since", opts->since, "Entries since an RFC 3339 time or a duration ago (30m, 2h, 7d)")
        ->type_name("TIME|DURATION");
    cmd->add_option("--action", opts->action, "Only entries of this action (created, configured, deleted, ...)");
    cmd->add_flag("-A,--all-tenants", opts->all_tenants, "Every tenant's log the caller can see (default without --tenant)");
    auto* verify = cmd->add_subcommand("verify", "Recompute each audit log's hash chain; exit 1 and name the first "
                                                 "broken entry if one was edited, removed or reordered");
    verify->add_flag("-A,--all-tenants", opts->all_tenants, "Every tenant's log the caller can see");
    verify->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_verify(*opts, g); }; });
    cmd->callback([opts, verify, &ctx] {
        if (verify->parsed()) return;
        ctx.runner = [opts, &g = ctx.globals] { return run_audit(*opts, g); };
    });
}

} // namespace fleet::cli
