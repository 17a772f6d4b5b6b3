// Planning an apply.
//
// The plan is computed inside the transaction that will write it, so two applies on one
// store serialize on the write lock and the second plans against the first one's result;
// device limits checked here therefore hold however many processes enroll at once.
// Steps: normalize defaults (a tenant's parent is the provider unless given), reject
// duplicates, compare each desired object with the stored one, add prunes for objects of
// the same source that the input no longer has, then check what the store would look like
// afterwards: the tenant tree (parents exist, no cycles, depth), references (an object's
// tenant, a device's credentials in its own tenant), objects still in use by what stays,
// and device limits of every tenant and ancestor. Input problems are collected and
// reported together.

#include "core/apply/plan.hpp"
#include "core/apply/identity.hpp"
#include "core/apply/in_use.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <memory>
#include <unordered_map>
#include <set>
#include <tuple>

#include "core/input/loader.hpp"
#include "core/model/selector.hpp"
#include "core/tenancy/hierarchy.hpp"
#include "core/tenancy/limits.hpp"
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
    case Op::move: return "moved";
    }
    return "unchanged";
}

Counts Plan::counts() const
{
    Counts c;
    for (const auto& change : changes) {
        switch (change.op) {
        case Op::create: ++c.created; break;
        case Op::configure:
        case Op::move: ++c.configured; break;
        case Op::prune: ++c.pruned; break;
        case Op::unchanged: ++c.unchanged; break;
        }
    }
    return c;
}

std::string Change::ref() const { return record ? "device/" + record->name : resource->ref(); }

model::Kind Change::kind() const { return record ? model::Kind::device : resource->kind; }

const std::string& Change::name() const { return record ? record->name : resource->name; }

std::string Change::tenant() const
{
    if (kind() == model::Kind::tenant) return "";
    return record ? record->tenant : resource->tenant;
}

