#include "tests/support/process.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <poll.h>
#include <pty.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "core/util/sha256.hpp"
#include "tests/support/postgres.hpp"

extern char** environ;

namespace fleet::test {

RunResult run_process(const std::string& program, const std::vector<std::string>& args, const std::string& input,
                      const std::map<std::string, std::string>& env, bool stderr_terminal)
{
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC))
        throw std::runtime_error("pipe failed");
    if (stderr_terminal) {  // err_pipe[1] is the terminal the program writes to, err_pipe[0] its master side
        if (openpty(&err_pipe[0], &err_pipe[1], nullptr, nullptr, nullptr) != 0) throw std::runtime_error("openpty failed");
        fcntl(err_pipe[0], F_SETFD, FD_CLOEXEC);
        fcntl(err_pipe[1], F_SETFD, FD_CLOEXEC);
    } else if (pipe2(err_pipe, O_CLOEXEC)) {
        throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);

    std::vector<std::string> argv_s{program};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::map<std::string, std::string> merged;
    for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    merged.erase("FLEETADM_STATE");
    merged["NO_COLOR"] = "1";
    for (const auto& [k, v] : env) merged[k] = v;
    std::vector<std::string> env_s;
    for (const auto& [k, v] : merged) env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = 0;
    int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != 0) throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));

    RunResult result;
    std::size_t written = 0;
    if (input.empty()) close(in_pipe[1]);
    std::vector<pollfd> fds{{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    if (!input.empty()) fds.push_back({in_pipe[1], POLLOUT, 0});
    int open_outputs = 2;
    char buf[65536];
    while (open_outputs > 0 || fds.size() > 2) {
        poll(fds.data(), fds.size(), -1);
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || !fds[i].revents) continue;
            if (i == 2) {
                ssize_t n = write(fds[i].fd, input.data() + written, input.size() - written);
                if (n > 0) written += static_cast<std::size_t>(n);
                if (n < 0 || written == input.size()) {
                    close(fds[i].fd);
                    fds.pop_back();
                }
                continue;
            }
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_outputs;
            } else {
                (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

TempDir::TempDir()
{
    std::string pattern = (std::filesystem::temp_directory_path() / "fleetadm-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& content) const
{
    auto p = m_path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
}

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Backend backend_under_test()
{
    const char* env = std::getenv("FLEETADM_TEST_BACKEND");
    if (!env || !*env || std::string_view(env) == "sqlite") return Backend::sqlite;
    if (std::string_view(env) == "postgres") return Backend::postgres;
    throw std::runtime_error(std::string("FLEETADM_TEST_BACKEND must be sqlite or postgres, not ") + env);
}

std::string os_login()
{
    if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
    throw std::runtime_error("this process's user has no name");
}

Fleet::Fleet() : m_backend(backend_under_test())
{
    m_location = m_backend == Backend::postgres ? postgres_database(os_login()) : state().string();
}

RunResult Fleet::operator()(std::vector<std::string> args, const std::string& input) const
{
    args.insert(args.begin(), {"--state", m_location});
    if (!m_netns.empty()) {
        args.insert(args.begin(), {"netns", "exec", m_netns, FLEETADM_BIN});
        return run_process("/usr/sbin/ip", args, input, {{"HOME", m_dir.path().string()}});
    }
    return run_process(FLEETADM_BIN, args, input, {{"HOME", m_dir.path().string()}});
}

RunResult Fleet::on_terminal(std::vector<std::string> args) const
{
    args.insert(args.begin(), {"--state", m_location});
    return run_process(FLEETADM_BIN, args, "", {{"HOME", m_dir.path().string()}}, true);
}

RunResult Fleet::as(const std::string& user, std::vector<std::string> args, const std::string& input) const
{
    if (on_postgres())
        args.insert(args.begin(), {"--state", postgres_url(database(), user)});
    else
        args.insert(args.begin(), {"--state", m_location, "--as", user});
    if (!m_netns.empty()) {
        args.insert(args.begin(), {"netns", "exec", m_netns, FLEETADM_BIN});
        return run_process("/usr/sbin/ip", args, input, {{"HOME", m_dir.path().string()}});
    }
    return run_process(FLEETADM_BIN, args, input, {{"HOME", m_dir.path().string()}});
}

std::string Fleet::database() const
{
    if (!on_postgres()) throw std::runtime_error("a SQLite store has no database name");
    return postgres_database_name(m_location);
}

std::string Fleet::store_text() const
{
    if (on_postgres()) return postgres_dump(database());
    std::string text = read_file(state());
    auto wal = state().string() + "-wal";
    if (std::filesystem::exists(wal)) text += read_file(wal);
    return text;
}

std::string Fleet::store_digest() const
{
    if (on_postgres()) return util::sha256_hex(store_text());
    // Each file apart: a WAL that appears is a write even when the bytes concatenate the same.
    std::string digest = util::sha256_hex(read_file(state()));
    auto wal = state().string() + "-wal";
    if (std::filesystem::exists(wal)) digest += util::sha256_hex(read_file(wal));
    return digest;
}

std::string Fleet::sql(const std::string& statements) const
{
    if (on_postgres()) {
        std::string out;
        for (const auto& row : postgres_query(database(), statements)) out += row + "\n";
        return out;
    }
    auto r = run_process("/usr/bin/sqlite3", {state().string(), statements});
    if (r.exit_code != 0) throw std::runtime_error("sqlite3 " + statements + ": " + r.err);
    return r.out;
}

namespace {

std::string hex_decode(std::string_view hex)
{
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
    return out;
}

std::string hex_encode(std::string_view bytes)
{
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

} // namespace

std::optional<std::string> Fleet::artifact(const std::string& tenant, const std::string& sha256) const
{
    if (!on_postgres()) {
        auto file = state_dir() / "artifacts" / tenant / sha256;
        if (!std::filesystem::is_regular_file(file)) return std::nullopt;
        return read_file(file);
    }
    auto rows = postgres_query(database(), "SELECT count(*) FROM artifacts WHERE tenant = '" + tenant +
                                               "' AND sha256 = '" + sha256 + "'");
    if (rows.empty() || rows[0] == "0") return std::nullopt;
    rows = postgres_query(database(), "SELECT coalesce(encode(string_agg(data, ''::bytea ORDER BY seq), 'hex'), '') "
                                      "FROM artifact_chunks WHERE tenant = '" + tenant + "' AND sha256 = '" + sha256 + "'");
    return hex_decode(rows.empty() ? "" : rows[0]);
}

void Fleet::tamper_artifact(const std::string& tenant, const std::string& sha256, const std::string& bytes) const
{
    if (!on_postgres()) {
        auto file = state_dir() / "artifacts" / tenant / sha256;
        std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        std::ofstream(file, std::ios::trunc | std::ios::binary) << bytes;
        return;
    }
    postgres_exec(database(), "DELETE FROM artifact_chunks WHERE tenant = '" + tenant + "' AND sha256 = '" + sha256 +
                                  "' AND seq > 0");
    postgres_exec(database(), "UPDATE artifact_chunks SET data = decode('" + hex_encode(bytes) +
                                  "', 'hex') WHERE tenant = '" + tenant + "' AND sha256 = '" + sha256 + "' AND seq = 0");
    postgres_exec(database(), "UPDATE artifacts SET size = " + std::to_string(bytes.size()) + " WHERE tenant = '" +
                                  tenant + "' AND sha256 = '" + sha256 + "'");
}

std::size_t Fleet::artifact_count() const
{
    if (on_postgres()) return std::stoul(postgres_query(database(), "SELECT count(*) FROM artifacts").at(0));
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(state_dir() / "artifacts", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file()) ++n;
    return n;
}

std::string examples_dir() { return FLEETADM_SOURCE_DIR "/examples"; }

} // namespace fleet::test
