#include "core/transport/ssh_session.hpp"

#include "core/util/paths.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

namespace fleet::transport::detail {

namespace {

/// Serializes additions to known_hosts files, which several sessions may append to at once.
std::mutex known_hosts_mutex;

struct KeyFree {
    void operator()(ssh_key k) const { ssh_key_free(k); }
};

} // namespace

std::string session_error(ssh_session session) { return ssh_get_error(session); }

std::string credential_identity(const std::optional<Credential>& c)
{
    if (!c) return "";
    return fmt::format("\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", c->name, c->type, c->private_key_file, c->from_env,
                       c->known_hosts_file, c->host_key_policy);
}

std::expected<Session, Fault> configure_session(const SessionSettings& settings, std::string& known_hosts)
{
    Session session(ssh_new());
    if (!session) return std::unexpected(Fault{Failure::unreachable, "cannot create an SSH session"});
    ssh_session s = session.get();
    auto failed = [&](std::string cause) { return std::unexpected(Fault{Failure::unreachable, std::move(cause)}); };
    // libssh finds ~ through the password database; fleetadm follows $HOME like the rest of it.
    std::string ssh_dir = util::expand_home("~/.ssh");
    bool process_config = false;
    int nodelay = 1;
    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &process_config);  // only the file read below, never /etc
    ssh_options_set(s, SSH_OPTIONS_SSH_DIR, ssh_dir.c_str());
    if (ssh_options_set(s, SSH_OPTIONS_HOST, settings.host.c_str()) != SSH_OK)
        return failed("invalid host name: " + session_error(s));
    std::string config = ssh_dir + "/config";
    std::error_code ec;
    if (std::filesystem::exists(config, ec) && ssh_options_parse_config(s, config.c_str()) != SSH_OK)
        return failed(fmt::format("cannot read {}: {}", config, session_error(s)));
    // The device's (or hop's) own settings win over the config file's.
    if (settings.port > 0) {
        auto port = static_cast<unsigned int>(settings.port);
        ssh_options_set(s, SSH_OPTIONS_PORT, &port);
    }
    if (!settings.user.empty()) ssh_options_set(s, SSH_OPTIONS_USER, settings.user.c_str());
    const auto& cred = settings.credential;
    known_hosts = cred && !cred->known_hosts_file.empty() ? util::expand_home(cred->known_hosts_file)
                                                          : ssh_dir + "/known_hosts";
    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str());
    if (cred && !cred->known_hosts_file.empty())  // the credential's file is the only source of trust
        ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, known_hosts.c_str());
    long seconds = static_cast<long>(settings.timeout.count() / 1000);
    long usec = static_cast<long>(settings.timeout.count() % 1000) * 1000;
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &seconds);
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &usec);
    ssh_options_set(s, SSH_OPTIONS_NODELAY, &nodelay);
    return session;
}

std::pair<std::string, int> session_target(ssh_session session)
{
    std::string host;
    char* value = nullptr;
    if (ssh_options_get(session, SSH_OPTIONS_HOST, &value) == SSH_OK && value) {
        host = value;
        ssh_string_free_char(value);
    }
    unsigned int port = 22;
    ssh_options_get_port(session, &port);
    return {host, static_cast<int>(port)};
}

Step connect_session(ssh_session session, int fd)
{
    if (fd >= 0) {
        socket_t socket = fd;
        if (ssh_options_set(session, SSH_OPTIONS_FD, &socket) != SSH_OK) return fault(Failure::unreachable, session_error(session));
    }
    if (ssh_connect(session) != SSH_OK) return fault(Failure::unreachable, session_error(session));
    return {};
}

Step verify_host_key(ssh_session s, const std::optional<Credential>& credential, const std::string& known_hosts)
{
    bool accept_new = credential && credential->host_key_policy == "accept-new";
    std::unique_lock lock(known_hosts_mutex, std::defer_lock);
    if (accept_new) lock.lock();  // decide and record under one lock, so that two sessions agree
    switch (ssh_session_is_known_server(s)) {
    case SSH_KNOWN_HOSTS_OK: return {};
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
        return fault(Failure::host_key,
                     fmt::format("host key changed: the server's key does not match the one recorded in {} "
                                 "(refused; if the device was reinstalled, remove its old entry)",
                                 known_hosts));
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
        if (!accept_new)
            return fault(Failure::host_key,
                         fmt::format("host key unknown: not in {} (hostKeyPolicy strict; add it there, or use "
                                     "accept-new to record it on first contact)",
                                     known_hosts));
        if (ssh_session_update_known_hosts(s) != SSH_OK)
            return fault(Failure::host_key, fmt::format("cannot record the host key in {}: {}", known_hosts, session_error(s)));
        return {};
    case SSH_KNOWN_HOSTS_ERROR: break;
    }
    return fault(Failure::host_key, fmt::format("cannot check the host key against {}: {}", known_hosts, session_error(s)));
}

Step authenticate_session(ssh_session s, const std::optional<Credential>& cred)
{
    int rc = SSH_AUTH_DENIED;
    std::string how;
    if (cred && cred->type == "ssh-key") {
        auto text = read_secret(*cred, cred->private_key_file);
        if (!text) return fault(Failure::credential, text.error().message);
        ssh_key raw = nullptr;
        int imported = ssh_pki_import_privkey_base64(text->c_str(), nullptr, nullptr, nullptr, &raw);
        std::fill(text->begin(), text->end(), '\0');
        std::unique_ptr<ssh_key_struct, KeyFree> key(raw);
        if (imported != SSH_OK)
            return fault(Failure::credential, fmt::format("credential {}: the private key cannot be read (not an "
                                                          "unencrypted OpenSSH or PEM private key)",
                                                          cred->name));
        rc = ssh_userauth_publickey(s, nullptr, key.get());
        how = fmt::format("the key of credential {}", cred->name);
    } else if (cred && cred->type == "ssh-agent") {
        const char* sock = std::getenv("SSH_AUTH_SOCK");
        if (!sock || !*sock)
            return fault(Failure::credential, fmt::format("credential {}: no ssh-agent (SSH_AUTH_SOCK is not set)", cred->name));
        rc = ssh_userauth_agent(s, nullptr);
        how = fmt::format("the ssh-agent keys (credential {})", cred->name);
    } else if (cred) {
        return fault(Failure::credential,
                     fmt::format("credential {} has type {}; SSH needs ssh-key or ssh-agent", cred->name, cred->type));
    } else {
        rc = ssh_userauth_publickey_auto(s, nullptr, nullptr);
        how = "the ssh-agent and default keys";
    }
    if (rc == SSH_AUTH_SUCCESS) return {};
    if (rc == SSH_AUTH_ERROR) return fault(Failure::unreachable, "authentication failed: " + session_error(s));
    char* user = nullptr;
    std::string name = "?";
    if (ssh_options_get(s, SSH_OPTIONS_USER, &user) == SSH_OK && user) {
        name = user;
        ssh_string_free_char(user);
    }
    return fault(Failure::auth, fmt::format("user {} was refused with {}", name, how));
}

} // namespace fleet::transport::detail
