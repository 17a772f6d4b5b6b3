#pragma once
// The one way into the state store. Every read and write passes through Store, which
// names the caller and the tenant of each access; authorization (caller, action, tenant)
// is checked in authorize(), the single point every command goes through.

#include <memory>
#include <string>
#include <tuple>

#include "core/store/access.hpp"
#include "core/store/audit_chain.hpp"
#include "core/store/backend.hpp"
#include "core/store/open_backend.hpp"

namespace fleet::store {

/// Who is using the store.
struct MigrateCounts;

struct Caller {
    std::string user;
};

/// What an access does: read needs viewer, write (devices, groups, credentials, artifacts,
/// rollouts) needs operator, admin (tenants and their members) needs admin.
enum class Action { read, write, admin };

class Store;

/// A device written from canonical texts (bulk enrollment), with what apply records about it.
struct DeviceWrite {
    std::string_view tenant, name;
    std::string_view labels, spec;  ///< canonical JSON objects
    std::string_view file;          ///< the file it was read from
    int line = 0;                   ///< and the line
    std::int64_t generation = 1;
    std::string_view created_at;
    std::string_view action;        ///< for the audit log: "created" or "configured"
    std::string_view summary;       ///< for the audit log: what changed
};

/// A transaction on the store; rolled back on destruction unless committed.
class Transaction {
public:
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();

    /// Commits; the store's revision advances when objects or a rollout's run were written (not for
    /// events, device status or outputs, which are observations).
    util::Result<void> commit();

private:
    friend class Store;
    explicit Transaction(Store* store) : m_store(store) {}
    Store* m_store;
};

/// The tenant-scoped store interface used by every command.
class Store {
public:
    /// Opens the store at location (a path or a postgresql:// URL, see open_backend) for caller; on a
    /// store that authenticates its users (PostgreSQL) the caller is the login it authenticated instead.
    static util::Result<std::unique_ptr<Store>> open(const std::string& location, Caller caller,
                                                     const OpenOptions& options = {});
    /// A store over an open backend, acting for caller.
    Store(std::unique_ptr<Backend> backend, Caller caller);

    /// The caller this store acts for.
    const Caller& caller() const { return m_caller; }
    /// Acts for another user from now on (`--as`); only a provider admin may, else permission denied.
    util::Result<void> impersonate(const std::string& user);
    /// True when the caller holds a role on tenant or an ancestor.
    bool visible(const std::string& tenant);
    /// Every tenant, visible or not: for structural checks (depth, cycles, limits) only, whose
    /// messages must name visible tenants alone. Never print what this returns.
    util::Result<std::vector<model::Object>> tenant_structure();
    /// Starts a transaction; a write transaction waits for other writers.
    util::Result<Transaction> begin(TxMode mode);

    /// The provider tenant's name.
    util::Result<std::string> provider();
    /// Objects of a kind the caller may read; of one tenant when tenant is given.
    util::Result<std::vector<model::Object>> list(model::Kind kind, const std::string* tenant = nullptr);
    /// Calls visit for each object of a kind the caller may read, one at a time.
    util::Result<void> scan(model::Kind kind, const std::string* tenant,
                            const std::function<void(model::Object&&)>& visit);
    /// The names of a tenant's objects of a kind (for tenants: all visible), sorted.
    util::Result<std::vector<std::string>> names(model::Kind kind, const std::string& tenant);
    /// The content of a tenant's objects of a kind (for tenants: all visible).
    util::Result<std::vector<std::pair<std::string, StoredContent>>> contents(model::Kind kind,
                                                                              const std::string& tenant);
    /// The objects of a kind in one tenant with these names that exist and the caller may see.
    util::Result<std::vector<model::Object>> get_many(model::Kind kind, const std::string& tenant,
                                                      const std::vector<std::string>& names);
    /// One object; nullopt when it does not exist or the caller may not see it.
    util::Result<std::optional<model::Object>> get(model::Kind kind, const std::string& tenant,
                                                   const std::string& name);
    /// The object of a kind with this name: in tenant when given, else the only one the caller can see.
    /// Fails with not_found when there is none and with usage when several tenants have one.
    util::Result<model::Object> resolve(model::Kind kind, const std::string& name, const std::string& tenant);
    /// Every object of a kind with this name that the caller can see, whatever its tenant.
    util::Result<std::vector<model::Object>> find_by_name(model::Kind kind, const std::string& name);
    /// Objects applied from source that the caller may read.
    util::Result<std::vector<model::Object>> list_by_source(const std::string& source);
    /// What is recorded about a source (its last applied git commit); nullopt when nothing was applied from it.
    util::Result<std::optional<SourceState>> source_state(const std::string& source);
    /// Takes the objects recorded under source `from` (the key an earlier version gave the same
    /// input) into source `to`, which has none yet. Needs write on every tenant they are in.
    util::Result<void> adopt_source(const std::string& from, const std::string& to);
    /// Records the git commit just applied from source, whose objects are applied; the caller must
    /// be operator on each object's tenant and admin on each tenant applied, whether or not this
    /// apply changed it, so that a viewer's no-op apply records nothing.
    util::Result<void> record_source_commit(const std::string& source, const std::string& commit,
                                            const std::vector<model::Resource>& applied);
    /// The devices of every tenant, visible or not, holding any of these serial numbers or (lower-case) MAC
    /// addresses: identity is unique across the store. Messages may name only holders in visible tenants.
    util::Result<std::vector<IdentityHolder>> identity_holders(const std::vector<std::string>& serials,
                                                               const std::vector<std::string>& macs);
    /// The devices of every tenant applied from source or detached from it, for recognizing a device that
    /// its source moved to another tenant. Messages may name only devices in visible tenants.
    util::Result<std::vector<SourceDevice>> source_devices(const std::string& source);
    /// Devices owned directly by each tenant.
    util::Result<std::map<std::string, std::int64_t>> device_counts();
    /// Number of non-tenant objects owned by tenant.
    util::Result<std::int64_t> object_count(const std::string& tenant);

