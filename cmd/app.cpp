#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <set>
#include <sstream>

#include "cmd/commands.hpp"
#include "cmd/help_text.hpp"
#include "cmd/output.hpp"
#include "core/query/jsonpath.hpp"
#include "core/util/suggest.hpp"

namespace fleet::cli {

namespace {

/// A subcommand's --help ends with the global options it also takes, its first example (from the man
/// page's prose) and the exit codes, as `kubectl CMD --help` does.
void add_footers(CLI::App& command, const std::string& path)
{
    for (CLI::App* sub : command.get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->get_name().starts_with("__")) continue;
        std::string sub_path = path.empty() ? sub->get_name() : path + " " + sub->get_name();
        std::string footer = "Global options (see fleetadm --help): --state PATH|URL, --tenant NAME, --as USER, "
                             "--context NAME, -o FORMAT, -q, -v, --no-color.";
        if (const auto* prose = help::prose_for(sub_path); prose && !prose->examples.empty()) {
            std::string what(prose->examples.front().text);
            if (what.ends_with(':')) what.pop_back();
            if (!what.empty() && what[0] >= 'A' && what[0] <= 'Z' && (what.size() < 2 || !(what[1] >= 'A' && what[1] <= 'Z')))
                what[0] = static_cast<char>(what[0] - 'A' + 'a');  // "A tenant…" → "a tenant…", "SSH…" stays
            footer += fmt::format("\n\nExample ({}):\n", what);
            std::istringstream lines{std::string(prose->examples.front().command)};
            for (std::string line; std::getline(lines, line);) footer += "  " + line + "\n";
        } else {
            footer += "\n";
        }
        footer += "\nExit codes: 0 ok, 1 non-clean outcome, 2 invalid input, 3 permission denied, 4 not found, "
                  "5 conflict, 6 runtime failure, 130 interrupted. See fleetadm-" +
                  sub_path.substr(0, sub_path.find(' ')) + "(1).";
        sub->footer(footer);
        add_footers(*sub, sub_path);
    }
}

} // namespace

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
    app.add_option("-o,--output", g.output,
                   "Output format; jsonpath=TEMPLATE and custom-columns=HEADER:EXPR,... (kubectl's) wherever json is "
                   "printed")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
                for (const char* f : {"table", "wide", "json", "yaml", "name", "csv"})
                    if (value == f) return "";
                if (value.starts_with("jsonpath=") || value.starts_with("custom-columns=")) return "";
                return "-o " + value + ": not one of table, wide, json, yaml, name, csv, jsonpath=TEMPLATE, "
                                       "custom-columns=SPEC";
            },
            "{table,wide,json,yaml,name,csv}", "output format"))  // the set completions offer
        ->type_name("FORMAT");
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
    setup_explain(ctx);
    setup_delete(ctx);
    setup_tenant(ctx);
    setup_device(ctx);
    setup_rollout(ctx);
    setup_runner(ctx);
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
    struct Output {
        const char* path;
        std::vector<Format> formats;
        Format default_format = table;
    };
    const Output outputs[] = {
        {"diff", {json}},
        {"plan", {json}},
        {"apply", {json}},
        {"get", {wide, json, yaml, name, csv}},
        {"describe", {wide, json, yaml, name, csv}},
        {"explain", {json}},
        {"tenant tree", {json}},
        {"device enroll", {json}},
        {"device check", {json}},
        {"rollout run", {json}},
        {"rollout status", {wide, json}},
        {"exec", {json, csv}},
        {"audit", {wide, json, csv}},
        {"audit verify", {json}},
        {"audit checkpoint", {json}, json},  // a document to keep: JSON even without -o
        {"export", {json}},
        {"config get-contexts", {json}},
        {"config view", {yaml, json}, yaml},  // the file, as kubectl config view prints it
        {"store migrate", {json}},
        {"user list", {json}},
        {"version", {json}},
    };
    for (const auto& [path, formats, default_format] : outputs) {
        CLI::App* command = &app;
        std::istringstream words(path);
        for (std::string word; words >> word;) command = command->get_subcommand(word);
        declare_formats(command, formats, default_format);
    }
    add_footers(app, "");
}

