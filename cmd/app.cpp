#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <set>
#include <sstream>

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
    app.set_version_flag("--version", std::string("fleetadm ") + FLEETADM_VERSION, "Print fleetadm's version and exit");
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
    setup_user(ctx);
    setup_version(ctx);
    setup_completion(ctx);
    setup_man(ctx);

    // What each command prints besides its default (-o table): anything else is refused (exit 2)
    // rather than ignored. A command missing here prints its default only.
    using enum Format;
    const std::pair<const char*, std::vector<Format>> outputs[] = {
        {"diff", {json}},
        {"plan", {json}},
        {"apply", {json}},
        {"get", {wide, json, yaml, name, csv}},
        {"describe", {wide, json, yaml, name, csv}},
        {"tenant tree", {json}},
        {"device enroll", {json}},
        {"device check", {json}},
        {"rollout run", {json}},
        {"rollout status", {wide, json}},
        {"exec", {json, csv}},
        {"audit", {wide, json, csv}},
        {"audit verify", {json}},
        {"audit checkpoint", {json}},
        {"export", {json}},
        {"config get-contexts", {json}},
        {"store migrate", {json}},
        {"user list", {json}},
        {"version", {json}},
    };
    for (const auto& [path, formats] : outputs) {
        CLI::App* command = &app;
        std::istringstream words(path);
        for (std::string word; words >> word;) command = command->get_subcommand(word);
        declare_formats(command, formats);
    }
}

namespace {

/// Edit distance between a and b (insertions, deletions, substitutions, and swaps of two neighbours).
std::size_t distance(std::string_view a, std::string_view b)
{
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

/// Where a command line goes: the deepest command its words name, and the first word that names no
/// command where one was expected (empty when there is none).
struct Route {
    const CLI::App* command;
    std::string path;     ///< "device enroll"; empty for the root
    std::string unknown;  ///< a word where a command was expected that names none
};

/// True for a global option that takes a value (which is then not a command).
bool is_valued_global(const std::string& word)
{
    static const std::set<std::string> valued = {"--state", "--tenant", "--as", "--context", "-o", "--output"};
    return valued.contains(word);
}

Route route(const CLI::App& root, const std::vector<std::string>& words)
{
    Route r{&root, "", ""};
    for (std::size_t i = 0; i < words.size(); ++i) {
        const auto& w = words[i];
        if (w == "--") break;
        if (w.starts_with("-")) {
            if (is_valued_global(w)) ++i;
            continue;
        }
        auto subs = r.command->get_subcommands([](const CLI::App*) { return true; });
        if (subs.empty()) break;  // a positional argument of the command
        auto it = std::find_if(subs.begin(), subs.end(), [&](const CLI::App* s) { return s->get_name() == w; });
        if (it == subs.end()) {
            if (r.command->get_require_subcommand_min() > 0) r.unknown = w;
            break;
        }
        r.command = *it;
        r.path += (r.path.empty() ? "" : " ") + w;
    }
    return r;
}

/// "unknown command 'aply'; did you mean 'apply'?" for a word that names no command of parent.
std::string unknown_command(const Route& r)
{
    std::string best;
    std::size_t best_distance = 3;  // suggest only a near miss
    for (const CLI::App* s : r.command->get_subcommands([](const CLI::App*) { return true; })) {
        if (s->get_name().starts_with("__")) continue;
        auto d = distance(r.unknown, s->get_name());
        if (s->get_name().starts_with(r.unknown) && r.unknown.size() >= 2) d = std::min<std::size_t>(d, 1);
        if (d < best_distance) best_distance = d, best = s->get_name();
    }
    std::string prefix = r.path.empty() ? "" : r.path + " ";
    std::string text = fmt::format("unknown command '{}{}'", prefix, r.unknown);
    if (!best.empty()) text += fmt::format("; did you mean '{}{}'?", prefix, best);
    return text;
}

} // namespace

int run(int argc, char** argv)
{
    CLI::App app{"fleetadm: administer multi-tenant fleets of embedded devices", "fleetadm"};
    Globals globals;
    Runner runner;
    Context ctx{app, globals, runner};
    setup_all(ctx);
    std::vector<std::string> words(argv + 1, argv + argc);
    // `fleetadm help [COMMAND...]` is `fleetadm [COMMAND...] --help` (global options may come first).
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (is_valued_global(words[i])) {
            ++i;
            continue;
        }
        if (words[i].starts_with("-")) continue;
        if (words[i] == "help") {
            words.erase(words.begin() + static_cast<std::ptrdiff_t>(i));
            words.push_back("--help");
        }
        break;
    }
    auto where = route(app, words);
    auto usage_hint = [&] {
        return fmt::format("Run 'fleetadm {}--help' for usage.", where.path.empty() ? "" : where.path + " ");
    };
    if (!where.unknown.empty() && std::find(words.begin(), words.end(), "--help") == words.end() &&
        std::find(words.begin(), words.end(), "-h") == words.end()) {
        std::cerr << "fleetadm: error: " << unknown_command(where) << "\n" << usage_hint() << "\n";
        return util::exit_code(util::ErrorKind::usage);
    }
    try {
        std::vector<std::string> reversed(words.rbegin(), words.rend());  // CLI11 takes them last first
        app.parse(reversed);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "fleetadm: error: " << e.what() << "\n" << usage_hint() << "\n";
        return util::exit_code(util::ErrorKind::usage);
    }
    if (!runner) return util::exit_code(util::ErrorKind::usage);
    if (auto r = check_format(app, globals); !r) {
        std::cerr << "fleetadm: error: " << r.error().message << "\n";
        return util::exit_code(r.error().kind);
    }
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