    /// Creates or updates an object and appends the change to its tenant's audit log.
    util::Result<void> put(const model::Object& object, const std::string& action, const std::string& summary);
    /// Creates or updates devices given as text, appending each change to its tenant's audit log.
    /// Each distinct tenant is authorized once, before anything is written; now is the write time.
    util::Result<void> put_devices(const std::vector<DeviceWrite>& devices, const std::string& source,
                                   const std::string& commit, const std::string& now);
    /// Deletes an object and appends the deletion to its tenant's audit log.
    util::Result<void> remove(const model::Object& object, const std::string& action);
    /// Status of the devices the caller can see, of one tenant when tenant is given.
    util::Result<std::map<std::pair<std::string, std::string>, DeviceStatus>> device_status(
        const std::string* tenant = nullptr);
    /// Checks, before anything is done, that the caller may do action in tenant: not_found for a
    /// tenant the caller cannot see, permission denied for a visible one without the role.
    util::Result<void> permit(Action action, const std::string& tenant);
    /// Records what reaching a device found (`device check`, a rollout): the fields of update that
    /// are set, the others kept. Needs write on the device's tenant. Not audited per device here:
    /// it is an observation, not a change anyone made (the callers audit their runs), and it does
    /// not advance the store revision, so saved plans stay valid.
    util::Result<void> update_device_status(const std::string& tenant, const std::string& device,
                                            const StatusUpdate& update);
    /// Appends an entry to a tenant's audit log for something done to its devices rather than to
    /// its objects (exec, device check). Needs write on tenant; does not advance the revision.
    util::Result<void> record_event(const std::string& tenant, const std::string& action, const std::string& object,
                                    const std::string& summary);
    /// Moves a device (with its status) to another tenant; audited in both tenants. With detach the device
    /// leaves the source it was applied from, which then can no longer create it.
    util::Result<void> move_device(const model::Object& device, const std::string& to, bool detach = false);
    /// A rollout's runtime state; nullopt when it never ran.
    util::Result<std::optional<RolloutRun>> rollout_run(const std::string& tenant, const std::string& name);
    /// Records a rollout's runtime state.
    util::Result<void> put_rollout_run(const RolloutRun& run);
    /// The target devices of a rollout with their progress.
    util::Result<std::vector<RolloutDevice>> rollout_devices(const std::string& tenant, const std::string& rollout);
    /// Records one target device's progress.
    util::Result<void> put_rollout_device(const RolloutDevice& device);
    /// Updates a device of a rollout while holder holds its claim; false when another runner took it over.
    util::Result<bool> update_claimed_device(const RolloutDevice& device, const std::string& holder);
    /// The heartbeat: owner's claims on a rollout's devices last until expires.
    util::Result<void> renew_claims(const std::string& tenant, const std::string& rollout, const std::string& owner,
                                    std::int64_t expires);
    /// Claims devices of a rollout for a runner (SPEC §10); in a claim (or write) transaction.
    util::Result<Claimed> claim_rollout_devices(const ClaimRequest& request);
    /// Records the output tails of one step run on a device; needs write on its tenant. Not audited
    /// and not a revision change: an observation, like update_device_status.
    util::Result<void> put_device_output(const DeviceOutput& output);
    /// Outputs recorded in tenant for device (empty: every device) and source (empty: every
    /// source: "rollout/NAME", "exec", "check"), newest first. Needs read on tenant.
    util::Result<std::vector<DeviceOutput>> device_outputs(const std::string& tenant, const std::string& device,
                                                           const std::string& source);
    /// Other running or paused rollouts in which a device has not finished.
    util::Result<std::vector<std::string>> active_rollouts_of(const std::string& tenant, const std::string& device);
    /// Directory holding a tenant's artifacts, addressed by SHA-256, beside the store file; "" for a
    /// tenant name that cannot be a folder. Only for a store that does not hold artifacts itself
    /// (see core/store/artifacts.hpp, which is how callers reach artifacts).
    std::string artifact_dir(const std::string& tenant) const;
    /// True when the artifacts' bytes are in the store itself (PostgreSQL), not in files beside it.
    bool holds_artifacts() const { return m_backend->holds_artifacts(); }
    /// Whether the store holds tenant's artifact sha256 (a store that holds artifacts). Needs read on tenant.
    util::Result<bool> has_artifact(const std::string& tenant, const std::string& sha256);
    /// Stores an artifact's bytes, chunk by chunk from next (see Backend::put_artifact). Needs write on
    /// tenant and an open write transaction.
    util::Result<void> put_artifact(const std::string& tenant, const std::string& sha256,
                                    const std::function<util::Result<std::string_view>()>& next);
    /// Reads an artifact's bytes chunk by chunk (see Backend::read_artifact). Needs read on tenant.
    util::Result<void> read_artifact(const std::string& tenant, const std::string& sha256,
                                     const std::function<bool(std::string_view)>& sink);
    /// The SHA-256 of tenant's artifacts in the store. Needs read on tenant.
    util::Result<std::vector<std::string>> artifacts(const std::string& tenant);

