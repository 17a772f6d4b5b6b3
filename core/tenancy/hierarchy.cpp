#include "core/tenancy/hierarchy.hpp"

#include <fmt/format.h>

#include <set>

namespace fleet::tenancy {

Hierarchy::Hierarchy(std::map<std::string, Link> links, std::string provider)
    : m_links(std::move(links)), m_provider(std::move(provider))
{
    for (const auto& [name, link] : m_links)
        if (!link.parent.empty()) m_children[link.parent].push_back(name);
}

void Hierarchy::check(util::Diagnostics& diags) const
{
    for (const auto& [name, link] : m_links) {
        if (name == m_provider) {
            if (!link.parent.empty())
                diags.error(link.where, "spec.parent",
                            fmt::format("the provider tenant \"{}\" cannot have a parent", name));
            continue;
        }
        if (link.parent.empty() || !m_links.contains(link.parent)) {
            diags.error(link.where, "spec.parent",
                        fmt::format("tenant \"{}\": parent tenant \"{}\" does not exist", name, link.parent));
            continue;
        }
        // Walk up; a cycle never reaches the provider, and the walk is bounded by the tenant count.
        std::set<std::string> seen{name};
        std::string chain = name;
        std::string at = link.parent;
        int depth = 2;
        bool reported = false;
        while (at != m_provider) {
            auto it = m_links.find(at);
            if (it == m_links.end() || it->second.parent.empty()) break;  // reported on that tenant
            chain += " → " + at;
            if (!seen.insert(at).second) {
                diags.error(link.where, "spec.parent",
                            fmt::format("tenant \"{}\": the parent chain {} is a cycle", name, chain));
                reported = true;
                break;
            }
            at = it->second.parent;
            ++depth;
        }
        if (!reported && depth > max_depth)
            diags.error(link.where, "spec.parent",
                        fmt::format("tenant \"{}\" would be nested {} levels deep; at most {} are allowed", name,
                                    depth, max_depth));
    }
}

std::vector<std::string> Hierarchy::children(const std::string& name) const
{
    auto it = m_children.find(name);
    return it == m_children.end() ? std::vector<std::string>{} : it->second;
}

std::vector<std::string> Hierarchy::ancestors(const std::string& name) const
{
    std::vector<std::string> out;
    auto it = m_links.find(name);
    while (it != m_links.end() && !it->second.parent.empty() && out.size() <= m_links.size()) {
        out.push_back(it->second.parent);
        it = m_links.find(it->second.parent);
    }
    return out;
}

std::vector<std::string> Hierarchy::subtree(const std::string& name) const
{
    std::vector<std::string> out{name};
    for (std::size_t i = 0; i < out.size() && out.size() <= m_links.size(); ++i)
        for (const auto& child : children(out[i])) out.push_back(child);
    return out;
}

std::map<std::string, std::int64_t> Hierarchy::subtree_usage(const std::map<std::string, std::int64_t>& direct) const
{
    std::map<std::string, std::int64_t> usage;
    for (const auto& [name, link] : m_links) usage[name] = 0;
    for (const auto& [tenant, count] : direct) {
        usage[tenant] += count;
        for (const auto& a : ancestors(tenant)) usage[a] += count;
    }
    return usage;
}

} // namespace fleet::tenancy
