#pragma once
// The persistence interface that a store backend (SQLite, PostgreSQL) implements. It stores rows
// and knows nothing of callers, roles or domain rules (audit chaining, cascades, which rollout
// states are active): store::Store wraps it, authorizes every call and applies those rules, so
// that every backend has the same semantics.
//
// The contract every backend keeps:
// - Every method runs inside the transaction opened by begin() and sees that transaction's
//   snapshot and its own writes; nothing is visible to others before commit().
// - Write transactions are serialized: from begin(TxMode::write) to commit() or rollback(), no
//   other write transaction on the same store (from any process or machine) runs. Device limits,
//   the audit chain (sequence numbers and each tenant's head, which the store caches for one
//   transaction) and the store revision are read and then written on this guarantee alone.
//   begin(TxMode::write) waits for the running writer up to the store's lock timeout, then fails
//   with a message saying the store is locked.
// - A read transaction is read-only: a write in it fails, and it never waits for writers.
// - Callbacks (scan, scan_audit) may call any method of the backend, including another scan,
//   without disturbing the scan that called them; they must not commit or roll back.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/object.hpp"
#include "core/util/error.hpp"

namespace fleet::store {

/// One entry of a tenant's audit log.
struct AuditEntry {
    std::int64_t seq = 0;
    std::string at;       ///< RFC 3339 UTC
    std::string actor;
    std::string tenant;
    std::string action;   ///< created, configured, pruned, deleted, ...
    std::string object;   ///< kind/name
    std::string summary;  ///< what changed, never a secret
    std::string prev_hash;
    std::string hash;
};

/// The newest entry of a tenant's audit log as of the last commit, kept apart from the log so
/// that removing the newest entries is noticed too.
struct AuditHead {
    std::int64_t seq = 0;
    std::string hash;
};

/// Which audit entries to read.
struct AuditFilter {
    std::string since;   ///< RFC 3339 UTC; empty: from the start
    std::string action;  ///< empty: every action
};

/// What fleetadm last learned about a device by reaching it; never part of its spec.
struct DeviceStatus {
    std::string reported_version;
    std::string last_seen;          ///< RFC 3339 UTC; empty: never reached
    std::optional<bool> reachable;  ///< empty: never checked
    std::string last_rollout;       ///< "rollout-name: succeeded|failed"
};

/// What was just learned about a device: the fields set replace the stored ones, the others keep
/// theirs (a device without a status row gets the defaults for them).
struct StatusUpdate {
    std::optional<std::string> reported_version;
    std::optional<std::string> last_seen;
    std::optional<bool> reachable;
    std::optional<std::string> last_rollout;
};

/// Where a rollout's run stands (SPEC §8). Stored as its name; a row with any other text is
/// refused when read (a shared store's rows are written by others).
enum class RunState { running, paused, aborted, completed };

/// Where one target device of a rollout stands (SPEC §8); stored as its name, like RunState.
enum class DeviceState { pending, transferring, installing, verifying, succeeded, failed, skipped };

/// The stored names: "running", "transferring", ...
const char* state_name(RunState state);
const char* state_name(DeviceState state);
/// The state a stored name stands for; none for any other text.
std::optional<RunState> parse_run_state(std::string_view text);
std::optional<DeviceState> parse_device_state(std::string_view text);

/// The message for a stored state that is none of these, for what ("rollout up"): the text shown
/// with anything but printable ASCII as \xNN.
std::string bad_state(const std::string& what, std::string_view text);

/// A device being transferred to, installed or verified: a runner works on it.
constexpr bool in_flight(DeviceState s)
{
    return s == DeviceState::transferring || s == DeviceState::installing || s == DeviceState::verifying;
}
/// A device that has ended: succeeded, failed or skipped.
constexpr bool terminal(DeviceState s)
{
    return s == DeviceState::succeeded || s == DeviceState::failed || s == DeviceState::skipped;
}

/// The runtime state of a rollout: what its runner has done so far. The Rollout object holds
/// what the user asked for; this holds where the run stands, committed at every step.
struct RolloutRun {
    std::string tenant;
    std::string name;
    RunState state = RunState::running;
    std::string reason;           ///< why it is paused, aborted or completed, for people
    std::int64_t phase = 0;       ///< index of the phase being worked on
    std::string phase_done_at;    ///< RFC 3339 UTC when the phase's devices all ended (its soak started)
    std::string artifact_sha256;  ///< the artifact as frozen at the start
    std::string artifact_version;
    std::string started_at;
    std::string updated_at;
    std::string lease_owner;      ///< "host pid token" of the runner holding the lease; empty: none
    std::int64_t lease_expires = 0;  ///< Unix seconds
};

/// One target device of a rollout and how far it got.
struct RolloutDevice {
    std::string tenant;
    std::string rollout;
    std::string device;
    std::int64_t phase = -1;      ///< -1: skipped
    DeviceState state = DeviceState::pending;
    std::string reason;           ///< skipped: incompatible | up-to-date; failed: what failed
    std::int64_t attempts = 0;
    std::string updated_at;
    std::string claim_owner;         ///< the runner ("host pid token [name]") working on it; empty: none
    std::int64_t claim_expires = 0;  ///< Unix seconds; a claim past it may be taken over
};

/// What a runner asks for when it claims work on one rollout (SPEC §10). Devices in flight whose
/// claim expired, or whose owner is listed as dead, are taken over (their state kept, so the runner
/// re-verifies them); then pending devices of phases up to max_phase are claimed and moved to
/// transferring with one more attempt, while the rollout is running and within tenant_cap.
struct ClaimRequest {
    std::string tenant, rollout;
    std::string owner;                     ///< the claiming runner
    std::int64_t now = 0, expires = 0;     ///< Unix seconds
    std::int64_t max_phase = 0;
    std::size_t limit = 0;                 ///< devices to claim at most, taken over ones included
    std::size_t tenant_cap = 0;            ///< devices of the tenant in flight at most, over all rollouts; 0: none
    std::vector<std::string> dead_owners;  ///< owners known dead (a process of this host that is gone)
    /// Look for devices in flight to take over; false when the runner's last read of the rows found
    /// none whose claim expired or whose owner is dead (it reads them four times a second).
    bool take_over = true;
    std::string updated_at;
};

/// What a claim got.
struct Claimed {
    std::vector<RolloutDevice> taken_over;  ///< in flight under a runner that is gone: re-verify first
    std::vector<RolloutDevice> started;     ///< pending devices now transferring, claimed
};

/// The output tails of one step run on a device: a rollout's transfer, install or verify, or the
/// last `exec` or `device check` run on it. Kept so that a failure says why (SPEC §7, §8).
struct DeviceOutput {
    std::string tenant;
    std::string device;
    std::string source;      ///< "rollout/NAME", "exec" or "check"
    std::string step;        ///< transfer | install | verify (rollouts); exec | check
    std::string at;          ///< RFC 3339 UTC when it ended
    std::string result;      ///< transport::failure_name: ok, remote, timeout, cancelled, …
    std::int64_t exit_status = -1;  ///< -1: none
    std::string message;     ///< one line for people
    std::string stdout_tail; ///< at most 4 KiB
    std::string stderr_tail; ///< at most 4 KiB
};

/// A stored object reduced to what an apply needs to see that it is unchanged: its canonical
/// labels, annotations and spec texts (compared as text, no JSON tree), and its bookkeeping. The
/// texts share one buffer: a bulk enrollment holds one of these per device of its tenants.
class StoredContent {
public:
    StoredContent() = default;
    StoredContent(std::string_view labels, std::string_view annotations, std::string_view spec,
                  std::string_view created_at, std::int64_t generation)
        : m_generation(generation)
    {
        m_text.reserve(labels.size() + annotations.size() + spec.size() + created_at.size());
        m_text.append(labels).append(annotations).append(spec).append(created_at);
        m_ends = {labels.size(), labels.size() + annotations.size(), labels.size() + annotations.size() + spec.size()};
    }

