#include "tests/support/postgres.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/process.hpp"

namespace fleet::test {

namespace fs = std::filesystem;

namespace {

const fs::path bin = "/usr/lib/postgresql/15/bin";

/// The OS user the server runs as: `postgres` when we are root (the server refuses root), else us.
struct ServerUser {
    bool switch_user = false;
    uid_t uid = 0;
    gid_t gid = 0;
};

ServerUser server_user()
{
    ServerUser u;
    if (geteuid() != 0) return u;
    const passwd* pw = getpwnam("postgres");
    if (!pw) throw std::runtime_error("running as root, but there is no postgres user to run the server as");
    u.switch_user = true;
    u.uid = pw->pw_uid;
    u.gid = pw->pw_gid;
    return u;
}

/// Runs a command as the server's user and waits for it; throws when it fails.
void run_as_server_user(const ServerUser& u, std::vector<std::string> args)
{
    if (u.switch_user) args.insert(args.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
    auto r = run_process(args[0], std::vector<std::string>(args.begin() + 1, args.end()));
    if (r.exit_code != 0) throw std::runtime_error(args[0] + " failed: " + r.err + r.out);
}

/// The cluster every test server starts from: made by initdb once per machine and user, then only copied.
fs::path template_cluster(const ServerUser& u)
{
    fs::path dir = fs::temp_directory_path() / ("fleetadm-pg15-template-" + std::to_string(getuid()));
    if (fs::exists(dir / "PG_VERSION")) return dir;
    std::string lock_path = dir.string() + ".lock";
    int lock = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + lock_path);
    struct Unlock {
        int fd;
        ~Unlock() { ::close(fd); }
    } unlock{lock};
    if (fs::exists(dir / "PG_VERSION")) return dir;  // another process made it while we waited
    fs::path staging = dir.string() + ".staging";
    fs::remove_all(staging);
    fs::create_directory(staging);
    fs::permissions(staging, fs::perms::owner_all);
    if (u.switch_user && chown(staging.c_str(), u.uid, u.gid) != 0) throw std::runtime_error("cannot chown");
    run_as_server_user(u, {(bin / "initdb").string(), "-D", staging.string(), "-A", "trust", "-U", "postgres",
                           "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"});
    fs::rename(staging, dir);
    return dir;
}

std::string url_of(const std::string& socket_dir, int port, const std::string& database, const std::string& user)
{
    return "postgresql://" + user + "@/" + database + "?host=" + socket_dir + "&port=" + std::to_string(port);
}

PGconn* connect_or_null(const std::string& url)
{
    PGconn* conn = PQconnectdb(url.c_str());
    if (PQstatus(conn) == CONNECTION_OK) return conn;
    PQfinish(conn);
    return nullptr;
}

/// This process's server: started on first use, stopped when the process exits normally.
class Server {
public:
    Server()
    {
        auto started = std::chrono::steady_clock::now();
        auto user = server_user();
        fs::path cluster = template_cluster(user);
        m_data = m_dir.path() / "data";
        if (user.switch_user && chown(m_dir.path().c_str(), user.uid, user.gid) != 0)
            throw std::runtime_error("cannot chown the server folder");
        // cp -a keeps the owner (postgres) and the 0700 mode the server insists on.
        auto copied = run_process("/bin/cp", {"-a", cluster.string(), m_data.string()});
        if (copied.exit_code != 0) throw std::runtime_error("cannot copy the template cluster: " + copied.err);
        fs::remove(m_data / "postmaster.pid");
        m_socket_dir = m_dir.path().string();
        std::string log = (m_dir.path() / "server.log").string();
        std::string postgres = (bin / "postgres").string();
        std::vector<std::string> args = {postgres, "-D", m_data.string(), "-k", m_socket_dir, "-p",
                                         std::to_string(port), "-c", "listen_addresses=", "-c", "fsync=off",
                                         "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                                         "-c", "max_connections=60"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t parent = getpid();
        m_pid = fork();
        if (m_pid < 0) throw std::runtime_error("fork failed");
        if (m_pid == 0) {
            // Only async-signal-safe calls here. The parent-death signal is set after the user
            // changes (a change of credentials clears it); SIGQUIT is the server's immediate shutdown.
            if (user.switch_user && (setgid(user.gid) != 0 || setuid(user.uid) != 0)) _exit(126);
            prctl(PR_SET_PDEATHSIG, SIGQUIT);
            if (getppid() != parent) _exit(0);  // the test process died before we got here
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            execv(argv[0], argv.data());
            _exit(127);
        }
        // Ready when it accepts a connection (PQping says so without a database of ours).
        std::string url = url_of(m_socket_dir, port, "postgres", "postgres");
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (PQping(url.c_str()) != PQPING_OK) {
            int status = 0;
            if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                throw std::runtime_error("the PostgreSQL server exited: " + read_file(log));
            }
            if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the PostgreSQL server did not start");
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        m_startup_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                           .count();
        ensure_login(postgres_login);
    }

    ~Server()
    {
        if (m_pid <= 0) return;
        kill(m_pid, SIGQUIT);  // immediate shutdown: nothing here needs to survive
        int status = 0;
        waitpid(m_pid, &status, 0);
    }

    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Runs one statement as the superuser; throws when it fails.
    void exec(const std::string& database, const std::string& sql) { rows(database, sql); }

    /// The rows of one query's result as text, columns joined by tabs; throws when it fails.
    std::vector<std::string> rows(const std::string& database, const std::string& sql)
    {
        std::unique_ptr<PGconn, decltype(&PQfinish)> conn(connect_or_null(url_of(m_socket_dir, port, database, "postgres")),
                                                          &PQfinish);
        if (!conn) throw std::runtime_error("cannot connect to the test server's database " + database);
        std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
        auto status = PQresultStatus(r.get());
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
            throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
        std::vector<std::string> out;
        for (int row = 0; row < PQntuples(r.get()); ++row) {
            std::string line;
            for (int col = 0; col < PQnfields(r.get()); ++col) {
                if (col) line += '\t';
                line += PQgetisnull(r.get(), row, col) ? "\\N" : PQgetvalue(r.get(), row, col);
            }
            out.push_back(std::move(line));
        }
        return out;
    }

    /// Makes the login role name once in this server.
    void ensure_login(const std::string& name)
    {
        std::lock_guard lock(m_roles_mutex);
        if (m_roles.contains(name)) return;
        if (rows("postgres", "SELECT 1 FROM pg_roles WHERE rolname = '" + name + "'").empty())
            exec("postgres", "CREATE ROLE \"" + name + "\" LOGIN CREATEROLE");  // a provider admin, as init needs
        m_roles.insert(name);
    }

    const std::string& socket_dir() const { return m_socket_dir; }
    long startup_ms() const { return m_startup_ms; }

    static constexpr int port = 5432;  // only names the socket file in our own folder: never taken

private:
    TempDir m_dir;
    fs::path m_data;
    std::string m_socket_dir;
    pid_t m_pid = -1;
    long m_startup_ms = 0;
    std::mutex m_roles_mutex;
    std::set<std::string> m_roles;
};

Server* g_server = nullptr;

Server& server()
{
    static std::once_flag once;
    static std::unique_ptr<Server> instance;
    std::call_once(once, [] {
        instance = std::make_unique<Server>();
        g_server = instance.get();
    });
    return *instance;
}

} // namespace

std::string postgres_url(const std::string& database, const std::string& user)
{
    return url_of(server().socket_dir(), Server::port, database, user);
}

std::string postgres_superuser_url(const std::string& database) { return postgres_url(database, "postgres"); }

std::string postgres_database() { return postgres_database(postgres_login); }

std::string postgres_database(const std::string& owner)
{
    for (char c : owner)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
            throw std::runtime_error("a test login must be a plain name: " + owner);
    static std::mutex mutex;
    static std::mt19937_64 random{std::random_device{}()};
    std::string name;
    {
        std::lock_guard lock(mutex);
        name = "t_" + std::to_string(random() % 1000000000000ULL);
    }
    server().ensure_login(owner);
    server().exec("postgres", "CREATE DATABASE " + name + " OWNER \"" + owner + "\"");
    return postgres_url(name, owner);
}

std::string postgres_database_name(const std::string& url)
{
    auto start = url.find("@/");
    auto end = url.find('?');
    if (start == std::string::npos || end == std::string::npos || end < start)
        throw std::runtime_error("not a test database URL: " + url);
    return url.substr(start + 2, end - start - 2);
}

std::string postgres_dump(const std::string& database)
{
    std::string text;
    for (const auto& table : server().rows(database, "SELECT table_name FROM information_schema.tables WHERE "
                                                     "table_schema = 'public' AND table_type = 'BASE TABLE' "
                                                     "ORDER BY table_name")) {
        text += "-- " + table + "\n";
        for (const auto& row : server().rows(database, "SELECT t::text FROM \"" + table + "\" t ORDER BY 1"))
            text += row + "\n";
    }
    return text;
}

void postgres_exec(const std::string& database, const std::string& sql) { server().exec(database, sql); }

std::vector<std::string> postgres_query(const std::string& database, const std::string& sql)
{
    return server().rows(database, sql);
}

long postgres_startup_ms() { return g_server ? g_server->startup_ms() : 0; }

} // namespace fleet::test
