#include "core/rollout/slots.hpp"

#include <algorithm>
#include <set>

namespace fleet::rollout {

std::size_t Slots::share() const
{
    std::set<std::string> active;
    for (const auto& [tenant, n] : m_held)
        if (n > 0) active.insert(tenant);
    for (const auto& [requester, w] : m_wanting)
        if (w.more > 0) active.insert(w.tenant);
    return std::max<std::size_t>(1, m_capacity / std::max<std::size_t>(1, active.size()));
}

std::size_t Slots::acquire(const std::string& tenant, const std::string& requester, std::size_t wanted)
{
    std::lock_guard lock(m_mutex);
    auto& mine = m_held[tenant];
    std::size_t free = m_capacity > m_used ? m_capacity - m_used : 0;
    std::size_t grant = std::min(wanted, free);
    // Another tenant below its share waits: this one gets no more than its own share.
    std::size_t fair = share();
    bool others_wait = std::any_of(m_wanting.begin(), m_wanting.end(), [&](const auto& item) {
        const Wanting& w = item.second;
        if (w.tenant == tenant || w.more == 0) return false;
        auto held = m_held.find(w.tenant);
        return (held == m_held.end() ? 0 : held->second) < fair;
    });
    if (others_wait) grant = std::min(grant, mine < fair ? fair - mine : 0);
    mine += grant;
    m_used += grant;
    m_wanting[requester] = {tenant, wanted - grant};
    return grant;
}

void Slots::release(const std::string& tenant, std::size_t n)
{
    std::lock_guard lock(m_mutex);
    auto& mine = m_held[tenant];
    n = std::min(n, mine);
    mine -= n;
    m_used -= n;
}

void Slots::leave(const std::string& requester)
{
    std::lock_guard lock(m_mutex);
    m_wanting.erase(requester);
}

std::size_t Slots::held(const std::string& tenant) const
{
    std::lock_guard lock(m_mutex);
    auto it = m_held.find(tenant);
    return it == m_held.end() ? 0 : it->second;
}

} // namespace fleet::rollout