    std::string_view labels() const { return part(0, m_ends[0]); }
    std::string_view annotations() const { return part(m_ends[0], m_ends[1]); }
    std::string_view spec() const { return part(m_ends[1], m_ends[2]); }
    std::string_view created_at() const { return part(m_ends[2], m_text.size()); }
    std::int64_t generation() const { return m_generation; }

    /// True when the stored texts equal these canonical texts.
    bool same(std::string_view l, std::string_view a, std::string_view s) const
    {
        return spec() == s && labels() == l && annotations() == a;
    }

private:
    std::string_view part(std::size_t from, std::size_t to) const
    {
        return std::string_view(m_text).substr(from, to - from);
    }
    std::string m_text;
    std::array<std::size_t, 3> m_ends{};
    std::int64_t m_generation = 0;
};

/// What the store records about a source besides its objects: the git commit last applied from
/// it (also when that apply changed no object) and when it was first applied.
struct SourceState {
    std::string commit;      ///< empty for file sources
    std::string applied_at;  ///< RFC 3339 UTC of the apply that recorded commit
};

/// A device that holds a serial number or MAC address, which SPEC §4 makes unique across the store.
struct IdentityHolder {
    std::string tenant, name;
    std::string field;  ///< "serial" or "mac"
    std::string value;  ///< the value looked up (MAC addresses in lower case)
};

/// A device recorded as applied from a source, or taken out of it by `device move --detach`.
struct SourceDevice {
    std::string tenant, name;
    std::string serial, mac;  ///< its identity (MAC in lower case); empty: none
    bool detached = false;
};

/// An object's row as text, as put writes it: labels, annotations and spec as canonical JSON.
/// The views must stay valid for the call.
struct ObjectRow {
    model::Kind kind = model::Kind::device;
    std::string_view tenant;            ///< '' for tenants
    std::string_view name;
    std::optional<std::string_view> parent;  ///< tenants: parent tenant
    std::string_view labels, annotations, spec;
    std::string_view source;            ///< source key; empty: none
    std::string_view source_file;       ///< "file:line"
    std::string_view source_commit;
    std::int64_t generation = 0;
    std::string_view created_at, updated_at;
};

/// How a transaction will use the store.
enum class TxMode {
    read,   ///< a read-only transaction: writes fail, and it never waits for writers
    write,  ///< excludes other writers from begin on; waits for other writers up to the store's lock timeout
    /// claims rollout devices only (claim_rollout_devices): a write transaction on SQLite; on
    /// PostgreSQL it does not take the store's write lock, rows are claimed with FOR UPDATE SKIP
    /// LOCKED and a tenant's cap is counted under that tenant's own advisory lock
    claim,
};

/// What a rollout has recorded about one device it targets: read to find the rollouts that still
/// hold a device (Store decides which states count).
struct DeviceTargeting {
    std::string rollout;
    std::string run_state;     ///< the rollout's state: running | paused | aborted | completed
    std::string device_state;  ///< the device's state in it
};

/// Raw storage of rows; every method runs inside the transaction opened by begin() (see the
/// contract at the top of this file).
class Backend {
public:
    virtual ~Backend() = default;

