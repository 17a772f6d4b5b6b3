// One SSH job on libssh, step by step: configure (~/.ssh/config, then the device's own port,
// user and known_hosts file), connect, check the host key against known_hosts under the
// credential's policy, authenticate, upload, run. Each step either succeeds or ends the job
// with a Failure and a message naming the device, host:port and cause, never key material.
//
// libssh calls here are blocking with the session's timeout (the connect timeout), except the
// remote command, which is driven by ssh_event_dopoll in short slices so that its own deadline,
// cancellation and keepalives are honoured.
#include "core/transport/ssh.hpp"

#include "core/transport/ssh_session.hpp"
#include "core/transport/ssh_tunnel.hpp"

#include "core/util/paths.hpp"
#include "core/util/sha256.hpp"

#include <fcntl.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <expected>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace fleet::transport {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// How often an idle command's session sends a message, so that NATs keep it and a dead peer is noticed.
constexpr milliseconds keepalive_interval{15000};
/// Longest wait inside the command loop before looking at the deadline and cancellation again.
constexpr milliseconds poll_slice{200};
/// Upload chunk, read from disk and written over SFTP one at a time (never the whole file): every
/// SFTP server takes 32 KiB writes, and larger ones measured no faster against OpenSSH.
constexpr std::size_t chunk_size = 32 * 1024;
/// First line a command's wrapper prints on stdout, before the command runs: this, then the pid of
/// the remote shell (the leader of the command's process group), removed from the output.
constexpr const char* pgid_marker = "\x1e" "fleetadm-pgid ";
/// How long ending a cancelled or timed-out command may take (TERM, then KILL after a second).
constexpr milliseconds end_wait{3000};
/// Run before every command: fd 3 keeps the channel's stdin for a background watcher that ends the
/// process group when a line arrives there (and exits quietly at EOF, when the channel closes).
constexpr const char* watcher_script =
    "exec 3<&0 0</dev/null\n"
    "{ trap '' TERM; if read -r _ <&3; then kill -TERM 0; sleep 1; kill -KILL 0; fi; } >/dev/null 2>&1 &\n"
    "exec 3<&-\n";

using detail::Fault;
using detail::Session;
using detail::Step;
using detail::fault;

/// How long a pool keeps an idle session of a device for its next job (see SshPool::reuse_sessions).
constexpr milliseconds idle_session_limit{10000};
using detail::ChannelFree;
struct SftpFree {
    void operator()(sftp_session s) const { sftp_free(s); }
};
struct SftpFileClose {
    void operator()(sftp_file f) const { sftp_close(f); }
};
struct EventFree {
    void operator()(ssh_event e) const { ssh_event_free(e); }
};
/// A file descriptor closed on scope exit.
struct Fd {
    int fd;
    ~Fd()
    {
        if (fd >= 0) ::close(fd);
    }
};

std::string random_suffix()
{
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{:012x}", rng() & 0xffffffffffffULL);
}

std::string duration_text(milliseconds d)
{
    if (d.count() % 1000 == 0) return fmt::format("{}s", d.count() / 1000);
    return fmt::format("{}ms", d.count());
}

