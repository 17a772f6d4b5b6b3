#pragma once
// The tenant tree: parent links, depth, ancestors and device usage counted over subtrees.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/util/diagnostics.hpp"

namespace fleet::tenancy {

/// Deepest allowed nesting; the provider is level 1.
inline constexpr int max_depth = 8;

/// One tenant's place in the tree, with where its parent was declared (for diagnostics).
struct Link {
    std::string parent;      ///< empty for the provider
    util::Location where;    ///< position of spec.parent, or of the document
};

/// An immutable view of the tenant tree.
class Hierarchy {
public:
    /// Builds the tree from name → parent links; the provider has no parent.
    Hierarchy(std::map<std::string, Link> links, std::string provider);

    /// Reports dangling parents, cycles and nesting deeper than max_depth; the provider must have no parent.
    void check(util::Diagnostics& diags) const;

    /// True when the tenant exists.
    bool contains(const std::string& name) const { return m_links.contains(name); }
    /// The provider tenant.
    const std::string& provider() const { return m_provider; }
    /// Children of a tenant, sorted by name.
    std::vector<std::string> children(const std::string& name) const;
    /// Ancestors of a tenant, nearest first, ending at the provider.
    std::vector<std::string> ancestors(const std::string& name) const;
    /// The tenant and all its descendants.
    std::vector<std::string> subtree(const std::string& name) const;
    /// Devices held by each tenant's whole subtree, from the devices each tenant owns directly.
    std::map<std::string, std::int64_t> subtree_usage(const std::map<std::string, std::int64_t>& direct) const;

private:
    std::map<std::string, Link> m_links;
    std::map<std::string, std::vector<std::string>> m_children;
    std::string m_provider;
};

} // namespace fleet::tenancy
