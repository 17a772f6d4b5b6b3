#include "core/store/sqlite_backend.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <thread>
#include <unordered_set>

#include "core/util/files.hpp"

namespace fleet::store {

using nlohmann::json;
using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

// Migration N takes a store from user_version N to N+1. Append only; never edit a released step.
constexpr std::array<const char*, schema_version> migrations = {
    R"SQL(
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE sources (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE              -- "files:/abs/dir", "stdin", a git URL + path
);
CREATE TABLE objects (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    tenant        TEXT NOT NULL,          -- owning tenant; '' for tenants
    name          TEXT NOT NULL,
    parent        TEXT,                   -- tenants: parent tenant name
    labels        TEXT NOT NULL,          -- JSON object
    annotations   TEXT NOT NULL,          -- JSON object, user annotations only
    spec          TEXT NOT NULL,          -- JSON object
    source_id     INTEGER REFERENCES sources(id),
    source_file   TEXT NOT NULL DEFAULT '',
    source_commit TEXT NOT NULL DEFAULT '',
    generation    INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (kind, tenant, name)
);
CREATE INDEX objects_by_source ON objects(source_id) WHERE source_id IS NOT NULL;
CREATE TABLE device_status (
    tenant           TEXT NOT NULL,
    name             TEXT NOT NULL,
    reported_version TEXT NOT NULL DEFAULT '',
    last_seen        TEXT NOT NULL DEFAULT '',
    reachable        INTEGER,             -- NULL: never checked
    last_rollout     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, name)
) WITHOUT ROWID;
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    tenant    TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    summary   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE audit_heads (
    tenant TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL,
    hash   TEXT NOT NULL
) WITHOUT ROWID;
)SQL",
    // 1 → 2: the commit last applied from a git source, recorded even when no object changed.
    R"SQL(
ALTER TABLE sources ADD COLUMN last_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE sources ADD COLUMN applied_at TEXT NOT NULL DEFAULT '';
)SQL",
    // 2 → 3: rollout runtime state (runs with their lease, and per-device progress).
    R"SQL(
CREATE TABLE rollout_runs (
    tenant           TEXT NOT NULL,
    name             TEXT NOT NULL,
    state            TEXT NOT NULL,       -- running | paused | aborted | completed
    reason           TEXT NOT NULL DEFAULT '',
    phase            INTEGER NOT NULL DEFAULT 0,
    phase_done_at    TEXT NOT NULL DEFAULT '',
    artifact_sha256  TEXT NOT NULL,
    artifact_version TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    lease_owner      TEXT NOT NULL DEFAULT '',
    lease_expires    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, name)
) WITHOUT ROWID;
CREATE TABLE rollout_devices (
    tenant     TEXT NOT NULL,
    rollout    TEXT NOT NULL,
    device     TEXT NOT NULL,
    phase      INTEGER NOT NULL,          -- -1: skipped
    state      TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant, rollout, device)
) WITHOUT ROWID;
CREATE INDEX rollout_devices_by_device ON rollout_devices(tenant, device);
)SQL",
    // 3 → 4: device identity, unique across the store (SPEC §4), found through indexes on columns computed
    // from the spec (MACs compared in lower case), and the source a device was detached from by
    // `device move --detach`, so that source cannot create it again.
    R"SQL(
ALTER TABLE objects ADD COLUMN identity_serial TEXT
    GENERATED ALWAYS AS (CASE WHEN kind = 'Device' THEN json_extract(spec, '$.identity.serial') END) VIRTUAL;
ALTER TABLE objects ADD COLUMN identity_mac TEXT
    GENERATED ALWAYS AS (CASE WHEN kind = 'Device' THEN lower(json_extract(spec, '$.identity.mac')) END) VIRTUAL;
ALTER TABLE objects ADD COLUMN detached_source_id INTEGER REFERENCES sources(id);
CREATE INDEX objects_by_serial ON objects(identity_serial) WHERE identity_serial IS NOT NULL;
CREATE INDEX objects_by_mac ON objects(identity_mac) WHERE identity_mac IS NOT NULL;
CREATE INDEX objects_by_detached_source ON objects(detached_source_id) WHERE detached_source_id IS NOT NULL;
)SQL",
    // 4 → 5: the output tails of each step run on a device (rollout steps, the last exec and check).
    R"SQL(
CREATE TABLE device_outputs (
    tenant      TEXT NOT NULL,
    device      TEXT NOT NULL,
    source      TEXT NOT NULL,            -- rollout/NAME | exec | check
    step        TEXT NOT NULL,            -- transfer | install | verify | exec | check
    at          TEXT NOT NULL,
    result      TEXT NOT NULL,
    exit_status INTEGER NOT NULL DEFAULT -1,
    message     TEXT NOT NULL DEFAULT '',
    stdout_tail BLOB NOT NULL DEFAULT '',
    stderr_tail BLOB NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, device, source, step)
) WITHOUT ROWID;
CREATE INDEX device_outputs_by_source ON device_outputs(tenant, source);
)SQL",
    // 5 → 6: per-device claims, so that several runners work one rollout (SPEC §10).
    R"SQL(
ALTER TABLE rollout_devices ADD COLUMN claim_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE rollout_devices ADD COLUMN claim_expires INTEGER NOT NULL DEFAULT 0;
-- A claim finds the next pending devices (and those in flight) without reading the whole rollout.
CREATE INDEX rollout_devices_by_state ON rollout_devices(tenant, rollout, state, phase, device);
)SQL",
};

} // namespace