namespace {

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
    std::vector<std::string> names;
    for (const CLI::App* s : r.command->get_subcommands([](const CLI::App*) { return true; }))
        if (!s->get_name().starts_with("__")) names.push_back(s->get_name());
    std::string best = r.unknown.size() >= 2 ? util::nearest(r.unknown, names) : "";
    std::string prefix = r.path.empty() ? "" : r.path + " ";
    std::string text = fmt::format("unknown command '{}{}'", prefix, r.unknown);
    if (!best.empty()) text += fmt::format("; did you mean '{}{}'?", prefix, best);
    return text;
}

/// Runs a command that prints JSON and renders what it printed through -o jsonpath=… or
/// custom-columns=… (kubectl's): the template is checked before the command runs, and the output is
/// rendered for each JSON document it printed (one, or one a line).
Outcome render_template(Globals& globals, const std::function<Outcome()>& run_command)
{
    std::string spec = globals.format_argument();
    bool columns = globals.format() == Format::custom_columns;
    std::optional<query::JsonPath> path;
    std::optional<query::CustomColumns> table_spec;
    if (columns) {
        auto c = query::CustomColumns::parse(spec);
        if (!c) return std::unexpected(c.error());
        table_spec = std::move(*c);
    } else {
        auto p = query::JsonPath::parse(spec);
        if (!p) return util::fail(util::ErrorKind::usage, fmt::format("-o jsonpath={}: {}", spec, p.error().message));
        path = std::move(*p);
    }
    globals.output = "json";
    std::ostringstream captured;
    auto* saved = std::cout.rdbuf(captured.rdbuf());
    Outcome outcome = run_command();
    std::cout.rdbuf(saved);
    if (!outcome) return outcome;  // what it printed before failing is not a whole document
    std::string text = captured.str();
    std::vector<nlohmann::json> documents;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = std::min(text.find('\n', pos), text.size());
        if (text.find_first_not_of(" \t\r", pos) >= end) {  // a blank line
            pos = end + 1;
            continue;
        }
        // A command prints either one JSON document (over several lines) or one a line.
        auto whole = nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(pos), text.end(), nullptr, false);
        if (!whole.is_discarded()) {
            documents.push_back(std::move(whole));
            break;
        }
        auto line = nlohmann::json::parse(text.substr(pos, end - pos), nullptr, false);
        if (line.is_discarded())
            return util::fail(util::ErrorKind::runtime, "internal error: the command's JSON output does not parse");
        documents.push_back(std::move(line));
        pos = end + 1;
    }
    if (path) {
        for (const auto& doc : documents) std::cout << path->render(doc);
        return outcome;
    }
    Table table(table_spec->headers);
    auto add_rows = [&](const nlohmann::json& doc) {
        if (doc.is_object() && doc.contains("items") && doc["items"].is_array())
            for (const auto& item : doc["items"]) table.add(table_spec->row(item));
        else if (doc.is_array())
            for (const auto& item : doc) table.add(table_spec->row(item));
        else
            table.add(table_spec->row(doc));
    };
    for (const auto& doc : documents) add_rows(doc);
    table.print(std::cout, !globals.no_headers);
    return outcome;
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
    if (where.path == "exec") {  // `exec NAME... -- CMD...`: the command is not the parser's to read
        if (auto dashes = std::find(words.begin(), words.end(), "--"); dashes != words.end()) {
            globals.after_dashes.assign(dashes + 1, words.end());
            words.erase(dashes, words.end());
        }
    }
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
    auto run_command = [&]() -> Outcome {
        try {
            return runner();
        } catch (const std::exception& e) {
            return util::fail(util::ErrorKind::runtime, std::string("internal error: ") + e.what());
        }
    };
    Outcome outcome = globals.format() == Format::jsonpath || globals.format() == Format::custom_columns
                          ? render_template(globals, run_command)
                          : run_command();
    std::cout.flush();
    if (!outcome) {
        if (globals.silent) return util::exit_ok;
        std::cerr << "fleetadm: error: " << outcome.error().message << "\n";
        return util::exit_code(outcome.error().kind);
    }
    return *outcome;
}

} // namespace fleet::cli
