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
    bool prune = false;
    bool confirm_prune = false;
};

/// Adds -f, -R, --prune and --confirm-prune.
void add_source_options(CLI::App& command, SourceOptions& opts);

/// Reads the inputs into an apply request; problems go to diags.
apply::Request make_request(const SourceOptions& opts, const Globals& g, util::Diagnostics& diags, bool bulk = false);

/// Prints the changes of a plan field by field; unchanged objects are not listed.
void print_changes(std::ostream& out, const apply::Plan& plan, bool color);

/// The summary line, e.g. "2 created, 1 configured, 0 pruned, 5 unchanged".
std::string summary_line(const apply::Plan& plan);

/// Plans against the store without writing, and prints the result; exit 1 when there are changes.
/// With out_file, also saves the plan there for `fleetadm apply FILE`.
Outcome run_preview(const SourceOptions& opts, const Globals& g, const std::string& out_file, bool plan_style);

} // namespace fleet::cli