/// Unblocks a job stuck in a blocking libssh call: once its deadline passes without being moved
/// on by arm(), it shuts the session's socket down, so that the call returns with an error.
class Watchdog {
public:
    Watchdog() : m_thread([this] { watch(); }) {}
    ~Watchdog()
    {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_changed.notify_one();
        m_thread.join();
    }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    /// Shuts socket down at deadline unless armed again before.
    void arm(int socket, Clock::time_point deadline)
    {
        std::lock_guard lock(m_mutex);
        m_socket = socket;
        m_deadline = deadline;
        m_armed = true;
        m_changed.notify_one();
    }
    /// True when it shut the socket down.
    bool fired()
    {
        std::lock_guard lock(m_mutex);
        return m_fired;
    }

private:
    void watch()
    {
        std::unique_lock lock(m_mutex);
        while (!m_stop) {
            if (!m_armed) {
                m_changed.wait(lock);
            } else if (Clock::now() >= m_deadline) {
                ::shutdown(m_socket, SHUT_RDWR);
                m_fired = true;
                m_armed = false;
            } else {
                m_changed.wait_until(lock, m_deadline);
            }
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_changed;
    int m_socket = -1;
    Clock::time_point m_deadline;
    bool m_armed = false;
    bool m_fired = false;
    bool m_stop = false;
    std::thread m_thread;  // last: starts once the rest is initialized
};

/// One job on one device.
class Job {
public:
    /// A job on a new connection, or on reused: a session of an earlier job to the same endpoint,
    /// already connected, verified and authenticated.
    Job(const SshJob& job, const std::atomic<bool>& cancel, Session reused = nullptr)
        : m_job(job), m_cancel(cancel), m_session(std::move(reused)), m_reused(m_session != nullptr)
    {
    }

    Outcome run()
    {
        auto start = Clock::now();
        Step step;
        if (!m_reused) {
            step = configure();
            if (step) step = checked(&Job::connect);
            if (step) step = checked(&Job::verify_host);
            if (step) step = checked(&Job::authenticate);
        }
        if (step && !m_job.upload_file.empty()) step = checked(&Job::upload);
        if (step && !m_job.command.empty()) step = checked(&Job::run_command);
        if (!step) {
            m_out.failure = step.error().failure;
            m_out.message = fmt::format("{} ({}): {}", m_job.endpoint.device, where(), step.error().cause);
        }
        m_out.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
        m_failure = m_out.failure;
        m_exit_status = m_out.exit_status;
        return std::move(m_out);
    }

    /// After run: the reused session was gone before anything reached the device (the device
    /// closed it while idle, a reboot say); the job should run again on a new connection.
    bool stale() const { return m_reused && !m_remote_started && m_failure != Failure::cancelled; }
    /// After run: the session is fit for another job (the job ran to an exit status, nothing broke).
    bool reusable() const
    {
        bool completed = m_failure == Failure::none || (m_failure == Failure::remote && m_exit_status >= 0);
        return completed && !m_cancel && m_session && ssh_is_connected(m_session.get());
    }
    Session take_session() { return std::move(m_session); }

private:
    Step checked(Step (Job::*next)())
    {
        if (m_cancel) return fault(Failure::cancelled, "cancelled");
        return (this->*next)();
    }

    /// host:port as the session resolved them (after ~/.ssh/config).
    std::string where() const
    {
        std::string host = m_job.endpoint.host;
        unsigned int port = m_job.endpoint.port > 0 ? static_cast<unsigned int>(m_job.endpoint.port) : 22;
        if (m_session) {
            char* value = nullptr;
            if (ssh_options_get(m_session.get(), SSH_OPTIONS_HOST, &value) == SSH_OK && value) {
                host = value;
                ssh_string_free_char(value);
            }
            ssh_options_get_port(m_session.get(), &port);
        }
        return fmt::format("{}:{}", host, port);
    }

    std::string error() const { return detail::session_error(m_session.get()); }

    Step configure()
    {
        const auto& ep = m_job.endpoint;
        auto session = detail::configure_session({ep.host, ep.port, ep.user, ep.credential, m_job.connect_timeout}, m_known_hosts);
        if (!session) return std::unexpected(session.error());
        m_session = std::move(*session);
        return {};
    }

    /// Connects directly, or through the endpoint's bastions (else ~/.ssh/config's ProxyJump): a
    /// tunnel to the host and port that ~/.ssh/config resolved, opened over the (shared)
    /// connection of the last bastion.
    Step connect()
    {
        int fd = -1;
        auto hops = m_job.endpoint.jump;
        if (hops.empty()) hops = detail::config_jump(m_session.get(), m_job.endpoint.credential);
        if (!hops.empty()) {
            auto [host, port] = detail::session_target(m_session.get());
            auto tunnel = detail::open_tunnel(hops, host, port, m_job.connect_timeout);
            if (!tunnel) return std::unexpected(tunnel.error());
            fd = *tunnel;
        }
        return detail::connect_session(m_session.get(), fd);
    }

    Step verify_host()
    {
        return detail::verify_host_key(m_session.get(), m_job.endpoint.credential, m_known_hosts);
    }

    Step authenticate() { return detail::authenticate_session(m_session.get(), m_job.endpoint.credential); }

    std::string sftp_error(sftp_session sftp) const
    {
        switch (sftp_get_error(sftp)) {
        case SSH_FX_NO_SUCH_FILE: return "no such file or directory";
        case SSH_FX_PERMISSION_DENIED: return "permission denied";
        case SSH_FX_FILE_ALREADY_EXISTS: return "file exists";
        case SSH_FX_OK: return error();  // the session failed, not the SFTP request
        default: return fmt::format("SFTP error {} ({})", sftp_get_error(sftp), error());
        }
    }

    Step upload()
    {
        const std::string& local = m_job.upload_file;
        // A stored artifact is content: never read through a link, and only a regular file.
        bool artifact = !m_job.upload_sha256.empty();
        Fd fd{::open(local.c_str(), O_RDONLY | O_CLOEXEC | (artifact ? O_NOFOLLOW | O_NONBLOCK : 0))};
        struct stat st {};
        if (fd.fd < 0 || fstat(fd.fd, &st) != 0)
            return fault(Failure::transfer, fmt::format("cannot read {}: {}", local, std::strerror(errno)));
        if (artifact && !S_ISREG(st.st_mode))
            return fault(Failure::transfer, fmt::format("stored artifact {} is not a regular file: not sent", local));
        if (artifact) ::fcntl(fd.fd, F_SETFL, ::fcntl(fd.fd, F_GETFL) & ~O_NONBLOCK);
        util::Sha256 hash;
        const std::string& target = m_job.upload_path;
        // libssh 0.10 waits for SFTP replies without a timeout: the watchdog ends an upload that
        // made no progress for the command's time limit.
        Watchdog watchdog;
        int socket = ssh_get_fd(m_session.get());
        auto stall_limit = m_job.command_timeout;
        auto progress = [&] { watchdog.arm(socket, Clock::now() + stall_limit); };
        auto failed = [&](Failure failure, std::string cause) {
            if (watchdog.fired())
                return fault(Failure::timeout, fmt::format("the upload to {} stalled: no progress for {}", target,
                                                           duration_text(stall_limit)));
            return fault(failure, std::move(cause));
        };
        progress();

        std::unique_ptr<sftp_session_struct, SftpFree> sftp(sftp_new(m_session.get()));
        if (!sftp || sftp_init(sftp.get()) != SSH_OK)
            return failed(Failure::transfer, "the device offers no SFTP: " + error());
        m_remote_started = true;
        auto slash = target.rfind('/');
        std::string dir = slash == std::string::npos ? "" : target.substr(0, slash + 1);
        std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
        std::string temp = fmt::format("{}.{}.fleetadm-{}", dir, base, random_suffix());

        std::unique_ptr<sftp_file_struct, SftpFileClose> file(
            sftp_open(sftp.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, st.st_mode & 0777));
        if (!file) return failed(Failure::transfer, fmt::format("cannot create {}: {}", temp, sftp_error(sftp.get())));
        auto abandon = [&](Failure failure, std::string cause) {
            file.reset();
            if (ssh_is_connected(m_session.get()) && !watchdog.fired()) sftp_unlink(sftp.get(), temp.c_str());
            return failed(failure, std::move(cause));
        };
        std::vector<char> buffer(chunk_size);
        std::uint64_t sent = 0;
        for (;;) {
            if (m_cancel) return abandon(Failure::cancelled, fmt::format("cancelled during the upload to {}", target));
            ssize_t n = ::read(fd.fd, buffer.data(), buffer.size());
            if (n < 0) return abandon(Failure::transfer, fmt::format("cannot read {}: {}", local, std::strerror(errno)));
            if (n == 0) break;
            if (artifact) hash.update({buffer.data(), static_cast<std::size_t>(n)});
            for (ssize_t off = 0; off < n;) {
                ssize_t w = sftp_write(file.get(), buffer.data() + off, static_cast<std::size_t>(n - off));
                if (w <= 0)
                    return abandon(Failure::transfer, fmt::format("the upload to {} broke after {} of {} bytes: {}",
                                                                  target, sent, st.st_size, sftp_error(sftp.get())));
                off += w;
                sent += static_cast<std::uint64_t>(w);
                progress();
            }
        }
        if (artifact) {
            // Checked before the rename: a file that is not what its name says never reaches the target.
            if (auto actual = util::to_hex(hash.digest()); actual != m_job.upload_sha256)
                return abandon(Failure::transfer,
                               fmt::format("stored artifact {} has SHA-256 {}, not {}: it was changed in the store; "
                                           "not installed",
                                           local, actual, m_job.upload_sha256));
        }
        if (sftp_close(file.release()) != SSH_OK)
            return abandon(Failure::transfer,
                           fmt::format("the upload to {} failed when closing: {}", target, sftp_error(sftp.get())));
        progress();
        Step renamed = rename_into_place(sftp.get(), temp, target);
        if (!renamed) return failed(renamed.error().failure, renamed.error().cause);
        return renamed;
    }

    /// SFTPv3 rename refuses an existing target, and libssh 0.10 cannot send OpenSSH's
    /// posix-rename; an existing file is therefore removed first: the path is absent for a moment,
    /// but never holds a partial file. (Replacing it with `mv -f` over a second channel measured
    /// 0.4 s more per device on a loaded machine.) Another upload to the same path (devices that
    /// share a file system, two sessions to one device) can remove the file before this one does, or
    /// land its own between the removal and the rename; a few rounds settle that, the last complete
    /// file wins.
    Step rename_into_place(sftp_session sftp, const std::string& temp, const std::string& target)
    {
        if (sftp_rename(sftp, temp.c_str(), target.c_str()) == SSH_OK) return {};
        std::string cause = sftp_error(sftp);
        for (int round = 0; round < 4 && ssh_is_connected(m_session.get()); ++round) {
            sftp_unlink(sftp, target.c_str());  // may be gone already: the rename tells
            if (sftp_rename(sftp, temp.c_str(), target.c_str()) == SSH_OK) return {};
            cause = sftp_error(sftp);
        }
        if (ssh_is_connected(m_session.get())) sftp_unlink(sftp, temp.c_str());
        return fault(Failure::transfer, fmt::format("cannot rename {} to {}: {}", temp, target, cause));
    }

    Step run_command()
    {
        Step step = exec(m_job.command, m_job.command_timeout);
        if (!step) return step;
        if (m_exit_signal.empty() && m_out.exit_status == 0) return {};
        if (!m_exit_signal.empty())
            return fault(Failure::remote, fmt::format("the command was killed by signal {}", m_exit_signal));
        if (m_out.exit_status < 0) return fault(Failure::remote, "the command ended without an exit status");
        return fault(Failure::remote, fmt::format("the command exited with status {}", m_out.exit_status));
    }

    /// Runs command on a new channel until it closes, its deadline passes or the job is cancelled;
    /// fills the exit status and the output tails of m_out.
    Step exec(const std::string& command, milliseconds timeout)
    {
        ssh_session s = m_session.get();
        ssh_channel_callbacks_struct callbacks{};  // declared first: outlives the channel that points to it
        std::unique_ptr<ssh_channel_struct, ChannelFree> channel(ssh_channel_new(s));
        if (!channel || ssh_channel_open_session(channel.get()) != SSH_OK)
            return fault(Failure::remote, "the device refused a session channel: " + error());
        m_eof = m_closed = false;
        m_exit_signal.clear();
        callbacks.userdata = this;
        callbacks.channel_data_function = &Job::on_data;
        callbacks.channel_eof_function = [](ssh_session, ssh_channel, void* self) { static_cast<Job*>(self)->m_eof = true; };
        callbacks.channel_close_function = [](ssh_session, ssh_channel, void* self) {
            static_cast<Job*>(self)->m_closed = true;
        };
        callbacks.channel_exit_status_function = [](ssh_session, ssh_channel, int status, void* self) {
            static_cast<Job*>(self)->m_out.exit_status = status;
        };
        callbacks.channel_exit_signal_function = [](ssh_session, ssh_channel, const char* signal, int, const char*,
                                                    const char*, void* self) {
            static_cast<Job*>(self)->m_exit_signal = signal ? signal : "?";
        };
        ssh_callbacks_init(&callbacks);
        ssh_set_channel_callbacks(channel.get(), &callbacks);
        m_pgid = 0;
        m_pgid_line.clear();
        m_pgid_pending = true;
        // The wrapper reports its process group, then leaves a watcher on the channel's stdin (the
        // command reads /dev/null): a line written there ends the group, TERM then KILL a second
        // later, without waiting for a new shell (measured: a second channel's shell took 1-4 s to
        // start on a loaded machine, and OpenSSH refuses signal requests without privilege separation).
        std::string wrapped = std::string("printf '") + pgid_marker + "%s\\n' $$\n" + watcher_script + command;
        if (ssh_channel_request_exec(channel.get(), wrapped.c_str()) != SSH_OK)
            return fault(Failure::remote, "the device refused to run the command: " + error());
        m_remote_started = true;

        std::unique_ptr<ssh_event_struct, EventFree> event(ssh_event_new());
        if (!event || ssh_event_add_session(event.get(), s) != SSH_OK)
            return fault(Failure::transfer, "cannot wait on the session");
        auto stop = [&](Step result) {
            ssh_event_remove_session(event.get(), s);
            ssh_remove_channel_callbacks(channel.get(), &callbacks);
            return result;
        };
        auto deadline = Clock::now() + timeout;
        auto last_keepalive = Clock::now();
        // OpenSSH sends the exit status, then EOF, then close; the first two are enough.
        while (!m_closed && !(m_eof && (m_out.exit_status >= 0 || !m_exit_signal.empty()))) {
            auto now = Clock::now();
            if (m_cancel || now >= deadline) {
                std::string ended = end_remote(channel.get(), event.get());
                ssh_channel_close(channel.get());
                if (m_cancel) return stop(fault(Failure::cancelled, "cancelled while the command ran; " + ended));
                return stop(fault(Failure::timeout, fmt::format("the command did not finish within {}; {}",
                                                                duration_text(timeout), ended)));
            }
            auto slice = std::min<milliseconds>(poll_slice, std::chrono::duration_cast<milliseconds>(deadline - now) +
                                                                milliseconds(1));
            if (ssh_event_dopoll(event.get(), static_cast<int>(slice.count())) == SSH_ERROR || !ssh_is_connected(s))
                return stop(fault(Failure::transfer, "the connection broke while the command ran: " + error()));
            if (Clock::now() - last_keepalive >= keepalive_interval) {
                ssh_send_ignore(s, "keepalive");  // one-way: never blocks on a reply
                last_keepalive = Clock::now();
            }
        }
        return stop({});
    }

    static int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr, void* self)
    {
        auto* job = static_cast<Job*>(self);
        const char* bytes = static_cast<const char*>(data);
        std::size_t size = len;
        if (!is_stderr && job->m_pgid_pending) job->take_pgid(bytes, size);
        append_tail(is_stderr ? job->m_out.stderr_tail : job->m_out.stdout_tail, bytes, size);
        return static_cast<int>(len);
    }

    /// Consumes the wrapper's first stdout line (the marker and the remote shell's pid, which is
    /// its process group: sshd starts every session's command with setsid) from bytes.
    void take_pgid(const char*& bytes, std::size_t& size)
    {
        const std::size_t marker_size = std::strlen(pgid_marker);
        while (size > 0 && m_pgid_pending) {
            char c = *bytes;
            ++bytes;
            --size;
            if (c != '\n') {
                m_pgid_line += c;
                if (m_pgid_line.size() <= marker_size + 20 &&
                    std::string_view(pgid_marker).starts_with(std::string_view(m_pgid_line).substr(
                        0, std::min(m_pgid_line.size(), marker_size))))
                    continue;
            } else if (m_pgid_line.starts_with(pgid_marker)) {
                m_pgid = std::strtol(m_pgid_line.c_str() + marker_size, nullptr, 10);
                m_pgid_pending = false;
                return;
            }
            // Not the marker (a login shell that prints first): keep it as output.
            m_pgid_pending = false;
            if (c == '\n') m_pgid_line += c;
            append_tail(m_out.stdout_tail, m_pgid_line.data(), m_pgid_line.size());
        }
    }

    /// Ends a command still running on the device: a TERM signal request (OpenSSH's sshd sends it
    /// to the session's process group), then, over a second channel, TERM and after a second KILL
    /// to the process group the wrapper reported, as sshd may refuse signal requests. Waits up to
    /// end_wait for the command's channel to report how it ended. Returns what was done, for the message.
    std::string end_remote(ssh_channel channel, ssh_event event)
    {
        ssh_session s = m_session.get();
        if (!ssh_is_connected(s)) return "the connection is gone, so the command may still run on the device";
        ssh_channel_request_send_signal(channel, "TERM");
        // The wrapper's watcher: works even when the command has not started yet (the line waits in the pipe).
        ssh_channel_write(channel, "end\n", 4);
        auto ended = [&] { return m_closed || (m_eof && (m_out.exit_status >= 0 || !m_exit_signal.empty())); };
        auto first = Clock::now() + end_wait;
        while (!ended() && Clock::now() < first && ssh_is_connected(s))
            if (ssh_event_dopoll(event, static_cast<int>(poll_slice.count())) == SSH_ERROR) break;
        bool killed = ended();
        if (!killed && m_pgid > 1) {
            std::unique_ptr<ssh_channel_struct, ChannelFree> killer(ssh_channel_new(s));
            std::string script = fmt::format(
                "p={}; kill -TERM -$p 2>/dev/null || exit 0; i=0; while kill -0 -$p 2>/dev/null; do "
                "i=$((i+1)); if [ $i -gt 20 ]; then kill -KILL -$p 2>/dev/null; exit 0; fi; sleep 0.05; done",
                m_pgid);
            if (killer && ssh_channel_open_session(killer.get()) == SSH_OK &&
                ssh_channel_request_exec(killer.get(), script.c_str()) == SSH_OK) {
                auto until = Clock::now() + end_wait;
                char sink[256];
                while (Clock::now() < until && ssh_is_connected(s)) {
                    int n = ssh_channel_read_timeout(killer.get(), sink, sizeof sink, 0, static_cast<int>(poll_slice.count()));
                    if (n < 0 || (n == 0 && ssh_channel_is_eof(killer.get()))) break;
                }
                killed = true;
                ssh_channel_close(killer.get());
            }
        }
        // How the command ended: its exit signal or status, when sshd reports it in time.
        auto until = Clock::now() + end_wait;
        while (!m_closed && !(m_eof && (m_out.exit_status >= 0 || !m_exit_signal.empty())) && Clock::now() < until &&
               ssh_is_connected(s))
            if (ssh_event_dopoll(event, static_cast<int>(poll_slice.count())) == SSH_ERROR) break;
        std::string how = !m_exit_signal.empty() ? fmt::format(" (signal {})", m_exit_signal)
                          : m_out.exit_status >= 0 ? fmt::format(" (exit status {})", m_out.exit_status)
                                                   : "";
        if (killed) return fmt::format("ended on the device: its process group was stopped{}", how);
        return fmt::format("sent TERM to it on the device{}", how);
    }

    const SshJob& m_job;
    const std::atomic<bool>& m_cancel;
    Session m_session;
    bool m_reused = false;
    bool m_remote_started = false;  ///< an SFTP session or a command was started on the device
    Failure m_failure = Failure::none;
    int m_exit_status = -1;
    std::string m_known_hosts;
    Outcome m_out;
    bool m_eof = false;
    bool m_closed = false;
    std::string m_exit_signal;
    long m_pgid = 0;             ///< the running command's process group on the device; 0: not known yet
    bool m_pgid_pending = false; ///< the wrapper's first line is still to come
    std::string m_pgid_line;
};

} // namespace

