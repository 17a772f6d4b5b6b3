// fleetadm get: list or show objects.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/output.hpp"
#include "core/model/selector.hpp"
#include "core/tenancy/view.hpp"

namespace fleet::cli {

namespace {

struct GetOptions {
    std::string kind;
    std::vector<std::string> names;
    std::string selector;
    bool all_tenants = false;
};

Outcome run_get(const GetOptions& opts, const Globals& g)
{
    auto kind = kind_argument(opts.kind);
    if (!kind) return std::unexpected(kind.error());
    auto selector = model::Selector::parse(opts.selector);
    if (!selector) return std::unexpected(selector.error());
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto tx = (*store)->begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto view = tenancy::read_view(**store);
    if (!view) return std::unexpected(view.error());

    std::vector<Shown> shown;
    if (!opts.names.empty()) {
        for (const auto& name : opts.names) {
            auto it = view->tenants.find(name);
            if (it == view->tenants.end())
                return util::fail(util::ErrorKind::not_found, fmt::format("tenant/{} not found", name));
            shown.push_back({it->second, view->status(name)});
        }
    } else {
        for (const auto& [name, object] : view->tenants)
            if (selector->matches(object.resource.labels)) shown.push_back({object, view->status(name)});
    }
    if (shown.empty() && g.format() != Format::json && g.format() != Format::yaml) {
        if (!g.quiet) std::cerr << "No resources found.\n";
        return util::exit_ok;
    }
    print_objects(std::cout, g.format(), *kind, shown, opts.names.size() == 1);
    return util::exit_ok;
}

} // namespace

void setup_get(Context& ctx)
{
    auto opts = std::make_shared<GetOptions>();
    auto* cmd = ctx.root.add_subcommand("get", "List objects of a kind, or show named ones");
    cmd->add_option("kind", opts->kind, "tenant(s), device(s)/dev, devicegroup(s)/group(s), credential(s)/cred, "
                                        "artifact(s), rollout(s)")
        ->required();
    cmd->add_option("names", opts->names, "Names of objects to show");
    cmd->add_option("-l,--selector", opts->selector, "Label selector, e.g. 'tier=gold,env in (dev,prod)'")
        ->type_name("SELECTOR");
    cmd->add_flag("-A,--all-tenants", opts->all_tenants, "Objects of every tenant the caller can see");
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_get(*opts, g); }; });
}

} // namespace fleet::cli