    /// The user the store itself authenticated (a database login), which is then the caller;
    /// nullopt when the store does not authenticate (a local file: the caller is the OS user).
    virtual util::Result<std::optional<std::string>> login_user() = 0;

    /// Starts a transaction.
    virtual util::Result<void> begin(TxMode mode) = 0;
    /// Commits the open transaction.
    virtual util::Result<void> commit() = 0;
    /// Abandons the open transaction; safe to call when none is open.
    virtual void rollback() noexcept = 0;

    /// Objects of a kind; of one tenant when tenant is given (ignored for tenants).
    virtual util::Result<std::vector<model::Object>> list(model::Kind kind, const std::string* tenant) = 0;
    /// Calls visit for each object of a kind (of one tenant when given) in (tenant, name) order,
    /// holding one object in memory at a time.
    virtual util::Result<void> scan(model::Kind kind, const std::string* tenant,
                                    const std::function<void(model::Object&&)>& visit) = 0;
    /// The names of every object of a kind in one tenant (for tenants: all), read from the key index.
    virtual util::Result<std::vector<std::string>> names(model::Kind kind, const std::string& tenant) = 0;
    /// The content of every object of a kind in one tenant (for tenants: all), keyed by name.
    virtual util::Result<std::vector<std::pair<std::string, StoredContent>>> contents(model::Kind kind,
                                                                                      const std::string& tenant) = 0;
    /// One object, or nullopt.
    virtual util::Result<std::optional<model::Object>> get(model::Kind kind, const std::string& tenant,
                                                           const std::string& name) = 0;
    /// The objects of a kind in one tenant with these names (those that exist, in any order): one
    /// statement where a round trip costs (PostgreSQL), get() for each name otherwise.
    virtual util::Result<std::vector<model::Object>> get_many(model::Kind kind, const std::string& tenant,
                                                              const std::vector<std::string>& names)
    {
        std::vector<model::Object> out;
        for (const auto& name : names) {
            auto found = get(kind, tenant, name);
            if (!found) return std::unexpected(found.error());
            if (*found) out.push_back(std::move(**found));
        }
        return out;
    }
    /// Inserts or replaces an object.
    virtual util::Result<void> put(const model::Object& object) = 0;
    /// Inserts or replaces an object given as text (bulk enrollment: no JSON tree per device).
    virtual util::Result<void> put_row(const ObjectRow& row) = 0;
    /// Inserts or replaces many objects given as text, no two with the same key: as put_row for each,
    /// which is what this default does. A backend whose statements cost a round trip sends them in
    /// one go (PostgreSQL: COPY).
    virtual util::Result<void> put_rows(std::span<const ObjectRow> rows)
    {
        for (const auto& row : rows)
            if (auto r = put_row(row); !r) return r;
        return {};
    }
    /// How many rows a caller hands put_rows at once (and audit entries to insert_audits with them).
    virtual std::size_t row_batch() const { return 2048; }
    /// Deletes an object's row only (Store removes what depends on it); not an error when it does not exist.
    virtual util::Result<void> remove(model::Kind kind, const std::string& tenant, const std::string& name) = 0;
    /// Objects of a kind with this name, in every tenant.
    virtual util::Result<std::vector<model::Object>> find_by_name(model::Kind kind, const std::string& name) = 0;
    /// Objects recorded as applied from a source, of every kind.
    virtual util::Result<std::vector<model::Object>> list_by_source(const std::string& source) = 0;
    /// The recorded state of a source; nullopt when nothing was ever applied from it.
    virtual util::Result<std::optional<SourceState>> source_state(const std::string& source) = 0;
    /// Records the commit last applied from a source; keeps applied_at when the commit is the same.
    virtual util::Result<void> set_source_commit(const std::string& source, const std::string& commit,
                                                 const std::string& at) = 0;
    /// Renames a source key, keeping its objects, commit and detached devices; `to` must be unused.
    virtual util::Result<void> rename_source(const std::string& from, const std::string& to) = 0;
    /// Every source the store records, with its state, in key order (store migrate).
    virtual util::Result<std::vector<std::pair<std::string, SourceState>>> sources() = 0;
    /// Records that a device was detached from source, as move_device with detach does (store
    /// migrate copies that record).
    virtual util::Result<void> set_detached_source(const std::string& tenant, const std::string& name,
                                                   const std::string& source) = 0;
    /// The devices of every tenant that hold any of these serial numbers or (lower-case) MAC addresses.
    virtual util::Result<std::vector<IdentityHolder>> identity_holders(const std::vector<std::string>& serials,
                                                                       const std::vector<std::string>& macs) = 0;
    /// The devices of every tenant applied from source, or detached from it by a move.
    virtual util::Result<std::vector<SourceDevice>> source_devices(const std::string& source) = 0;
    /// Moves a device's row (keeping its bookkeeping) to tenant `to`; with detach the device leaves its
    /// source, which is remembered so that the source cannot create it again.
    virtual util::Result<void> move_device(const std::string& from, const std::string& name, const std::string& to,
                                           bool detach, const std::string& at) = 0;
    /// Number of devices owned directly by each tenant that has any.
    virtual util::Result<std::map<std::string, std::int64_t>> device_counts() = 0;
    /// Number of objects of any kind other than Tenant owned by tenant.
    virtual util::Result<std::int64_t> object_count(const std::string& tenant) = 0;
    /// Status of the devices of one tenant (or all, when tenant is null), keyed by (tenant, name).
    virtual util::Result<std::map<std::pair<std::string, std::string>, DeviceStatus>> device_status(
        const std::string* tenant) = 0;
    /// Updates a device's status with the fields of update that are set (one upsert).
    virtual util::Result<void> update_device_status(const std::string& tenant, const std::string& name,
                                                    const StatusUpdate& update) = 0;
    /// Moves a device's status and the outputs of its exec and check runs to another tenant.
    virtual util::Result<void> move_device_status(const std::string& from, const std::string& name,
                                                  const std::string& to) = 0;
    /// Deletes a device's status and every output recorded for it.
    virtual util::Result<void> remove_device_status(const std::string& tenant, const std::string& name) = 0;

