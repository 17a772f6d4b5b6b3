// fleetadm store migrate: copy the whole store into an empty one (SQLite ↔ PostgreSQL, or either to itself).
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "core/store/migrate.hpp"
#include "core/store/open_backend.hpp"

namespace fleet::cli {

namespace {

struct MigrateOptions {
    std::string to;
};

Outcome run_migrate(const MigrateOptions& opts, const Globals& g)
{
    const std::string from_location = g.state_path();
    if (opts.to == from_location)
        return util::fail(util::ErrorKind::usage, "--to names the store being copied: give another store");
    auto from = open_store(g);
    if (!from) return std::unexpected(from.error());
    log_verbose(g, "copying into: " + store::display_location(opts.to));
    store::OpenOptions options;
    options.create = true;  // makes the schema; the store stays empty (no provider) until the copy commits
    auto to = store::Store::open(opts.to, store::Caller{os_user()}, options);
    if (!to) return std::unexpected(to.error());
    auto counts = store::migrate(**from, **to);
    if (!counts) return std::unexpected(counts.error());
    if (g.format() == Format::json) {
        nlohmann::json out{{"from", store::display_location(from_location)},
                           {"to", store::display_location(opts.to)},
                           {"objects", counts->objects},
                           {"sources", counts->sources},
                           {"deviceStatuses", counts->statuses},
                           {"rolloutRuns", counts->rollout_runs},
                           {"rolloutDevices", counts->rollout_devices},
                           {"deviceOutputs", counts->outputs},
                           {"auditEntries", counts->audit_entries},
                           {"artifacts", counts->artifacts}};
        std::cout << out.dump(2) << "\n";
    } else if (!g.quiet) {
        std::cout << fmt::format("copied {} to {}: {} objects, {} sources, {} device statuses, {} rollout runs ({} "
                                 "target devices), {} device outputs, {} audit entries, {} artifacts\n",
                                 store::display_location(from_location), store::display_location(opts.to),
                                 counts->objects, counts->sources, counts->statuses, counts->rollout_runs,
                                 counts->rollout_devices, counts->outputs, counts->audit_entries, counts->artifacts);
    }
    if (!counts->target_caller_is_admin)
        std::cerr << fmt::format("fleetadm: warning: {} is not an admin of the provider tenant in the copy: on "
                                 "PostgreSQL the caller is the database login, so name that login in the provider's "
                                 "spec.members (apply it to the copy with --as {})\n",
                                 (*to)->caller().user, (*from)->caller().user);
    return util::exit_ok;
}

} // namespace

void setup_store(Context& ctx)
{
    auto* cmd = ctx.root.add_subcommand("store", "Manage the state store itself");
    cmd->require_subcommand(1);
    auto opts = std::make_shared<MigrateOptions>();
    auto* migrate = cmd->add_subcommand(
        "migrate", "Copy the whole store (objects, status, rollout state, audit logs, artifacts) into an empty store");
    migrate->add_option("--to", opts->to, "The empty store to copy into: a file path or a postgresql:// URL")
        ->required()
        ->type_name("PATH|URL");
    migrate->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_migrate(*opts, g); }; });
}

} // namespace fleet::cli
