#pragma once
// Reaching devices over SSH (libssh): one job per device = connect, verify the host key,
// authenticate, optionally upload a file over SFTP (temporary name, then rename) and optionally
// run a command with a deadline. SshPool runs jobs on worker threads, each owning its own
// ssh_session, so one slow or failing device never holds up the others.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/transport/transport.hpp"

namespace fleet::transport {

/// Where a device's OpenSSH server is and who to log in as.
struct SshEndpoint {
    std::string device;                     ///< device name, for messages
    std::string host;                       ///< host name, address or a Host alias of ~/.ssh/config
    int port = 0;                           ///< 0: ~/.ssh/config or 22
    std::string user;                       ///< empty: ~/.ssh/config or the login name
    std::optional<Credential> credential;   ///< none: ssh-agent and the default keys of ~/.ssh
};

/// One operation on one device.
struct SshJob {
    SshEndpoint endpoint;
    std::string upload_file;   ///< local file to copy first; empty: none
    /// When set, upload_file is a stored artifact: opened without following links and hashed while
    /// it is sent; a different SHA-256 fails the upload and nothing reaches upload_path.
    std::string upload_sha256;
    std::string upload_path;   ///< final remote path; written to a temporary name in the same directory, then renamed
    std::string command;       ///< remote command run after the upload; empty: none
    std::chrono::milliseconds connect_timeout{10000};  ///< also bounds each blocking protocol step
    std::chrono::milliseconds command_timeout{300000}; ///< the command's run time; an upload may not stall longer
};

/// Runs SSH jobs with bounded parallelism: at most max_parallel sessions at once.
class SshPool {
public:
    /// A pool of at most max_parallel worker threads (at least one), started as jobs arrive.
    /// With reuse_sessions, a session whose job ran to completion is kept open (up to max_parallel
    /// of them, each at most 10 s) for the next job to the same endpoint with the same credential:
    /// a rollout's upload, install and verify then share one connection. A kept session the
    /// device has closed meanwhile (a reboot) is noticed before anything runs, and the job runs
    /// on a new connection.
    explicit SshPool(std::size_t max_parallel, bool reuse_sessions = false);
    /// Cancels what has not started and waits for running jobs.
    ~SshPool();
    SshPool(const SshPool&) = delete;
    SshPool& operator=(const SshPool&) = delete;

    /// Queues a job; done runs on a worker thread with its outcome. Thread-safe.
    void submit(SshJob job, std::function<void(Outcome)> done);
    /// Returns when every submitted job has called done.
    void wait();
    /// Queued jobs end with Failure::cancelled; running ones stop at their next poll.
    void cancel();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace fleet::transport
