#pragma once
// A rollout that cannot install on some of its targets is refused at validate, plan and apply
// time, not skipped at run time (SPEC §7): a `generic` HTTP device needs the rollout's
// install.http step (a `swupdate` device's profile brings its own).

#include "core/apply/plan.hpp"

namespace fleet::apply {

/// Reports into diags every created or changed rollout whose targets, as the apply leaves the
/// store, include a device that it would reach over HTTP with the generic profile while the
/// rollout has no install.http step; fails with a usage error when there is any. Runs in the
/// plan's transaction. Devices enrolled as CSV rows in the same apply are not seen here (the
/// runner still skips them with the reason).
util::Result<void> check_rollout_installs(store::Store& store, const Plan& plan, util::Diagnostics& diags);

} // namespace fleet::apply
