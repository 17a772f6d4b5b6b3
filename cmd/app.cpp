#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"

namespace fleet::cli {

void setup_all(Context& ctx)
{
    CLI::App& app = ctx.root;
    Globals& g = ctx.globals;
    app.add_option("--state", g.state, "State store: a SQLite file path or a postgresql:// URL (env FLEETADM_STATE; default ~/.local/state/fleetadm/state.db)")
        ->type_name("PATH");
    app.add_option("--tenant", g.tenant, "Default tenant for objects and commands (env FLEETADM_TENANT)")
        ->type_name("NAME");
    app.add_option("--as", g.as, "Act as another user (provider admins only)")->type_name("USER");
    app.add_option("--context", g.context, "Use this context of ~/.config/fleetadm/config.yaml")->type_name("NAME");
    app.add_option("-o,--output", g.output, "Output format")
        ->check(CLI::IsMember({"table", "wide", "json", "yaml", "name", "csv"}))
        ->type_name("table|wide|json|yaml|name|csv");
    app.add_flag("-q,--quiet", g.quiet, "Print only errors and requested data");
    app.add_flag("-v,--verbose", g.verbose, "Print diagnostics to stderr");
    app.add_flag("--no-color", g.no_color, "Never colour output (also NO_COLOR)");
    app.require_subcommand(1);
    app.fallthrough();
    app.footer("Exit codes: 0 ok, 1 non-clean outcome (changes found, failures), 2 invalid input, 3 permission "
               "denied, 4 not found, 5 conflict, 6 runtime failure, 130 interrupted. See fleetadm(1).");

    setup_init(ctx);
    setup_validate(ctx);
    setup_diff(ctx);
    setup_plan(ctx);
    setup_apply(ctx);
    setup_get(ctx);
    setup_describe(ctx);
    setup_delete(ctx);
    setup_tenant(ctx);
    setup_device(ctx);
    setup_rollout(ctx);
    setup_exec(ctx);
    setup_audit(ctx);
    setup_export(ctx);
    setup_config(ctx);
    setup_store(ctx);
    setup_version(ctx);
    setup_completion(ctx);
    setup_man(ctx);
}

int run(int argc, char** argv)
{
    CLI::App app{"fleetadm: administer multi-tenant fleets of embedded devices", "fleetadm"};
    Globals globals;
    Runner runner;
    Context ctx{app, globals, runner};
    setup_all(ctx);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "fleetadm: error: " << e.what() << "\nRun 'fleetadm --help' for usage.\n";
        return util::exit_code(util::ErrorKind::usage);
    }
    if (!runner) return util::exit_code(util::ErrorKind::usage);
    if (auto r = globals.load_context(); !r) {
        if (globals.silent) return util::exit_ok;
        std::cerr << "fleetadm: error: " << r.error().message << "\n";
        return util::exit_code(r.error().kind);
    }
    Outcome outcome = [&]() -> Outcome {
        try {
            return runner();
        } catch (const std::exception& e) {
            return util::fail(util::ErrorKind::runtime, std::string("internal error: ") + e.what());
        }
    }();
    std::cout.flush();
    if (!outcome) {
        if (globals.silent) return util::exit_ok;
        std::cerr << "fleetadm: error: " << outcome.error().message << "\n";
        return util::exit_code(outcome.error().kind);
    }
    return *outcome;
}

} // namespace fleet::cli