util::Result<std::vector<SshHop>> jump_hops(const nlohmann::json& ssh, const std::optional<Credential>& device_credential,
                                            const CredentialLookup& lookup)
{
    std::vector<SshHop> hops;
    auto jump = ssh.find("jump");
    if (jump == ssh.end() || !jump->is_array()) return hops;
    for (const auto& h : *jump) {
        SshHop hop;
        hop.host = h.value("host", "");
        hop.port = h.value("port", 0);
        hop.user = h.value("user", "");
        if (auto name = h.value("credential", ""); !name.empty()) {
            auto found = lookup(name);
            if (!found) return std::unexpected(found.error());
            if (!*found)
                return util::fail(util::ErrorKind::not_found,
                                  fmt::format("credential \"{}\" of jump host {} does not exist in the device's tenant", name, hop.host));
            hop.credential = std::move(**found);
        } else {
            hop.credential = device_credential;
        }
        hops.push_back(std::move(hop));
    }
    return hops;
}

struct SshPool::Impl {
    struct Queued {
        SshJob job;
        std::function<void(Outcome)> done;
    };

    explicit Impl(std::size_t max, bool reuse) : max_parallel(std::max<std::size_t>(max, 1)), reuse(reuse)
    {
        static std::once_flag initialized;
        std::call_once(initialized, [] { ssh_init(); });
    }

