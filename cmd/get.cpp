// fleetadm get: list or show objects.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/output.hpp"
#include "core/query/jsonpath.hpp"
#include "core/query/query.hpp"

namespace fleet::cli {

namespace {

struct GetOptions {
    std::string kind;
    std::vector<std::string> names;
    std::string selector;
    std::string field_selector;
    std::string sort_by;
    bool all_tenants = false;
    bool subtree = false;
};

Outcome run_get(const GetOptions& opts, const Globals& g)
{
    auto named = kind_and_names(opts.kind, opts.names);
    if (!named) return std::unexpected(named.error());
    auto& [kind, names] = *named;
    auto fields = query::FieldSelector::parse(opts.field_selector, kind);
    if (!fields) return std::unexpected(fields.error());
    std::optional<query::JsonPath> sort_by;
    if (!opts.sort_by.empty()) {
        auto p = query::JsonPath::parse_expression(opts.sort_by);
        if (!p) return util::fail(util::ErrorKind::usage, fmt::format("--sort-by {}: {}", opts.sort_by, p.error().message));
        sort_by = std::move(*p);
    }
    auto scope = tenant_scope(g, opts.all_tenants, opts.subtree);
    if (!scope) return std::unexpected(scope.error());
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    query::ListRequest request{kind, scope->tenant, names, opts.selector, fields->empty() ? nullptr : &*fields,
                               scope->subtree};
    ObjectPrinter printer(std::cout, g.format(), kind, names.size() == 1,
                          PrintOptions{sort_by ? &*sort_by : nullptr, g.no_headers});
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
    cmd->add_option("kind", opts->kind,
                    "tenant(s), device(s)/dev, devicegroup(s)/group(s), credential(s)/cred, artifact(s), "
                    "rollout(s); or KIND/NAME as -o name prints it")
        ->required();
    cmd->add_option("names", opts->names, "Names of objects to show (or more KIND/NAME)");
    cmd->add_option("-l,--selector", opts->selector, "Label selector, e.g. 'tier=gold,env in (dev,prod)'")
        ->type_name("SELECTOR");
    cmd->add_option("--field-selector", opts->field_selector,
                    "Field selector over what -o json shows, e.g. 'spec.deviceType=rpi4,status.reachable!=true'")
        ->type_name("SELECTOR");
    cmd->add_option("--sort-by", opts->sort_by, "Order by a JSONPath expression, e.g. '.spec.deviceType'")
        ->type_name("JSONPATH");
    cmd->add_flag("--no-headers", ctx.globals.no_headers, "Print tables (and custom-columns) without the header line");
    cmd->add_flag("-A,--all-tenants", opts->all_tenants,
                  "Objects of every tenant the caller can see (the default when no --tenant is set)");
    add_subtree_flag(*cmd, opts->subtree);
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_get(*opts, g); }; });
}

} // namespace fleet::cli
