#pragma once
// An object in use cannot be deleted or pruned (SPEC §4): who uses what, and how to name the users.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/resource.hpp"

namespace fleet::apply {

/// One credential a device names: spec.ssh.credential, spec.http.credential, or a jump host's.
struct CredentialReference {
    std::string transport;  ///< "ssh" or "http": the types that fit
    std::string pointer;    ///< JSON pointer of the field ("/spec/ssh/jump/0/credential")
    std::string field;      ///< the same as a dotted path ("spec.ssh.jump[0].credential")
    std::string name;
};

/// Every credential a Device's spec names, in field order.
std::vector<CredentialReference> credential_references(const nlohmann::json& spec);

/// True when user refers to the object kind/name of its own tenant: a device to a credential (for
/// itself or a jump host), a rollout to an artifact or a group.
bool uses(const model::Resource& user, model::Kind kind, const std::string& name);

/// The kinds whose objects can be used by others, and the kind of their users; nullopt for the others.
std::optional<model::Kind> user_kind(model::Kind kind);

/// "device/a, device/b and 3 more": refs of users for a message, at most `shown` of them by name.
std::string users_text(const std::vector<std::string>& refs, std::size_t shown = 5);

} // namespace fleet::apply
