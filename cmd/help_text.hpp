#pragma once
// The prose of the man pages and the completion hints that the CLI11 definitions cannot carry,
// in one table keyed by command path ("", "apply", "device enroll"). Everything else a page or a
// completion script says (names, synopsis, options, one-line descriptions) comes from the
// definitions themselves (cmd/cli_model.hpp).
//
// Markup inside texts: `word` is set in bold (commands, flags, literal values), *word* in italics
// (placeholders). A text is one paragraph; "\n\n" starts the next one.

#include <string>
#include <string_view>
#include <vector>

#include "cmd/cli_model.hpp"

namespace fleet::cli::help {

/// A term with its explanation: an exit code, an environment variable, a file.
struct Term {
    std::string_view term;
    std::string_view text;
};

/// An example of a man page: what it does, then the command line.
struct Example {
    std::string_view text;
    std::string_view command;
};

/// A section of its own (ACCESS, INPUT FORMATS), placed after OPTIONS.
struct Section {
    std::string_view title;
    std::string_view text;
};

/// What a command's man page says beyond its definitions.
struct Prose {
    std::string_view path;         ///< "" for fleetadm(1), "apply", "device enroll"
    std::string_view description;  ///< DESCRIPTION paragraphs; the one-line description when empty
    std::vector<Section> sections = {};
    std::vector<Term> exit_status = {};  ///< codes with a meaning specific to the command
    std::vector<Term> environment = {};
    std::vector<Term> files = {};
    std::vector<Example> examples = {};
};

/// A note added to an option's description in the man pages.
struct OptionNote {
    std::string_view path;    ///< the command
    std::string_view option;  ///< its long name, or its name for a positional argument
    std::string_view text;
};

/// A completion hint that the option's type name and validators do not give.
struct HintRule {
    std::string_view path;  ///< the command
    std::string_view option;
    ValueHint hint;
};

/// The prose of every command that has some.
const std::vector<Prose>& prose();
/// The prose of the command at path; null when it has none.
const Prose* prose_for(std::string_view path);
/// The notes on options.
const std::vector<OptionNote>& option_notes();
/// The note on an option of the command at path; empty when there is none.
std::string_view option_note(std::string_view path, std::string_view option);
/// The hint rules.
const std::vector<HintRule>& hint_rules();
/// Entries of these tables that name a command or option the tree at root does not have, one
/// message each: stale prose must not survive a renamed command.
std::vector<std::string> stale_entries(const CommandSpec& root);

} // namespace fleet::cli::help
