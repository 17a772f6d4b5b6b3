#pragma once
// The PostgreSQL store: fleetadm's tables in an existing database, reached with libpq directly.
// Statements are prepared once per connection and take their values as parameters; scans read
// through server-side cursors; write transactions are serialized by a transaction-scoped advisory
// lock, so the guarantees of Backend's contract hold across machines.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/store/backend.hpp"

struct pg_conn;
struct pg_result;

namespace fleet::store {

/// Backend on a PostgreSQL database (15 or newer).
class PgBackend final : public Backend {
public:
    /// Connects to the database at url (a libpq URI); with create, makes fleetadm's schema when it is
    /// missing, else fails when it is. Migrates an older schema; refuses a newer one.
    static util::Result<std::unique_ptr<PgBackend>> open(const std::string& url, bool create, int lock_timeout_ms);
    ~PgBackend() override;

    util::Result<std::optional<std::string>> login_user() override;
    util::Result<void> begin(TxMode mode) override;
    util::Result<void> commit() override;
    void rollback() noexcept override;
    util::Result<std::vector<model::Object>> list(model::Kind kind, const std::string* tenant) override;
    util::Result<void> scan(model::Kind kind, const std::string* tenant,
                            const std::function<void(model::Object&&)>& visit) override;
    util::Result<std::vector<std::string>> names(model::Kind kind, const std::string& tenant) override;
    util::Result<std::vector<std::pair<std::string, StoredContent>>> contents(model::Kind kind,
                                                                              const std::string& tenant) override;
    util::Result<std::vector<model::Object>> get_many(model::Kind kind, const std::string& tenant,
                                                      const std::vector<std::string>& names) override;
    util::Result<std::optional<model::Object>> get(model::Kind kind, const std::string& tenant,
                                                   const std::string& name) override;
    util::Result<void> put(const model::Object& object) override;
    util::Result<void> put_row(const ObjectRow& row) override;
    util::Result<void> put_rows(std::span<const ObjectRow> rows) override;
    /// Larger than the default: each statement's triggers update every affected tenant's count and
    /// queue its limit check for the commit (100,000 devices of 1,000 tenants: 14.1 s in batches of
    /// 2,048, 9.6 s in batches of 16,384).
    std::size_t row_batch() const override { return 16384; }
    util::Result<void> advance_revision() override;
    util::Result<void> remove(model::Kind kind, const std::string& tenant, const std::string& name) override;
    util::Result<std::vector<model::Object>> find_by_name(model::Kind kind, const std::string& name) override;
    util::Result<std::vector<model::Object>> list_by_source(const std::string& source) override;
    util::Result<std::optional<SourceState>> source_state(const std::string& source) override;
    util::Result<void> rename_source(const std::string& from, const std::string& to) override;
    util::Result<void> set_source_commit(const std::string& source, const std::string& commit,
                                         const std::string& at) override;
    util::Result<std::vector<IdentityHolder>> identity_holders(const std::vector<std::string>& serials,
                                                               const std::vector<std::string>& macs) override;
    util::Result<std::vector<SourceDevice>> source_devices(const std::string& source) override;
    util::Result<std::vector<std::pair<std::string, SourceState>>> sources() override;
    util::Result<void> set_detached_source(const std::string& tenant, const std::string& name,
                                           const std::string& source) override;
    util::Result<void> move_device(const std::string& from, const std::string& name, const std::string& to,
                                   bool detach, const std::string& at) override;
    util::Result<std::map<std::string, std::int64_t>> device_counts() override;
    util::Result<std::int64_t> object_count(const std::string& tenant) override;
    util::Result<std::map<std::pair<std::string, std::string>, DeviceStatus>> device_status(
        const std::string* tenant) override;
    util::Result<void> update_device_status(const std::string& tenant, const std::string& name,
                                            const StatusUpdate& update) override;
    util::Result<void> move_device_status(const std::string& from, const std::string& name,
                                          const std::string& to) override;
    util::Result<void> remove_device_status(const std::string& tenant, const std::string& name) override;
    util::Result<std::optional<RolloutRun>> rollout_run(const std::string& tenant, const std::string& name) override;
    util::Result<void> put_rollout_run(const RolloutRun& run) override;
    util::Result<std::vector<RolloutDevice>> rollout_devices(const std::string& tenant,
                                                             const std::string& rollout) override;
    util::Result<void> put_rollout_device(const RolloutDevice& device) override;
    util::Result<bool> update_claimed_device(const RolloutDevice& device, const std::string& holder) override;
    util::Result<void> renew_claims(const std::string& tenant, const std::string& rollout, const std::string& owner,
                                    std::int64_t expires) override;
    util::Result<Claimed> claim_rollout_devices(const ClaimRequest& request) override;
    util::Result<std::vector<DeviceTargeting>> rollouts_of_device(const std::string& tenant,
                                                                  const std::string& device) override;
    util::Result<void> remove_rollout_runtime(const std::string& tenant, const std::string& name) override;
    util::Result<void> put_device_output(const DeviceOutput& output) override;
    util::Result<std::vector<DeviceOutput>> device_outputs(const std::string& tenant, const std::string& device,
                                                           const std::string& source) override;
    bool holds_artifacts() const override { return true; }
    util::Result<bool> has_artifact(const std::string& tenant, const std::string& sha256) override;
    util::Result<void> put_artifact(const std::string& tenant, const std::string& sha256,
                                    const std::function<util::Result<std::string_view>()>& next) override;
    util::Result<void> read_artifact(const std::string& tenant, const std::string& sha256,
                                     const std::function<bool(std::string_view)>& sink) override;
    util::Result<std::vector<std::string>> artifacts(const std::string& tenant) override;
    util::Result<std::vector<model::Object>> tenant_structure() override;
    util::Result<std::vector<std::string>> logins() override;
    util::Result<bool> add_login(const std::string& name, const std::optional<std::string>& password) override;
    util::Result<void> remove_login(const std::string& name, bool drop) override;
    util::Result<std::optional<std::string>> meta(const std::string& key) override;
    util::Result<void> set_meta(const std::string& key, const std::string& value) override;
    util::Result<std::int64_t> next_audit_seq() override;
    util::Result<std::optional<AuditHead>> audit_head(const std::string& tenant) override;
    util::Result<void> insert_audit(const AuditEntry& entry) override;
    util::Result<void> insert_audits(std::span<const AuditEntry> entries) override;
    util::Result<void> put_audit_head(const std::string& tenant, const AuditHead& head) override;
    util::Result<void> scan_audit(const std::string* tenant, const AuditFilter& filter,
                                  const std::function<void(AuditEntry&&)>& visit) override;
    util::Result<std::map<std::string, AuditHead>> audit_heads() override;
    util::Result<std::vector<AuditEntry>> audit_for(const std::string& tenant, const std::string& object,
                                                    int limit) override;

