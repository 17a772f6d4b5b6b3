// fleetadm diff: what apply would change, field by field; exit 1 when anything would.
#include "cmd/commands.hpp"
#include "cmd/plan_view.hpp"

namespace fleet::cli {

void setup_diff(Context& ctx)
{
    auto opts = std::make_shared<SourceOptions>();
    auto* cmd = ctx.root.add_subcommand("diff", "Show what apply would change, per object and field (exit 1 on changes)");
    add_source_options(*cmd, *opts);
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_preview(*opts, g, "", false); }; });
}

} // namespace fleet::cli