/// A prepared statement, reset after every use.
class SqliteBackend::Statement {
public:
    /// tx is the backend's transaction state: in a read transaction a statement that writes is refused.
    Statement(sqlite3* db, const char* sql, TxState* tx) : m_db(db), m_tx(tx)
    {
        m_prepared = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &m_stmt, nullptr);
        if (m_prepared != SQLITE_OK) {
            sqlite3_finalize(m_stmt);
            m_stmt = nullptr;
        }
    }
    ~Statement() { sqlite3_finalize(m_stmt); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    bool ok() const { return m_stmt != nullptr; }
    /// True while a caller is stepping through its rows (stepped, neither done nor reset).
    bool busy() const { return m_stmt && sqlite3_stmt_busy(m_stmt); }
    Statement& bind(int i, const std::string& v)
    {
        sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    /// Binds text without copying it: v must stay valid until the statement is reset.
    Statement& bind_view(int i, std::string_view v)
    {
        // An empty view may have no data pointer, which SQLite would take for NULL.
        sqlite3_bind_text(m_stmt, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Statement& bind(int i, std::int64_t v)
    {
        sqlite3_bind_int64(m_stmt, i, v);
        return *this;
    }
    Statement& bind_null(int i)
    {
        sqlite3_bind_null(m_stmt, i);
        return *this;
    }
    /// SQLITE_ROW, SQLITE_DONE or an error code; a statement that failed to prepare returns why,
    /// one that would write in a read transaction SQLITE_READONLY (a fleetadm bug, never run).
    int step()
    {
        if (!m_stmt) return m_prepared;
        if (m_tx->read && !sqlite3_stmt_readonly(m_stmt)) {
            m_tx->refused_write = true;
            return SQLITE_READONLY;
        }
        return sqlite3_step(m_stmt);
    }
    void reset()
    {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
    }
    std::string text(int col) const
    {
        auto p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col))) : std::string();
    }
    std::int64_t integer(int col) const { return sqlite3_column_int64(m_stmt, col); }
    /// A column's text without copying; valid until the next step or reset.
    std::string_view view(int col) const
    {
        auto p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col))) : std::string_view();
    }
    bool is_null(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }

private:
    sqlite3* m_db;
    TxState* m_tx;
    sqlite3_stmt* m_stmt = nullptr;
    int m_prepared = SQLITE_OK;
};

namespace {

/// Resets a statement when the scope ends, whatever path it ends by.
struct ResetGuard {
    std::function<void()> reset;
    ~ResetGuard() { reset(); }
};

/// Waits for another connection's write lock (sqlite3_busy_handler): tries again after 0.1 ms,
/// doubling up to 2 ms, until the lock timeout. SQLite's own handler (sqlite3_busy_timeout) sleeps
/// 1, 2, 5, 10, 15 ... ms between tries, so a runner that found another runner committing (well
/// under a millisecond) slept 8 ms by its third try; four runners on one store lost slots to it.
int wait_for_lock(void* data, int tries)
{
    auto& wait = *static_cast<SqliteBackend::LockWait*>(data);
    auto now = std::chrono::steady_clock::now();
    if (tries == 0) wait.since = now;
    if (now - wait.since >= std::chrono::milliseconds(wait.timeout_ms)) return 0;
    std::this_thread::sleep_for(std::chrono::microseconds(std::min(100 << std::min(tries, 5), 2000)));
    return 1;
}

constexpr const char* object_columns =
    "o.kind, o.tenant, o.name, o.labels, o.annotations, o.spec, coalesce(s.key, ''), o.source_file, o.source_commit, "
    "o.generation, o.created_at, o.updated_at FROM objects o LEFT JOIN sources s ON s.id = o.source_id";

} // namespace

SqliteBackend::SqliteBackend(sqlite3* db, std::string path) : m_db(db), m_path(std::move(path)) {}

SqliteBackend::~SqliteBackend()
{
    m_statements.clear();
    m_failed.clear();
    sqlite3_close_v2(m_db);
}

util::Error SqliteBackend::db_error(std::string_view what) const
{
    // A store still locked after the busy timeout is a database failure at the command level
    // (exit 6), like a corrupt one; the message names the cause.
    const char* cause = m_tx.refused_write ? "a read transaction may not write (a fleetadm bug)" : sqlite3_errmsg(m_db);
    return util::Error{ErrorKind::runtime, fmt::format("state store {}: {}: {}", m_path, what, cause)};
}

Result<std::unique_ptr<SqliteBackend>> SqliteBackend::open(const std::string& path, bool create, int lock_timeout_ms)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!create && !fs::exists(path, ec))
        return fail(ErrorKind::runtime,
                    fmt::format("no state store at {}: run `fleetadm init` first, or pass --state", path));
    if (create) {
        if (auto made = util::make_private_dirs(fs::path(path).parent_path()); !made) return std::unexpected(made.error());
        // SQLite creates its file with 0644 less the umask and gives the -wal and -shm files the
        // database's mode: a database made 0600 first keeps all three owner-only (SPEC §5).
        if (auto made = util::create_private_file(path); !made && !fs::exists(path, ec))
            return std::unexpected(made.error());
    }
    // A store made by an older fleetadm is tightened when it is ours (roles are only as strong as file access).
    for (const char* suffix : {"", "-wal", "-shm"}) util::make_owner_only(path + suffix);
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    std::unique_ptr<SqliteBackend> backend(new SqliteBackend(db, path));
    if (rc != SQLITE_OK) return std::unexpected(backend->db_error("cannot open"));
    backend->m_lock_wait.timeout_ms = lock_timeout_ms;
    sqlite3_busy_handler(db, &wait_for_lock, &backend->m_lock_wait);
    sqlite3_extended_result_codes(db, 1);
    if (create) {
        // 8 KiB pages (the default is 4 KiB): a device row with its JSON spec is ~250 bytes, so a bulk
        // enrollment writes fewer, fuller pages (bench/enroll.sh: ~8% faster). Set before the first
        // table exists; a store made by an older fleetadm keeps its page size (WAL fixes it).
        if (auto r = backend->exec("PRAGMA page_size=8192"); !r) return std::unexpected(r.error());
        if (auto r = backend->exec("PRAGMA journal_mode=WAL"); !r) return std::unexpected(r.error());
    }
    if (auto r = backend->exec("PRAGMA synchronous=NORMAL"); !r) return std::unexpected(r.error());
    // Bulk enrollments touch every index page of a large table in one transaction; a 32 MiB page
    // cache (the default is 2 MiB) keeps most of them from spilling to the WAL before commit.
    if (auto r = backend->exec("PRAGMA cache_size=-32768"); !r) return std::unexpected(r.error());
    if (auto r = backend->migrate(); !r) return std::unexpected(r.error());
    return backend;
}

