#include "cmd/common.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>

#include "cmd/huge_pages.hpp"

namespace fleet::cli {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_interrupt(int signal)
{
    // signal() and raise() are async-signal-safe; the second interrupt is not waited on.
    if (g_interrupted.exchange(true)) {
        std::signal(signal, SIG_DFL);
        std::raise(signal);
    }
}

} // namespace

const std::atomic<bool>& catch_interrupts()
{
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    return g_interrupted;
}

Format Globals::format() const
{
    if (output == "wide") return Format::wide;
    if (output == "json") return Format::json;
    if (output == "yaml") return Format::yaml;
    if (output == "name") return Format::name;
    if (output == "csv") return Format::csv;
    if (output.starts_with("jsonpath=")) return Format::jsonpath;
    if (output.starts_with("custom-columns=")) return Format::custom_columns;
    return Format::table;
}

std::string Globals::format_argument() const
{
    auto eq = output.find('=');
    return eq == std::string::npos ? std::string() : output.substr(eq + 1);
}

namespace {

std::map<const CLI::App*, std::vector<Format>>& declared_formats()
{
    static std::map<const CLI::App*, std::vector<Format>> formats;
    return formats;
}

} // namespace

void declare_formats(const CLI::App* command, std::vector<Format> formats, Format default_format)
{
    std::erase(formats, default_format);
    formats.insert(formats.begin(), default_format);
    declared_formats()[command] = std::move(formats);
}

std::vector<Format> formats_of(const CLI::App* command)
{
    auto it = declared_formats().find(command);
    auto formats = it == declared_formats().end() ? std::vector<Format>{Format::table} : it->second;
    if (std::find(formats.begin(), formats.end(), Format::json) != formats.end())
        formats.insert(formats.end(), {Format::jsonpath, Format::custom_columns});  // rendered from the JSON
    return formats;
}

const char* format_name(Format format)
{
    switch (format) {
    case Format::table: return "table";
    case Format::wide: return "wide";
    case Format::json: return "json";
    case Format::yaml: return "yaml";
    case Format::name: return "name";
    case Format::csv: return "csv";
    case Format::jsonpath: return "jsonpath";
    case Format::custom_columns: return "custom-columns";
    }
    return "table";
}

util::Result<void> check_format(const CLI::App& root, Globals& globals)
{
    const CLI::App* command = &root;
    std::string path;
    for (;;) {
        auto parsed = command->get_subcommands();
        if (parsed.empty()) break;
        command = parsed.front();
        path += (path.empty() ? "" : " ") + command->get_name();
    }
    if (command == &root || command->get_name().starts_with("__")) return {};  // the internal helpers print for scripts
    auto formats = formats_of(command);
    if (globals.output.empty()) {
        globals.output = format_name(formats.front());
        return {};
    }
    auto wanted = globals.format();
    if (std::find(formats.begin(), formats.end(), wanted) != formats.end()) return {};
    std::string names;
    for (std::size_t i = 0; i < formats.size(); ++i)
        names += (i == 0 ? "" : i + 1 == formats.size() ? " or " : ", ") + std::string(format_name(formats[i]));
    return util::fail(util::ErrorKind::usage,
                      fmt::format("-o {}: `fleetadm {}` prints {}{}", globals.output, path, names,
                                  formats.size() == 1 ? " only" : ""));
}

std::string Globals::state_path() const
{
    if (!state.empty()) return state;
    // kubectl's order: a context named on the command line wins over the environment.
    if (!context.empty() && active && !active->state.empty()) return active->state;
    if (const char* env = std::getenv("FLEETADM_STATE"); env && *env) return env;
    if (active && !active->state.empty()) return active->state;
    if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) return std::string(xdg) + "/fleetadm/state.db";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.local/state/fleetadm/state.db";
}

std::string Globals::default_tenant() const
{
    if (!tenant.empty()) return tenant;
    if (!context.empty() && active && !active->tenant.empty()) return active->tenant;
    if (const char* env = std::getenv("FLEETADM_TENANT"); env && *env) return env;
    if (active) return active->tenant;
    return "";
}

std::string Globals::acting_user() const
{
    if (!as.empty()) return as;
    return active ? active->user : std::string();
}

util::Result<void> Globals::load_context()
{
    auto cfg = config::load(config::default_path());
    if (!cfg) return std::unexpected(cfg.error());
    std::string name = context.empty() ? cfg->current : context;
    if (name.empty()) return {};
    const config::Context* found = cfg->find(name);
    if (!found) {
        if (context.empty()) return {};  // a current-context that was removed: use none
        return util::fail(util::ErrorKind::not_found, fmt::format("context \"{}\" not found", name));
    }
    active = *found;
    return {};
}

