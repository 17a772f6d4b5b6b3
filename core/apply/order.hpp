#pragma once
// The order in which a plan's changes are written, whatever order the input came in.

#include "core/apply/plan.hpp"

namespace fleet::apply {

/// Puts the changes in the order they can be written in one transaction: prunes first, the users
/// of an object before the object (rollouts, artifacts, groups, devices, credentials, then tenants
/// children first); then creates and updates, each object after what it needs (tenants parent
/// first, then credentials, devices, groups, artifacts, rollouts). Stable within a rank.
void order_for_execution(Plan& plan);

} // namespace fleet::apply
