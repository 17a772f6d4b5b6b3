#pragma once
// An object in use cannot be deleted or pruned (SPEC §4): who uses what, and how to name the users.

#include <optional>
#include <string>
#include <vector>

#include "core/model/resource.hpp"

namespace fleet::apply {

/// True when user refers to the object kind/name of its own tenant: a device to a credential, a rollout
/// to an artifact or a group.
bool uses(const model::Resource& user, model::Kind kind, const std::string& name);

/// The kinds whose objects can be used by others, and the kind of their users; nullopt for the others.
std::optional<model::Kind> user_kind(model::Kind kind);

/// "device/a, device/b and 3 more": refs of users for a message, at most `shown` of them by name.
std::string users_text(const std::vector<std::string>& refs, std::size_t shown = 5);

} // namespace fleet::apply
