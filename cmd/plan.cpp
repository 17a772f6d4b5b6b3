// fleetadm plan: like diff, with a summary, and --out to save the plan for `apply FILE`.
#include "cmd/commands.hpp"
#include "cmd/plan_view.hpp"

namespace fleet::cli {

void setup_plan(Context& ctx)
{
    auto opts = std::make_shared<SourceOptions>();
    auto out = std::make_shared<std::string>();
    auto* cmd = ctx.root.add_subcommand("plan", "Show and optionally save what apply would change (exit 1 on changes)");
    add_source_options(*cmd, *opts);
    cmd->add_option("--out", *out, "Save the plan to FILE; `fleetadm apply FILE` applies it unless the store changed")
        ->type_name("FILE");
    cmd->callback([opts, out, &ctx] {
        ctx.runner = [opts, out, &g = ctx.globals] { return run_preview(*opts, g, *out, true); };
    });
}

} // namespace fleet::cli
