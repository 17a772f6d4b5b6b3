#include "core/apply/remove.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/apply/in_use.hpp"
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
    if (!cascade) {
        // Its users: child tenants (visible, as the subtree of a visible tenant) and its objects.
        std::vector<std::string> users;
        for (std::size_t i = 1; i < subtree.size(); ++i)
            if (view.tenants.at(subtree[i]).resource.spec.value("parent", "") == name)
                users.push_back("tenant/" + subtree[i]);
        std::size_t objects = 0;
        for (auto kind : owned_kinds) {
            auto names = store.names(kind, name);
            if (!names) return std::unexpected(names.error());
            objects += names->size();
            for (const auto& n : *names) users.push_back(fmt::format("{}/{}", model::kind_short(kind), n));
        }
        if (!users.empty())
            return fail(ErrorKind::conflict,
                        fmt::format("tenant \"{}\" is not empty ({} child tenant(s), {} object(s)): in use by {}; "
                                    "delete those first or pass --cascade",
                                    name, subtree.size() - 1, objects, users_text(users)));
    }
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
    // A credential that a device staying behind uses, or an artifact or group that a rollout staying
    // behind names, is in use. Users are of the object's own tenant, which the caller can see.
    std::set<std::string> doomed_keys;
    for (const auto& o : doomed) doomed_keys.insert(o.resource.ref() + "@" + o.resource.tenant);
    for (const auto& o : doomed) {
        const auto& r = o.resource;
        auto users_kind = user_kind(r.kind);
        if (!users_kind) continue;
        std::vector<std::string> users;
        auto scanned = store.scan(*users_kind, &r.tenant, [&](model::Object&& user) {
            if (!doomed_keys.contains(user.resource.ref() + "@" + user.resource.tenant) &&
                uses(user.resource, r.kind, r.name))
                users.push_back(user.resource.ref());
        });
        if (!scanned) return std::unexpected(scanned.error());
        if (!users.empty())
            return fail(ErrorKind::conflict, fmt::format("{} in tenant \"{}\" is in use by {}; delete or change those "
                                                         "first",
                                                         r.ref(), r.tenant, users_text(users)));
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
