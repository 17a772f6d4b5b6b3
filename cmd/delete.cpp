// fleetadm delete: remove objects by name or by the files that define them.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/input.hpp"
#include "core/apply/remove.hpp"

namespace fleet::cli {

namespace {

struct DeleteOptions {
    std::string kind;
    std::vector<std::string> names;
    std::vector<std::string> files;
    bool recursive = false;
    bool cascade = false;
    bool ignore_not_found = false;
    bool dry_run = false;
};

Outcome run_delete(const DeleteOptions& opts, const Globals& g)
{
    apply::DeleteRequest request;
    request.cascade = opts.cascade;
    request.ignore_not_found = opts.ignore_not_found;
    request.dry_run = opts.dry_run;
    if (!opts.files.empty()) {
        if (!opts.kind.empty()) return util::fail(util::ErrorKind::usage, "pass either KIND NAME... or -f PATH");
        util::Diagnostics diags;
        auto resources = read_resources(opts.files, opts.recursive, g, diags);
        print_diagnostics(diags);
        if (diags.has_errors())
            return util::fail(util::ErrorKind::usage, fmt::format("{} problem(s) found; nothing was deleted",
                                                                  diags.error_count()));
        for (const auto& r : resources) request.targets.push_back({r.kind, r.tenant, r.name});
    } else {
        if (opts.kind.empty() || (opts.names.empty() && opts.kind.find('/') == std::string::npos))
            return util::fail(util::ErrorKind::usage, "pass KIND NAME..., KIND/NAME... or -f PATH");
        auto named = kind_and_names(opts.kind, opts.names);
        if (!named) return std::unexpected(named.error());
        for (const auto& name : named->second) request.targets.push_back({named->first, g.default_tenant(), name});
    }
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto deleted = apply::delete_objects(**store, request);
    if (!deleted) return std::unexpected(deleted.error());
    if (!g.quiet)
        for (const auto& ref : *deleted) std::cout << ref << " deleted" << (opts.dry_run ? " (dry run)" : "") << "\n";
    return util::exit_ok;
}

} // namespace

void setup_delete(Context& ctx)
{
    auto opts = std::make_shared<DeleteOptions>();
    auto* cmd = ctx.root.add_subcommand("delete", "Delete objects by name or by the files that define them");
    cmd->add_option("kind", opts->kind, "Kind of the objects, or KIND/NAME as -o name prints it");
    cmd->add_option("names", opts->names, "Names of the objects (or more KIND/NAME)");
    add_file_options(*cmd, opts->files, opts->recursive, false);
    cmd->add_flag("--cascade", opts->cascade, "Delete a tenant together with its child tenants and their objects");
    cmd->add_flag("--ignore-not-found", opts->ignore_not_found, "Treat missing objects as already deleted");
    cmd->add_flag("--dry-run", opts->dry_run, "Show what would be deleted; write nothing");
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_delete(*opts, g); }; });
}

} // namespace fleet::cli