Result<void> SqliteBackend::exec(const char* sql)
{
    char* message = nullptr;
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message ? message : "unknown error";
        sqlite3_free(message);
        return std::unexpected(db_error(text));
    }
    return {};
}

Result<void> SqliteBackend::migrate()
{
    auto version = [&]() -> Result<int> {
        Statement& st = prepare("PRAGMA user_version");
        ResetGuard guard{[&] { st.reset(); }};
        if (!st.ok() || st.step() != SQLITE_ROW) return std::unexpected(db_error("cannot read schema version"));
        return static_cast<int>(st.integer(0));
    };
    auto current = version();
    if (!current) return std::unexpected(current.error());
    if (*current > schema_version)
        return fail(ErrorKind::runtime,
                    fmt::format("state store {} has schema version {}, written by a newer fleetadm; this fleetadm "
                                "handles up to version {}: upgrade fleetadm",
                                m_path, *current, schema_version));
    if (*current == schema_version) return {};

    if (auto r = exec("BEGIN IMMEDIATE"); !r) return r;
    current = version();  // another process may have migrated while we waited for the lock
    if (!current) return std::unexpected(current.error());
    for (int v = *current; v < schema_version; ++v) {
        if (auto r = exec(migrations[static_cast<std::size_t>(v)]); !r) {
            rollback();
            return r;
        }
    }
    if (auto r = exec(fmt::format("PRAGMA user_version={}", schema_version).c_str()); !r) {
        rollback();
        return r;
    }
    return exec("COMMIT");
}

SqliteBackend::Statement& SqliteBackend::prepare(const char* sql)
{
    // A statement that an outer caller is stepping through (a scan whose callback reads the store)
    // must not be reset under it: the nested use gets another copy, kept for the next time.
    auto& copies = m_statements[sql];
    for (auto& copy : copies)
        if (!copy->busy()) return *copy;
    auto statement = std::make_unique<Statement>(m_db, sql, &m_tx);
    if (!statement->ok()) {
        // Not cached: a prepare that failed (a locked schema, a corrupt page) is tried again next
        // time. Its step() returns the error, and db_error() reports the message SQLite left.
        m_failed.push_back(std::move(statement));
        return *m_failed.back();
    }
    copies.push_back(std::move(statement));
    return *copies.back();
}

Result<void> SqliteBackend::begin(TxMode mode)
{
    m_failed.clear();  // before a transaction no caller holds a statement
    // A read transaction refuses statements that write (Statement::step) instead of setting
    // `PRAGMA query_only`: setting any flag pragma expires every prepared statement, so each
    // transaction after it compiled its SQL again (30% of a runner's CPU).
    m_tx = {mode == TxMode::read, false};
    if (auto r = exec(m_tx.read ? "BEGIN" : "BEGIN IMMEDIATE"); !r) {
        if (auto code = sqlite3_errcode(m_db); code == SQLITE_BUSY || code == SQLITE_LOCKED)
            r.error().message = fmt::format("state store {} is locked by another process (waited for the busy timeout): {}",
                                            m_path, sqlite3_errmsg(m_db));
        return r;
    }
    m_in_tx = true;
    return {};
}

Result<void> SqliteBackend::commit()
{
    m_in_tx = false;
    m_tx = {};
    return exec("COMMIT");
}

Result<std::optional<std::string>> SqliteBackend::login_user() { return std::optional<std::string>(); }

void SqliteBackend::rollback() noexcept
{
    if (!sqlite3_get_autocommit(m_db)) sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    m_in_tx = false;
    m_tx = {};
    m_source_ids.clear();  // ids recorded in the abandoned transaction are gone
}

namespace {

model::Object read_object(const auto& st)
{
    model::Object o;
    o.resource.kind = model::parse_kind(st.text(0)).value_or(model::Kind::tenant);
    o.resource.tenant = st.text(1);
    o.resource.name = st.text(2);
    o.resource.labels = json::parse(st.text(3));
    o.resource.annotations = json::parse(st.text(4));
    o.resource.spec = json::parse(st.text(5));
    o.origin = {st.text(6), st.text(7), st.text(8)};
    o.generation = st.integer(9);
    o.created_at = st.text(10);
    o.updated_at = st.text(11);
    return o;
}

} // namespace

Result<void> SqliteBackend::scan(model::Kind kind, const std::string* tenant,
                                 const std::function<void(model::Object&&)>& visit)
{
    static const std::string all = fmt::format("SELECT {} WHERE o.kind = ?1 ORDER BY o.tenant, o.name",
                                               object_columns);
    static const std::string one = fmt::format(
        "SELECT {} WHERE o.kind = ?1 AND o.tenant = ?2 ORDER BY o.name", object_columns);
    bool scoped = tenant && kind != model::Kind::tenant;
    Statement& st = prepare(scoped ? one.c_str() : all.c_str());
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, std::string(model::kind_name(kind)));
    if (scoped) st.bind(2, *tenant);
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) visit(read_object(st));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot list objects"));
    return {};
}

Result<std::vector<model::Object>> SqliteBackend::list(model::Kind kind, const std::string* tenant)
{
    std::vector<model::Object> out;
    auto r = scan(kind, tenant, [&](model::Object&& o) { out.push_back(std::move(o)); });
    if (!r) return std::unexpected(r.error());
    return out;
}

Result<std::vector<std::string>> SqliteBackend::names(model::Kind kind, const std::string& tenant)
{
    Statement& st = prepare("SELECT name FROM objects WHERE kind = ?1 AND tenant = ?2 ORDER BY name");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, std::string(model::kind_name(kind))).bind(2, kind == model::Kind::tenant ? "" : tenant);
    std::vector<std::string> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back(st.text(0));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot list names"));
    return out;
}

Result<std::vector<std::pair<std::string, StoredContent>>> SqliteBackend::contents(model::Kind kind,
                                                                                   const std::string& tenant)
{
    Statement& st = prepare("SELECT name, labels, annotations, spec, generation, created_at FROM objects "
                            "WHERE kind = ?1 AND tenant = ?2");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, std::string(model::kind_name(kind))).bind(2, kind == model::Kind::tenant ? "" : tenant);
    std::vector<std::pair<std::string, StoredContent>> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.emplace_back(st.text(0), StoredContent{st.view(1), st.view(2), st.view(3), st.view(5), st.integer(4)});
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read objects"));
    return out;
}