    /// A rollout's runtime state, or nullopt when it never ran.
    virtual util::Result<std::optional<RolloutRun>> rollout_run(const std::string& tenant, const std::string& name) = 0;
    /// Inserts or replaces a rollout's runtime state.
    virtual util::Result<void> put_rollout_run(const RolloutRun& run) = 0;
    /// The target devices of a rollout, in phase and name order.
    virtual util::Result<std::vector<RolloutDevice>> rollout_devices(const std::string& tenant,
                                                                     const std::string& rollout) = 0;
    /// Inserts or replaces one target device of a rollout.
    virtual util::Result<void> put_rollout_device(const RolloutDevice& device) = 0;
    /// Updates one target device of a rollout if holder still holds its claim; false when not (its
    /// claim expired and another runner took it over).
    virtual util::Result<bool> update_claimed_device(const RolloutDevice& device, const std::string& holder) = 0;
    /// Moves the claims of owner on a rollout's devices to expires (the heartbeat).
    virtual util::Result<void> renew_claims(const std::string& tenant, const std::string& rollout,
                                            const std::string& owner, std::int64_t expires) = 0;
    /// Claims devices of a rollout for a runner (see ClaimRequest).
    virtual util::Result<Claimed> claim_rollout_devices(const ClaimRequest& request) = 0;
    /// Every rollout of tenant that targets the device, with its state and the device's.
    virtual util::Result<std::vector<DeviceTargeting>> rollouts_of_device(const std::string& tenant,
                                                                          const std::string& device) = 0;
    /// Forgets a rollout's runtime state and targets.
    virtual util::Result<void> remove_rollout_runtime(const std::string& tenant, const std::string& name) = 0;
    /// Inserts or replaces the output of one step on one device (keyed by tenant, device, source, step).
    virtual util::Result<void> put_device_output(const DeviceOutput& output) = 0;
    /// The outputs recorded for one device (source empty) or for one source, of one tenant, newest first.
    virtual util::Result<std::vector<DeviceOutput>> device_outputs(const std::string& tenant, const std::string& device,
                                                                   const std::string& source) = 0;

