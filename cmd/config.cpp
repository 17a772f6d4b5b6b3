// fleetadm config set-context|use-context|get-contexts|current-context|delete-context|view: named contexts
// of store, tenant and user.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/output.hpp"
#include "core/config/contexts.hpp"
#include "core/resource/yaml_writer.hpp"
#include "core/store/open_backend.hpp"

namespace fleet::cli {

namespace {

struct SetContextOptions {
    std::string name;
    std::optional<std::string> state, tenant, user;
};

Outcome run_set_context(const SetContextOptions& opts)
{
    if (!model::valid_name(opts.name))
        return util::fail(util::ErrorKind::usage, fmt::format("invalid context name \"{}\"", opts.name));
    auto path = config::default_path();
    auto cfg = config::load(path);
    if (!cfg) return std::unexpected(cfg.error());
    config::Context* ctx = nullptr;
    for (auto& c : cfg->contexts)
        if (c.name == opts.name) ctx = &c;
    if (!ctx) ctx = &cfg->contexts.emplace_back(config::Context{opts.name, "", "", ""});
    if (opts.state && store::url_holds_password(*opts.state))
        return util::fail(util::ErrorKind::usage,
                          fmt::format("--state {}: a context keeps no password (config.yaml is a plain file); leave it "
                                      "out of the URL and let libpq read it from ~/.pgpass, PGPASSWORD or a service "
                                      "file",
                                      store::display_location(*opts.state)));
    if (opts.state) ctx->state = *opts.state;
    if (opts.tenant) ctx->tenant = *opts.tenant;
    if (opts.user) ctx->user = *opts.user;
    if (auto r = config::save(path, *cfg); !r) return std::unexpected(r.error());
    std::cout << fmt::format("context \"{}\" saved in {}\n", opts.name, path);
    return util::exit_ok;
}

Outcome run_use_context(const std::string& name)
{
    auto path = config::default_path();
    auto cfg = config::load(path);
    if (!cfg) return std::unexpected(cfg.error());
    if (!cfg->find(name)) return util::fail(util::ErrorKind::not_found, fmt::format("context \"{}\" not found", name));
    cfg->current = name;
    if (auto r = config::save(path, *cfg); !r) return std::unexpected(r.error());
    std::cout << fmt::format("switched to context \"{}\"\n", name);
    return util::exit_ok;
}

Outcome run_get_contexts(const Globals& g)
{
    auto cfg = config::load(config::default_path());
    if (!cfg) return std::unexpected(cfg.error());
    if (g.format() == Format::json) {
        nlohmann::json items = nlohmann::json::array();
        for (const auto& c : cfg->contexts)
            items.push_back({{"name", c.name}, {"state", c.state}, {"tenant", c.tenant}, {"user", c.user},
                             {"current", c.name == cfg->current}});
        std::cout << items.dump(2) << "\n";
        return util::exit_ok;
    }
    Table table({"CURRENT", "NAME", "STATE", "TENANT", "USER"});
    for (const auto& c : cfg->contexts)
        table.add({c.name == cfg->current ? "*" : "", c.name, c.state, c.tenant, c.user});
    table.print(std::cout);
    return util::exit_ok;
}

Outcome run_current_context()
{
    auto cfg = config::load(config::default_path());
    if (!cfg) return std::unexpected(cfg.error());
    if (cfg->current.empty()) return util::fail(util::ErrorKind::not_found, "no current context is set (config use-context NAME)");
    std::cout << cfg->current << "\n";
    return util::exit_ok;
}

Outcome run_delete_context(const std::string& name, const Globals& g)
{
    auto path = config::default_path();
    auto cfg = config::load(path);
    if (!cfg) return std::unexpected(cfg.error());
    auto it = std::find_if(cfg->contexts.begin(), cfg->contexts.end(), [&](const config::Context& c) { return c.name == name; });
    if (it == cfg->contexts.end()) return util::fail(util::ErrorKind::not_found, fmt::format("context \"{}\" not found", name));
    cfg->contexts.erase(it);
    bool was_current = cfg->current == name;
    if (was_current) cfg->current.clear();
    if (auto r = config::save(path, *cfg); !r) return std::unexpected(r.error());
    if (!g.quiet) {
        std::cout << fmt::format("deleted context \"{}\" from {}\n", name, path);
        if (was_current) std::cerr << "fleetadm: warning: it was the current context; none is current now\n";
    }
    return util::exit_ok;
}

/// The whole file as YAML (or JSON): contexts hold no secrets, so nothing is hidden.
Outcome run_view(const Globals& g)
{
    auto cfg = config::load(config::default_path());
    if (!cfg) return std::unexpected(cfg.error());
    nlohmann::json out = nlohmann::json::object();
    out["current-context"] = cfg->current;
    out["contexts"] = nlohmann::json::array();
    for (const auto& c : cfg->contexts) {
        nlohmann::json ctx = {{"name", c.name}};
        if (!c.state.empty()) ctx["state"] = store::display_location(c.state);
        if (!c.tenant.empty()) ctx["tenant"] = c.tenant;
        if (!c.user.empty()) ctx["user"] = c.user;
        out["contexts"].push_back(std::move(ctx));
    }
    if (g.format() == Format::json) std::cout << out.dump(2) << "\n";
    else std::cout << resource::to_yaml(out);
    return util::exit_ok;
}

} // namespace

void setup_config(Context& ctx)
{
    auto* cmd = ctx.root.add_subcommand("config", "Named contexts (store, tenant, user) in ~/.config/fleetadm/config.yaml");
    cmd->require_subcommand(1);

    auto set = std::make_shared<SetContextOptions>();
    auto* s = cmd->add_subcommand("set-context", "Create or update a context");
    s->add_option("name", set->name, "Context name")->required();
    s->add_option("--state", set->state, "State store of the context")->type_name("PATH");
    s->add_option("--tenant", set->tenant, "Default tenant of the context")->type_name("NAME");
    s->add_option("--user", set->user, "User to act as (provider admins only)")->type_name("USER");
    s->callback([set, &ctx] { ctx.runner = [set] { return run_set_context(*set); }; });

    auto use = std::make_shared<std::string>();
    auto* u = cmd->add_subcommand("use-context", "Make a context the current one");
    u->add_option("name", *use, "Context name")->required();
    u->callback([use, &ctx] { ctx.runner = [use] { return run_use_context(*use); }; });

    auto* list = cmd->add_subcommand("get-contexts", "List the contexts; * marks the current one");
    list->callback([&ctx] { ctx.runner = [&g = ctx.globals] { return run_get_contexts(g); }; });

    auto* current = cmd->add_subcommand("current-context", "Print the name of the current context");
    current->callback([&ctx] { ctx.runner = [] { return run_current_context(); }; });

    auto del = std::make_shared<std::string>();
    auto* d = cmd->add_subcommand("delete-context", "Remove a context (the current one leaves none current)");
    d->add_option("name", *del, "Context name")->required();
    d->callback([del, &ctx] { ctx.runner = [del, &g = ctx.globals] { return run_delete_context(*del, g); }; });

    auto* view = cmd->add_subcommand("view", "Print the configuration file (YAML; -o json)");
    view->callback([&ctx] { ctx.runner = [&g = ctx.globals] { return run_view(g); }; });
}

} // namespace fleet::cli
