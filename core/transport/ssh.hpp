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
#include <vector>

#include <nlohmann/json.hpp>

#include "core/transport/transport.hpp"
#include "core/util/error.hpp"

namespace fleet::transport {

/// One bastion (jump host) on the way to a device: reached directly when it is the first, else
/// through the one before it; its host key is checked and its login made with its own credential.
struct SshHop {
    std::string host;                       ///< host name, address or a Host alias of ~/.ssh/config
    int port = 0;                           ///< 0: ~/.ssh/config or 22
    std::string user;                       ///< empty: ~/.ssh/config or the login name
    std::optional<Credential> credential;   ///< a credential of the device's own tenant
};

/// Where a device's OpenSSH server is and who to log in as.
struct SshEndpoint {
    std::string device;                     ///< device name, for messages
    std::string host;                       ///< host name, address or a Host alias of ~/.ssh/config
    int port = 0;                           ///< 0: ~/.ssh/config or 22
    std::string user;                       ///< empty: ~/.ssh/config or the login name
    std::optional<Credential> credential;   ///< none: ssh-agent and the default keys of ~/.ssh
    /// Bastions to pass, first to last; empty: connect directly. Devices behind the same bastions
    /// share one connection to them (see ssh_tunnel.hpp).
    std::vector<SshHop> jump;
};

/// Finds a credential by name in the device's tenant: nullopt when it has none of that name.
using CredentialLookup = std::function<util::Result<std::optional<Credential>>(const std::string& name)>;

/// The bastions of a device's spec.ssh (its `jump` list), each with its own credential, else the
/// device's. A credential that does not exist is a not_found error naming it; lookup's errors pass.
util::Result<std::vector<SshHop>> jump_hops(const nlohmann::json& ssh, const std::optional<Credential>& device_credential,
                                            const CredentialLookup& lookup);

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
