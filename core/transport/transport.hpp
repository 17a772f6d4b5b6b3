#pragma once
// What every transport reports about one device operation, and the credential a device is
// reached with. Transports (ssh.hpp on libssh, http.hpp on libcurl's multi interface) depend
// only on util and model; rollouts and `exec`/`device check` build on them.
//
// Secrets: a Credential holds *paths* and environment variable names only. A transport reads
// the secret at the moment it connects and never copies it into a Result, a log line or an
// error message.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/model/resource.hpp"
#include "core/util/error.hpp"

namespace fleet::transport {

/// Why an operation on one device did not succeed. Drives per-device reporting and retries:
/// only `unreachable` is retried by a transport itself (connection-level failures).
enum class Failure {
    none,         ///< succeeded
    unreachable,  ///< name lookup failed, connection refused or timed out, dropped before any data
    host_key,     ///< SSH host key unknown (strict) or changed; TLS certificate not verified
    auth,         ///< the device refused the credential (SSH auth, HTTP 401/403)
    transfer,     ///< the connection broke or the device refused the data mid-upload
    timeout,      ///< a command, transfer or install result did not finish within its time
    remote,       ///< the device answered with a failure: exit status != 0, HTTP 4xx/5xx, SWUpdate FAILURE
    credential,   ///< the credential could not be used here: file missing, unreadable, wrong type
    cancelled,    ///< stopped by the caller (interrupt) before it finished
};

/// Stable lower-case name of a failure ("host-key"), used in tables, JSON and the store.
const char* failure_name(Failure failure);

/// Outcome of one operation on one device.
struct Outcome {
    Failure failure = Failure::none;
    std::string message;       ///< one line for people; names no secret
    int exit_status = -1;      ///< SSH: the remote command's exit status (-1: none)
    long http_status = 0;      ///< HTTP: the last response status (0: none)
    std::string stdout_tail;   ///< last bytes of stdout / the HTTP response body (at most tail_limit)
    std::string stderr_tail;   ///< last bytes of stderr (SSH)
    std::vector<std::string> messages;  ///< device-side messages (SWUpdate's status/info lines)
    std::chrono::milliseconds elapsed{0};

    bool ok() const { return failure == Failure::none; }
};

/// An outcome that failed so, with a message for people (no secret in it).
Outcome failed(Failure failure, std::string message);

/// Bytes of stdout/stderr/response body kept per device.
inline constexpr std::size_t tail_limit = 4096;

/// Appends data to a bounded tail, keeping its last tail_limit bytes.
void append_tail(std::string& tail, const char* data, std::size_t size);

/// A Credential object reduced to what a transport needs: kinds and paths, never secret values.
/// Paths are absolute or start with "~" (the loader resolved relative ones against the YAML file).
struct Credential {
    std::string name;
    std::string type;            ///< ssh-key | ssh-agent | http-bearer | http-basic | tls-client
    std::string private_key_file;
    std::string token_file;
    std::string username;
    std::string password_file;
    std::string cert_file;
    std::string key_file;
    std::string ca_file;
    std::string from_env;        ///< variable holding the secret: a path, or the PEM/token text itself
    std::string known_hosts_file;
    std::string host_key_policy = "strict";  ///< strict | accept-new
};

/// Reads a stored Credential object's spec.
Credential credential_from(const model::Resource& credential);

/// Reads a secret for use right now: the file at path, or, when from_env is set, the variable
/// (its value is a path when it names an existing file, else the secret text). Errors name the
/// credential and the path or variable, never the content.
util::Result<std::string> read_secret(const Credential& credential, const std::string& path);

} // namespace fleet::transport
