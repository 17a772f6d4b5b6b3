#pragma once
// Who may do what where: roles from the tenants' members, holding for each tenant's subtree.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/model/object.hpp"

namespace fleet::store {

/// Roles, in increasing power; a role on a tenant holds for all its descendants.
enum class Role { none, viewer, operator_, admin };

/// "none", "viewer", "operator", "admin".
std::string_view role_name(Role role);

/// The roles one user holds, over the whole tenant tree (including tenants the user cannot see).
class AccessMap {
public:
    /// Builds the map for user from every tenant of the store.
    AccessMap(const std::vector<model::Object>& tenants, std::string user, std::string provider);

    /// The user's effective role on a tenant: the strongest role held on it or an ancestor. A tenant
    /// that no longer exists (an old audit entry's) is treated as a child of the provider.
    Role role_on(const std::string& tenant) const;
    /// The parent of a tenant; nullopt for the provider or an unknown tenant.
    std::optional<std::string> parent_of(const std::string& tenant) const;
    /// True when the tenant exists, visible or not.
    bool exists(const std::string& tenant) const { return m_parent.contains(tenant); }
    /// Takes in a tenant written in this transaction (new parent, new members).
    void update(const model::Object& tenant);
    /// Forgets a tenant deleted in this transaction.
    void erase(const std::string& tenant);

private:
    void add(const model::Object& tenant);
    std::string m_user;
    std::map<std::string, std::string> m_parent;
    std::map<std::string, Role> m_own;  // roles held directly
    std::string m_provider;
    mutable std::unordered_map<std::string, Role> m_memo;
};

} // namespace fleet::store
