#pragma once
// The SQLite store: one database file in WAL mode, schema versioned by PRAGMA user_version.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/store/backend.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace fleet::store {

/// The schema version this build writes; older stores are migrated forward, newer ones refused.
inline constexpr int schema_version = 6;

/// Backend on a local SQLite database.
class SqliteBackend final : public Backend {
public:
    /// Opens (or with create, creates) the database at path and migrates it to schema_version.
    static util::Result<std::unique_ptr<SqliteBackend>> open(const std::string& path, bool create,
                                                             int lock_timeout_ms);
    ~SqliteBackend() override;

    /// The state of a wait for another connection's write lock.
    struct LockWait {
        int timeout_ms = 0;
        std::chrono::steady_clock::time_point since;
    };

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
    util::Result<std::optional<model::Object>> get(model::Kind kind, const std::string& tenant,
                                                   const std::string& name) override;
    util::Result<void> put(const model::Object& object) override;
    util::Result<void> put_row(const ObjectRow& row) override;
    util::Result<void> remove(model::Kind kind, const std::string& tenant, const std::string& name) override;
    util::Result<std::vector<model::Object>> list_by_source(const std::string& source) override;
    util::Result<std::vector<model::Object>> find_by_name(model::Kind kind, const std::string& name) override;
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
    util::Result<void> update_device_status(const std::string& tenant, const std::string& name,
                                            const StatusUpdate& update) override;
    util::Result<void> move_device_status(const std::string& from, const std::string& name,
                                          const std::string& to) override;
    util::Result<void> remove_device_status(const std::string& tenant, const std::string& name) override;
    util::Result<std::optional<std::string>> meta(const std::string& key) override;
    util::Result<void> set_meta(const std::string& key, const std::string& value) override;
    util::Result<std::int64_t> next_audit_seq() override;
    util::Result<std::optional<AuditHead>> audit_head(const std::string& tenant) override;
    util::Result<void> insert_audit(const AuditEntry& entry) override;
    util::Result<void> put_audit_head(const std::string& tenant, const AuditHead& head) override;
    util::Result<void> scan_audit(const std::string* tenant, const AuditFilter& filter,
                                  const std::function<void(AuditEntry&&)>& visit) override;
    util::Result<std::map<std::string, AuditHead>> audit_heads() override;
    util::Result<std::vector<AuditEntry>> audit_for(const std::string& tenant, const std::string& object,
                                                    int limit) override;

private:
    class Statement;
    SqliteBackend(sqlite3* db, std::string path);
    util::Result<void> exec(const char* sql);
    util::Result<void> migrate();
    Statement& prepare(const char* sql);
    util::Error db_error(std::string_view what) const;
    /// Appends the rows of (device, phase, state, reason, attempts, updated_at, claim_owner,
    /// claim_expires) that st returns; fails with what when a step fails.
    util::Result<void> rollout_device_rows(Statement& st, const std::string& tenant, const std::string& rollout,
                                           std::vector<RolloutDevice>& into, std::string_view what);
    /// The id of a source key, recorded on first use; nullopt for no source.
    util::Result<std::optional<std::int64_t>> source_id(const std::string& key);

    sqlite3* m_db;
    std::string m_path;
    /// Prepared statements by SQL text: usually one each, more while a scan's callback reuses its SQL.
    std::unordered_map<const char*, std::vector<std::unique_ptr<Statement>>> m_statements;
    /// Statements that failed to prepare, kept for the callers that hold them until the next transaction begins.
    std::vector<std::unique_ptr<Statement>> m_failed;
    LockWait m_lock_wait;
    bool m_in_tx = false;
    /// In a read transaction statements that write are refused (and the refusal is the error's cause).
    struct TxState {
        bool read = false;
        bool refused_write = false;
    } m_tx;
    std::map<std::string, std::int64_t> m_source_ids;
};

} // namespace fleet::store