std::string Change::qualified_ref() const
{
    auto t = tenant();
    return t.empty() ? ref() : t + "/" + ref();
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

/// Stored objects, read once per (kind, tenant) as canonical JSON text and parsed only when needed:
/// an unchanged object is recognized by comparing texts.
class Snapshot {
public:
    struct Entry {
        store::StoredContent stored;
        std::unique_ptr<model::Resource> parsed;  // a pointer: most entries are never parsed
    };
    using Bucket = std::unordered_map<std::string, Entry>;

    explicit Snapshot(store::Store& store) : m_store(store) {}

    Result<Bucket*> bucket(model::Kind kind, const std::string& tenant)
    {
        const std::string& key = kind == model::Kind::tenant ? empty_tenant() : tenant;
        auto& by_tenant = m_buckets[static_cast<std::size_t>(kind)];
        if (auto it = by_tenant.find(key); it != by_tenant.end()) return &it->second;
        auto contents = m_store.contents(kind, key);
        if (!contents) return std::unexpected(contents.error());
        auto& bucket = by_tenant[key];
        bucket.reserve(contents->size());
        for (auto& [name, content] : *contents) bucket.emplace(std::move(name), Entry{std::move(content), {}});
        return &bucket;
    }

    Result<Entry*> entry(model::Kind kind, const std::string& tenant, const std::string& name)
    {
        auto b = bucket(kind, tenant);
        if (!b) return std::unexpected(b.error());
        auto it = (*b)->find(name);
        return it == (*b)->end() ? nullptr : &it->second;
    }

    /// The stored resource, parsed on first use; null when there is none.
    Result<const model::Resource*> find(model::Kind kind, const std::string& tenant, const std::string& name)
    {
        auto e = entry(kind, tenant, name);
        if (!e) return std::unexpected(e.error());
        if (!*e) return nullptr;
        return parse(kind, tenant, name, **e);
    }

    /// The stored resource, read from the store on first use.
    Result<const model::Resource*> parse(model::Kind kind, const std::string& tenant, const std::string& name, Entry& e)
    {
        if (!e.parsed) {
            auto object = m_store.get(kind, tenant, name);
            if (!object) return std::unexpected(object.error());
            if (!*object) return fail(ErrorKind::runtime, fmt::format("{}/{} vanished during the transaction",
                                                                      model::kind_short(kind), name));
            e.parsed = std::make_unique<model::Resource>(std::move((*object)->resource));
        }
        return e.parsed.get();
    }

private:
    static const std::string& empty_tenant()
    {
        static const std::string empty;
        return empty;
    }
    store::Store& m_store;
    std::array<std::unordered_map<std::string, Bucket>, 6> m_buckets;  // by kind, then tenant
};

/// A device's (tenant, name), viewing strings that outlive the plan's lookups.
struct DeviceKey {
    std::string_view tenant, name;
    bool operator==(const DeviceKey&) const = default;
};

struct DeviceKeyHash {
    std::size_t operator()(const DeviceKey& k) const
    {
        return std::hash<std::string_view>{}(k.tenant) * 31 + std::hash<std::string_view>{}(k.name);
    }
};

/// The state the plan would leave: which objects exist afterwards, keyed like the store.
struct Outcome {
    std::map<Key, const model::Resource*> desired;  ///< created, configured or unchanged
    std::unordered_map<DeviceKey, const resource::DeviceRecord*, DeviceKeyHash> records;  ///< bulk devices
    std::set<Key> pruned;
    std::set<Key> moved_out;  ///< stored devices that this plan moves to another tenant

    bool gone(const Key& key) const { return pruned.contains(key); }
    /// True when the input has this device, as a resource or a bulk record.
    bool has_device(const std::string& tenant, const std::string& name) const
    {
        return records.contains({tenant, name}) || desired.contains({model::Kind::device, tenant, name});
    }
};

/// What is wrong with a device's reference to a credential for transport ("ssh" or "http"); empty when
/// nothing is. credential is what the apply leaves under that name in the device's tenant, or null.
std::string credential_problem(const model::Resource* credential, const std::string& ref, const std::string& name,
                               const std::string& tenant, std::string_view transport)
{
    if (!credential) return fmt::format("{}: credential \"{}\" does not exist in tenant \"{}\"", ref, name, tenant);
    auto type = credential->spec.value("type", "");
    bool fits = transport == "ssh" ? type.starts_with("ssh-") : !type.starts_with("ssh-");
    if (fits) return "";
    return fmt::format("{}: credential \"{}\" is of type {}, which cannot be used for {}", ref, name, type, transport);
}

/// The credential of a tenant that the apply leaves under a name: desired, else stored unless pruned; null when none.
Result<const model::Resource*> find_credential(Snapshot& snapshot, const Outcome& outcome, const std::string& tenant,
                                               const std::string& name)
{
    Key key{model::Kind::credential, tenant, name};
    if (auto it = outcome.desired.find(key); it != outcome.desired.end()) return it->second;
    if (outcome.gone(key)) return nullptr;
    return snapshot.find(model::Kind::credential, tenant, name);
}

/// A device's credential reference must name a credential of the device's own tenant that fits the transport.
Result<void> check_references(Snapshot& snapshot, const Outcome& outcome, const std::set<std::string>& tenants,
                              const model::Resource& r, util::Diagnostics& diags)
{
    if (r.kind == model::Kind::tenant) return {};
    if (!tenants.contains(r.tenant)) {
        diags.error(r.location("/metadata/tenant"), "metadata.tenant",
                    fmt::format("{}: tenant \"{}\" does not exist", r.ref(), r.tenant));
        return {};
    }
    if (r.kind == model::Kind::rollout) {
        auto exists = [&](model::Kind kind, const std::string& name) -> Result<bool> {
            Key key{kind, r.tenant, name};
            if (outcome.desired.contains(key)) return true;
            if (outcome.gone(key)) return false;
            auto stored = snapshot.entry(kind, r.tenant, name);
            if (!stored) return std::unexpected(stored.error());
            return *stored != nullptr;
        };
        auto artifact = r.spec["artifact"].get<std::string>();
        auto found = exists(model::Kind::artifact, artifact);
        if (!found) return std::unexpected(found.error());
        if (!*found)
            diags.error(r.location("/spec/artifact"), "spec.artifact",
                        fmt::format("{}: artifact \"{}\" does not exist in tenant \"{}\"", r.ref(), artifact, r.tenant));
        if (auto group = r.spec["targets"].find("group"); group != r.spec["targets"].end()) {
            auto name = group->get<std::string>();
            auto has = exists(model::Kind::device_group, name);
            if (!has) return std::unexpected(has.error());
            if (!*has)
                diags.error(r.location("/spec/targets/group"), "spec.targets.group",
                            fmt::format("{}: group \"{}\" does not exist in tenant \"{}\"", r.ref(), name, r.tenant));
        }
        return {};
    }
    if (r.kind != model::Kind::device) return {};
    for (const auto& ref : credential_references(r.spec)) {
        auto credential = find_credential(snapshot, outcome, r.tenant, ref.name);
        if (!credential) return std::unexpected(credential.error());
        if (auto problem = credential_problem(*credential, r.ref(), ref.name, r.tenant, ref.transport); !problem.empty())
            diags.error(r.location(ref.pointer), ref.field, problem);
    }
    return {};
}

/// Plans the bulk device records: references (tenant, credentials) and each record's change, found
/// by comparing canonical texts; only a record that differs is parsed, to list its fields.
/// Credentials are looked up once per tenant and name.
Result<void> plan_records(Snapshot& snapshot, const Outcome& outcome, const std::set<std::string>& tenants,
                          const resource::DeviceBatch& batch, Plan& plan, util::Diagnostics& diags)
{
    std::unordered_map<std::string, const model::Resource*> credentials;  // by "tenant/name"
    std::string key;
    for (const auto& rec : batch.records) {
        std::size_t errors_before = diags.error_count();
        if (!tenants.contains(rec.tenant)) {
            diags.error(batch.location(rec), "metadata.tenant",
                        fmt::format("device/{}: tenant \"{}\" does not exist", rec.name, rec.tenant));
            continue;
        }
        for (auto [transport, name] : {std::pair<std::string_view, const std::string*>{"ssh", &rec.ssh_credential},
                                       {"http", &rec.http_credential}}) {
            if (name->empty()) continue;
            key.assign(rec.tenant).append("/").append(*name);
            auto it = credentials.find(key);
            if (it == credentials.end()) {
                auto found = find_credential(snapshot, outcome, rec.tenant, *name);
                if (!found) return std::unexpected(found.error());
                it = credentials.emplace(key, *found).first;
            }
            if (auto problem = credential_problem(it->second, "device/" + rec.name, *name, rec.tenant, transport);
                !problem.empty())
                diags.error(batch.location(rec), fmt::format("spec.{}.credential", transport), problem);
        }
        if (diags.error_count() != errors_before) continue;  // rejected
        auto stored = snapshot.entry(model::Kind::device, rec.tenant, rec.name);
        if (!stored) return std::unexpected(stored.error());
        Change change{Op::create, nullptr, {}, 0, {}, &rec};
        if (Snapshot::Entry* e = *stored) {
            change.generation = e->stored.generation();
            change.op = Op::unchanged;
            if (!e->stored.same(rec.labels, "{}", rec.spec)) {
                change.created_at = e->stored.created_at();
                auto before = snapshot.parse(model::Kind::device, rec.tenant, rec.name, *e);
                if (!before) return std::unexpected(before.error());
                change.fields = compare(**before, input::device_resource(batch, rec));
                change.op = change.fields.empty() ? Op::unchanged : Op::configure;
            }
        }
        plan.changes.push_back(std::move(change));
    }
    return {};
}

/// Checks the tenant tree, objects in use and device limits that the plan would produce.
/// structure is every stored tenant, those the caller cannot see included: depth and limits depend
/// on them. Messages name only visible tenants.
Result<void> check_tenants(store::Store& store, const Plan& plan, const std::string& provider,
                           const std::vector<model::Object>& structure, util::Diagnostics& diags)
{
    std::map<std::string, tenancy::Link> links;
    std::map<std::string, std::optional<std::int64_t>> limits, old_limits;
    for (const auto& t : structure) {
        links[t.resource.name] = {t.resource.spec.value("parent", ""), {}};
        limits[t.resource.name] = old_limits[t.resource.name] = tenancy::device_limit(t.resource.spec);
    }
    std::set<std::string> pruned;
    std::map<std::string, std::int64_t> delta;  // devices added (+) or removed (-) per tenant
    for (const auto& change : plan.changes) {
        if (change.op == Op::move) --delta[change.from];
        if (change.record) {
            if (change.op == Op::create || change.op == Op::move) ++delta[change.record->tenant];
            continue;
        }
        const auto& r = *change.resource;
        if (r.kind == model::Kind::device) {
            if (change.op == Op::create || change.op == Op::move) ++delta[r.tenant];
            if (change.op == Op::prune) --delta[r.tenant];
        }
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
    // A tenant that stays while its parent is pruned would dangle; name both. The parent is in
    // use, as an artifact a rollout names is: a conflict (exit 5), like a tenant that owns objects.
    std::size_t errors_before = diags.error_count();
    for (const auto& [name, link] : links)
        if (pruned.contains(link.parent))
            diags.error(link.where, "spec.parent",
                        fmt::format("tenant \"{}\" cannot be pruned: tenant \"{}\" still has it as parent",
                                    link.parent, name));
    if (diags.error_count() != errors_before) return fail(ErrorKind::conflict, "tenant in use");
    if (diags.has_errors()) return fail(ErrorKind::usage, "invalid tenant hierarchy");
    tenancy::Hierarchy tree(links, provider);
    tree.check(diags);
    if (diags.has_errors()) return fail(ErrorKind::usage, "invalid tenant hierarchy");

    for (const auto& name : pruned) {
        auto owned = store.object_count(name);
        if (!owned) return std::unexpected(owned.error());
        std::int64_t pruned_here = 0;
        for (const auto& change : plan.changes)
            if (change.op == Op::prune && change.resource->kind != model::Kind::tenant && change.resource->tenant == name)
                ++pruned_here;
        if (*owned > pruned_here)
            return fail(ErrorKind::conflict,
                        fmt::format("tenant \"{}\" cannot be pruned: it still owns {} object(s); delete them first "
                                    "or use `fleetadm delete tenant {} --cascade`",
                                    name, *owned - pruned_here, name));
    }

    auto direct = store.device_counts();
    if (!direct) return std::unexpected(direct.error());
    std::string over = tenancy::limit_violations(tree, {limits, old_limits, *direct, delta},
                                                 [&](const std::string& t) { return store.visible(t); });
    if (!over.empty()) return fail(ErrorKind::conflict, over);
    return {};
}

/// Objects that are pruned while an object that stays still uses them: a credential used by a device, an
/// artifact or group named by a rollout. Names every user (the first few), all in the pruned object's tenant.
Result<void> check_pruned_in_use(Snapshot& snapshot, const Outcome& outcome)
{
    for (const auto& key : outcome.pruned) {
        const auto& [kind, tenant, name] = key;
        auto users_kind = user_kind(kind);
        if (!users_kind) continue;
        auto users = snapshot.bucket(*users_kind, tenant);
        if (!users) return std::unexpected(users.error());
        std::vector<std::string> refs;
        for (auto& [user_name, entry] : **users) {
            Key user_key{*users_kind, tenant, user_name};
            if (outcome.gone(user_key) || outcome.moved_out.contains(user_key)) continue;
            auto rec = *users_kind == model::Kind::device ? outcome.records.find({tenant, user_name})
                                                          : outcome.records.end();
            if (rec != outcome.records.end()) {
                if (rec->second->ssh_credential == name || rec->second->http_credential == name)
                    refs.push_back("device/" + user_name);
                continue;
            }
            const model::Resource* r = nullptr;
            if (auto it = outcome.desired.find(user_key); it != outcome.desired.end()) {
                r = it->second;
            } else {
                auto parsed = snapshot.parse(*users_kind, tenant, user_name, entry);
                if (!parsed) return std::unexpected(parsed.error());
                r = *parsed;
            }
            if (uses(*r, kind, name)) refs.push_back(r->ref());
        }
        if (refs.empty()) continue;
        std::sort(refs.begin(), refs.end());
        return fail(ErrorKind::conflict, fmt::format("{}/{} cannot be pruned: {} in tenant \"{}\" {} it",
                                                     model::kind_short(kind), name, users_text(refs), tenant,
                                                     refs.size() == 1 ? "uses" : "use"));
    }
    return {};
}

/// The identity a device resource gives, or empty views.
std::pair<std::string_view, std::string_view> identity_of(const model::Resource& r)
{
    auto identity = r.spec.find("identity");
    if (identity == r.spec.end() || !identity->is_object()) return {};
    auto text = [&](const char* field) -> std::string_view {
        auto it = identity->find(field);
        return it != identity->end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>())
                                                        : std::string_view();
    };
    return {text("serial"), text("mac")};
}

/// One device, one tenant: a create of a device that its source declared in another tenant before
/// becomes a move (and that device is no longer pruned), and no device may take an identity that
/// another one holds. Runs before the prunes join the changes.
Result<void> settle_devices(store::Store& store, Snapshot& snapshot, Outcome& outcome,
                            const resource::DeviceBatch& batch, Plan& plan, util::Diagnostics& diags)
{
    std::vector<DeviceClaim> claims;
    std::vector<std::size_t> index;  // the change of each claim
    for (std::size_t i = 0; i < plan.changes.size(); ++i) {
        const auto& c = plan.changes[i];
        bool new_identity = c.op == Op::configure && std::any_of(c.fields.begin(), c.fields.end(), [](const auto& f) {
                                return f.path.starts_with("spec.identity");
                            });
        if (c.op != Op::create && !new_identity) continue;
        if (const auto* rec = c.record) {
            claims.push_back({rec->tenant, rec->name, rec->serial, rec->mac, batch.location(*rec), c.op == Op::create, {}});
        } else if (c.resource->kind == model::Kind::device) {
            const auto& r = *c.resource;
            auto [serial, mac] = identity_of(r);
            claims.push_back({r.tenant, r.name, serial, mac, r.location(), c.op == Op::create, {}});
        } else {
            continue;
        }
        index.push_back(i);
    }
    if (claims.empty()) return {};
    auto declared = [&](const std::string& tenant, const std::string& name) { return outcome.has_device(tenant, name); };
    if (auto r = find_moves(store, plan.source, claims, declared); !r) return r;
    for (std::size_t k = 0; k < claims.size(); ++k) {
        const auto& claim = claims[k];
        if (claim.moved_from.empty()) continue;
        Change& c = plan.changes[index[k]];
        std::string name(claim.name);
        auto stored = snapshot.entry(model::Kind::device, claim.moved_from, name);
        if (!stored) return std::unexpected(stored.error());
        if (!*stored) return fail(ErrorKind::runtime, fmt::format("device/{} vanished during the transaction", name));
        auto before = snapshot.parse(model::Kind::device, claim.moved_from, name, **stored);
        if (!before) return std::unexpected(before.error());
        c.op = Op::move;
        c.from = claim.moved_from;
        c.generation = (*stored)->stored.generation();
        c.created_at = std::string((*stored)->stored.created_at());
        c.fields = compare(**before, c.record ? input::device_resource(batch, *c.record) : *c.resource);
        Key old{model::Kind::device, claim.moved_from, name};
        outcome.moved_out.insert(old);
        if (outcome.pruned.erase(old) > 0)
            std::erase_if(plan.pruned, [&](const model::Resource& r) {
                return r.kind == model::Kind::device && r.tenant == claim.moved_from && r.name == name;
            });
    }
    auto leaving = [&](const std::string& tenant, const std::string& name) {
        return outcome.gone({model::Kind::device, tenant, name});
    };
    return check_identities(store, claims, leaving, diags);
}

/// Once a rollout has started, what it installs and where are fixed (SPEC §4): a change to its
/// artifact or targets is refused; strategy and schedule may change.
Result<void> check_started_rollouts(store::Store& store, const Plan& plan)
{
    std::vector<std::string> refused;
    for (const auto& c : plan.changes) {
        if (c.op != Op::configure || !c.resource || c.resource->kind != model::Kind::rollout) continue;
        std::vector<std::string> fixed;
        for (const auto& f : c.fields)
            for (const char* field : {"spec.artifact", "spec.targets"})
                if ((f.path == field || f.path.starts_with(std::string(field) + ".")) &&
                    std::find(fixed.begin(), fixed.end(), field) == fixed.end())
                    fixed.emplace_back(field);
        if (fixed.empty()) continue;
        auto run = store.rollout_run(c.resource->tenant, c.resource->name);
        if (!run) return std::unexpected(run.error());
        if (!*run) continue;
        std::string fields;
        for (const auto& f : fixed) fields += (fields.empty() ? "" : " and ") + f;
        auto where = c.resource->location().str();
        refused.push_back(fmt::format("{}{} in tenant \"{}\": {} cannot change once the rollout has started (it is "
                                      "{}); make a new rollout",
                                      where.empty() ? "" : where + ": ", c.resource->ref(), c.resource->tenant, fields,
                                      store::state_name((*run)->state)));
    }
    if (refused.empty()) return {};
    std::string message;
    for (const auto& r : refused) message += (message.empty() ? "" : "; ") + r;
    return fail(ErrorKind::conflict, message);
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
    // A store written by an earlier version knows -f paths by their absolute paths (SPEC §4's
    // identity came later): when nothing is recorded under the key but something is under the
    // old one, those objects are this source's. The plan reads them under the old key, and
    // execute() renames it before writing.
    if (!request.legacy_source.empty() && request.legacy_source != request.source) {
        auto current = store.source_state(request.source);
        if (!current) return std::unexpected(current.error());
        if (!*current) {
            auto legacy = store.source_state(request.legacy_source);
            if (!legacy) return std::unexpected(legacy.error());
            if (*legacy) plan.adopted_source = request.legacy_source;
        }
    }
    if (!plan.adopted_source.empty()) plan.source = plan.adopted_source;  // for the reads below
    plan.commit = request.commit;
    plan.revision = *revision;
    plan.prune = request.prune;
    plan.confirm_prune = request.confirm_prune;
    if (!request.commit.empty()) {
        auto state = store.source_state(request.source);
        if (!state) return std::unexpected(state.error());
        if (*state) plan.previous_commit = (*state)->commit;
    }

    std::map<Key, const model::Resource*> seen;
    for (auto& r : request.desired) {
        if (r.kind == model::Kind::tenant && r.name != *provider && !r.spec.contains("parent"))
            r.spec["parent"] = *provider;
        if (auto [it, fresh] = seen.emplace(key_of(r), &r); !fresh)
            diags.error(r.location(), "metadata.name",
                        fmt::format("{} is defined twice (first at {})", r.ref(), it->second->location().str()));
    }
    Snapshot snapshot(store);
    Outcome outcome;
    bool device_resources = false;
    for (const auto& r : request.desired) {
        outcome.desired[key_of(r)] = &r;
        device_resources = device_resources || r.kind == model::Kind::device;
    }
    outcome.records.reserve(request.bulk.records.size());
    for (const auto& rec : request.bulk.records) {
        auto [it, fresh] = outcome.records.emplace(DeviceKey{rec.tenant, rec.name}, &rec);
        auto first = !fresh ? request.bulk.location(*it->second).str() : "";
        if (fresh && device_resources)
            if (auto r = seen.find({model::Kind::device, rec.tenant, rec.name}); r != seen.end())
                first = r->second->location().str();
        if (!first.empty())
            diags.error(request.bulk.location(rec), "metadata.name",
                        fmt::format("device/{} is defined twice (first at {})", rec.name, first));
    }
    if (diags.has_errors()) return fail(ErrorKind::usage, "invalid input");
    std::size_t source_objects = 0;
    if (request.prune) {
        auto owned = store.list_by_source(plan.source);
        if (!owned) return std::unexpected(owned.error());
        source_objects = owned->size();
        for (auto& o : *owned) {
            auto key = key_of(o.resource);
            if (seen.contains(key) ||
                (o.resource.kind == model::Kind::device && outcome.records.contains({o.resource.tenant, o.resource.name})) ||
                (o.resource.kind == model::Kind::tenant && o.resource.name == *provider))
                continue;
            outcome.pruned.insert(key);
            plan.pruned.push_back(std::move(o.resource));
        }
    }

    // The tenants that exist afterwards, for references.
    std::set<std::string> tenants;
    auto stored_tenants = snapshot.bucket(model::Kind::tenant, "");
    if (!stored_tenants) return std::unexpected(stored_tenants.error());
    for (const auto& [name, t] : **stored_tenants)
        if (!outcome.gone({model::Kind::tenant, "", name})) tenants.insert(name);
    for (const auto& r : request.desired)
        if (r.kind == model::Kind::tenant) tenants.insert(r.name);
    // A new or re-parented tenant's parent must be one the caller can see (or one this input
    // creates); a parent the caller cannot see behaves as nonexistent.
    auto structure = store.tenant_structure();
    if (!structure) return std::unexpected(structure.error());
    std::map<std::string, std::string> stored_parent;  // of the visible tenants
    for (const auto& t : *structure)
        if ((*stored_tenants)->contains(t.resource.name))
            stored_parent[t.resource.name] = t.resource.spec.value("parent", "");
    for (const auto& r : request.desired) {
        auto parent = r.kind == model::Kind::tenant ? r.spec.value("parent", "") : std::string();
        auto unchanged = stored_parent.find(r.name);
        if (unchanged != stored_parent.end() && unchanged->second == parent) continue;
        if (!parent.empty() && !tenants.contains(parent))
            diags.error(r.location(r.spec.contains("parent") ? "/spec/parent" : ""), "spec.parent",
                        fmt::format("tenant \"{}\": parent tenant \"{}\" does not exist", r.name, parent));
    }
    if (diags.has_errors()) return fail(ErrorKind::usage, "invalid tenant hierarchy");

    util::Diagnostics& reference_diags = request.skip_invalid ? plan.rejected : diags;
    plan.changes.reserve(request.desired.size() + request.bulk.records.size() + plan.pruned.size());
    for (auto& r : request.desired) {  // not const: an artifact may keep its stored spec.file
        std::size_t errors_before = reference_diags.error_count();
        if (auto c = check_references(snapshot, outcome, tenants, r, reference_diags); !c)
            return std::unexpected(c.error());
        if (reference_diags.error_count() != errors_before) continue;  // rejected
        if (r.kind == model::Kind::device_group && r.spec.contains("devices")) {
            for (const auto& d : r.spec["devices"]) {
                auto name = d.get<std::string>();
                Key key{model::Kind::device, r.tenant, name};
                auto stored = snapshot.entry(model::Kind::device, r.tenant, name);
                if (!stored) return std::unexpected(stored.error());
                if (!outcome.has_device(r.tenant, name) && (!*stored || outcome.gone(key)))
                    diags.warn(r.location("/spec/devices"), "spec.devices",
                               fmt::format("{}: device \"{}\" is not enrolled in tenant \"{}\" (yet)", r.ref(), name,
                                           r.tenant));
            }
        }
        auto stored = snapshot.entry(r.kind, r.tenant, r.name);
        if (!stored) return std::unexpected(stored.error());
        Change change{Op::create, &r, {}, 0, {}};
        if (Snapshot::Entry* e = *stored) {
            change.generation = e->stored.generation();
            change.op = Op::unchanged;
            if (!e->stored.same(r.labels.dump(), r.annotations.dump(), r.spec.dump())) {
                change.created_at = e->stored.created_at();
                auto before = snapshot.parse(r.kind, r.tenant, r.name, *e);
                if (!before) return std::unexpected(before.error());
                // An artifact is its bytes: the same SHA-256 read from another path (the
                // repository moved or was cloned again) is not a change (SPEC §4).
                if (r.kind == model::Kind::artifact && (*before)->spec.contains("file") &&
                    (*before)->spec.value("sha256", "") == r.spec.value("sha256", "x"))
                    r.spec["file"] = (*before)->spec["file"];
                change.fields = compare(**before, r);
                change.op = change.fields.empty() ? Op::unchanged : Op::configure;
            }
        }
        plan.changes.push_back(std::move(change));
    }
    if (auto r = plan_records(snapshot, outcome, tenants, request.bulk, plan, reference_diags); !r)
        return std::unexpected(r.error());
    if (diags.has_errors()) return fail(ErrorKind::usage, "invalid references");
    if (auto r = settle_devices(store, snapshot, outcome, request.bulk, plan, diags); !r)
        return std::unexpected(r.error());
    if (auto r = check_started_rollouts(store, plan); !r) return std::unexpected(r.error());
    for (const auto& r : plan.pruned) plan.changes.push_back({Op::prune, &r, {}, 0, {}});

    if (auto r = check_tenants(store, plan, *provider, *structure, diags); !r) return std::unexpected(r.error());
    if (auto r = check_pruned_in_use(snapshot, outcome); !r) return std::unexpected(r.error());

    auto pruned = plan.counts().pruned;
    if (pruned > 0 && pruned * 4 > source_objects && !request.confirm_prune)
        return fail(ErrorKind::conflict,
                    fmt::format("refusing to prune {} of the {} objects applied from this source (more than 25%); "
                                "pass --confirm-prune if that is intended",
                                pruned, source_objects));
    plan.source = request.source;
    // The vectors' buffers move with them: change pointers stay valid.
    plan.desired = std::move(request.desired);
    plan.bulk = std::move(request.bulk);
    plan.artifact_contents = std::move(request.artifact_contents);
    return plan;
}

Result<void> execute(store::Store& store, const Plan& plan, store::ArtifactCopies& copies)
{
    if (!plan.adopted_source.empty())
        if (auto r = store.adopt_source(plan.adopted_source, plan.source); !r) return r;
    std::string now = model::now_utc();
    // Consecutive bulk device changes are written together: their tenants are authorized once each.
    std::vector<store::DeviceWrite> devices;
    std::deque<std::string> summaries;  // what the audit entries of configured devices say; stable addresses
    auto flush = [&]() -> Result<void> {
        if (devices.empty()) return {};
        auto r = store.put_devices(devices, plan.source, plan.commit, now);
        devices.clear();
        summaries.clear();
        return r;
    };
    auto summary_of = [](const Change& c) {
        std::string summary;
        for (const auto& f : c.fields) summary += (summary.empty() ? "changed " : ", ") + f.path;
        return summary;
    };
    // A moved device keeps its row, status and history; it is then configured if its fields changed.
    auto move = [&](const Change& c) -> Result<void> {
        const std::string& name = c.record ? c.record->name : c.resource->name;
        const std::string& to = c.record ? c.record->tenant : c.resource->tenant;
        auto stored = store.get(model::Kind::device, c.from, name);
        if (!stored) return std::unexpected(stored.error());
        if (!*stored) return fail(ErrorKind::runtime, fmt::format("device/{} vanished during the transaction", name));
        return store.move_device(**stored, to);
    };
    for (const auto& c : plan.changes) {
        if (c.op == Op::unchanged) continue;
        if (c.op == Op::move) {
            if (auto r = flush(); !r) return r;
            if (auto r = move(c); !r) return r;
            if (c.fields.empty()) continue;
        }
        // The generation the write leaves; a move already advanced it once.
        std::int64_t generation = c.generation + (c.op == Op::move ? 2 : 1);
        std::string_view action = c.op == Op::move ? op_verb(Op::configure) : op_verb(c.op);
        if (const auto* rec = c.record) {
            store::DeviceWrite d;
            d.tenant = rec->tenant;
            d.name = rec->name;
            d.labels = rec->labels;
            d.spec = rec->spec;
            d.file = plan.bulk.files[rec->file];
            d.line = rec->line;
            d.generation = generation;
            d.created_at = c.op == Op::create ? now : c.created_at;
            d.action = action;
            if (!c.fields.empty()) d.summary = summaries.emplace_back(summary_of(c));
            devices.push_back(d);
            continue;
        }
        if (auto r = flush(); !r) return r;
        model::Object object;
        object.resource = *c.resource;
        if (c.op == Op::prune) {
            if (auto w = store.remove(object, "pruned"); !w) return w;
            continue;
        }
        auto where = c.resource->location();
        object.origin = {plan.source, where.line > 0 ? fmt::format("{}:{}", where.file, where.line) : where.file,
                         plan.commit};
        object.generation = generation;
        object.created_at = c.op == Op::create ? now : c.created_at;
        object.updated_at = now;
        if (auto w = store.put(object, std::string(action), summary_of(c)); !w) return w;
        // After put, which authorized the write; a failed copy rolls the transaction back.
        if (c.resource->kind == model::Kind::artifact) {
            const auto& spec = c.resource->spec;
            auto sha256 = spec.value("sha256", "");
            store::ArtifactSource source{spec.value("file", ""), nullptr};
            if (auto it = plan.artifact_contents.find(sha256); it != plan.artifact_contents.end())
                source.content = &it->second;
            else if (!plan.commit.empty() && !std::filesystem::path(source.file).is_absolute())
                source.file.clear();  // a path in the tree: its bytes come from the commit, never from this machine
            auto stored = store::store_artifact(store, c.resource->tenant, source, sha256, copies);
            if (!stored) return std::unexpected(stored.error());
        }
    }
    return flush();
}

} // namespace fleet::apply
