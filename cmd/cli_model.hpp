#pragma once
// The command tree as data, read from the CLI11 definitions: what the completion scripts and the
// man pages are generated from, so that they cannot say anything --help does not.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace fleet::cli {

/// What a value (of an option or a positional argument) is, for completion.
enum class ValueHint {
    none,       ///< free text: nothing to offer
    choices,    ///< one of a fixed set (see choices)
    file,       ///< a path
    directory,  ///< a directory
    kind,       ///< a KIND of get/describe/delete
    object,     ///< a name of the kind given by the command's first positional argument
    tenant,
    device,
    group,
    credential,
    rollout,
    context,  ///< a context of the configuration file
};

/// The word a hint is written as in the completion scripts and in help_text.cpp ("tenant").
std::string_view hint_name(ValueHint hint);

/// One option, flag or positional argument of a command.
struct OptionSpec {
    std::vector<std::string> names;  ///< "-f", "--filename"; for a positional: its name ("kind")
    std::string description;
    std::string metavar;              ///< what help shows for its value: "PATH", "KIND"; empty for a flag
    std::vector<std::string> choices; ///< the allowed values, when a validator lists them
    std::string default_value;        ///< shown in help, when captured
    ValueHint hint = ValueHint::none;
    bool positional = false;
    bool takes_value = false;
    bool required = false;
    bool repeatable = false;  ///< takes several values ("names...", repeatable -f)

    /// The long name, else the first name ("--filename", "kind").
    const std::string& main_name() const;
};

/// One command or subcommand.
struct CommandSpec {
    std::string name;         ///< "enroll"; empty for the root
    std::string path;         ///< "device enroll"; empty for the root
    std::string description;  ///< the one-line description of --help
    std::vector<OptionSpec> options;      ///< options and flags (-h/--help only on the root)
    std::vector<OptionSpec> positionals;  ///< in order
    std::vector<CommandSpec> subcommands;
    bool needs_subcommand = false;  ///< cannot run without one of its subcommands
    bool hidden = false;            ///< not listed by --help (the helpers for shells and man pages)
    std::vector<std::string> formats;  ///< what -o it prints ("table", "json"; see declare_formats)

    /// The subcommand at a path relative to this one ("device enroll"); null when there is none.
    const CommandSpec* find(const std::string& path) const;
};

/// Reads the tree below app (usually the root built by setup_all), with value hints resolved:
/// first from help_text's table, then from a validator's set of values, then from the type name
/// (PATH/FILE: file, DIR: directory, TENANT, DEVICE, GROUP, ROLLOUT, CONTEXT, KIND).
CommandSpec describe_cli(const CLI::App& app);

/// Every command below root, depth first, root excluded; hidden ones only when asked.
std::vector<const CommandSpec*> all_commands(const CommandSpec& root, bool include_hidden = false);

/// The KIND spellings `get`, `describe` and `delete` accept today ("tenant", "tenants", "dev", ...).
std::vector<std::string> kind_words();

} // namespace fleet::cli
