#pragma once
// Shared by diff, plan and apply: the options that select inputs, and how a plan is printed.

#include <ostream>
#include <string>
#include <vector>

#include "cmd/common.hpp"
#include "core/apply/plan.hpp"

namespace fleet::cli {

/// Inputs and prune flags shared by diff, plan and apply.
struct SourceOptions {
    std::vector<std::string> files;
    bool recursive = false;
    std::string git;   ///< --git URL: read the inputs from a git remote instead of -f
    std::string ref;   ///< --ref: branch, tag or commit; empty: the remote's default branch
    std::string path;  ///< --path: folder inside the repository; empty: its root
    std::string artifact_dir;  ///< --artifact-dir: a local folder the git source's artifacts may name
    std::string source;  ///< --source NAME: the source's identity; empty: from the paths (SPEC §4)
    bool prune = false;
    bool confirm_prune = false;
};

/// Refuses a --source NAME that input::named_source_key refuses (an empty one too), as a usage error.
CLI::Validator source_name_check();

/// The source key of --source NAME, or default_key when no name is given.
util::Result<std::string> source_identity(const std::string& name, const std::string& default_key);

/// Adds -f, -R, --git, --ref, --path, --artifact-dir, --source, --prune and --confirm-prune.
void add_source_options(CLI::App& command, SourceOptions& opts);

/// True when opts name any input (-f or --git).
bool has_input(const SourceOptions& opts);

/// Reads the inputs (the -f files, or the git source at its commit) into an apply request; problems
/// in the files go to diags, a git source that cannot be read is an error.
/// With bulk, CSV device rows stay as checked text records (request.bulk) instead of resources.
util::Result<apply::Request> make_request(const SourceOptions& opts, const Globals& g, util::Diagnostics& diags,
                                          bool bulk = false);

/// "git:URL#PATH at COMMIT (was PREVIOUS)" for a plan from a git source; empty for files.
std::string commit_line(const apply::Plan& plan);

/// Prints the changes of a plan field by field; unchanged objects are not listed.
void print_changes(std::ostream& out, const apply::Plan& plan, bool color);

/// The summary line, e.g. "2 created, 1 configured, 0 pruned, 5 unchanged".
std::string summary_line(const apply::Plan& plan);

/// Plans against the store without writing, and prints the result; exit 1 when there are changes.
/// With out_file, also saves the plan there for `fleetadm apply FILE`.
Outcome run_preview(const SourceOptions& opts, const Globals& g, const std::string& out_file, bool plan_style);

} // namespace fleet::cli