Result<std::optional<model::Object>> SqliteBackend::get(model::Kind kind, const std::string& tenant,
                                                        const std::string& name)
{
    static const std::string sql = fmt::format(
        "SELECT {} WHERE o.kind = ?1 AND o.tenant = ?2 AND o.name = ?3", object_columns);
    Statement& st = prepare(sql.c_str());
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, std::string(model::kind_name(kind))).bind(2, kind == model::Kind::tenant ? "" : tenant).bind(3, name);
    int rc = st.step();
    if (rc == SQLITE_ROW) return read_object(st);
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read object"));
    return std::optional<model::Object>();
}

Result<std::optional<std::int64_t>> SqliteBackend::source_id(const std::string& key)
{
    if (key.empty()) return std::optional<std::int64_t>();
    if (auto it = m_source_ids.find(key); it != m_source_ids.end()) return std::optional<std::int64_t>(it->second);
    Statement& st = prepare("INSERT INTO sources (key) VALUES (?1) ON CONFLICT (key) DO UPDATE SET key = key "
                            "RETURNING id");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, key);
    if (st.step() != SQLITE_ROW) return std::unexpected(db_error("cannot record source " + key));
    m_source_ids[key] = st.integer(0);
    return std::optional<std::int64_t>(st.integer(0));
}

Result<void> SqliteBackend::put(const model::Object& o)
{
    const auto& r = o.resource;
    bool is_tenant = r.kind == model::Kind::tenant;
    std::string parent = is_tenant && r.spec.contains("parent") ? r.spec["parent"].get<std::string>() : "";
    std::string labels = r.labels.dump(), annotations = r.annotations.dump(), spec = r.spec.dump();
    ObjectRow row;
    row.kind = r.kind;
    row.tenant = is_tenant ? std::string_view() : std::string_view(r.tenant);
    row.name = r.name;
    if (is_tenant && r.spec.contains("parent")) row.parent = parent;
    row.labels = labels;
    row.annotations = annotations;
    row.spec = spec;
    row.source = o.origin.source;
    row.source_file = o.origin.file;
    row.source_commit = o.origin.commit;
    row.generation = o.generation;
    row.created_at = o.created_at;
    row.updated_at = o.updated_at;
    return put_row(row);
}

Result<void> SqliteBackend::put_row(const ObjectRow& row)
{
    auto source = source_id(std::string(row.source));
    if (!source) return std::unexpected(source.error());
    Statement& st = prepare(
        "INSERT INTO objects (kind, tenant, name, parent, labels, annotations, spec, source_id, source_file, "
        "source_commit, generation, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "?12, ?13) ON CONFLICT (kind, tenant, name) DO UPDATE SET parent = excluded.parent, labels = "
        "excluded.labels, annotations = excluded.annotations, spec = excluded.spec, source_id = excluded.source_id, "
        "source_file = excluded.source_file, source_commit = excluded.source_commit, generation = "
        "excluded.generation, updated_at = excluded.updated_at, detached_source_id = CASE WHEN excluded.source_id IS "
        "NULL THEN objects.detached_source_id END");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind_view(1, model::kind_name(row.kind)).bind_view(2, row.tenant).bind_view(3, row.name);
    if (row.parent)
        st.bind_view(4, *row.parent);
    else
        st.bind_null(4);
    st.bind_view(5, row.labels).bind_view(6, row.annotations).bind_view(7, row.spec);
    if (*source)
        st.bind(8, **source);
    else
        st.bind_null(8);
    st.bind_view(9, row.source_file).bind_view(10, row.source_commit);
    st.bind(11, row.generation).bind_view(12, row.created_at).bind_view(13, row.updated_at);
    if (st.step() != SQLITE_DONE)
        return std::unexpected(
            db_error(fmt::format("cannot write {}/{}", model::kind_short(row.kind), row.name)));
    return {};
}

Result<void> SqliteBackend::remove_device_status(const std::string& tenant, const std::string& name)
{
    for (const char* sql : {"DELETE FROM device_status WHERE tenant = ?1 AND name = ?2",
                            "DELETE FROM device_outputs WHERE tenant = ?1 AND device = ?2"}) {
        Statement& st = prepare(sql);
        ResetGuard guard{[&] { st.reset(); }};
        st.bind(1, tenant).bind(2, name);
        if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot delete device status of " + name));
    }
    return {};
}

Result<void> SqliteBackend::remove(model::Kind kind, const std::string& tenant, const std::string& name)
{
    Statement& st = prepare("DELETE FROM objects WHERE kind = ?1 AND tenant = ?2 AND name = ?3");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, std::string(model::kind_name(kind))).bind(2, tenant).bind(3, name);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot delete " + name));
    return {};
}

Result<std::vector<model::Object>> SqliteBackend::list_by_source(const std::string& source)
{
    static const std::string sql =
        fmt::format("SELECT {} WHERE s.key = ?1 ORDER BY o.kind, o.tenant, o.name", object_columns);
    Statement& st = prepare(sql.c_str());
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, source);
    std::vector<model::Object> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back(read_object(st));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot list objects by source"));
    return out;
}

Result<std::optional<SourceState>> SqliteBackend::source_state(const std::string& source)
{
    Statement& st = prepare("SELECT last_commit, applied_at FROM sources WHERE key = ?1");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, source);
    int rc = st.step();
    if (rc == SQLITE_ROW) return std::optional<SourceState>(SourceState{st.text(0), st.text(1)});
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read source " + source));
    return std::optional<SourceState>();
}

Result<void> SqliteBackend::set_source_commit(const std::string& source, const std::string& commit,
                                              const std::string& at)
{
    Statement& st = prepare("INSERT INTO sources (key, last_commit, applied_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) "
                            "DO UPDATE SET last_commit = excluded.last_commit, applied_at = excluded.applied_at "
                            "WHERE last_commit != excluded.last_commit");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, source).bind(2, commit).bind(3, at);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot record the commit of source " + source));
    return {};
}

