// fleetadm export: the caller's visible state as a resource tree that `apply -f DIR -R` takes back unchanged.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "core/exporter/exporter.hpp"

namespace fleet::cli {

namespace {

Outcome run_export(const exporter::Options& opts, const Globals& g)
{
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    exporter::Options options = opts;
    options.tenant = g.default_tenant();
    auto summary = exporter::write_tree(**store, options);
    if (!summary) return std::unexpected(summary.error());
    if (g.format() == Format::json) {
        std::cout << nlohmann::json{{"directory", options.dir.string()},
                                    {"tenants", summary->tenants},
                                    {"objects", summary->objects},
                                    {"files", summary->files},
                                    {"removed", summary->removed}}
                         .dump(2)
                  << "\n";
    } else if (!g.quiet) {
        std::cout << fmt::format("exported {} tenant(s), {} object(s) in {} file(s) to {}", summary->tenants,
                                 summary->objects, summary->files, options.dir.string());
        if (summary->removed > 0) std::cout << fmt::format("; removed {} stale file(s)", summary->removed);
        std::cout << "\n";
    }
    return util::exit_ok;
}

} // namespace

void setup_export(Context& ctx)
{
    auto opts = std::make_shared<exporter::Options>();
    auto* cmd = ctx.root.add_subcommand(
        "export", "Write the visible state (or --tenant's subtree) as resource files that apply takes back unchanged");
    cmd->add_option("-d,--dir", opts->dir, "Folder to write DIR/<tenant>/*.yaml into; created when missing")
        ->type_name("DIR")
        ->required();
    cmd->add_flag("--force", opts->force,
                  "Write into a folder that is not empty, replacing an earlier export's files there");
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_export(*opts, g); }; });
}

} // namespace fleet::cli
