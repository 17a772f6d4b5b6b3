#include "core/store/migrate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/store/access.hpp"
#include "core/store/artifacts.hpp"

namespace fleet::store {

using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

constexpr model::Kind kinds_in_order[] = {model::Kind::tenant,   model::Kind::credential, model::Kind::device_group,
                                          model::Kind::device,   model::Kind::artifact,   model::Kind::rollout};

} // namespace

Result<MigrateCounts> migrate(Store& from, Store& to)
{
    MigrateCounts counts;
    auto read = from.begin(TxMode::read);
    if (!read) return std::unexpected(read.error());
    auto write = to.begin(TxMode::write);
    if (!write) return std::unexpected(write.error());
    Backend& src = *from.m_backend;
    Backend& dst = *to.m_backend;

    auto provider = src.meta("provider");
    if (!provider) return std::unexpected(provider.error());
    if (!*provider) return fail(ErrorKind::usage, "the store to copy is not initialized: nothing to migrate");
    if (auto r = from.authorize(Action::admin, **provider); !r)
        return fail(r.error().kind, r.error().message + " (store migrate copies every tenant: it needs admin on the "
                                                        "provider tenant)");
    auto existing = dst.meta("provider");
    if (!existing) return std::unexpected(existing.error());
    if (*existing)
        return fail(ErrorKind::conflict,
                    fmt::format("the target store is not empty (provider tenant \"{}\"): store migrate copies into an "
                                "empty store only",
                                **existing));

    auto copy_meta = [&](const char* key) -> Result<void> {
        auto value = src.meta(key);
        if (!value) return std::unexpected(value.error());
        if (*value) return dst.set_meta(key, **value);
        return {};
    };
    if (auto r = copy_meta("provider"); !r) return std::unexpected(r.error());

    // Sources first, so that the objects' put finds each with its commit and first-applied time.
    auto sources = src.sources();
    if (!sources) return std::unexpected(sources.error());
    for (const auto& [key, state] : *sources)
        if (auto r = dst.set_source_commit(key, state.commit, state.applied_at); !r) return std::unexpected(r.error());
    counts.sources = sources->size();

    std::vector<std::string> tenants;
    std::vector<std::pair<std::string, std::string>> rollouts;
    for (auto kind : kinds_in_order) {
        std::optional<util::Error> failed;
        std::vector<model::Object> tenant_objects;
        auto scanned = src.scan(kind, nullptr, [&](model::Object&& object) {
            if (failed) return;
            if (kind == model::Kind::tenant) {
                tenants.push_back(object.resource.name);
                tenant_objects.push_back(std::move(object));
                return;
            }
            if (kind == model::Kind::rollout) rollouts.emplace_back(object.resource.tenant, object.resource.name);
            if (auto r = dst.put(object); !r) failed = r.error();
            ++counts.objects;
        });
        if (!scanned) return std::unexpected(scanned.error());
        if (failed) return std::unexpected(*failed);
        // Tenants parents first, the provider before all: a store that judges every write itself
        // (PostgreSQL's policies) must know the provider's admins before the first child lands.
        std::map<std::string, std::string> parent_of;
        for (const auto& t : tenant_objects) parent_of[t.resource.name] = t.resource.spec.value("parent", "");
        auto depth = [&](const std::string& name) {
            std::size_t d = 0;
            for (auto at = parent_of.find(name); at != parent_of.end() && !at->second.empty() && d <= parent_of.size();
                 at = parent_of.find(at->second))
                ++d;
            return d;
        };
        std::stable_sort(tenant_objects.begin(), tenant_objects.end(),
                         [&](const model::Object& a, const model::Object& b) {
                             return depth(a.resource.name) < depth(b.resource.name);
                         });
        for (const auto& t : tenant_objects) {
            if (auto r = dst.put(t); !r) return std::unexpected(r.error());
            ++counts.objects;
        }
    }
    for (const auto& [key, state] : *sources) {
        auto devices = src.source_devices(key);
        if (!devices) return std::unexpected(devices.error());
        for (const auto& d : *devices)
            if (d.detached)
                if (auto r = dst.set_detached_source(d.tenant, d.name, key); !r) return std::unexpected(r.error());
    }

    auto statuses = src.device_status(nullptr);
    if (!statuses) return std::unexpected(statuses.error());
    for (const auto& [key, status] : *statuses) {
        StatusUpdate update{status.reported_version, status.last_seen, status.reachable, status.last_rollout};
        if (auto r = dst.update_device_status(key.first, key.second, update); !r) return std::unexpected(r.error());
    }
    counts.statuses = statuses->size();

    for (const auto& [tenant, name] : rollouts) {
        auto run = src.rollout_run(tenant, name);
        if (!run) return std::unexpected(run.error());
        if (!*run) continue;
        if (auto r = dst.put_rollout_run(**run); !r) return std::unexpected(r.error());
        ++counts.rollout_runs;
        auto devices = src.rollout_devices(tenant, name);
        if (!devices) return std::unexpected(devices.error());
        for (const auto& d : *devices)
            if (auto r = dst.put_rollout_device(d); !r) return std::unexpected(r.error());
        counts.rollout_devices += devices->size();
    }
    for (const auto& tenant : tenants) {
        auto outputs = src.device_outputs(tenant, "", "");
        if (!outputs) return std::unexpected(outputs.error());
        for (const auto& o : *outputs)
            if (auto r = dst.put_device_output(o); !r) return std::unexpected(r.error());
        counts.outputs += outputs->size();
    }

    // The audit logs as they are: sequence numbers, hashes and heads unchanged, so that the copy
    // verifies and extends any checkpoint taken of the original.
    std::vector<AuditEntry> batch;
    std::optional<util::Error> failed;
    auto flush = [&] {
        if (!failed && !batch.empty())
            if (auto r = dst.insert_audits(batch); !r) failed = r.error();
        counts.audit_entries += batch.size();
        batch.clear();
    };
    auto scanned = src.scan_audit(nullptr, AuditFilter{}, [&](AuditEntry&& e) {
        batch.push_back(std::move(e));
        if (batch.size() == 2048) flush();
    });
    if (!scanned) return std::unexpected(scanned.error());
    flush();
    if (failed) return std::unexpected(*failed);
    auto heads = src.audit_heads();
    if (!heads) return std::unexpected(heads.error());
    for (const auto& [tenant, head] : *heads)
        if (auto r = dst.put_audit_head(tenant, head); !r) return std::unexpected(r.error());

    // Artifacts are written as the migrating caller, who is a provider admin of the copy as of the
    // original; the target's own caller (a database login) may not be.
    const std::string target_caller = to.m_caller.user;
    to.m_caller = from.m_caller;
    to.m_access.reset();
    ArtifactCopies copies;  // files copied into a local target's area go again unless the copy commits
    for (const auto& tenant : tenants) {
        auto shas = stored_artifacts(from, tenant);
        if (!shas) return std::unexpected(shas.error());
        for (const auto& sha : *shas) {
            auto file = local_artifact(from, tenant, sha);
            if (!file) return std::unexpected(file.error());
            if (auto r = store_artifact(to, tenant, ArtifactSource{*file, nullptr}, sha, copies); !r)
                return std::unexpected(r.error());
            ++counts.artifacts;
        }
    }
    auto tenant_objects = dst.list(model::Kind::tenant, nullptr);
    if (!tenant_objects) return std::unexpected(tenant_objects.error());
    counts.target_caller_is_admin =
        AccessMap(*tenant_objects, target_caller, **provider).role_on(**provider) >= Role::admin;

    // The copy's revision is the original's (a saved plan made against one applies to the other):
    // written after the objects (a PostgreSQL target's triggers advance it for them), and the commit
    // does not advance it.
    if (auto r = copy_meta("revision"); !r) return std::unexpected(r.error());
    to.m_dirty = false;
    if (auto r = write->commit(); !r) return std::unexpected(r.error());
    copies.keep();
    to.m_caller.user = target_caller;
    to.m_access.reset();
    return counts;
}

} // namespace fleet::store