Result<void> SqliteBackend::rename_source(const std::string& from, const std::string& to)
{
    Statement& st = prepare("UPDATE sources SET key = ?2 WHERE key = ?1");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, from).bind(2, to);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot rename source " + from));
    return {};
}

Result<std::vector<model::Object>> SqliteBackend::find_by_name(model::Kind kind, const std::string& name)
{
    static const std::string sql =
        fmt::format("SELECT {} WHERE o.kind = ?1 AND o.name = ?2 ORDER BY o.tenant", object_columns);
    Statement& st = prepare(sql.c_str());
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, std::string(model::kind_name(kind))).bind(2, name);
    std::vector<model::Object> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back(read_object(st));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot find objects by name"));
    return out;
}

Result<std::vector<IdentityHolder>> SqliteBackend::identity_holders(const std::vector<std::string>& serials,
                                                                    const std::vector<std::string>& macs)
{
    std::vector<IdentityHolder> out;
    // Few values: one index lookup each. Many (a bulk enrollment): one pass over the two indexes, which
    // costs less than a lookup per device and nothing on an empty store.
    constexpr std::size_t lookups = 512;
    for (auto [field, values] : {std::pair<const char*, const std::vector<std::string>*>{"serial", &serials},
                                 {"mac", &macs}}) {
        bool serial = field == std::string_view("serial");
        if (values->empty()) continue;
        if (values->size() <= lookups) {
            Statement& st = prepare(serial ? "SELECT tenant, name FROM objects WHERE identity_serial = ?1"
                                           : "SELECT tenant, name FROM objects WHERE identity_mac = ?1");
            for (const auto& value : *values) {
                ResetGuard guard{[&] { st.reset(); }};
                st.bind(1, value);
                int rc;
                while ((rc = st.step()) == SQLITE_ROW) out.push_back({st.text(0), st.text(1), field, value});
                if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot look up device identities"));
            }
            continue;
        }
        std::unordered_set<std::string_view> wanted(values->begin(), values->end());
        Statement& st = prepare(serial ? "SELECT tenant, name, identity_serial FROM objects WHERE identity_serial IS "
                                         "NOT NULL"
                                       : "SELECT tenant, name, identity_mac FROM objects WHERE identity_mac IS NOT NULL");
        ResetGuard guard{[&] { st.reset(); }};
        int rc;
        while ((rc = st.step()) == SQLITE_ROW)
            if (wanted.contains(st.view(2))) out.push_back({st.text(0), st.text(1), field, st.text(2)});
        if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot look up device identities"));
    }
    return out;
}

Result<std::vector<SourceDevice>> SqliteBackend::source_devices(const std::string& source)
{
    Statement& st = prepare(
        "SELECT o.tenant, o.name, coalesce(o.identity_serial, ''), coalesce(o.identity_mac, ''), 0 FROM objects o "
        "JOIN sources s ON s.id = o.source_id WHERE s.key = ?1 AND o.kind = ?2 UNION ALL "
        "SELECT o.tenant, o.name, coalesce(o.identity_serial, ''), coalesce(o.identity_mac, ''), 1 FROM objects o "
        "JOIN sources s ON s.id = o.detached_source_id WHERE s.key = ?1 AND o.kind = ?2");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, source).bind_view(2, model::kind_name(model::Kind::device));
    std::vector<SourceDevice> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back({st.text(0), st.text(1), st.text(2), st.text(3), st.integer(4) != 0});
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot list the devices of source " + source));
    return out;
}

Result<std::vector<std::pair<std::string, SourceState>>> SqliteBackend::sources()
{
    Statement& st = prepare("SELECT key, last_commit, applied_at FROM sources ORDER BY key");
    ResetGuard guard{[&] { st.reset(); }};
    std::vector<std::pair<std::string, SourceState>> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back({st.text(0), SourceState{st.text(1), st.text(2)}});
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot list the sources"));
    return out;
}

Result<void> SqliteBackend::set_detached_source(const std::string& tenant, const std::string& name,
                                                const std::string& source)
{
    auto id = source_id(source);
    if (!id) return std::unexpected(id.error());
    Statement& st = prepare("UPDATE objects SET detached_source_id = ?3 WHERE kind = ?4 AND tenant = ?1 AND name = ?2");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant).bind(2, name).bind(3, id->value_or(0));
    st.bind_view(4, model::kind_name(model::Kind::device));
    if (st.step() != SQLITE_DONE)
        return std::unexpected(db_error("cannot record the source device " + name + " was detached from"));
    return {};
}

Result<void> SqliteBackend::move_device(const std::string& from, const std::string& name, const std::string& to,
                                        bool detach, const std::string& at)
{
    Statement& st = prepare(
        "UPDATE objects SET tenant = ?3, generation = generation + 1, updated_at = ?4, "
        "detached_source_id = CASE WHEN ?5 AND source_id IS NOT NULL THEN source_id ELSE detached_source_id END, "
        "source_id = CASE WHEN ?5 THEN NULL ELSE source_id END, "
        "source_file = CASE WHEN ?5 THEN '' ELSE source_file END, "
        "source_commit = CASE WHEN ?5 THEN '' ELSE source_commit END "
        "WHERE kind = ?6 AND tenant = ?1 AND name = ?2");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, from).bind(2, name).bind(3, to).bind(4, at).bind(5, std::int64_t{detach ? 1 : 0});
    st.bind_view(6, model::kind_name(model::Kind::device));
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot move device " + name));
    return {};
}

Result<std::map<std::string, std::int64_t>> SqliteBackend::device_counts()
{
    Statement& st = prepare("SELECT tenant, count(*) FROM objects WHERE kind = ?1 GROUP BY tenant");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind_view(1, model::kind_name(model::Kind::device));
    std::map<std::string, std::int64_t> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out[st.text(0)] = st.integer(1);
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot count devices"));
    return out;
}

Result<std::int64_t> SqliteBackend::object_count(const std::string& tenant)
{
    // Tenants are rows of tenant '': every row of a tenant is an object it owns.
    Statement& st = prepare("SELECT count(*) FROM objects WHERE tenant = ?1");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant);
    if (st.step() != SQLITE_ROW) return std::unexpected(db_error("cannot count objects"));
    return st.integer(0);
}

