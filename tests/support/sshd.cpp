#include "tests/support/sshd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace fleet::test {

namespace fs = std::filesystem;

void generate_key(const fs::path& path)
{
    fs::remove(path);
    fs::remove(path.string() + ".pub");
    auto r = run_process("/usr/bin/ssh-keygen", {"-q", "-t", "ed25519", "-N", "", "-C", "fleetadm-test", "-f", path.string()});
    if (r.exit_code != 0) throw std::runtime_error("ssh-keygen failed: " + r.err);
}

int closed_port()
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    close(fd);  // nothing listens there now (bound, never listened)
    return ntohs(addr.sin_port);
}

std::string login_name()
{
    if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) return pw->pw_name;
    throw std::runtime_error("the current user has no name");
}

/// What the server wrote to stderr, filled by a thread that drains the pipe (a full pipe would
/// block the server). The thread owns a share of it: per-connection sshd processes may keep the
/// pipe open for a moment after the listener is gone.
struct ServerLog {
    std::mutex mutex;
    std::condition_variable changed;
    std::string text;
    bool ended = false;
};

/// The running server.
struct Sshd::Process {
    pid_t pid = -1;
    std::shared_ptr<ServerLog> log = std::make_shared<ServerLog>();

    ~Process()
    {
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, nullptr, 0);
        }
    }
};

Sshd::Sshd() : Sshd(Options{}) {}

Sshd::Sshd(Options options) : m_options(std::move(options))
{
    generate_key(m_dir.path() / "host_key");
    generate_key(m_dir.path() / "user_key");
    fs::copy_file(m_dir.path() / "user_key.pub", m_dir.path() / "authorized_keys");
    // As root, sshd insists on its privilege separation directory (the Debian service creates it at boot).
    if (geteuid() == 0 && !fs::exists("/run/sshd")) {
        fs::create_directories("/run/sshd");
        fs::permissions("/run/sshd", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                         fs::perms::others_read | fs::perms::others_exec);
    }
    if (!m_options.netns.empty()) {  // a namespace of its own: no other server there
        m_port = 2222;
        start();
        return;
    }
    for (int attempt = 0;; ++attempt) {
        m_port = closed_port();
        try {
            start();
            return;
        } catch (const std::exception&) {
            if (attempt == 4) throw;  // the port was taken between choosing and binding it: try another
        }
    }
}

Sshd::~Sshd() { stop(); }

void Sshd::start()
{
    const auto& d = m_dir.path();
    std::ofstream(d / "sshd_config") << "Port " << m_port << "\n"
                                     << "ListenAddress " << m_options.address << "\n"
                                     << "HostKey " << (d / "host_key").string() << "\n"
                                     << "AuthorizedKeysFile " << (d / "authorized_keys").string() << "\n"
                                     << "UsePAM no\nStrictModes no\nPidFile none\nLogLevel VERBOSE\n"
                                     << "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                                     << "PermitRootLogin prohibit-password\nMaxStartups 200\nMaxSessions 50\n"
                                     << "Subsystem sftp " << m_options.sftp << "\n";
    int err[2];
    if (pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, err[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::string config = (d / "sshd_config").string();
    std::vector<std::string> args{"/usr/sbin/sshd", "-D", "-e", "-f", config};
    if (!m_options.netns.empty()) args.insert(args.begin(), {"/usr/sbin/ip", "netns", "exec", m_options.netns});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    auto process = std::make_unique<Process>();
    int rc = posix_spawn(&process->pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(err[1]);
    if (rc != 0) {
        close(err[0]);
        throw std::runtime_error("cannot start /usr/sbin/sshd");
    }
    auto log = process->log;
    std::thread([log, fd = err[0]] {
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            std::lock_guard lock(log->mutex);
            log->text.append(buf, static_cast<std::size_t>(n));
            log->changed.notify_all();
        }
        close(fd);
        std::lock_guard lock(log->mutex);
        log->ended = true;
        log->changed.notify_all();
    }).detach();
    std::unique_lock lock(log->mutex);
    bool ready = log->changed.wait_for(lock, std::chrono::seconds(20), [&] {
        return log->ended || log->text.find("Server listening on") != std::string::npos;
    });
    bool listening = ready && !log->ended;
    std::string text = log->text;
    lock.unlock();
    if (!listening) throw std::runtime_error("sshd did not start: " + text);
    m_process = std::move(process);
}

void Sshd::stop() { m_process.reset(); }

std::string Sshd::known_hosts_line() const
{
    std::string pub = read_file(m_dir.path() / "host_key.pub");
    auto comment = pub.rfind(' ');
    return "[" + m_options.address + "]:" + std::to_string(m_port) + " " + pub.substr(0, comment) + "\n";
}

void Sshd::change_host_key()
{
    stop();
    generate_key(m_dir.path() / "host_key");
    start();
}

std::size_t Sshd::accepted_logins() const
{
    std::string text = log();
    std::size_t n = 0;
    for (auto at = text.find("Accepted publickey"); at != std::string::npos; at = text.find("Accepted publickey", at + 1)) ++n;
    return n;
}

std::string Sshd::log() const
{
    std::lock_guard lock(m_process->log->mutex);
    return m_process->log->text;
}

} // namespace fleet::test
