// fleetadm get: list or show objects.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/output.hpp"
#include "core/query/query.hpp"

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
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    query::ListRequest request{*kind, opts.all_tenants ? "" : g.default_tenant(), opts.names, opts.selector};
    ObjectPrinter printer(std::cout, g.format(), *kind, opts.names.size() == 1);
    auto count = query::for_each(**store, request,
                                 [&](model::Object&& o, nlohmann::json&& status) { printer.add(std::move(o), std::move(status)); });
    if (!count) return std::unexpected(count.error());
    printer.finish();
    if (*count == 0 && (g.format() == Format::table || g.format() == Format::wide) && !g.quiet)
        std::cerr << "No resources found.\n";
    return util::exit_ok;
}

} // namespace

void setup_get(Context& ctx)
{
    auto opts = std::make_shared<GetOptions>();
    auto* cmd = ctx.root.add_subcommand("get", "List objects of a kind, or show named ones");
    cmd->add_option("kind", opts->kind, "tenant(s), device(s)/dev, devicegroup(s)/group(s), credential(s)/cred")
        ->required();
    cmd->add_option("names", opts->names, "Names of objects to show");
    cmd->add_option("-l,--selector", opts->selector, "Label selector, e.g. 'tier=gold,env in (dev,prod)'")
        ->type_name("SELECTOR");
    cmd->add_flag("-A,--all-tenants", opts->all_tenants,
                  "Objects of every tenant the caller can see (the default when no --tenant is set)");
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_get(*opts, g); }; });
}

} // namespace fleet::cli