Result<std::optional<std::string>> SqliteBackend::meta(const std::string& key)
{
    Statement& st = prepare("SELECT value FROM meta WHERE key = ?1");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, key);
    int rc = st.step();
    if (rc == SQLITE_ROW) return std::optional<std::string>(st.text(0));
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read metadata"));
    return std::optional<std::string>();
}

Result<void> SqliteBackend::set_meta(const std::string& key, const std::string& value)
{
    Statement& st = prepare("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = "
                            "excluded.value");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, key).bind(2, value);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot write metadata"));
    return {};
}

Result<std::int64_t> SqliteBackend::next_audit_seq()
{
    Statement& st = prepare("SELECT coalesce(max(seq), 0) + 1 FROM audit");
    ResetGuard guard{[&] { st.reset(); }};
    if (st.step() != SQLITE_ROW) return std::unexpected(db_error("cannot read the audit log"));
    return st.integer(0);
}

Result<std::optional<AuditHead>> SqliteBackend::audit_head(const std::string& tenant)
{
    Statement& st = prepare("SELECT seq, hash FROM audit_heads WHERE tenant = ?1");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant);
    int rc = st.step();
    if (rc == SQLITE_ROW) return std::optional<AuditHead>(AuditHead{st.integer(0), st.text(1)});
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read the audit log"));
    return std::optional<AuditHead>();
}

Result<void> SqliteBackend::insert_audit(const AuditEntry& e)
{
    Statement& st = prepare("INSERT INTO audit (seq, at, actor, tenant, action, object, summary, prev_hash, hash) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, e.seq).bind_view(2, e.at).bind_view(3, e.actor).bind_view(4, e.tenant).bind_view(5, e.action);
    st.bind_view(6, e.object).bind_view(7, e.summary).bind_view(8, e.prev_hash).bind_view(9, e.hash);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot append to the audit log"));
    return {};
}

Result<void> SqliteBackend::put_audit_head(const std::string& tenant, const AuditHead& head)
{
    Statement& st = prepare("INSERT INTO audit_heads (tenant, seq, hash) VALUES (?1, ?2, ?3) ON CONFLICT (tenant) "
                            "DO UPDATE SET seq = excluded.seq, hash = excluded.hash");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant).bind(2, head.seq).bind(3, head.hash);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot record the audit head"));
    return {};
}

Result<std::map<std::pair<std::string, std::string>, DeviceStatus>> SqliteBackend::device_status(
    const std::string* tenant)
{
    Statement& st = prepare(tenant ? "SELECT tenant, name, reported_version, last_seen, reachable, last_rollout FROM "
                                     "device_status WHERE tenant = ?1"
                                   : "SELECT tenant, name, reported_version, last_seen, reachable, last_rollout FROM "
                                     "device_status");
    ResetGuard guard{[&] { st.reset(); }};
    if (tenant) st.bind(1, *tenant);
    std::map<std::pair<std::string, std::string>, DeviceStatus> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
        DeviceStatus status{st.text(2), st.text(3), std::nullopt, st.text(5)};
        if (!st.is_null(4)) status.reachable = st.integer(4) != 0;
        out.emplace(std::make_pair(st.text(0), st.text(1)), std::move(status));
    }
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read device status"));
    return out;
}

Result<void> SqliteBackend::update_device_status(const std::string& tenant, const std::string& name,
                                                 const StatusUpdate& update)
{
    // ?3..?6 are NULL for fields the update leaves as stored; ?7 says whether reachable is set
    // (its NULL is also a value: never checked).
    Statement& st = prepare(
        "INSERT INTO device_status (tenant, name, reported_version, last_seen, reachable, last_rollout) "
        "VALUES (?1, ?2, coalesce(?3, ''), coalesce(?4, ''), ?5, coalesce(?6, '')) ON CONFLICT (tenant, name) DO "
        "UPDATE SET reported_version = coalesce(?3, reported_version), last_seen = coalesce(?4, last_seen), "
        "reachable = CASE WHEN ?7 THEN ?5 ELSE reachable END, last_rollout = coalesce(?6, last_rollout)");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant).bind(2, name);
    auto text = [&](int i, const std::optional<std::string>& v) {
        if (v)
            st.bind(i, *v);
        else
            st.bind_null(i);
    };
    text(3, update.reported_version);
    text(4, update.last_seen);
    if (update.reachable)
        st.bind(5, static_cast<std::int64_t>(*update.reachable ? 1 : 0));
    else
        st.bind_null(5);
    text(6, update.last_rollout);
    st.bind(7, static_cast<std::int64_t>(update.reachable.has_value()));
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot record the status of device " + name));
    return {};
}

Result<std::optional<RolloutRun>> SqliteBackend::rollout_run(const std::string& tenant, const std::string& name)
{
    Statement& st = prepare("SELECT state, reason, phase, phase_done_at, artifact_sha256, artifact_version, started_at, "
                            "updated_at, lease_owner, lease_expires FROM rollout_runs WHERE tenant = ?1 AND name = ?2");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant).bind(2, name);
    int rc = st.step();
    if (rc == SQLITE_DONE) return std::nullopt;
    if (rc != SQLITE_ROW) return std::unexpected(db_error("cannot read rollout " + name));
    auto state = parse_run_state(st.text(0));
    if (!state) return fail(ErrorKind::runtime, bad_state("rollout " + name, st.text(0)));
    return RolloutRun{tenant,      name,        *state,     st.text(1), st.integer(2), st.text(3), st.text(4),
                      st.text(5),  st.text(6),  st.text(7), st.text(8), st.integer(9)};
}

