// fleetadm describe: one object with its status, usage and recent events.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/device_output.hpp"
#include "cmd/output.hpp"
#include "core/query/query.hpp"
#include "core/tenancy/inheritance.hpp"
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

void common_tail(std::ostream& out, const model::Object& o, const std::optional<store::SourceState>& source,
                 const std::vector<store::AuditEntry>& events)
{
    field(out, "Source", o.origin.source.empty() ? "<none>" : o.origin.source);
    if (!o.origin.file.empty()) field(out, "Defined At", o.origin.file);
    if (!o.origin.commit.empty()) field(out, "Git Commit", o.origin.commit + " (last changed this object)");
    if (source && !source->commit.empty())
        field(out, "Source Synced", fmt::format("{} (applied {})", source->commit, source->applied_at));
    field(out, "Created", o.created_at);
    field(out, "Updated", fmt::format("{} (generation {})", o.updated_at, o.generation));
    out << "Events:\n";
    if (events.empty()) out << "  <none>\n";
    for (const auto& e : events) out << fmt::format("  {}  {:<12}{:<15}{}\n", e.at, e.actor, e.action, e.summary);
}

/// Where an effective value comes from, naming only tenants the caller can see.
std::string origin_text(const tenancy::TenantView& view, const std::string& tenant, const std::string& from)
{
    if (from == tenant) return "own";
    return view.tenants.contains(from) ? "inherited from " + from : "inherited from an ancestor";
}

void describe_tenant(std::ostream& out, const tenancy::TenantView& view, const model::Object& t,
                     const tenancy::Policy& policy, const std::optional<store::SourceState>& source,
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
    // Effective values (SPEC §4): own, or inherited from the nearest ancestor that sets them.
    out << "Settings:\n";
    if (policy.settings.empty()) out << "  <none>\n";
    for (const auto& [k, v] : policy.settings)
        out << fmt::format("  {}: {} ({})\n", k, v.value.is_string() ? v.value.get<std::string>() : v.value.dump(),
                           origin_text(view, r.name, v.from));
    out << "Maintenance Windows:"
        << (policy.windows ? " (" + origin_text(view, r.name, policy.windows->from) + ")" : std::string()) << "\n";
    auto windows = policy.windows_json();
    if (windows.empty()) out << "  <none> (installs may start at any time)\n";
    for (const auto& w : windows) {
        std::string days;
        for (const auto& d : w.value("days", nlohmann::json::array()))
            days += (days.empty() ? "" : ",") + d.get<std::string>();
        out << fmt::format("  {} {}-{} {}\n", days.empty() ? "daily" : days, w["start"].get<std::string>(),
                           w["end"].get<std::string>(), w.value("timezone", "UTC"));
    }
    common_tail(out, t, source, events);
}

std::string endpoint_text(const nlohmann::json& e, bool ssh)
{
    std::string text = ssh ? (e.contains("user") ? e["user"].get<std::string>() + "@" : "") + e["host"].get<std::string>() +
                                 (e.contains("port") ? ":" + e["port"].dump() : "")
                           : e["url"].get<std::string>();
    if (e.contains("credential")) text += " (credential " + e["credential"].get<std::string>() + ")";
    if (!ssh) text += " profile " + e.value("profile", "generic");
    return text;
}

void describe_other(std::ostream& out, const model::Object& o, const nlohmann::json& status)
{
    const auto& r = o.resource;
    const auto& spec = r.spec;
    field(out, "Name", r.name);
    field(out, "Tenant", r.tenant);
    field(out, "Labels", labels_text(r.labels));
    switch (r.kind) {
    case model::Kind::device: {
        field(out, "Type", spec.value("deviceType", ""));
        if (spec.contains("identity"))
            for (const auto& [k, v] : spec["identity"].items()) field(out, k == "mac" ? "MAC" : "Serial", v.get<std::string>());
        field(out, "SSH", spec.contains("ssh") ? endpoint_text(spec["ssh"], true) : "<none>");
        field(out, "HTTP", spec.contains("http") ? endpoint_text(spec["http"], false) : "<none>");
        field(out, "Version Probe", spec.value("versionProbe", "<none>"));
        field(out, "Version", status.value("reportedVersion", "<unknown>"));
        field(out, "Reachable", status.contains("reachable") ? (status["reachable"].get<bool>() ? "yes" : "no")
                                                             : "<never checked>");
        field(out, "Last Seen", status.value("lastSeen", "<never>"));
        field(out, "Last Rollout", status.value("lastRollout", "<none>"));
        break;
    }
    case model::Kind::device_group: {
        field(out, "Kind", spec.contains("selector") ? "dynamic" : "static");
        if (spec.contains("selector")) field(out, "Selector", spec["selector"].get<std::string>());
        auto members = status.value("members", nlohmann::json::array());
        field(out, "Devices", std::to_string(members.size()));
        std::size_t shown = 0;
        for (const auto& m : members) {
            if (++shown > 50) {
                out << fmt::format("  ... and {} more\n", members.size() - 50);
                break;
            }
            out << "  " << m.get<std::string>() << "\n";
        }
        break;
    }
    case model::Kind::credential:
        field(out, "Type", spec.value("type", ""));
        for (const char* f : {"privateKeyFile", "tokenFile", "username", "passwordFile", "certFile", "keyFile",
                              "caFile", "fromEnv", "knownHostsFile", "hostKeyPolicy"})
            if (spec.contains(f)) field(out, f, spec[f].get<std::string>());
        break;
    default: break;
    }
}