    void worker()
    {
        std::unique_lock lock(mutex);
        for (;;) {
            ++idle;
            work.wait(lock, [&] { return stopping || !queue.empty(); });
            --idle;
            if (queue.empty()) return;
            Queued item = std::move(queue.front());
            queue.pop_front();
            bool dropped = drop_queued;
            lock.unlock();
            Outcome outcome;
            if (dropped) {
                outcome.failure = Failure::cancelled;
                outcome.message = fmt::format("{}: cancelled before it started", item.job.endpoint.device);
            } else {
                outcome = run(item.job);
            }
            item.done(std::move(outcome));
            lock.lock();
            if (--pending == 0) finished.notify_all();
        }
    }

    /// Runs a job, on an idle session to its endpoint when the pool keeps them.
    Outcome run(const SshJob& job)
    {
        if (!reuse) return Job(job, cancel_running).run();
        std::string key = endpoint_key(job);
        Session idle = take_idle(key);
        bool had_idle = idle != nullptr;
        Job first(job, cancel_running, std::move(idle));
        Outcome outcome = first.run();
        if (!had_idle || !first.stale()) {
            if (first.reusable()) put_idle(key, first.take_session());
            return outcome;
        }
        Job fresh(job, cancel_running);
        outcome = fresh.run();
        if (fresh.reusable()) put_idle(key, fresh.take_session());
        return outcome;
    }

