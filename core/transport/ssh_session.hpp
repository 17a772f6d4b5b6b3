#pragma once
// Opening one SSH session, the same way for a device and for each bastion on the way to it:
// ~/.ssh/config for the host, then the given port, user and the credential's known_hosts file;
// connect (or take an already connected stream: a tunnel through a bastion); check the host key
// under the credential's policy; authenticate with the credential. Internal to core/transport.

#include <libssh/libssh.h>

#include <chrono>
#include <expected>
#include <memory>
#include <optional>
#include <string>

#include "core/transport/transport.hpp"

namespace fleet::transport::detail {

struct SessionFree {
    void operator()(ssh_session s) const
    {
        ssh_disconnect(s);
        ssh_free(s);
    }
};
using Session = std::unique_ptr<ssh_session_struct, SessionFree>;

struct ChannelFree {
    void operator()(ssh_channel c) const { ssh_channel_free(c); }
};
using Channel = std::unique_ptr<ssh_channel_struct, ChannelFree>;

/// Why a step ended a job.
struct Fault {
    Failure failure;
    std::string cause;
};
using Step = std::expected<void, Fault>;

inline Step fault(Failure failure, std::string cause) { return std::unexpected(Fault{failure, std::move(cause)}); }

/// Where and how to log in.
struct SessionSettings {
    std::string host;  ///< a name, an address or a Host alias of ~/.ssh/config
    int port = 0;      ///< 0: ~/.ssh/config's or 22
    std::string user;  ///< empty: ~/.ssh/config's or the login name
    std::optional<Credential> credential;
    std::chrono::milliseconds timeout{10000};  ///< the connect timeout, which also bounds each blocking step
};

/// A new session configured for settings; known_hosts is set to the file its host key is checked
/// against. Nothing is connected yet.
std::expected<Session, Fault> configure_session(const SessionSettings& settings, std::string& known_hosts);

/// The host and port the session will connect to, after ~/.ssh/config (HostName, Port).
std::pair<std::string, int> session_target(ssh_session session);

/// Connects the session: to its host, or over fd (an already connected stream, which the session
/// then owns and closes) when fd >= 0.
Step connect_session(ssh_session session, int fd = -1);

/// Checks the server's host key against known_hosts under the credential's policy (strict, or
/// accept-new: an unknown key is recorded, under a lock shared by every session of the process).
Step verify_host_key(ssh_session session, const std::optional<Credential>& credential, const std::string& known_hosts);

/// Authenticates with the credential; without one, with the ssh-agent and the default keys.
Step authenticate_session(ssh_session session, const std::optional<Credential>& credential);

/// What a login with credential depends on (name, type, key source, known_hosts and policy), as
/// text: sessions and bastion connections are shared only between equal identities.
std::string credential_identity(const std::optional<Credential>& credential);

/// The session's last error text.
std::string session_error(ssh_session session);

} // namespace fleet::transport::detail
