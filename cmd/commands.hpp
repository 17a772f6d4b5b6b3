#pragma once
// The command table: one setup function per command, each defined in its own file.

#include "cmd/common.hpp"

namespace fleet::cli {

void setup_init(Context& ctx);
void setup_validate(Context& ctx);
void setup_diff(Context& ctx);
void setup_plan(Context& ctx);
void setup_apply(Context& ctx);
void setup_get(Context& ctx);
void setup_describe(Context& ctx);
void setup_explain(Context& ctx);
void setup_delete(Context& ctx);
void setup_tenant(Context& ctx);
void setup_device(Context& ctx);
void setup_exec(Context& ctx);
void setup_audit(Context& ctx);
void setup_export(Context& ctx);
void setup_config(Context& ctx);
void setup_store(Context& ctx);
void setup_user(Context& ctx);
void setup_rollout(Context& ctx);
void setup_runner(Context& ctx);
void setup_version(Context& ctx);
void setup_completion(Context& ctx);
/// The hidden `__man DIR`: writes the man pages (cmd/man_page.hpp).
void setup_man(Context& ctx);

/// Builds the whole command line interface into root.
void setup_all(Context& ctx);

/// Parses argv, runs the chosen command and returns the process exit code.
int run(int argc, char** argv);

} // namespace fleet::cli