Result<void> SqliteBackend::put_rollout_run(const RolloutRun& run)
{
    Statement& st = prepare("INSERT OR REPLACE INTO rollout_runs (tenant, name, state, reason, phase, phase_done_at, "
                            "artifact_sha256, artifact_version, started_at, updated_at, lease_owner, lease_expires) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, run.tenant).bind(2, run.name).bind_view(3, state_name(run.state)).bind(4, run.reason).bind(5, run.phase);
    st.bind(6, run.phase_done_at).bind(7, run.artifact_sha256).bind(8, run.artifact_version).bind(9, run.started_at);
    st.bind(10, run.updated_at).bind(11, run.lease_owner).bind(12, run.lease_expires);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot record rollout " + run.name));
    return {};
}

Result<std::vector<RolloutDevice>> SqliteBackend::rollout_devices(const std::string& tenant, const std::string& rollout)
{
    Statement& st = prepare("SELECT device, phase, state, reason, attempts, updated_at, claim_owner, claim_expires "
                            "FROM rollout_devices WHERE tenant = ?1 AND rollout = ?2 ORDER BY phase, device");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant).bind(2, rollout);
    std::vector<RolloutDevice> out;
    if (auto r = rollout_device_rows(st, tenant, rollout, out, "cannot read the devices of rollout " + rollout); !r)
        return std::unexpected(r.error());
    return out;
}

Result<void> SqliteBackend::rollout_device_rows(Statement& st, const std::string& tenant, const std::string& rollout,
                                                std::vector<RolloutDevice>& into, std::string_view what)
{
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
        auto state = parse_device_state(st.text(2));
        if (!state) return fail(ErrorKind::runtime, bad_state(fmt::format("device {} of rollout {}", st.text(0), rollout), st.text(2)));
        into.push_back({tenant, rollout, st.text(0), st.integer(1), *state, st.text(3), st.integer(4), st.text(5),
                        st.text(6), st.integer(7)});
    }
    if (rc != SQLITE_DONE) return std::unexpected(db_error(what));
    return {};
}

Result<void> SqliteBackend::put_rollout_device(const RolloutDevice& d)
{
    Statement& st = prepare("INSERT OR REPLACE INTO rollout_devices (tenant, rollout, device, phase, state, reason, "
                            "attempts, updated_at, claim_owner, claim_expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                            "?8, ?9, ?10)");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, d.tenant).bind(2, d.rollout).bind(3, d.device).bind(4, d.phase).bind_view(5, state_name(d.state)).bind(6, d.reason);
    st.bind(7, d.attempts).bind(8, d.updated_at).bind(9, d.claim_owner).bind(10, d.claim_expires);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot record device " + d.device));
    return {};
}

Result<bool> SqliteBackend::update_claimed_device(const RolloutDevice& d, const std::string& holder)
{
    Statement& st = prepare("UPDATE rollout_devices SET phase = ?4, state = ?5, reason = ?6, attempts = ?7, "
                            "updated_at = ?8, claim_owner = ?9, claim_expires = ?10 WHERE tenant = ?1 AND rollout = ?2 "
                            "AND device = ?3 AND claim_owner = ?11");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, d.tenant).bind(2, d.rollout).bind(3, d.device).bind(4, d.phase).bind_view(5, state_name(d.state)).bind(6, d.reason);
    st.bind(7, d.attempts).bind(8, d.updated_at).bind(9, d.claim_owner).bind(10, d.claim_expires).bind(11, holder);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot record device " + d.device));
    return sqlite3_changes(m_db) == 1;
}

Result<void> SqliteBackend::renew_claims(const std::string& tenant, const std::string& rollout,
                                         const std::string& owner, std::int64_t expires)
{
    Statement& st = prepare("UPDATE rollout_devices SET claim_expires = ?4 WHERE tenant = ?1 AND rollout = ?2 AND "
                            "claim_owner = ?3");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant).bind(2, rollout).bind(3, owner).bind(4, expires);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot renew the claims on rollout " + rollout));
    return {};
}

Result<Claimed> SqliteBackend::claim_rollout_devices(const ClaimRequest& q)
{
    // Under SQLite's write lock (the transaction began IMMEDIATE): nobody else claims meanwhile.
    Claimed out;
    std::string what = "cannot claim devices of rollout " + q.rollout;
    auto collect = [&](Statement& st, std::vector<RolloutDevice>& into) {
        return rollout_device_rows(st, q.tenant, q.rollout, into, what);
    };
    nlohmann::json dead = q.dead_owners;
    std::string dead_text = dead.dump();
    std::int64_t room = static_cast<std::int64_t>(q.limit);
    if (q.take_over) {
        // INDEXED BY: without statistics the planner would read every row of the rollout.
        Statement& st = prepare(
            "UPDATE rollout_devices SET claim_owner = ?3, claim_expires = ?4 WHERE tenant = ?1 AND rollout = ?2 AND "
            "device IN (SELECT device FROM rollout_devices INDEXED BY rollout_devices_by_state WHERE tenant = ?1 AND "
            "rollout = ?2 AND state IN ('transferring', 'installing', 'verifying') AND claim_owner <> ?3 AND (claim_expires < ?5 OR "
            "claim_owner IN (SELECT value FROM json_each(?6))) ORDER BY phase, device LIMIT ?7) "
            "RETURNING device, phase, state, reason, attempts, updated_at, claim_owner, claim_expires");
        ResetGuard guard{[&] { st.reset(); }};
        st.bind(1, q.tenant).bind(2, q.rollout).bind(3, q.owner).bind(4, q.expires).bind(5, q.now).bind(6, dead_text);
        st.bind(7, room);
        if (auto r = collect(st, out.taken_over); !r) return std::unexpected(r.error());
    }
    room -= static_cast<std::int64_t>(out.taken_over.size());
    if (q.tenant_cap > 0) {
        Statement& st = prepare("SELECT count(*) FROM rollout_devices WHERE tenant = ?1 AND state IN ('transferring', "
                                "'installing', 'verifying') AND claim_expires >= ?2");
        ResetGuard guard{[&] { st.reset(); }};
        st.bind(1, q.tenant).bind(2, q.now);
        if (st.step() != SQLITE_ROW) return std::unexpected(db_error("cannot count devices in flight of " + q.tenant));
        room = std::min(room, static_cast<std::int64_t>(q.tenant_cap) - st.integer(0));
    }
    if (room <= 0) return out;
    Statement& st = prepare(
        "UPDATE rollout_devices SET state = 'transferring', reason = '', attempts = attempts + 1, updated_at = ?7, "
        "claim_owner = ?3, claim_expires = ?4 WHERE tenant = ?1 AND rollout = ?2 AND device IN (SELECT device FROM "
        "rollout_devices WHERE tenant = ?1 AND rollout = ?2 AND state = 'pending' AND phase >= 0 AND phase <= ?5 "
        "ORDER BY phase, device LIMIT ?6) AND EXISTS (SELECT 1 FROM rollout_runs WHERE tenant = ?1 AND name = ?2 AND "
        "state = 'running') RETURNING device, phase, state, reason, attempts, updated_at, claim_owner, claim_expires");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, q.tenant).bind(2, q.rollout).bind(3, q.owner).bind(4, q.expires).bind(5, q.max_phase).bind(6, room);
    st.bind(7, q.updated_at);
    if (auto r = collect(st, out.started); !r) return std::unexpected(r.error());
    return out;
}