    /// Everything a session's connection depends on: a session is reused only for the same.
    static std::string endpoint_key(const SshJob& job)
    {
        const auto& e = job.endpoint;
        std::string key = fmt::format("{}\x1f{}\x1f{}\x1f{}", e.host, e.port, e.user, job.connect_timeout.count());
        key += detail::credential_identity(e.credential);
        key += "\x1e" + detail::chain_key(e.jump, e.jump.size());
        return key;
    }

    Session take_idle(const std::string& key)
    {
        std::vector<Session> closing;  // disconnected after the lock is released
        std::lock_guard lock(mutex);
        expire_idle(closing);
        for (auto it = idle_sessions.begin(); it != idle_sessions.end(); ++it)
            if (it->key == key) {
                Session s = std::move(it->session);
                idle_sessions.erase(it);
                return s;
            }
        return nullptr;
    }

    void put_idle(std::string key, Session session)
    {
        std::vector<Session> closing;
        std::lock_guard lock(mutex);
        expire_idle(closing);
        if (idle_sessions.size() >= max_parallel) {
            closing.push_back(std::move(idle_sessions.front().session));
            idle_sessions.pop_front();
        }
        idle_sessions.push_back({std::move(key), std::move(session), Clock::now()});
    }

    /// Moves sessions idle for longer than idle_session_limit to closing; the caller holds the mutex.
    void expire_idle(std::vector<Session>& closing)
    {
        auto now = Clock::now();
        while (!idle_sessions.empty() && now - idle_sessions.front().since > idle_session_limit) {
            closing.push_back(std::move(idle_sessions.front().session));
            idle_sessions.pop_front();
        }
    }