/// The step outputs recorded for a device (its rollouts', its last exec and check), newest first.
util::Result<std::vector<store::DeviceOutput>> outputs_of(store::Store& store, const model::Object& device)
{
    auto tx = store.begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    return store.device_outputs(device.resource.tenant, device.resource.name, "");
}

Outcome run_describe(const DescribeOptions& given, const Globals& g)
{
    auto named = kind_and_names(given.kind, given.name.empty() ? std::vector<std::string>{} : std::vector{given.name});
    if (!named) return std::unexpected(named.error());
    if (named->second.size() != 1)
        return util::fail(util::ErrorKind::usage, "describe shows one object: KIND NAME or KIND/NAME");
    auto kind = std::optional<model::Kind>(named->first);
    DescribeOptions opts = given;
    opts.name = named->second.front();
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    if (g.format() != Format::table && g.format() != Format::wide) {
        ObjectPrinter printer(std::cout, g.format(), *kind, true);
        std::vector<std::pair<model::Object, nlohmann::json>> found;
        auto count = query::for_each(**store, {*kind, g.default_tenant(), {opts.name}, ""},
                                     [&](model::Object&& o, nlohmann::json&& s) { found.emplace_back(std::move(o), std::move(s)); });
        if (!count) return std::unexpected(count.error());
        for (auto& [object, status] : found) {
            if (*kind == model::Kind::device && g.format() == Format::json) {
                auto outputs = outputs_of(**store, object);
                if (!outputs) return std::unexpected(outputs.error());
                auto list = nlohmann::json::array();
                for (const auto& o : *outputs) list.push_back(output_json(o));
                if (!list.empty()) status["outputs"] = std::move(list);
            }
            printer.add(std::move(object), std::move(status));
        }
        printer.finish();
        return util::exit_ok;
    }
    if (*kind == model::Kind::tenant) {
        auto tx = (*store)->begin(store::TxMode::read);
        if (!tx) return std::unexpected(tx.error());
        auto view = tenancy::read_view(**store);
        if (!view) return std::unexpected(view.error());
        auto it = view->tenants.find(opts.name);
        if (it == view->tenants.end())
            return util::fail(util::ErrorKind::not_found, fmt::format("tenant/{} not found", opts.name));
        auto events = (*store)->history(it->second, 10);
        if (!events) return std::unexpected(events.error());
        auto source = (*store)->source_state(it->second.origin.source);
        if (!source) return std::unexpected(source.error());
        auto structure = (*store)->tenant_structure();  // ancestors the caller may not see lend values too
        if (!structure) return std::unexpected(structure.error());
        auto policy = tenancy::effective_policy(opts.name, *structure);
        describe_tenant(std::cout, *view, it->second, policy, *source, *events);
        return util::exit_ok;
    }
    std::optional<std::pair<model::Object, nlohmann::json>> found;
    auto count = query::for_each(**store, {*kind, g.default_tenant(), {opts.name}, ""},
                                 [&](model::Object&& o, nlohmann::json&& s) { found.emplace(std::move(o), std::move(s)); });
    if (!count) return std::unexpected(count.error());
    auto events = (*store)->history(found->first, 10);
    if (!events) return std::unexpected(events.error());
    auto source = (*store)->source_state(found->first.origin.source);
    if (!source) return std::unexpected(source.error());
    describe_other(std::cout, found->first, found->second);
    if (*kind == model::Kind::device) {
        auto outputs = outputs_of(**store, found->first);
        if (!outputs) return std::unexpected(outputs.error());
        print_outputs(std::cout, *outputs, false);
    }
    common_tail(std::cout, found->first, *source, *events);
    return util::exit_ok;
}

} // namespace

void setup_describe(Context& ctx)
{
    auto opts = std::make_shared<DescribeOptions>();
    auto* cmd = ctx.root.add_subcommand("describe", "Show one object with its status, usage and recent events");
    cmd->add_option("kind", opts->kind, "Kind of the object, or KIND/NAME as -o name prints it")->required();
    cmd->add_option("name", opts->name, "Name of the object");
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_describe(*opts, g); }; });
}

} // namespace fleet::cli