Result<std::vector<DeviceTargeting>> SqliteBackend::rollouts_of_device(const std::string& tenant,
                                                                       const std::string& device)
{
    Statement& st = prepare("SELECT d.rollout, r.state, d.state FROM rollout_devices d JOIN rollout_runs r ON "
                            "r.tenant = d.tenant AND r.name = d.rollout WHERE d.tenant = ?1 AND d.device = ?2 "
                            "ORDER BY d.rollout");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant).bind(2, device);
    std::vector<DeviceTargeting> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out.push_back({st.text(0), st.text(1), st.text(2)});
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read the rollouts of device " + device));
    return out;
}

Result<void> SqliteBackend::remove_rollout_runtime(const std::string& tenant, const std::string& name)
{
    for (const char* sql : {"DELETE FROM rollout_devices WHERE tenant = ?1 AND rollout = ?2",
                            "DELETE FROM device_outputs WHERE tenant = ?1 AND source = 'rollout/' || ?2",
                            "DELETE FROM rollout_runs WHERE tenant = ?1 AND name = ?2"}) {
        Statement& st = prepare(sql);
        ResetGuard guard{[&] { st.reset(); }};
        st.bind(1, tenant).bind(2, name);
        if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot forget rollout " + name));
    }
    return {};
}

Result<void> SqliteBackend::move_device_status(const std::string& from, const std::string& name,
                                               const std::string& to)
{
    // The outputs of exec and check go with the device; its rollouts' stay with their rollout.
    for (const char* sql : {"UPDATE device_status SET tenant = ?3 WHERE tenant = ?1 AND name = ?2",
                            "UPDATE device_outputs SET tenant = ?3 WHERE tenant = ?1 AND device = ?2 AND source IN "
                            "('exec', 'check')"}) {
        Statement& st = prepare(sql);
        ResetGuard guard{[&] { st.reset(); }};
        st.bind(1, from).bind(2, name);
        if (sql[0] == 'U') st.bind(3, to);
        if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot move device status"));
    }
    return {};
}

Result<void> SqliteBackend::put_device_output(const DeviceOutput& o)
{
    Statement& st = prepare("INSERT OR REPLACE INTO device_outputs (tenant, device, source, step, at, result, "
                            "exit_status, message, stdout_tail, stderr_tail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                            "?9, ?10)");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, o.tenant).bind(2, o.device).bind(3, o.source).bind(4, o.step).bind(5, o.at).bind(6, o.result);
    st.bind(7, o.exit_status).bind(8, o.message).bind(9, o.stdout_tail).bind(10, o.stderr_tail);
    if (st.step() != SQLITE_DONE) return std::unexpected(db_error("cannot record the output of device " + o.device));
    return {};
}

Result<std::vector<DeviceOutput>> SqliteBackend::device_outputs(const std::string& tenant, const std::string& device,
                                                                const std::string& source)
{
    Statement& st = prepare("SELECT device, source, step, at, result, exit_status, message, stdout_tail, stderr_tail "
                            "FROM device_outputs WHERE tenant = ?1 AND (?2 = '' OR device = ?2) AND (?3 = '' OR "
                            "source = ?3) ORDER BY at DESC, device, source, step");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant).bind(2, device).bind(3, source);
    std::vector<DeviceOutput> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.push_back({tenant, st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.integer(5), st.text(6),
                       st.text(7), st.text(8)});
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read the outputs of devices"));
    return out;
}

Result<void> SqliteBackend::scan_audit(const std::string* tenant, const AuditFilter& filter,
                                       const std::function<void(AuditEntry&&)>& visit)
{
    Statement& st = prepare("SELECT seq, at, actor, tenant, action, object, summary, prev_hash, hash FROM audit "
                            "WHERE (?1 IS NULL OR tenant = ?1) AND at >= ?2 AND (?3 = '' OR action = ?3) ORDER BY seq");
    ResetGuard guard{[&] { st.reset(); }};
    if (tenant)
        st.bind(1, *tenant);
    else
        st.bind_null(1);
    st.bind(2, filter.since).bind(3, filter.action);
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        visit(AuditEntry{st.integer(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5), st.text(6),
                         st.text(7), st.text(8)});
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read the audit log"));
    return {};
}

Result<std::map<std::string, AuditHead>> SqliteBackend::audit_heads()
{
    Statement& st = prepare("SELECT tenant, seq, hash FROM audit_heads");
    ResetGuard guard{[&] { st.reset(); }};
    std::map<std::string, AuditHead> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out[st.text(0)] = AuditHead{st.integer(1), st.text(2)};
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read the audit heads"));
    return out;
}

Result<std::vector<AuditEntry>> SqliteBackend::audit_for(const std::string& tenant, const std::string& object,
                                                         int limit)
{
    Statement& st = prepare("SELECT seq, at, actor, tenant, action, object, summary, prev_hash, hash FROM "
                            "(SELECT * FROM audit WHERE tenant = ?1 AND object = ?2 ORDER BY seq DESC LIMIT ?3) "
                            "ORDER BY seq");
    ResetGuard guard{[&] { st.reset(); }};
    st.bind(1, tenant).bind(2, object).bind(3, static_cast<std::int64_t>(limit));
    std::vector<AuditEntry> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        out.push_back({st.integer(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5), st.text(6),
                       st.text(7), st.text(8)});
    if (rc != SQLITE_DONE) return std::unexpected(db_error("cannot read the audit log"));
    return out;
}

} // namespace fleet::store
