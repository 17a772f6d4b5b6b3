#pragma once
// Test support: a real OpenSSH server (/usr/sbin/sshd) on 127.0.0.1 and a free port, with its own
// host key and one authorized user key, running as the current user (root or not).

#include <filesystem>
#include <memory>
#include <string>

#include "tests/support/process.hpp"

namespace fleet::test {

/// Generates an ed25519 key pair without passphrase at path (and path.pub).
void generate_key(const std::filesystem::path& path);

/// A port on 127.0.0.1 where nothing listens.
int closed_port();

/// The current user's login name.
std::string login_name();

/// A throwaway sshd; stopped when the object dies.
class Sshd {
public:
    /// Server settings beyond the defaults.
    struct Options {
        /// The sftp subsystem command line (run by the login shell).
        std::string sftp = "/usr/lib/openssh/sftp-server";
        /// Run inside this network namespace (`ip netns exec`), listening on address:2222 there.
        std::string netns;
        std::string address = "127.0.0.1";

        static Options with_sftp(std::string command)
        {
            Options o;
            o.sftp = std::move(command);
            return o;
        }
        static Options in_namespace(std::string netns, std::string address)
        {
            Options o;
            o.netns = std::move(netns);
            o.address = std::move(address);
            return o;
        }
    };

    Sshd();
    explicit Sshd(Options options);
    ~Sshd();
    Sshd(const Sshd&) = delete;
    Sshd& operator=(const Sshd&) = delete;

    /// The port it listens on.
    int port() const { return m_port; }
    /// The private key of the authorized user key.
    std::filesystem::path user_key() const { return m_dir.path() / "user_key"; }
    /// The address it listens on.
    const std::string& address() const { return m_options.address; }
    /// A known_hosts line for the current host key ("[127.0.0.1]:PORT ssh-ed25519 AAAA...").
    std::string known_hosts_line() const;
    /// Replaces the host key with a new one and restarts on the same port.
    void change_host_key();
    /// How many logins it accepted so far.
    std::size_t accepted_logins() const;
    /// What the server logged so far (LogLevel VERBOSE: every connection is named).
    std::string log() const;
    /// A scratch directory of this server, for files uploaded in tests.
    const std::filesystem::path& dir() const { return m_dir.path(); }

private:
    void start();
    void stop();

    struct Process;
    Options m_options;
    TempDir m_dir;
    int m_port = 0;
    std::unique_ptr<Process> m_process;
};

} // namespace fleet::test
