// fleetadm tenant tree: the hierarchy with device usage against limits and rollout health.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/output.hpp"
#include "core/query/query.hpp"
#include "core/tenancy/view.hpp"

namespace fleet::cli {

namespace {

struct TreeOptions {
    std::string root;
};

std::string limit_text(const tenancy::TenantView& view, const std::string& name)
{
    auto limit = tenancy::device_limit(view.tenants.at(name).resource.spec);
    return limit ? std::to_string(*limit) : "-";
}

using Health = std::map<std::string, query::RolloutHealth>;

void add_rows(Table& table, const tenancy::TenantView& view, const Health& health, const std::string& name,
              const std::string& prefix, const std::string& branch)
{
    auto h = health.find(name);
    table.add({prefix + branch + name, std::to_string(view.usage.at(name)), limit_text(view, name),
               h == health.end() ? "-" : query::health_text(h->second)});
    auto children = view.tree.children(name);
    std::string next = prefix + (branch == "├── " ? "│   " : branch.empty() ? "" : "    ");
    for (std::size_t i = 0; i < children.size(); ++i)
        add_rows(table, view, health, children[i], next, i + 1 < children.size() ? "├── " : "└── ");
}

nlohmann::json tree_json(const tenancy::TenantView& view, const Health& health, const std::string& name)
{
    auto limit = tenancy::device_limit(view.tenants.at(name).resource.spec);
    nlohmann::json node = {{"name", name}, {"devices", view.usage.at(name)}, {"children", nlohmann::json::array()}};
    node["deviceLimit"] = limit ? nlohmann::json(*limit) : nlohmann::json();
    query::RolloutHealth h;
    if (auto it = health.find(name); it != health.end()) h = it->second;
    node["rollouts"] = {{"running", h.running},     {"queued", h.queued},           {"waiting", h.waiting},
                        {"paused", h.paused},       {"aborted", h.aborted},         {"completed", h.completed},
                        {"notStarted", h.not_started}, {"failedDevices", h.failed_devices}};
    for (const auto& c : view.tree.children(name)) node["children"].push_back(tree_json(view, health, c));
    return node;
}

Outcome run_tree(const TreeOptions& opts, const Globals& g)
{
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto tx = (*store)->begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto view = tenancy::read_view(**store);
    if (!view) return std::unexpected(view.error());
    // The caller's view starts at the tenants where they hold a role: the provider for its admins.
    std::vector<std::string> roots;
    if (!opts.root.empty()) {
        if (!view->tenants.contains(opts.root))
            return util::fail(util::ErrorKind::not_found, fmt::format("tenant/{} not found", opts.root));
        roots.push_back(opts.root);
    } else {
        for (const auto& [name, t] : view->tenants)
            if (!view->tenants.contains(t.resource.spec.value("parent", ""))) roots.push_back(name);
    }
    if (roots.empty()) return util::fail(util::ErrorKind::not_found, "no tenant is visible to " + (*store)->caller().user);
    auto health = query::rollout_health(**store);
    if (!health) return std::unexpected(health.error());
    if (g.format() == Format::json) {
        if (roots.size() == 1) {
            std::cout << tree_json(*view, *health, roots[0]).dump(2) << "\n";
        } else {
            nlohmann::json all = nlohmann::json::array();
            for (const auto& r : roots) all.push_back(tree_json(*view, *health, r));
            std::cout << all.dump(2) << "\n";
        }
        return util::exit_ok;
    }
    Table table({"TENANT", "DEVICES", "LIMIT", "ROLLOUTS"});
    for (const auto& r : roots) add_rows(table, *view, *health, r, "", "");
    table.print(std::cout);
    return util::exit_ok;
}

} // namespace

void setup_tenant(Context& ctx)
{
    auto* cmd = ctx.root.add_subcommand("tenant", "Tenant operations");
    cmd->require_subcommand(1);
    auto opts = std::make_shared<TreeOptions>();
    auto* tree = cmd->add_subcommand("tree", "Show the tenant hierarchy with device usage against limits");
    tree->add_option("root", opts->root, "Show only this tenant's subtree");
    tree->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_tree(*opts, g); }; });
}

} // namespace fleet::cli
