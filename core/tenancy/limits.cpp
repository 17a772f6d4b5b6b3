#include "core/tenancy/limits.hpp"

#include <fmt/format.h>

namespace fleet::tenancy {

std::string limit_violations(const Hierarchy& tree, const LimitCheck& check,
                             const std::function<bool(const std::string&)>& visible)
{
    auto before = tree.subtree_usage(check.direct);
    auto requested = tree.subtree_usage(check.delta);
    auto after_direct = check.direct;
    for (const auto& [tenant, d] : check.delta) after_direct[tenant] += d;
    auto after = tree.subtree_usage(after_direct);
    std::string over;
    for (const auto& [name, limit] : check.limits) {
        if (!limit || after[name] <= *limit) continue;
        auto old = check.old_limits.find(name);
        bool lowered = old == check.old_limits.end() || old->second != limit;
        std::string why;
        if (!visible(name))
            why = "the device limit of an ancestor tenant you cannot see would be exceeded";
        else if (requested[name] > 0)
            why = fmt::format("tenant \"{}\": device limit {} would be exceeded: {} in use, {} more requested", name,
                              *limit, before[name], requested[name]);
        else if (lowered)
            why = fmt::format("tenant \"{}\": deviceLimit {} is below its current usage of {} device(s)", name,
                              *limit, before[name]);
        else
            continue;
        over += (over.empty() ? "" : "; ") + why;
    }
    return over;
}

} // namespace fleet::tenancy