    /// Frees a libpq connection.
    struct ConnectionDeleter {
        void operator()(pg_conn* conn) const noexcept;
    };
    /// Frees a libpq result.
    struct ResultDeleter {
        void operator()(pg_result* result) const noexcept;
    };
    /// An owned connection.
    using Connection = std::unique_ptr<pg_conn, ConnectionDeleter>;
    /// An owned query result.
    using Rows = std::unique_ptr<pg_result, ResultDeleter>;
    class Params;

private:
    PgBackend(Connection conn, std::string where, int lock_timeout_ms);
    /// Runs a prepared statement (prepared on first use) with params; result_format 1 returns values
    /// in binary form (bytea as its bytes).
    util::Result<Rows> run(const std::string& sql, const Params& params, std::string_view what, int result_format = 0);
    /// Runs a statement without parameters (transaction control, DDL).
    util::Result<void> exec(const std::string& sql, std::string_view what);
    /// Runs read in a read transaction of its own (for a read that needs one snapshot, called outside
    /// any transaction).
    util::Result<void> in_read_transaction(const std::function<util::Result<void>()>& read);
    /// Runs select through a server-side cursor, calling row for each row of each batch.
    util::Result<void> stream(const std::string& select, const Params& params, std::string_view what,
                              const std::function<void(const pg_result*, int)>& row);
    /// Sends data (rows in COPY's text format) to the COPY ... FROM STDIN statement copy.
    util::Result<void> copy_in(const std::string& copy, std::string_view data, std::string_view what);
    util::Result<void> migrate(bool create);
    /// Creates this database's roles when missing and makes the login a member of both, for a
    /// migration; needs CREATEROLE.
    util::Result<void> become_owner();
    /// An identifier (a role name) quoted for SQL text.
    std::string quoted(const std::string& identifier) const;
    /// A value quoted as an SQL string literal.
    std::string literal(const std::string& value) const;
    util::Error db_error(std::string_view what, const pg_result* result = nullptr) const;
    util::Result<std::optional<std::int64_t>> source_id(std::string_view key);
    util::Result<std::vector<model::Object>> objects(const std::string& select, const Params& params,
                                                     std::string_view what);

    Connection m_conn;
    std::string m_where;  ///< "database \"db\" on host h port p": names the store, never its password
    int m_lock_timeout_ms;
    std::unordered_map<std::string, std::string> m_prepared;  // SQL → statement name
    int m_cursors = 0;                                        // open cursors, for nested scans' names
    std::map<std::string, std::int64_t, std::less<>> m_source_ids;
    std::string m_login;
    std::string m_owner_role;  ///< owns the schema; nobody logs in as it
    std::string m_users_role;  ///< granted to every login that uses this store
};

} // namespace fleet::store
