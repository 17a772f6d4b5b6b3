#pragma once
// `{{tenant.settings.KEY}}` in a rollout's templates, checked against the settings its tenant will
// have after the apply: its own and those it inherits (SPEC §4), at validate, plan and apply time.

#include "core/apply/plan.hpp"

namespace fleet::apply {

/// Reports into diags every settings variable of the plan's rollouts that their tenant will not
/// have, and fails with a usage error when there is any. Runs in the plan's transaction.
util::Result<void> check_rollout_settings(store::Store& store, const Plan& plan, util::Diagnostics& diags);

} // namespace fleet::apply
