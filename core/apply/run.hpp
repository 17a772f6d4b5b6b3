#pragma once
// The whole of an apply, diff or plan: one transaction around planning and (maybe) writing.

#include <cstdint>
#include <optional>

#include "core/apply/plan.hpp"

namespace fleet::apply {

/// What a saved plan showed; applying it is refused when the store or the plan's effect moved on.
struct SavedCheck {
    std::int64_t revision = 0;  ///< the store revision the plan was made at
    nlohmann::json changes;     ///< the changes it listed
};

/// How far to go.
struct RunOptions {
    bool write = false;                ///< false: plan only (diff, plan, dry run)
    std::optional<SavedCheck> saved;   ///< from a saved plan: refuse when the store or its changes differ
};

/// Plans request in one transaction and, with options.write, writes it in that same transaction.
/// A run that does not write opens the store read-only, so it provably changes nothing.
util::Result<Plan> run(store::Store& store, Request request, const RunOptions& options, util::Diagnostics& diags);

/// The JSON form of a plan (without its objects), as `-o json` prints it.
nlohmann::json plan_to_json(const Plan& plan);

} // namespace fleet::apply