    /// The database logins of this store (PostgreSQL). Needs admin on the provider.
    util::Result<std::vector<std::string>> logins();
    /// Lets a database login use this store (see Backend::add_login). Needs admin on the provider.
    util::Result<bool> add_login(const std::string& name, const std::optional<std::string>& password);
    /// Takes the store away from a database login. Needs admin on the provider.
    util::Result<void> remove_login(const std::string& name, bool drop);
    /// Whether the caller is a provider admin, as managing logins needs.
    util::Result<void> authorize_logins();

    /// Calls visit for each audit entry the caller may read (of one tenant when given), in order.
    util::Result<void> audit(const std::string* tenant, const AuditFilter& filter,
                             const std::function<void(AuditEntry&&)>& visit);
    /// Checks the hash chain of every audit log the caller may read (or of one tenant's);
    /// returns each tenant's entry count and, when broken, where.
    util::Result<std::vector<std::tuple<std::string, std::size_t, std::optional<ChainBreak>>>> verify_audit(
        const std::string* tenant);
    /// Recent audit entries about one object.
    util::Result<std::vector<AuditEntry>> history(const model::Object& object, int limit);

    /// The store revision: advances with every commit that changed objects or a rollout's run;
    /// plans record it.
    util::Result<std::int64_t> revision();
    /// Creates the provider tenant in a new store; fails when the store is already initialized.
    util::Result<void> initialize(const std::string& provider_name);

private:
    friend class Transaction;
    friend util::Result<MigrateCounts> migrate(Store& from, Store& to);
    /// The single authorization point: may the caller do action in tenant? A tenant the caller
    /// cannot see is not found (exit 4); a visible one without the role is permission denied (exit 3).
    util::Result<void> authorize(Action action, const std::string& tenant);
    /// Authorizes writing an object: for a tenant, admin on its parent (old and new); else write on its tenant.
    util::Result<void> authorize_write(const model::Object& object);
    /// The roles of the caller, read once per transaction; fails with the backend's error when the
    /// store cannot be read.
    util::Result<const AccessMap*> access();
    /// The tenant whose audit log and permissions an object falls under.
    static const std::string& owner_of(const model::Object& object);
    /// Appends an entry to its tenant's audit log, chained to the previous one.
    util::Result<void> append_audit(AuditEntry entry);

    std::unique_ptr<Backend> m_backend;
    Caller m_caller;
    std::string m_location;
    bool m_in_tx = false;
    bool m_dirty = false;
    /// The caller's roles, read at the first check of a transaction and kept for the next ones
    /// while the objects' revision (meta "revision", bumped by every commit that changed objects)
    /// stays the same; dropped when a transaction rolls back (it may hold that one's changes).
    std::optional<AccessMap> m_access;
    std::string m_access_revision;
    bool m_access_checked = false;  ///< m_access was checked against this transaction's revision
    AuditChain m_chain{*m_backend};
};

} // namespace fleet::store
