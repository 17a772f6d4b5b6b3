#pragma once
// Test support: running the real fleetadm binary and temporary directories.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fleet::test {

/// What a finished process left behind.
struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs program with args, feeding input on stdin; env entries are added to the environment. With
/// stderr_terminal its stderr is a pseudo-terminal (what it writes there comes back in err, with
/// the terminal's \r\n line ends), its stdout still a pipe.
RunResult run_process(const std::string& program, const std::vector<std::string>& args, const std::string& input = "",
                      const std::map<std::string, std::string>& env = {}, bool stderr_terminal = false);

/// A directory removed with everything in it when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    /// The directory.
    const std::filesystem::path& path() const { return m_path; }
    /// Writes a file below the directory and returns its path.
    std::filesystem::path write(const std::string& name, const std::string& content) const;

private:
    std::filesystem::path m_path;
};

/// Reads a whole file.
std::string read_file(const std::filesystem::path& path);

/// The store backend CLI tests run against: FLEETADM_TEST_BACKEND=postgres selects PostgreSQL (ctest
/// registers every [cli] test case a second time with it, suffixed " - Postgres"); else SQLite.
enum class Backend { sqlite, postgres };
Backend backend_under_test();

/// The name of the OS user this process runs as: fleetadm's caller on a local store.
std::string os_login();

/// A throwaway store driven through the real binary: `fleetadm --state LOCATION ...`, where LOCATION is
/// DIR/state.db, or on PostgreSQL a fresh database of the test process's server owned by a login of
/// the OS user's name (the caller fleetadm sees is then the same on both backends).
class Fleet {
public:
    Fleet();
    /// Runs fleetadm with args against this store.
    RunResult operator()(std::vector<std::string> args, const std::string& input = "") const;
    /// Runs fleetadm as user: on PostgreSQL connected as that database login (made a user of the store
    /// with `fleetadm user add` first), so that the database's own policies apply; on SQLite with
    /// `--as user`, run by the OS user (a provider admin).
    RunResult as(const std::string& user, std::vector<std::string> args, const std::string& input = "") const;
    /// Runs fleetadm with its stderr on a terminal (a pseudo-terminal of the test's), stdout piped.
    RunResult on_terminal(std::vector<std::string> args) const;
    /// Runs every later command inside a network namespace (`ip netns exec NS`): the operator's
    /// machine on a network of the test's making. The store stays reachable (a file, or the
    /// server's Unix socket).
    void run_in_namespace(std::string netns) { m_netns = std::move(netns); }
    /// What --state takes for this store: the file's path or the database URL.
    const std::string& location() const { return m_location; }
    bool on_postgres() const { return m_backend == Backend::postgres; }
    /// The SQLite store file; only for tests of the file itself (tagged [sqlite], never run on PostgreSQL).
    std::filesystem::path state() const { return m_dir.path() / "state.db"; }
    /// The database's name on the test server (PostgreSQL only).
    std::string database() const;
    /// The scratch directory the store lives in; HOME of the commands run.
    const TempDir& dir() const { return m_dir; }
    /// Where fleetadm keeps this store's local files (artifacts/, git-cache/): beside a SQLite file,
    /// for a URL store the XDG state folder under HOME.
    std::filesystem::path state_dir() const
    {
        return on_postgres() ? m_dir.path() / ".local" / "state" / "fleetadm" : m_dir.path();
    }
    /// Everything the store holds as bytes or text: the file and its WAL, or every table's rows.
    std::string store_text() const;
    /// SHA-256 of store_text(), to prove that nothing was written.
    std::string store_digest() const;
    /// Runs SQL on the store with full rights (sqlite3, or the server's superuser), for tests that read
    /// or tamper with what fleetadm never shows or writes; returns the last statement's rows, one per
    /// line. Throws when it fails.
    std::string sql(const std::string& statements) const;
    /// The bytes the store holds for tenant's artifact sha256: the area's file beside a SQLite store,
    /// the chunks in a PostgreSQL one; nullopt when it holds none.
    std::optional<std::string> artifact(const std::string& tenant, const std::string& sha256) const;
    /// Replaces those bytes behind fleetadm's back, as someone with write access to the store could.
    void tamper_artifact(const std::string& tenant, const std::string& sha256, const std::string& bytes) const;
    /// How many artifacts the store holds, in every tenant.
    std::size_t artifact_count() const;
    /// This machine's artifact cache, where a PostgreSQL store's artifacts are fetched to (HOME/.cache/...).
    std::filesystem::path artifact_cache() const { return m_dir.path() / ".cache" / "fleetadm" / "artifacts"; }

private:
    Backend m_backend;
    TempDir m_dir;
    std::string m_location;
    std::string m_netns;
};

/// The source tree's examples/ directory.
std::string examples_dir();

} // namespace fleet::test
