#include "core/store/store.hpp"

#include <algorithm>
#include <filesystem>
#include <span>

#include <fmt/format.h>

#include <set>
#include <unordered_set>

#include "core/util/safe_path.hpp"

namespace fleet::store {

using util::ErrorKind;
using util::fail;
using util::Result;

Transaction::Transaction(Transaction&& other) noexcept : m_store(other.m_store) { other.m_store = nullptr; }

Transaction::~Transaction()
{
    if (m_store && m_store->m_in_tx) {
        m_store->m_backend->rollback();
        m_store->m_chain.reset();
        m_store->m_access.reset();
        m_store->m_in_tx = false;
        m_store->m_dirty = false;
    }
}

Result<void> Transaction::commit()
{
    if (!m_store || !m_store->m_in_tx) return fail(ErrorKind::runtime, "no open transaction");
    Store& s = *m_store;
    if (s.m_dirty)
        if (auto r = s.m_backend->advance_revision(); !r) return r;
    if (auto r = s.m_chain.record_heads(); !r) return r;
    auto r = s.m_backend->commit();
    s.m_chain.reset();
    s.m_in_tx = false;
    s.m_dirty = false;
    return r;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& location, Caller caller, const OpenOptions& options)
{
    auto backend = open_backend(location, options);
    if (!backend) return std::unexpected(backend.error());
    auto login = (*backend)->login_user();
    if (!login) return std::unexpected(login.error());
    if (*login) caller.user = std::move(**login);
    auto store = std::make_unique<Store>(std::move(*backend), std::move(caller));
    store->m_location = location;
    return store;
}

Store::Store(std::unique_ptr<Backend> backend, Caller caller)
    : m_backend(std::move(backend)), m_caller(std::move(caller))
{
}

Result<Transaction> Store::begin(TxMode mode)
{
    if (m_in_tx) return fail(ErrorKind::runtime, "a transaction is already open");
    if (auto r = m_backend->begin(mode); !r) return std::unexpected(r.error());
    m_in_tx = true;
    m_dirty = false;
    m_chain.reset();
    m_access_checked = false;  // access() checks the map against this transaction's revision
    return Transaction(this);
}

Result<const AccessMap*> Store::access()
{
    if (!m_access_checked) {
        // Roles as of this transaction: the map of an earlier one serves while no object changed
        // since (tenants, their members and the provider change only with objects).
        auto revision = m_backend->meta("revision");
        if (!revision) return std::unexpected(revision.error());
        if (!*revision || **revision != m_access_revision) m_access.reset();
        m_access_revision = *revision ? **revision : std::string();
        m_access_checked = true;
    }
    if (!m_access) {
        // A store that cannot be read (locked, corrupt) fails here with the backend's cause; an
        // empty map instead would make every tenant "not found".
        auto tenants = m_backend->list(model::Kind::tenant, nullptr);
        if (!tenants) return std::unexpected(tenants.error());
        auto provider = m_backend->meta("provider");
        if (!provider) return std::unexpected(provider.error());
        m_access.emplace(*tenants, m_caller.user, *provider ? **provider : std::string());
    }
    return &*m_access;
}

bool Store::visible(const std::string& tenant)
{
    auto map = access();
    return map && (*map)->role_on(tenant) >= Role::viewer;
}

Result<void> Store::authorize(Action action, const std::string& tenant)
{
    Role need = action == Action::read ? Role::viewer : action == Action::write ? Role::operator_ : Role::admin;
    auto map = access();
    if (!map) return std::unexpected(map.error());
    Role have = (*map)->role_on(tenant);
    if (have >= need) return {};
    if (have == Role::none || !(*map)->exists(tenant))
        return fail(ErrorKind::not_found, fmt::format("tenant/{} not found", tenant));
    return fail(ErrorKind::permission,
                fmt::format("permission denied: {} is {} in tenant \"{}\"; this needs {}", m_caller.user, role_name(have),
                            tenant, role_name(need)));
}

Result<void> Store::authorize_write(const model::Object& object)
{
    const auto& r = object.resource;
    if (r.kind != model::Kind::tenant) return authorize(Action::write, r.tenant);
    // A tenant is managed from above, by an admin of its parent, so that nobody raises their own limit.
    auto parent = r.spec.value("parent", "");
    if (parent.empty()) {  // the provider: its own admins, who stay admins
        if (auto a = authorize(Action::admin, r.name); !a) return a;
        for (const auto& m : r.spec.value("members", nlohmann::json::array()))
            if (m.is_object() && m.value("user", "") == m_caller.user && m.value("role", "") == "admin") return {};
        return fail(ErrorKind::permission,
                    fmt::format("permission denied: this change removes your own admin role on the provider tenant "
                                "\"{}\" ({}); another provider admin must make it",
                                r.name, m_caller.user));
    }
    auto map = access();
    if (!map) return std::unexpected(map.error());
    if (auto old = (*map)->parent_of(r.name); old && *old != parent)
        if (auto a = authorize(Action::admin, *old); !a) return a;
    Role on_parent = (*map)->role_on(parent);
    if (on_parent >= Role::admin) return {};
    if ((*map)->exists(r.name) && visible(r.name))
        return fail(ErrorKind::permission,
                    fmt::format("permission denied: {} may not change tenant \"{}\": that needs admin on its parent "
                                "tenant{}",
                                m_caller.user, r.name, on_parent >= Role::viewer ? " \"" + parent + "\"" : ""));
    if (on_parent >= Role::viewer)
        return fail(ErrorKind::permission,
                    fmt::format("permission denied: {} is {} in tenant \"{}\"; creating a child tenant needs admin",
                                m_caller.user, role_name(on_parent), parent));
    return fail(ErrorKind::not_found, fmt::format("tenant/{} not found", parent));
}

Result<void> Store::impersonate(const std::string& user)
{
    auto provider = m_backend->meta("provider");
    if (!provider) return std::unexpected(provider.error());
    auto map = access();
    if (!map) return std::unexpected(map.error());
    if (!*provider || (*map)->role_on(**provider) < Role::admin)
        return fail(ErrorKind::permission,
                    fmt::format("permission denied: only provider admins may act as another user (--as {})", user));
    m_caller.user = user;
    m_access.reset();
    return {};
}

Result<std::vector<model::Object>> Store::tenant_structure() { return m_backend->tenant_structure(); }

const std::string& Store::owner_of(const model::Object& object)
{
    return object.resource.kind == model::Kind::tenant ? object.resource.name : object.resource.tenant;
}

Result<std::string> Store::provider()
{
    auto value = m_backend->meta("provider");
    if (!value) return std::unexpected(value.error());
    if (!*value) return fail(ErrorKind::runtime, "the store has no provider tenant; run `fleetadm init`");
    return **value;
}

Result<std::vector<model::Object>> Store::list(model::Kind kind, const std::string* tenant)
{
    if (tenant)
        if (auto r = authorize(Action::read, *tenant); !r) return std::unexpected(r.error());
    auto objects = m_backend->list(kind, tenant);
    if (!objects) return objects;
    std::vector<model::Object> visible;
    visible.reserve(objects->size());
    for (auto& o : *objects)
        if (authorize(Action::read, owner_of(o))) visible.push_back(std::move(o));
    return visible;
}

Result<void> Store::scan(model::Kind kind, const std::string* tenant,
                         const std::function<void(model::Object&&)>& visit)
{
    if (tenant)
        if (auto r = authorize(Action::read, *tenant); !r) return r;
    // A store that cannot be read fails here with its cause rather than leaving every object unseen.
    if (auto map = access(); !map) return std::unexpected(map.error());
    return m_backend->scan(kind, tenant, [&](model::Object&& o) {
        if (authorize(Action::read, owner_of(o))) visit(std::move(o));
    });
}

Result<std::vector<std::pair<std::string, StoredContent>>> Store::contents(model::Kind kind,
                                                                          const std::string& tenant)
{
    if (kind != model::Kind::tenant) {
        if (auto r = authorize(Action::read, tenant); !r) return std::unexpected(r.error());
        return m_backend->contents(kind, tenant);
    }
    if (auto map = access(); !map) return std::unexpected(map.error());
    auto all = m_backend->contents(kind, tenant);
    if (!all) return all;
    std::erase_if(*all, [&](const auto& entry) { return !authorize(Action::read, entry.first); });
    return all;
}

Result<std::vector<std::string>> Store::names(model::Kind kind, const std::string& tenant)
{
    if (kind != model::Kind::tenant) {
        if (auto r = authorize(Action::read, tenant); !r) return std::unexpected(r.error());
        return m_backend->names(kind, tenant);
    }
    if (auto map = access(); !map) return std::unexpected(map.error());
    auto all = m_backend->names(kind, tenant);
    if (!all) return all;
    std::erase_if(*all, [&](const std::string& name) { return !authorize(Action::read, name); });
    return all;
}

Result<std::vector<model::Object>> Store::get_many(model::Kind kind, const std::string& tenant,
                                                  const std::vector<std::string>& names)
{
    auto objects = m_backend->get_many(kind, tenant, names);
    if (!objects || objects->empty()) return objects;
    if (auto map = access(); !map) return std::unexpected(map.error());
    std::erase_if(*objects, [&](const model::Object& o) { return !authorize(Action::read, owner_of(o)); });
    return objects;
}

Result<std::optional<model::Object>> Store::get(model::Kind kind, const std::string& tenant, const std::string& name)
{
    auto object = m_backend->get(kind, tenant, name);
    if (!object || !*object) return object;
    if (auto map = access(); !map) return std::unexpected(map.error());
    if (!authorize(Action::read, owner_of(**object))) return std::optional<model::Object>();
    return object;
}

Result<model::Object> Store::resolve(model::Kind kind, const std::string& name, const std::string& tenant)
{
    auto ref = fmt::format("{}/{}", model::kind_short(kind), name);
    if (!tenant.empty() || kind == model::Kind::tenant) {
        auto found = get(kind, tenant, name);
        if (!found) return std::unexpected(found.error());
        if (!*found)
            return fail(ErrorKind::not_found,
                        tenant.empty() ? ref + " not found" : fmt::format("{} not found in tenant \"{}\"", ref, tenant));
        return std::move(**found);
    }
    auto found = find_by_name(kind, name);
    if (!found) return std::unexpected(found.error());
    if (found->empty()) return fail(ErrorKind::not_found, ref + " not found");
    if (found->size() > 1)
        return fail(ErrorKind::usage,
                    fmt::format("{} exists in {} tenants; pass --tenant to choose one", ref, found->size()));
    return std::move(found->front());
}

Result<std::vector<model::Object>> Store::find_by_name(model::Kind kind, const std::string& name)
{
    auto found = m_backend->find_by_name(kind, name);
    if (!found) return std::unexpected(found.error());
    if (auto map = access(); !map) return std::unexpected(map.error());
    std::erase_if(*found, [&](const model::Object& o) { return !authorize(Action::read, o.resource.tenant); });
    return found;
}

Result<std::vector<model::Object>> Store::list_by_source(const std::string& source)
{
    if (auto map = access(); !map) return std::unexpected(map.error());
    auto objects = m_backend->list_by_source(source);
    if (!objects) return objects;
    std::erase_if(*objects, [&](const model::Object& o) { return !authorize(Action::read, owner_of(o)); });
    return objects;
}

Result<std::optional<SourceState>> Store::source_state(const std::string& source)
{
    return m_backend->source_state(source);
}

Result<void> Store::adopt_source(const std::string& from, const std::string& to)
{
    // Every object of the old key, visible or not: the rename moves them all.
    auto owned = m_backend->list_by_source(from);
    if (!owned) return std::unexpected(owned.error());
    std::set<std::string> tenants;
    for (const auto& o : *owned)
        tenants.insert(o.resource.kind == model::Kind::tenant ? o.resource.name : o.resource.tenant);
    for (const auto& t : tenants)
        if (auto a = authorize(Action::write, t); !a) return a;
    return m_backend->rename_source(from, to);
}

Result<void> Store::record_source_commit(const std::string& source, const std::string& commit,
                                         const std::vector<model::Resource>& applied)
{
    // Operator on each object's tenant, admin on each tenant applied: what managing the source's
    // objects needs, without asking admin on a tenant's parent for tenants the apply left alone
    // (a customer's admin keeps their own, unchanged tenant in their repository).
    std::set<std::pair<bool, std::string>> checked;
    for (const auto& r : applied) {
        bool tenant = r.kind == model::Kind::tenant;
        const std::string& name = tenant ? r.name : r.tenant;
        if (checked.emplace(tenant, name).second)
            if (auto a = authorize(tenant ? Action::admin : Action::write, name); !a) return a;
    }
    return m_backend->set_source_commit(source, commit, model::now_utc());
}

Result<std::map<std::string, std::int64_t>> Store::device_counts() { return m_backend->device_counts(); }

Result<std::int64_t> Store::object_count(const std::string& tenant)
{
    if (auto r = authorize(Action::read, tenant); !r) return std::unexpected(r.error());
    return m_backend->object_count(tenant);
}

Result<void> Store::put(const model::Object& object, const std::string& action, const std::string& summary)
{
    if (auto r = authorize_write(object); !r) return r;
    if (auto r = m_backend->put(object); !r) return r;
    m_dirty = true;
    if (object.resource.kind == model::Kind::tenant && m_access) m_access->update(object);
    return append_audit(AuditEntry{0, model::now_utc(), m_caller.user, owner_of(object), action,
                                   object.resource.ref(), summary, "", ""});
}

Result<void> Store::put_devices(const std::vector<DeviceWrite>& devices, const std::string& source,
                               const std::string& commit, const std::string& now)
{
    std::unordered_set<std::string_view> tenants;
    for (const auto& d : devices)
        if (tenants.insert(d.tenant).second)
            if (auto r = authorize(Action::write, std::string(d.tenant)); !r) return r;
    // In batches: a backend may send a batch in one go. The rows and entries are reused from batch
    // to batch, so their strings keep their buffers.
    const std::size_t batch = m_backend->row_batch();
    std::size_t size = std::min(batch, devices.size());
    std::vector<ObjectRow> rows(size);
    std::vector<std::string> origins(size);
    std::vector<AuditEntry> entries(size, AuditEntry{0, now, m_caller.user, "", "", "", "", "", ""});
    std::size_t n = 0;
    auto flush = [&]() -> Result<void> {
        if (n == 0) return {};
        if (auto r = m_backend->put_rows(std::span(rows.data(), n)); !r) return r;
        m_dirty = true;
        if (auto r = m_chain.append(std::span(entries.data(), n)); !r) return r;
        n = 0;
        return {};
    };
    for (const auto& d : devices) {
        auto& row = rows[n];
        auto& origin = origins[n];
        origin.assign(d.file).append(":").append(std::to_string(d.line));
        row.kind = model::Kind::device;
        row.annotations = "{}";
        row.source = source;
        row.source_commit = commit;
        row.updated_at = now;
        row.tenant = d.tenant;
        row.name = d.name;
        row.labels = d.labels;
        row.spec = d.spec;
        row.source_file = origin;
        row.generation = d.generation;
        row.created_at = d.created_at;
        auto& entry = entries[n];
        entry.tenant.assign(d.tenant);
        entry.action.assign(d.action);
        entry.object.assign("device/").append(d.name);
        entry.summary.assign(d.summary);
        if (++n == batch)
            if (auto r = flush(); !r) return r;
    }
    return flush();
}

Result<void> Store::remove(const model::Object& object, const std::string& action)
{
    if (auto r = object.resource.kind == model::Kind::tenant ? authorize_write(object) : authorize(Action::write, owner_of(object));
        !r)
        return r;
    const auto& res = object.resource;
    // What exists only with the object goes with it: a rollout's runtime, a device's status and outputs.
    if (res.kind == model::Kind::rollout)
        if (auto r = m_backend->remove_rollout_runtime(res.tenant, res.name); !r) return r;
    if (res.kind == model::Kind::device)
        if (auto r = m_backend->remove_device_status(res.tenant, res.name); !r) return r;
    if (auto r = m_backend->remove(res.kind, res.kind == model::Kind::tenant ? "" : res.tenant, res.name); !r)
        return r;
    m_dirty = true;
    if (res.kind == model::Kind::tenant && m_access) m_access->erase(res.name);
    return append_audit(AuditEntry{0, model::now_utc(), m_caller.user, owner_of(object), action, res.ref(), "", "", ""});
}

Result<std::map<std::pair<std::string, std::string>, DeviceStatus>> Store::device_status(const std::string* tenant)
{
    if (tenant)
        if (auto r = authorize(Action::read, *tenant); !r) return std::unexpected(r.error());
    if (auto map = access(); !map) return std::unexpected(map.error());
    auto status = m_backend->device_status(tenant);
    if (!status) return status;
    std::erase_if(*status, [&](const auto& entry) { return !authorize(Action::read, entry.first.first); });
    return status;
}

Result<std::optional<RolloutRun>> Store::rollout_run(const std::string& tenant, const std::string& name)
{
    if (auto r = authorize(Action::read, tenant); !r) return std::unexpected(r.error());
    return m_backend->rollout_run(tenant, name);
}

Result<void> Store::put_rollout_run(const RolloutRun& run)
{
    if (auto r = authorize(Action::write, run.tenant); !r) return r;
    m_dirty = true;
    return m_backend->put_rollout_run(run);
}

Result<std::vector<RolloutDevice>> Store::rollout_devices(const std::string& tenant, const std::string& rollout)
{
    if (auto r = authorize(Action::read, tenant); !r) return std::unexpected(r.error());
    return m_backend->rollout_devices(tenant, rollout);
}

Result<void> Store::put_rollout_device(const RolloutDevice& device)
{
    if (auto r = authorize(Action::write, device.tenant); !r) return r;
    m_dirty = true;
    return m_backend->put_rollout_device(device);
}

Result<bool> Store::update_claimed_device(const RolloutDevice& device, const std::string& holder)
{
    if (auto r = authorize(Action::write, device.tenant); !r) return std::unexpected(r.error());
    return m_backend->update_claimed_device(device, holder);
}

Result<void> Store::renew_claims(const std::string& tenant, const std::string& rollout, const std::string& owner,
                                 std::int64_t expires)
{
    if (auto r = authorize(Action::write, tenant); !r) return r;
    return m_backend->renew_claims(tenant, rollout, owner, expires);
}

Result<Claimed> Store::claim_rollout_devices(const ClaimRequest& request)
{
    // Runtime state, not configuration: the store revision stays (a claim transaction on a shared
    // store does not hold the write lock that orders revisions).
    if (auto r = authorize(Action::write, request.tenant); !r) return std::unexpected(r.error());
    return m_backend->claim_rollout_devices(request);
}

Result<void> Store::put_device_output(const DeviceOutput& output)
{
    if (auto r = authorize(Action::write, output.tenant); !r) return r;
    return m_backend->put_device_output(output);
}

Result<std::vector<DeviceOutput>> Store::device_outputs(const std::string& tenant, const std::string& device,
                                                        const std::string& source)
{
    if (auto r = authorize(Action::read, tenant); !r) return std::unexpected(r.error());
    return m_backend->device_outputs(tenant, device, source);
}

Result<std::vector<std::string>> Store::active_rollouts_of(const std::string& tenant, const std::string& device)
{
    if (auto r = authorize(Action::read, tenant); !r) return std::unexpected(r.error());
    auto targeting = m_backend->rollouts_of_device(tenant, device);
    if (!targeting) return std::unexpected(targeting.error());
    // A rollout holds a device while it can still act on it: running or paused, the device not finished.
    std::vector<std::string> out;
    for (const auto& t : *targeting)
        if ((t.run_state == "running" || t.run_state == "paused") && t.device_state != "succeeded" &&
            t.device_state != "failed" && t.device_state != "skipped")
            out.push_back(t.rollout);
    return out;
}

Result<void> Store::append_audit(AuditEntry entry) { return m_chain.append(entry); }

std::string Store::artifact_dir(const std::string& tenant) const
{
    namespace fs = std::filesystem;
    // A tenant name that is not exactly one path component (whatever let it in) gets no folder:
    // "" tells the caller to refuse it rather than build a path outside the area.
    auto dir = util::child_path(local_state_dir(m_location) / "artifacts", tenant, "tenant");
    return dir ? dir->string() : std::string();
}

Result<void> Store::permit(Action action, const std::string& tenant) { return authorize(action, tenant); }

Result<bool> Store::has_artifact(const std::string& tenant, const std::string& sha256)
{
    if (auto r = authorize(Action::read, tenant); !r) return std::unexpected(r.error());
    return m_backend->has_artifact(tenant, sha256);
}

Result<void> Store::put_artifact(const std::string& tenant, const std::string& sha256,
                                 const std::function<Result<std::string_view>()>& next)
{
    if (!m_in_tx) return fail(ErrorKind::runtime, "storing an artifact needs an open write transaction");
    if (auto r = authorize(Action::write, tenant); !r) return r;
    return m_backend->put_artifact(tenant, sha256, next);
}

Result<void> Store::read_artifact(const std::string& tenant, const std::string& sha256,
                                  const std::function<bool(std::string_view)>& sink)
{
    if (auto r = authorize(Action::read, tenant); !r) return r;
    return m_backend->read_artifact(tenant, sha256, sink);
}

Result<std::vector<std::string>> Store::artifacts(const std::string& tenant)
{
    if (auto r = authorize(Action::read, tenant); !r) return std::unexpected(r.error());
    return m_backend->artifacts(tenant);
}

Result<std::vector<std::string>> Store::logins()
{
    if (auto r = authorize_logins(); !r) return std::unexpected(r.error());
    return m_backend->logins();
}

Result<bool> Store::add_login(const std::string& name, const std::optional<std::string>& password)
{
    if (auto r = authorize_logins(); !r) return std::unexpected(r.error());
    return m_backend->add_login(name, password);
}

Result<void> Store::remove_login(const std::string& name, bool drop)
{
    if (name == m_caller.user)
        return fail(ErrorKind::usage, fmt::format("{} is the login you are connected as: remove it as another provider "
                                                  "admin",
                                                  name));
    if (auto r = authorize_logins(); !r) return r;
    return m_backend->remove_login(name, drop);
}

Result<void> Store::authorize_logins()
{
    auto p = provider();
    if (!p) return std::unexpected(p.error());
    auto map = access();
    if (!map) return std::unexpected(map.error());
    if ((*map)->role_on(*p) < Role::admin)
        return fail(ErrorKind::permission,
                    fmt::format("permission denied: only provider admins manage the store's logins; {} is not one",
                                m_caller.user));
    return {};
}

Result<void> Store::update_device_status(const std::string& tenant, const std::string& device,
                                         const StatusUpdate& update)
{
    if (auto r = authorize(Action::write, tenant); !r) return r;
    return m_backend->update_device_status(tenant, device, update);
}

Result<void> Store::record_event(const std::string& tenant, const std::string& action, const std::string& object,
                                 const std::string& summary)
{
    if (auto r = authorize(Action::write, tenant); !r) return r;
    // Not m_dirty: no object changed, so saved plans stay valid and the access map stays cached
    // (a rollout records an event per device).
    return append_audit(AuditEntry{0, model::now_utc(), m_caller.user, tenant, action, object, summary, "", ""});
}

Result<void> Store::move_device(const model::Object& device, const std::string& to, bool detach)
{
    const auto& from = device.resource.tenant;
    if (auto r = authorize(Action::write, from); !r) return r;
    if (auto r = authorize(Action::write, to); !r) return r;
    std::string now = model::now_utc();
    if (auto r = m_backend->move_device_status(from, device.resource.name, to); !r) return r;
    if (auto r = m_backend->move_device(from, device.resource.name, to, detach, now); !r) return r;
    m_dirty = true;
    std::string detached = detach && !device.origin.source.empty() ? "; detached from its source" : "";
    if (auto r = append_audit(AuditEntry{0, now, m_caller.user, from, "moved", device.resource.ref(),
                                         "moved to tenant " + to + detached, "", ""});
        !r)
        return r;
    return append_audit(AuditEntry{0, now, m_caller.user, to, "moved", device.resource.ref(),
                                   "moved from tenant " + from + detached, "", ""});
}

Result<std::vector<IdentityHolder>> Store::identity_holders(const std::vector<std::string>& serials,
                                                            const std::vector<std::string>& macs)
{
    return m_backend->identity_holders(serials, macs);
}

Result<std::vector<SourceDevice>> Store::source_devices(const std::string& source)
{
    return m_backend->source_devices(source);
}

Result<void> Store::audit(const std::string* tenant, const AuditFilter& filter,
                          const std::function<void(AuditEntry&&)>& visit)
{
    if (auto map = access(); !map) return std::unexpected(map.error());
    if (tenant)
        if (auto r = authorize(Action::read, *tenant); !r) return r;
    return m_backend->scan_audit(tenant, filter, [&](AuditEntry&& e) {
        if (authorize(Action::read, e.tenant)) visit(std::move(e));
    });
}

Result<std::vector<std::tuple<std::string, std::size_t, std::optional<ChainBreak>>>> Store::verify_audit(
    const std::string* tenant)
{
    std::map<std::string, std::vector<AuditEntry>> logs;
    if (auto r = audit(tenant, {}, [&](AuditEntry&& e) { logs[e.tenant].push_back(std::move(e)); }); !r)
        return std::unexpected(r.error());
    auto heads = m_backend->audit_heads();
    if (!heads) return std::unexpected(heads.error());
    for (const auto& [name, head] : *heads)  // a log whose every entry was removed still has its head
        if ((!tenant || *tenant == name) && authorize(Action::read, name)) logs[name];
    std::vector<std::tuple<std::string, std::size_t, std::optional<ChainBreak>>> out;
    for (const auto& [name, entries] : logs) {
        auto head = heads->find(name);
        out.emplace_back(name, entries.size(),
                         verify_chain(entries, head == heads->end() ? std::nullopt : std::optional(head->second)));
    }
    return out;
}

Result<std::vector<AuditEntry>> Store::history(const model::Object& object, int limit)
{
    if (auto r = authorize(Action::read, owner_of(object)); !r) return std::unexpected(r.error());
    return m_backend->audit_for(owner_of(object), object.resource.ref(), limit);
}

Result<std::int64_t> Store::revision()
{
    auto value = m_backend->meta("revision");
    if (!value) return std::unexpected(value.error());
    return *value ? std::stoll(**value) : 0;
}

Result<void> Store::initialize(const std::string& provider_name)
{
    auto existing = m_backend->meta("provider");
    if (!existing) return std::unexpected(existing.error());
    if (*existing)
        return fail(ErrorKind::conflict, fmt::format("the store is already initialized (provider tenant \"{}\")", **existing));
    if (auto r = m_backend->set_meta("provider", provider_name); !r) return r;
    model::Object provider;
    provider.resource.kind = model::Kind::tenant;
    provider.resource.name = provider_name;
    provider.resource.spec = {{"members", nlohmann::json::array({{{"user", m_caller.user}, {"role", "admin"}}})}};
    provider.generation = 1;
    provider.created_at = provider.updated_at = model::now_utc();
    // Nobody holds a role before the provider exists; init is the one write that needs none.
    if (auto r = m_backend->put(provider); !r) return r;
    m_dirty = true;
    m_access.reset();
    return append_audit(AuditEntry{0, provider.updated_at, m_caller.user, provider_name, "created",
                                   provider.resource.ref(), "provider tenant created by init", "", ""});
}

} // namespace fleet::store