    /// True when the store itself holds artifact bytes (a shared store, whose users work on many
    /// machines); false when they are files beside it (a local store: see apply's artifact area),
    /// and then the artifact methods below fail.
    virtual bool holds_artifacts() const { return false; }
    /// Whether tenant's artifact with this SHA-256 is stored.
    virtual util::Result<bool> has_artifact(const std::string& tenant, const std::string& sha256);
    /// Stores an artifact for tenant, replacing any with that SHA-256: its bytes come from next, one
    /// chunk per call (an empty chunk ends them), and only one chunk is held at a time. The caller
    /// hashes them and rolls back when they do not match sha256.
    virtual util::Result<void> put_artifact(const std::string& tenant, const std::string& sha256,
                                            const std::function<util::Result<std::string_view>()>& next);
    /// Gives an artifact's bytes to sink in order, one chunk at a time (sink returns false to stop);
    /// a not-found error when tenant has no artifact with that SHA-256.
    virtual util::Result<void> read_artifact(const std::string& tenant, const std::string& sha256,
                                             const std::function<bool(std::string_view)>& sink);
    /// The SHA-256 of every artifact stored for tenant, in order.
    virtual util::Result<std::vector<std::string>> artifacts(const std::string& tenant);

    /// Every tenant, those the caller cannot see included, for the tree's structure and the settings
    /// ancestors lend: by default list(tenant). A store that hides rows from the caller (PostgreSQL's
    /// row-level security) returns its visible tenants and their hidden ancestors without members.
    virtual util::Result<std::vector<model::Object>> tenant_structure() { return list(model::Kind::tenant, nullptr); }
    /// The database logins that may use this store (PostgreSQL; others refuse: their caller is the
    /// OS user).
    virtual util::Result<std::vector<std::string>> logins();
    /// Lets the login name use this store, creating it when missing (with the password when given,
    /// sent hashed, never as text); returns true when it was created. Needs CREATEROLE.
    virtual util::Result<bool> add_login(const std::string& name, const std::optional<std::string>& password);
    /// Takes the store away from the login name; with drop, drops the login too.
    virtual util::Result<void> remove_login(const std::string& name, bool drop);

