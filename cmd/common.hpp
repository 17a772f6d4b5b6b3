#pragma once
// What every command shares: global flags, opening the store, reporting errors.

#include <CLI/CLI.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config/contexts.hpp"
#include "core/model/resource.hpp"
#include "core/store/store.hpp"
#include "core/tenancy/view.hpp"
#include "core/util/diagnostics.hpp"
#include "core/util/error.hpp"

namespace fleet::cli {

/// Output formats of -o. jsonpath and custom-columns take a template after '=' (kubectl's) and are
/// rendered from the JSON a command prints: wherever json is declared, they are too.
enum class Format { table, wide, json, yaml, name, csv, jsonpath, custom_columns };

/// Flags that every command accepts.
struct Globals {
    std::string state;
    std::string tenant;
    std::string as;
    std::string context;              ///< --context
    std::optional<config::Context> active;  ///< the context in use: --context, else the current one
    std::string output;  ///< -o as given; check_format sets the command's default when none was
    bool quiet = false;
    bool verbose = false;
    bool no_color = false;
    bool silent = false;  ///< report no error and exit 0 whatever happens (the completion helper)
    bool no_headers = false;  ///< get --no-headers: tables (and custom-columns) without their header line
    /// exec's words after "--": the remote command, kept from the parser so that the words before
    /// it can be device names.
    std::vector<std::string> after_dashes;

    /// The parsed -o value.
    Format format() const;
    /// The template of -o jsonpath=… or custom-columns=…; empty for the other formats.
    std::string format_argument() const;
    /// The store location: --state, the --context's, FLEETADM_STATE, the current context's, or the XDG default.
    std::string state_path() const;
    /// The default tenant: --tenant, the --context's, FLEETADM_TENANT, or the current context's; empty when none is set.
    std::string default_tenant() const;
    /// The user to act as: --as, or the context's; empty for the OS user.
    std::string acting_user() const;
    /// Reads the context in use from the configuration file.
    util::Result<void> load_context();
    /// True when output to fd may use colour (a terminal, and neither --no-color nor NO_COLOR).
    bool color(int fd) const;
};

/// What a finished command exits with: exit_ok or exit_non_clean, or an error.
using Outcome = util::Result<int>;

/// The action a parsed command line will run.
using Runner = std::function<Outcome()>;

/// Everything a command's setup function needs.
struct Context {
    CLI::App& root;
    Globals& globals;
    Runner& runner;
};

/// The caller's OS login name.
std::string os_user();
/// Opens the store for the caller.
util::Result<std::unique_ptr<store::Store>> open_store(const Globals& globals, bool create = false);
/// Prints each diagnostic to stderr as "fleetadm: error: file:line:col: field: message".
void print_diagnostics(const util::Diagnostics& diags);
/// Catches SIGINT and SIGTERM for the rest of the command and returns the flag they set, for
/// commands that must finish what they started (record results, leave no half-done step): the
/// first signal sets the flag, a second one ends the process at once by the signal's default action.
const std::atomic<bool>& catch_interrupts();
/// Prints a line to stderr when -v is given.
void log_verbose(const Globals& globals, const std::string& message);
/// Reads the KIND argument of get, describe and delete; kinds not handled yet are a usage error.
util::Result<model::Kind> kind_argument(const std::string& text);
/// The objects a command line names: `KIND NAME...`, or `KIND/NAME...` as `-o name` prints them
/// (all of one kind). first is the KIND word, rest the words after it.
util::Result<std::pair<model::Kind, std::vector<std::string>>> kind_and_names(const std::string& first,
                                                                             const std::vector<std::string>& rest);
/// Declares the -o formats a command prints. Its default (what it prints without -o) is table unless
/// given: a command whose output is a document (a checkpoint, a configuration file) has that
/// document's format as default and no table. A command that declares none prints only tables; -o
/// anything else is a usage error naming what it prints.
void declare_formats(const CLI::App* command, std::vector<Format> formats, Format default_format = Format::table);
/// The formats the command prints: its default first, then what it declared.
std::vector<Format> formats_of(const CLI::App* command);
/// The spelling of a format as -o takes it ("json").
const char* format_name(Format format);
/// Checks -o against the formats of the command that was parsed (the deepest subcommand given), and
/// sets the command's default format when -o was not given.
util::Result<void> check_format(const CLI::App& root, Globals& globals);
/// Adds --subtree (the default tenant and every visible tenant below it) to a command.
void add_subtree_flag(CLI::App& command, bool& subtree);
/// The tenants a command covers: the default tenant (--tenant, else the context's), with --subtree
/// also its visible descendants; every visible tenant with -A or when no tenant is set. --subtree
/// with -A, or with no tenant set, is a usage error.
util::Result<tenancy::Scope> tenant_scope(const Globals& globals, bool all_tenants, bool subtree);
/// Adds -f/--filename and -R/--recursive to a command.
void add_file_options(CLI::App& command, std::vector<std::string>& files, bool& recursive, bool required);

} // namespace fleet::cli
