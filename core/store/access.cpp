#include "core/store/access.hpp"

namespace fleet::store {

std::string_view role_name(Role role)
{
    switch (role) {
    case Role::none: return "none";
    case Role::viewer: return "viewer";
    case Role::operator_: return "operator";
    case Role::admin: return "admin";
    }
    return "none";
}

namespace {

Role parse_role(const std::string& text)
{
    if (text == "admin") return Role::admin;
    if (text == "operator") return Role::operator_;
    if (text == "viewer") return Role::viewer;
    return Role::none;
}

} // namespace

AccessMap::AccessMap(const std::vector<model::Object>& tenants, std::string user, std::string provider)
    : m_user(std::move(user)), m_provider(std::move(provider))
{
    for (const auto& t : tenants) add(t);
}

void AccessMap::add(const model::Object& tenant)
{
    const auto& name = tenant.resource.name;
    const auto& spec = tenant.resource.spec;
    m_parent[name] = spec.value("parent", "");
    m_own.erase(name);
    for (const auto& m : spec.value("members", nlohmann::json::array()))
        if (m.value("user", "") == m_user) m_own[name] = std::max(m_own[name], parse_role(m.value("role", "")));
}

void AccessMap::update(const model::Object& tenant)
{
    add(tenant);
    m_memo.clear();  // descendants inherit whatever changed
}

void AccessMap::erase(const std::string& tenant)
{
    m_parent.erase(tenant);
    m_own.erase(tenant);
    m_memo.clear();
}

Role AccessMap::role_on(const std::string& tenant) const
{
    if (auto it = m_memo.find(tenant); it != m_memo.end()) return it->second;
    Role best = Role::none;
    std::string at = m_parent.contains(tenant) ? tenant : m_provider;
    for (std::size_t hops = 0; !at.empty() && hops <= m_parent.size(); ++hops) {
        if (auto own = m_own.find(at); own != m_own.end()) best = std::max(best, own->second);
        auto parent = m_parent.find(at);
        if (parent == m_parent.end()) break;
        at = parent->second;
    }
    m_memo.emplace(tenant, best);
    return best;
}

std::optional<std::string> AccessMap::parent_of(const std::string& tenant) const
{
    auto it = m_parent.find(tenant);
    if (it == m_parent.end() || it->second.empty()) return std::nullopt;
    return it->second;
}

} // namespace fleet::store
