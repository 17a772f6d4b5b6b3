#pragma once
// Reaching a device through bastions (jump hosts) with libssh 0.10, which has no ProxyJump of its
// own: a session to each bastion, reached through the one before it; a direct-tcpip channel of the
// last one to the device; and a socket pair whose one end the device's session is given
// (SSH_OPTIONS_FD) while the bastion connection's thread relays the other end over the channel.
//
// Connections are shared: every device behind the same chain of bastions (same hosts, ports,
// users and credentials) uses one connection per bastion, at most max_channels tunnels on each (a
// further connection is opened beyond that), so that a 200-device site costs one bastion login,
// not 200 (OpenSSH's MaxStartups would refuse them). A connection without tunnels for a few
// seconds is closed; one that drops ends its tunnels (their devices see the connection close), and
// the next tunnel opens a new one. Internal to core/transport.

#include <chrono>
#include <cstddef>
#include <expected>
#include <string>
#include <vector>

#include "core/transport/ssh.hpp"
#include "core/transport/ssh_session.hpp"

namespace fleet::transport::detail {

/// Tunnels at once over one bastion connection before another connection is opened.
constexpr std::size_t max_channels = 32;

/// The identity of the first n hops of a chain (hosts, ports, users, credentials): connections are
/// shared between tunnels of the same identity only.
std::string chain_key(const std::vector<SshHop>& hops, std::size_t n);

/// Opens a byte stream to host:port through hops (at least one) and returns a connected socket,
/// which the caller owns. A failure names the bastion: "bastion b (10.0.0.1:22) unreachable: …",
/// "host key of bastion b …" (Failure::host_key), "unreachable via bastion b: …" when the bastion
/// could not reach host:port.
std::expected<int, Fault> open_tunnel(const std::vector<SshHop>& hops, const std::string& host, int port,
                                      std::chrono::milliseconds timeout);

/// The ProxyJump of ~/.ssh/config for the session's host, as hops with credential: libssh 0.10
/// turns ProxyJump into a ProxyCommand running `ssh -J … -W '[%h]:%p' FIRST` (with the hops after
/// the first in the wrong order for two or more); that command is read back into hops in
/// ProxyJump's order and cleared, so that no ssh binary runs. Empty when the host has no ProxyJump.
std::vector<SshHop> config_jump(ssh_session session, const std::optional<Credential>& credential);

/// Counts the pools that may use bastion connections (+1 when one starts, -1 when it ends); when
/// none is left, every connection is closed and its thread joined. (Never left to static
/// destruction, which may come after libcrypto's own cleanup.)
void bastions_in_use(int delta);

} // namespace fleet::transport::detail