    /// A value of the store's metadata table.
    virtual util::Result<std::optional<std::string>> meta(const std::string& key) = 0;
    /// Sets a value of the store's metadata table.
    virtual util::Result<void> set_meta(const std::string& key, const std::string& value) = 0;
    /// Advances the store revision by one for this transaction's changes (this default: reads it and
    /// writes it plus one; PostgreSQL's triggers also advance it for writes of other clients, at
    /// most once per transaction).
    virtual util::Result<void> advance_revision()
    {
        auto rev = meta("revision");
        if (!rev) return std::unexpected(rev.error());
        return set_meta("revision", std::to_string((*rev ? std::stoll(**rev) : 0) + 1));
    }

    /// One more than the highest sequence number in the audit log (1 for an empty log).
    virtual util::Result<std::int64_t> next_audit_seq() = 0;
    /// The recorded head of one tenant's audit log; nullopt when it has none.
    virtual util::Result<std::optional<AuditHead>> audit_head(const std::string& tenant) = 0;
    /// Inserts a complete audit entry, whose seq, prev_hash and hash the caller computed (AuditChain).
    virtual util::Result<void> insert_audit(const AuditEntry& entry) = 0;
    /// Inserts complete audit entries in sequence order: as insert_audit for each (this default), or
    /// in one go.
    virtual util::Result<void> insert_audits(std::span<const AuditEntry> entries)
    {
        for (const auto& e : entries)
            if (auto r = insert_audit(e); !r) return r;
        return {};
    }
    /// Records the head of a tenant's audit log.
    virtual util::Result<void> put_audit_head(const std::string& tenant, const AuditHead& head) = 0;
    /// Calls visit for each audit entry (of one tenant when given) matching filter, in sequence order.
    virtual util::Result<void> scan_audit(const std::string* tenant, const AuditFilter& filter,
                                          const std::function<void(AuditEntry&&)>& visit) = 0;
    /// The recorded head of every tenant's audit log.
    virtual util::Result<std::map<std::string, AuditHead>> audit_heads() = 0;
    /// The most recent audit entries about one object, newest last.
    virtual util::Result<std::vector<AuditEntry>> audit_for(const std::string& tenant, const std::string& object,
                                                            int limit) = 0;
};

} // namespace fleet::store
