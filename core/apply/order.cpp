// Execution order of a plan.
//
// validate, plan and a dry run check the input as a whole, so they accept documents in any order
// (a tenant before its parent, a device before its credential). Writing is done one object at a
// time, and each write is authorized against what the transaction holds so far: a tenant's
// permissions come from its ancestors, which must therefore be written first. Sorting the changes
// here makes apply write what the checks accepted, in any document, file or folder order.

#include "core/apply/order.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

namespace fleet::apply {

namespace {

/// Rank of a kind among creates and updates: what an object refers to comes first.
int kind_rank(model::Kind kind)
{
    switch (kind) {
    case model::Kind::tenant: return 0;
    case model::Kind::credential: return 1;
    case model::Kind::device: return 2;
    case model::Kind::device_group: return 3;
    case model::Kind::artifact: return 4;
    case model::Kind::rollout: return 5;
    }
    return 6;
}

/// Depth of each tenant within a set of tenants given by name → parent: 0 when its parent is not
/// in the set. A cycle (refused by the plan's checks before this runs) stops at the set's size.
std::map<std::string, std::size_t> depths(const std::map<std::string, std::string>& parents)
{
    std::map<std::string, std::size_t> out;
    for (const auto& [name, parent] : parents) {
        std::size_t depth = 0;
        for (auto it = parents.find(parent); it != parents.end() && depth < parents.size();
             it = parents.find(it->second))
            ++depth;
        out[name] = depth;
    }
    return out;
}

} // namespace

void order_for_execution(Plan& plan)
{
    std::map<std::string, std::string> written, pruned;  // tenant → parent, per set
    for (const auto& c : plan.changes) {
        if (c.record || c.resource->kind != model::Kind::tenant) continue;
        auto& set = c.op == Op::prune ? pruned : written;
        set[c.resource->name] = c.resource->spec.value("parent", "");
    }
    auto written_depth = depths(written), pruned_depth = depths(pruned);
    // (group, rank, depth): prunes (group 0) in reverse dependency order, then the rest (group 1).
    auto key = [&](const Change& c) {
        model::Kind kind = c.record ? model::Kind::device : c.resource->kind;
        bool prune = c.op == Op::prune;
        std::size_t depth = 0;
        if (kind == model::Kind::tenant) {
            const auto& by_name = prune ? pruned_depth : written_depth;
            depth = by_name.at(c.resource->name);
        }
        if (prune) return std::tuple(0, -kind_rank(kind), -static_cast<long long>(depth));
        return std::tuple(1, kind_rank(kind), static_cast<long long>(depth));
    };
    std::stable_sort(plan.changes.begin(), plan.changes.end(),
                     [&](const Change& a, const Change& b) { return key(a) < key(b); });
}

} // namespace fleet::apply
