// fleetadm validate: schema and reference checks; writes nothing.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/input.hpp"
#include "core/apply/run.hpp"
#include "core/input/loader.hpp"

namespace fleet::cli {

namespace {

struct ValidateOptions {
    std::vector<std::string> files;
    bool recursive = false;
};

Outcome run_validate(const ValidateOptions& opts, const Globals& g)
{
    util::Diagnostics diags;
    auto resources = read_resources(opts.files, opts.recursive, g, diags);
    std::size_t count = resources.size();
    input::warn_missing_credential_files(resources, diags);
    // With a store, references (parents, limits) are checked against it too, in a read-only transaction.
    bool have_store = store::is_postgres_url(g.state_path()) || std::filesystem::exists(g.state_path());
    if (!diags.has_errors() && have_store) {
        auto store = open_store(g);
        if (!store) return std::unexpected(store.error());
        apply::Request request;
        request.desired = std::move(resources);
        auto plan = apply::run(**store, std::move(request), {}, diags);
        if (!plan && !diags.has_errors()) return std::unexpected(plan.error());
    }
    print_diagnostics(diags);
    if (diags.has_errors())
        return util::fail(util::ErrorKind::usage, fmt::format("{} problem(s) found", diags.error_count()));
    if (!g.quiet)
        std::cout << fmt::format("{} document(s) valid{}\n", count,
                                 have_store ? "" : " (schema only: no state store to check references against)");
    return util::exit_ok;
}

} // namespace

void setup_validate(Context& ctx)
{
    auto opts = std::make_shared<ValidateOptions>();
    auto* cmd = ctx.root.add_subcommand("validate", "Check resource files against the schemas and the store; writes nothing");
    add_file_options(*cmd, opts->files, opts->recursive, true);
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_validate(*opts, g); }; });
}

} // namespace fleet::cli
