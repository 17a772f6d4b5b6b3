// fleetadm describe: one object with its status, usage and recent events.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/output.hpp"
#include "core/tenancy/view.hpp"

namespace fleet::cli {

namespace {

struct DescribeOptions {
    std::string kind;
    std::string name;
};

void field(std::ostream& out, std::string_view label, const std::string& value)
{
    out << fmt::format("{:<16}{}\n", std::string(label) + ":", value);
}

void describe_tenant(std::ostream& out, const tenancy::TenantView& view, const model::Object& t,
                     const std::vector<store::AuditEntry>& events)
{
    const auto& r = t.resource;
    const auto& spec = r.spec;
    auto limit = tenancy::device_limit(spec);
    field(out, "Name", r.name);
    field(out, "Parent", spec.value("parent", "<none> (provider)"));
    field(out, "Display Name", spec.value("displayName", "<none>"));
    field(out, "Labels", labels_text(r.labels));
    field(out, "Device Limit", limit ? std::to_string(*limit) : "<none>");
    field(out, "Devices", fmt::format("{} (this tenant and its descendants)", view.usage.at(r.name)));
    auto children = view.tree.children(r.name);
    std::string child_list;
    for (const auto& c : children) child_list += (child_list.empty() ? "" : ", ") + c;
    field(out, "Children", child_list.empty() ? "<none>" : child_list);
    out << "Members:\n";
    if (!spec.contains("members") || spec["members"].empty()) out << "  <none>\n";
    for (const auto& m : spec.value("members", nlohmann::json::array()))
        out << fmt::format("  {:<20}{}\n", m["user"].get<std::string>(), m["role"].get<std::string>());
    out << "Settings:\n";
    if (!spec.contains("settings") || spec["settings"].empty()) out << "  <none>\n";
    const auto settings = spec.value("settings", nlohmann::json::object());
    for (const auto& [k, v] : settings.items())
        out << fmt::format("  {}: {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
    out << "Maintenance Windows:\n";
    auto windows = spec.value("updatePolicy", nlohmann::json::object()).value("windows", nlohmann::json::array());
    if (windows.empty()) out << "  <none> (installs may start at any time)\n";
    for (const auto& w : windows) {
        std::string days;
        for (const auto& d : w.value("days", nlohmann::json::array()))
            days += (days.empty() ? "" : ",") + d.get<std::string>();
        out << fmt::format("  {} {}-{} {}\n", days.empty() ? "daily" : days, w["start"].get<std::string>(),
                           w["end"].get<std::string>(), w.value("timezone", "UTC"));
    }
    field(out, "Source", t.origin.source.empty() ? "<none>" : t.origin.source);
    if (!t.origin.file.empty()) field(out, "Defined At", t.origin.file);
    if (!t.origin.commit.empty()) field(out, "Commit", t.origin.commit);
    field(out, "Created", t.created_at);
    field(out, "Updated", fmt::format("{} (generation {})", t.updated_at, t.generation));
    out << "Events:\n";
    if (events.empty()) out << "  <none>\n";
    for (const auto& e : events)
        out << fmt::format("  {}  {:<12}{:<12}{}\n", e.at, e.actor, e.action, e.summary);
}

Outcome run_describe(const DescribeOptions& opts, const Globals& g)
{
    auto kind = kind_argument(opts.kind);
    if (!kind) return std::unexpected(kind.error());
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto tx = (*store)->begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto view = tenancy::read_view(**store);
    if (!view) return std::unexpected(view.error());
    auto it = view->tenants.find(opts.name);
    if (it == view->tenants.end())
        return util::fail(util::ErrorKind::not_found, fmt::format("tenant/{} not found", opts.name));
    if (g.format() != Format::table && g.format() != Format::wide) {
        print_objects(std::cout, g.format(), *kind, {{it->second, view->status(opts.name)}}, true);
        return util::exit_ok;
    }
    auto events = (*store)->history(it->second, 10);
    if (!events) return std::unexpected(events.error());
    describe_tenant(std::cout, *view, it->second, *events);
    return util::exit_ok;
}

} // namespace

void setup_describe(Context& ctx)
{
    auto opts = std::make_shared<DescribeOptions>();
    auto* cmd = ctx.root.add_subcommand("describe", "Show one object with its status, usage and recent events");
    cmd->add_option("kind", opts->kind, "Kind of the object")->required();
    cmd->add_option("name", opts->name, "Name of the object")->required();
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_describe(*opts, g); }; });
}

} // namespace fleet::cli
