// Planning an apply.
//
// The plan is computed inside the transaction that will write it, so two applies on one
// store serialize on the write lock and the second plans against the first one's result.
// Steps: normalize defaults (a tenant's parent is the provider unless given), reject
// duplicates, compare each desired object with the stored one, add prunes for objects of
// the same source that the input no longer has, then check the tenant tree that would
// result (parents exist, no cycles, depth), device limits against that tree, and that
// nothing pruned is still in use. Input problems are collected and reported together.

#include "core/apply/plan.hpp"

#include <fmt/format.h>

#include <map>
#include <set>
#include <tuple>

#include "core/tenancy/hierarchy.hpp"
#include "core/tenancy/view.hpp"

namespace fleet::apply {

using nlohmann::json;
using util::ErrorKind;
using util::fail;
using util::Result;

std::string_view op_verb(Op op)
{
    switch (op) {
    case Op::create: return "created";
    case Op::configure: return "configured";
    case Op::prune: return "pruned";
    case Op::unchanged: return "unchanged";
    }
    return "unchanged";
}

Counts Plan::counts() const
{
    Counts c;
    for (const auto& change : changes) {
        switch (change.op) {
        case Op::create: ++c.created; break;
        case Op::configure: ++c.configured; break;
        case Op::prune: ++c.pruned; break;
        case Op::unchanged: ++c.unchanged; break;
        }
    }
    return c;
}

bool Plan::has_changes() const
{
    auto c = counts();
    return c.created + c.configured + c.pruned > 0;
}

namespace {

using Key = std::tuple<model::Kind, std::string, std::string>;

Key key_of(const model::Resource& r)
{
    return {r.kind, r.kind == model::Kind::tenant ? std::string() : r.tenant, r.name};
}

std::vector<FieldChange> compare(const model::Resource& stored, const model::Resource& desired)
{
    std::vector<FieldChange> fields;
    diff_json(stored.labels, desired.labels, "metadata.labels", fields);
    diff_json(stored.annotations, desired.annotations, "metadata.annotations", fields);
    diff_json(stored.spec, desired.spec, "spec", fields);
    return fields;
}

/// Checks the tenant tree and device limits that the plan would produce.
Result<void> check_tenants(store::Store& store, const Plan& plan, const std::string& provider,
                           const std::vector<model::Object>& stored_tenants, util::Diagnostics& diags)
{
    std::map<std::string, tenancy::Link> links;
    std::map<std::string, std::optional<std::int64_t>> limits;
    for (const auto& t : stored_tenants) {
        links[t.resource.name] = {t.resource.spec.value("parent", ""), {}};
        limits[t.resource.name] = tenancy::device_limit(t.resource.spec);
    }
    std::set<std::string> pruned;
    for (const auto& change : plan.changes) {
        const auto& r = change.resource;
        if (r.kind != model::Kind::tenant) continue;
        if (change.op == Op::prune) {
            links.erase(r.name);
            limits.erase(r.name);
            pruned.insert(r.name);
            continue;
        }
        links[r.name] = {r.spec.value("parent", ""), r.location(r.spec.contains("parent") ? "/spec/parent" : "")};
        limits[r.name] = tenancy::device_limit(r.spec);
    }
    // A tenant that stays while its parent is pruned would dangle; name both.
    for (const auto& [name, link] : links)
        if (pruned.contains(link.parent))
            diags.error(link.where, "spec.parent",
                        fmt::format("tenant \"{}\" cannot be pruned: tenant \"{}\" still has it as parent",
                                    link.parent, name));
    if (diags.has_errors()) return fail(ErrorKind::usage, "invalid tenant hierarchy");
    tenancy::Hierarchy tree(links, provider);
    tree.check(diags);
    if (diags.has_errors()) return fail(ErrorKind::usage, "invalid tenant hierarchy");

    auto direct = store.device_counts();
    if (!direct) return std::unexpected(direct.error());
    for (const auto& name : pruned) {
        auto objects = store.object_count(name);
        if (!objects) return std::unexpected(objects.error());
        bool all_pruned = true;
        for (const auto& change : plan.changes)
            if (change.op != Op::prune && change.resource.kind != model::Kind::tenant && change.resource.tenant == name)
                all_pruned = false;
        if (*objects > 0 && !all_pruned)
            return fail(ErrorKind::conflict,
                        fmt::format("tenant \"{}\" cannot be pruned: it still owns {} object(s); delete them first "
                                    "or use `fleetadm delete tenant {} --cascade`",
                                    name, *objects, name));
    }
    auto usage = tree.subtree_usage(*direct);
    std::string over;
    for (const auto& [name, limit] : limits) {
        if (!limit || usage[name] <= *limit) continue;
        over += fmt::format("{}tenant \"{}\": deviceLimit {} is below its current usage of {} device(s)",
                            over.empty() ? "" : "; ", name, *limit, usage[name]);
    }
    if (!over.empty()) return fail(ErrorKind::conflict, over);
    return {};
}

} // namespace

Result<Plan> make_plan(store::Store& store, Request request, util::Diagnostics& diags)
{
    auto provider = store.provider();
    if (!provider) return std::unexpected(provider.error());
    auto revision = store.revision();
    if (!revision) return std::unexpected(revision.error());

    Plan plan;
    plan.source = request.source;
    plan.commit = request.commit;
    plan.revision = *revision;
    plan.prune = request.prune;
    plan.confirm_prune = request.confirm_prune;

    std::map<Key, const model::Resource*> seen;
    for (auto& r : request.desired) {
        if (r.kind == model::Kind::tenant && r.name != *provider && !r.spec.contains("parent"))
            r.spec["parent"] = *provider;
        if (r.kind != model::Kind::tenant) {
            diags.error(r.location("/kind"), "kind",
                        fmt::format("kind {} is not handled by this version yet", model::kind_name(r.kind)));
            continue;
        }
        if (auto [it, fresh] = seen.emplace(key_of(r), &r); !fresh)
            diags.error(r.location(), "metadata.name",
                        fmt::format("{} is defined twice (first at {})", r.ref(), it->second->location().str()));
    }
    if (diags.has_errors()) return fail(ErrorKind::usage, "invalid input");

    for (const auto& r : request.desired) {
        auto stored = store.get(r.kind, r.tenant, r.name);
        if (!stored) return std::unexpected(stored.error());
        Change change{Op::create, r, {}};
        if (*stored) {
            change.fields = compare((*stored)->resource, r);
            change.op = change.fields.empty() ? Op::unchanged : Op::configure;
        }
        plan.changes.push_back(std::move(change));
    }

    std::size_t source_objects = 0;
    if (request.prune) {
        auto owned = store.list_by_source(request.source);
        if (!owned) return std::unexpected(owned.error());
        source_objects = owned->size();
        for (auto& o : *owned) {
            if (seen.contains(key_of(o.resource)) ||
                (o.resource.kind == model::Kind::tenant && o.resource.name == *provider))
                continue;
            plan.changes.push_back({Op::prune, std::move(o.resource), {}});
        }
    }

    auto tenants = store.list(model::Kind::tenant);
    if (!tenants) return std::unexpected(tenants.error());
    if (auto r = check_tenants(store, plan, *provider, *tenants, diags); !r) return std::unexpected(r.error());

    auto pruned = plan.counts().pruned;
    if (pruned > 0 && pruned * 4 > source_objects && !request.confirm_prune)
        return fail(ErrorKind::conflict,
                    fmt::format("refusing to prune {} of the {} objects applied from this source (more than 25%); "
                                "pass --confirm-prune if that is intended",
                                pruned, source_objects));
    plan.desired = std::move(request.desired);
    return plan;
}

Result<void> execute(store::Store& store, const Plan& plan)
{
    std::string now = model::now_utc();
    for (const auto& change : plan.changes) {
        if (change.op == Op::unchanged) continue;
        const Change* c = &change;
        const auto& r = c->resource;
        if (c->op == Op::prune) {
            auto stored = store.get(r.kind, r.tenant, r.name);
            if (!stored) return std::unexpected(stored.error());
            if (*stored)
                if (auto w = store.remove(**stored, "pruned"); !w) return w;
            continue;
        }
        auto stored = store.get(r.kind, r.tenant, r.name);
        if (!stored) return std::unexpected(stored.error());
        model::Object object;
        object.resource = r;
        auto where = r.location();
        object.origin = {plan.source, where.line > 0 ? fmt::format("{}:{}", where.file, where.line) : where.file,
                         plan.commit};
        object.generation = *stored ? (*stored)->generation + 1 : 1;
        object.created_at = *stored ? (*stored)->created_at : now;
        object.updated_at = now;
        std::string summary;
        for (const auto& f : c->fields) summary += (summary.empty() ? "changed " : ", ") + f.path;
        if (auto w = store.put(object, std::string(op_verb(c->op)), summary); !w) return w;
    }
    return {};
}

} // namespace fleet::apply