bool Globals::color(int fd) const
{
    if (no_color) return false;
    if (const char* env = std::getenv("NO_COLOR"); env && *env) return false;
    return isatty(fd) != 0;
}

std::string os_user()
{
    if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
    return "uid:" + std::to_string(geteuid());
}

util::Result<std::unique_ptr<store::Store>> open_store(const Globals& globals, bool create)
{
    std::string path = globals.state_path();
    log_verbose(globals, "state store: " + store::display_location(path));
    if (huge_pages_in_use()) log_verbose(globals, "heap on transparent huge pages (glibc.malloc.hugetlb=1)");
    store::OpenOptions options;
    options.create = create;
    auto store = store::Store::open(path, store::Caller{os_user()}, options);
    std::string user = globals.acting_user();
    if (!store || user.empty() || create) return store;
    if (auto r = (*store)->impersonate(user); !r) return std::unexpected(r.error());
    log_verbose(globals, "acting as " + user);
    return store;
}

void print_diagnostics(const util::Diagnostics& diags)
{
    for (const auto& d : diags.items())
        std::cerr << "fleetadm: " << (d.warning ? "warning: " : "error: ") << d.str() << "\n";
}

void log_verbose(const Globals& globals, const std::string& message)
{
    if (globals.verbose) std::cerr << "fleetadm: " << message << "\n";
}

util::Result<model::Kind> kind_argument(const std::string& text)
{
    auto kind = model::parse_kind(text);
    if (!kind)
        return util::fail(util::ErrorKind::usage,
                          fmt::format("unknown kind \"{}\"; known kinds: tenants, devices, groups, credentials, "
                                      "artifacts, rollouts",
                                      text));
    return *kind;
}

util::Result<std::pair<model::Kind, std::vector<std::string>>> kind_and_names(const std::string& first,
                                                                             const std::vector<std::string>& rest)
{
    if (first.find('/') == std::string::npos) {
        auto kind = kind_argument(first);
        if (!kind) return std::unexpected(kind.error());
        for (const auto& name : rest)
            if (name.find('/') != std::string::npos)
                return util::fail(util::ErrorKind::usage,
                                  fmt::format("\"{}\": give either KIND NAME... or KIND/NAME..., not both", name));
        return std::pair{*kind, rest};
    }
    std::optional<model::Kind> kind;
    std::vector<std::string> names;
    std::vector<std::string> words{first};
    words.insert(words.end(), rest.begin(), rest.end());
    for (const auto& word : words) {
        auto slash = word.find('/');
        if (slash == std::string::npos)
            return util::fail(util::ErrorKind::usage,
                              fmt::format("\"{}\": give either KIND NAME... or KIND/NAME..., not both", word));
        auto k = kind_argument(word.substr(0, slash));
        if (!k) return std::unexpected(k.error());
        if (kind && *kind != *k)
            return util::fail(util::ErrorKind::usage,
                              fmt::format("\"{}\": the objects named at once must be of one kind ({})", word,
                                          model::kind_name(*kind)));
        kind = *k;
        names.push_back(word.substr(slash + 1));
    }
    return std::pair{*kind, std::move(names)};
}

void add_file_options(CLI::App& command, std::vector<std::string>& files, bool& recursive, bool required)
{
    auto* opt = command.add_option("-f,--filename", files, "File, directory or - (stdin) with resources; repeatable")
                    ->type_name("PATH");
    if (required) opt->required();
    command.add_flag("-R,--recursive", recursive, "Read directories given with -f recursively");
}

void add_subtree_flag(CLI::App& command, bool& subtree)
{
    command.add_flag("--subtree", subtree, "With --tenant T: T and every tenant below it that the caller can see");
}

util::Result<tenancy::Scope> tenant_scope(const Globals& globals, bool all_tenants, bool subtree)
{
    if (subtree && all_tenants)
        return util::fail(util::ErrorKind::usage, "--subtree and -A/--all-tenants exclude each other: --subtree "
                                                  "narrows --tenant T to T's subtree, -A takes every tenant");
    std::string tenant = all_tenants ? "" : globals.default_tenant();
    if (subtree && tenant.empty())
        return util::fail(util::ErrorKind::usage, "--subtree needs a tenant: --tenant T --subtree (or a context "
                                                  "with a tenant)");
    return tenancy::Scope{tenant, subtree};
}

} // namespace fleet::cli