    struct IdleSession {
        std::string key;
        Session session;
        Clock::time_point since;
    };

    std::size_t max_parallel;
    bool reuse;
    std::deque<IdleSession> idle_sessions;  ///< oldest first
    std::mutex mutex;
    std::condition_variable work;
    std::condition_variable finished;
    std::deque<Queued> queue;
    std::vector<std::thread> threads;
    std::size_t idle = 0;
    std::size_t pending = 0;
    bool stopping = false;
    bool drop_queued = false;
    std::atomic<bool> cancel_running{false};
};

SshPool::SshPool(std::size_t max_parallel, bool reuse_sessions)
    : m_impl(std::make_unique<Impl>(max_parallel, reuse_sessions))
{
    detail::bastions_in_use(+1);
}

SshPool::~SshPool()
{
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->drop_queued = true;
        m_impl->stopping = true;
    }
    m_impl->work.notify_all();
    for (auto& t : m_impl->threads) t.join();
    m_impl->idle_sessions.clear();
    detail::bastions_in_use(-1);
}

void SshPool::submit(SshJob job, std::function<void(Outcome)> done)
{
    std::lock_guard lock(m_impl->mutex);
    ++m_impl->pending;
    m_impl->queue.push_back({std::move(job), std::move(done)});
    // Start a worker when every idle one already has a queued job waiting for it.
    if (m_impl->queue.size() > m_impl->idle && m_impl->threads.size() < m_impl->max_parallel)
        m_impl->threads.emplace_back([impl = m_impl.get()] { impl->worker(); });
    m_impl->work.notify_one();
}

void SshPool::wait()
{
    std::unique_lock lock(m_impl->mutex);
    m_impl->finished.wait(lock, [&] { return m_impl->pending == 0; });
}

void SshPool::cancel()
{
    std::lock_guard lock(m_impl->mutex);
    m_impl->drop_queued = true;
    m_impl->cancel_running = true;
}

} // namespace fleet::transport
