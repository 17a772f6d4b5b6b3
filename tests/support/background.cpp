#include "tests/support/background.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

extern char** environ;

namespace fleet::test {

BackgroundProcess::BackgroundProcess(const std::string& program, const std::vector<std::string>& args,
                                     const std::map<std::string, std::string>& env)
{
    int out[2];
    if (pipe2(out, O_CLOEXEC)) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);

    std::vector<std::string> argv_s{program};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        if (!env.contains(entry.substr(0, entry.find('=')))) env_s.push_back(entry);
    }
    for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    int rc = posix_spawnp(&m_pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(out[1]);
    if (rc != 0) {
        close(out[0]);
        throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));
    }
    m_out = out[0];
    m_reader = std::thread([this] {
        char buf[4096];
        ssize_t n;
        while ((n = read(m_out, buf, sizeof buf)) > 0) {
            std::lock_guard lock(m_mutex);
            m_output.append(buf, static_cast<std::size_t>(n));
            m_changed.notify_all();
        }
        std::lock_guard lock(m_mutex);
        m_ended = true;
        m_changed.notify_all();
    });
}

void BackgroundProcess::kill(int signal)
{
    if (m_pid > 0) ::kill(m_pid, signal);
}

int BackgroundProcess::wait()
{
    if (m_pid <= 0) return -1;
    int status = 0;
    waitpid(m_pid, &status, 0);
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : -1;
}

BackgroundProcess::~BackgroundProcess()
{
    if (m_pid > 0) {
        ::kill(-m_pid, SIGKILL);
        waitpid(m_pid, nullptr, 0);
    }
    if (m_reader.joinable()) m_reader.join();
    if (m_out >= 0) close(m_out);
}

std::string BackgroundProcess::output()
{
    std::lock_guard lock(m_mutex);
    return m_output;
}

std::string BackgroundProcess::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(m_mutex);
    for (;;) {
        std::size_t end;
        while ((end = m_output.find('\n', m_scanned)) != std::string::npos) {
            std::string line = m_output.substr(m_scanned, end - m_scanned);
            m_scanned = end + 1;
            if (line.find(needle) != std::string::npos) return line;
        }
        if (m_ended) throw std::runtime_error("process ended before '" + needle + "'; output:\n" + m_output);
        if (m_changed.wait_until(lock, deadline) == std::cv_status::timeout)
            throw std::runtime_error("no line with '" + needle + "' in time; output:\n" + m_output);
    }
}

int free_port()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len)) {
        close(fd);
        throw std::runtime_error("cannot find a free port");
    }
    close(fd);
    return ntohs(addr.sin_port);
}

HttpDevice::HttpDevice(const std::vector<std::string>& args)
    : m_process("python3", [&] {
          std::vector<std::string> all{FLEETADM_SOURCE_DIR "/tests/support/http_device.py"};
          all.insert(all.end(), args.begin(), args.end());
          return all;
      }())
{
    m_port = std::stoi(m_process.wait_for_line("PORT ").substr(5));
}

} // namespace fleet::test
