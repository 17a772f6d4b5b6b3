#include "core/apply/remove.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/tenancy/view.hpp"

namespace fleet::apply {

using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

/// Every kind a tenant can own, in the order they are removed (dependents first).
constexpr model::Kind owned_kinds[] = {model::Kind::rollout, model::Kind::artifact, model::Kind::device_group,
                                       model::Kind::device, model::Kind::credential};

Result<void> remove_tenant(store::Store& store, const tenancy::TenantView& view, const std::string& name,
                           bool cascade, std::vector<model::Object>& doomed)
{
    if (name == view.tree.provider())
        return fail(ErrorKind::conflict, fmt::format("the provider tenant \"{}\" cannot be deleted", name));
    auto subtree = view.tree.subtree(name);
    std::size_t children = subtree.size() - 1;
    auto owned = store.object_count(name);
    if (!owned) return std::unexpected(owned.error());
    if (!cascade && (children > 0 || *owned > 0))
        return fail(ErrorKind::conflict,
                    fmt::format("tenant \"{}\" is not empty ({} child tenant(s), {} object(s)); delete those first "
                                "or pass --cascade",
                                name, children, *owned));
    // Deepest tenants first, each after the objects it owns.
    std::reverse(subtree.begin(), subtree.end());
    for (const auto& tenant : subtree) {
        for (auto kind : owned_kinds) {
            auto objects = store.list(kind, &tenant);
            if (!objects) return std::unexpected(objects.error());
            for (auto& o : *objects) doomed.push_back(std::move(o));
        }
        doomed.push_back(view.tenants.at(tenant));
    }
    return {};
}

} // namespace

Result<std::vector<std::string>> delete_objects(store::Store& store, const DeleteRequest& request)
{
    auto tx = store.begin(request.dry_run ? store::TxMode::read : store::TxMode::write);
    if (!tx) return std::unexpected(tx.error());
    auto view = tenancy::read_view(store);
    if (!view) return std::unexpected(view.error());

    std::vector<model::Object> doomed;
    for (const auto& t : request.targets) {
        auto found = store.resolve(t.kind, t.name, t.tenant);
        if (!found) {
            if (request.ignore_not_found && found.error().kind == ErrorKind::not_found) continue;
            return std::unexpected(found.error());
        }
        if (t.kind == model::Kind::tenant) {
            if (auto r = remove_tenant(store, *view, t.name, request.cascade, doomed); !r)
                return std::unexpected(r.error());
        } else {
            doomed.push_back(std::move(*found));
        }
    }
    // An artifact or group that a rollout staying behind still names is in use.
    std::set<std::string> doomed_keys;
    for (const auto& o : doomed) doomed_keys.insert(o.resource.ref() + "@" + o.resource.tenant);
    for (const auto& o : doomed) {
        const auto& r = o.resource;
        if (r.kind != model::Kind::artifact && r.kind != model::Kind::device_group) continue;
        auto rollouts = store.list(model::Kind::rollout, &r.tenant);
        if (!rollouts) return std::unexpected(rollouts.error());
        for (const auto& ro : *rollouts) {
            if (doomed_keys.contains(ro.resource.ref() + "@" + ro.resource.tenant)) continue;
            const auto& spec = ro.resource.spec;
            bool uses = r.kind == model::Kind::artifact ? spec.value("artifact", "") == r.name
                                                        : spec["targets"].value("group", "") == r.name;
            if (uses)
                return fail(ErrorKind::conflict, fmt::format("{} is in use by {} in tenant \"{}\"; delete that first",
                                                             r.ref(), ro.resource.ref(), r.tenant));
        }
    }
    std::vector<std::string> deleted;
    std::set<std::string> done;
    for (const auto& o : doomed) {
        std::string key = o.resource.ref() + "@" + o.resource.tenant;
        if (!done.insert(key).second) continue;  // named twice, or inside a cascaded tenant
        if (!request.dry_run)
            if (auto r = store.remove(o, "deleted"); !r) return std::unexpected(r.error());
        deleted.push_back(o.resource.ref());
    }
    if (!request.dry_run)
        if (auto r = tx->commit(); !r) return std::unexpected(r.error());
    return deleted;
}

} // namespace fleet::apply
