// fleetadm apply: make the store match the files (or a saved plan), in one transaction.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/plan_view.hpp"
#include "core/apply/run.hpp"
#include "core/apply/saved_plan.hpp"

namespace fleet::cli {

namespace {

struct ApplyOptions {
    SourceOptions source;
    bool dry_run = false;
    std::string plan_file;
};

Outcome run_apply(const ApplyOptions& opts, const Globals& g)
{
    if (opts.plan_file.empty() == !has_input(opts.source))
        return util::fail(util::ErrorKind::usage, "pass either -f PATH, --git URL or a saved plan FILE");
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    util::Diagnostics diags;
    apply::Request request;
    apply::RunOptions run{!opts.dry_run, std::nullopt};
    if (!opts.plan_file.empty()) {
        auto saved = apply::read_saved_plan(opts.plan_file, diags);
        if (!saved) {
            print_diagnostics(diags);
            saved.error().message += "; nothing was written";
            return std::unexpected(saved.error());
        }
        request = std::move(saved->request);
        run.saved = apply::SavedCheck{saved->revision, std::move(saved->changes)};
    } else {
        auto made = make_request(opts.source, g, diags, true);
        if (!made) {
            made.error().message += "; nothing was written";
            return std::unexpected(made.error());
        }
        request = std::move(*made);
        if (diags.has_errors()) {
            print_diagnostics(diags);
            return util::fail(util::ErrorKind::usage,
                              fmt::format("{} problem(s) found; nothing was written", diags.error_count()));
        }
    }
    auto plan = apply::run(**store, std::move(request), run, diags);
    print_diagnostics(diags);
    if (!plan) {
        plan.error().message += "; nothing was written";
        return std::unexpected(plan.error());
    }
    const char* dry = opts.dry_run ? " (dry run)" : "";
    if (g.format() == Format::json) {
        nlohmann::json printed = apply::plan_to_json(*plan);
        printed["dryRun"] = opts.dry_run;
        std::cout << printed.dump(2) << "\n";
    } else if (!g.quiet) {
        if (auto line = commit_line(*plan); !line.empty()) std::cout << line << dry << "\n";
        for (const auto& c : plan->changes)
            if (c.op != apply::Op::unchanged)
                std::cout << fmt::format("{} {}{}\n", c.qualified_ref(), apply::op_verb(c.op), dry);
        std::cout << summary_line(*plan) << dry << "\n";
    }
    return util::exit_ok;
}

} // namespace

void setup_apply(Context& ctx)
{
    auto opts = std::make_shared<ApplyOptions>();
    auto* cmd = ctx.root.add_subcommand("apply", "Make the store match resource files or a saved plan, in one transaction");
    add_source_options(*cmd, opts->source);
    cmd->add_flag("--dry-run", opts->dry_run, "Show what would change; open the store read-only and write nothing");
    cmd->add_option("plan", opts->plan_file, "A plan saved by `fleetadm plan --out FILE`")->type_name("FILE");
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_apply(*opts, g); }; });
}

} // namespace fleet::cli
