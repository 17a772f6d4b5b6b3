#include "core/transport/ssh_tunnel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <cerrno>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace fleet::transport::detail {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// A connection with no tunnel for this long is closed.
constexpr milliseconds idle_limit{5000};
/// A failed connection to a chain is reported again, without retrying, for this long: twenty
/// devices behind a bastion that refuses us cost one attempt, not twenty.
constexpr milliseconds failure_memory{2000};
constexpr std::size_t relay_chunk = 32 * 1024;

/// One tunnel: a channel of the bastion's session and our end of the socket pair.
struct Relay {
    Channel channel;
    int local = -1;
    std::string to_local;       ///< read from the channel, not yet written to the socket
    bool local_eof = false;     ///< the device's session closed its side: EOF sent on the channel
    bool channel_eof = false;   ///< the far end closed: the socket's writing side shut down
    bool done = false;

    ~Relay()
    {
        if (local >= 0) ::close(local);
    }
};

struct OpenRequest {
    std::string host;
    int port = 0;
    std::promise<std::expected<int, Fault>> result;
    bool abandoned = false;  ///< the requester stopped waiting: a tunnel opened late is closed (under m_mutex)
};

/// One authenticated session to a bastion and the thread that owns it: libssh sessions are not
/// thread-safe, so channels are opened and relayed by that thread only.
class Bastion {
public:
    Bastion(Session session, std::string name) : m_session(std::move(session)), m_name(std::move(name))
    {
        if (::pipe2(m_wake, O_CLOEXEC | O_NONBLOCK) != 0) m_wake[0] = m_wake[1] = -1;
        m_thread = std::thread([this] { loop(); });
    }

    ~Bastion()
    {
        m_stop = true;
        wake();
        if (m_thread.joinable()) m_thread.join();
        for (int fd : m_wake)
            if (fd >= 0) ::close(fd);
    }

    Bastion(const Bastion&) = delete;
    Bastion& operator=(const Bastion&) = delete;

    /// Alive, and room for one more tunnel (which is counted at once).
    bool reserve()
    {
        if (m_dead) return false;
        std::size_t n = m_tunnels.load();
        while (n < max_channels)
            if (m_tunnels.compare_exchange_weak(n, n + 1)) return true;
        return false;
    }

    /// A tunnel to host:port over this connection (after reserve()). ended is set when the
    /// connection closed (idle, or dropped) before the request reached it: worth one retry.
    std::expected<int, Fault> open(const std::string& host, int port, milliseconds timeout, bool* ended = nullptr)
    {
        auto request = std::make_shared<OpenRequest>();
        request->host = host;
        request->port = port;
        auto result = request->result.get_future();
        {
            std::lock_guard lock(m_mutex);
            if (m_dead) {
                --m_tunnels;
                if (ended) *ended = true;
                return std::unexpected(Fault{Failure::unreachable, fmt::format("the connection to bastion {} dropped", m_name)});
            }
            m_requests.push_back(request);
        }
        wake();
        // The thread answers every request: within the channel's open timeout, or when it ends.
        if (result.wait_for(timeout * 2 + std::chrono::seconds(1)) != std::future_status::ready) {
            std::lock_guard lock(m_mutex);
            if (result.wait_for(milliseconds(0)) != std::future_status::ready) {
                request->abandoned = true;  // the thread closes the tunnel if it still opens
                return std::unexpected(Fault{Failure::unreachable, fmt::format("bastion {} did not answer in time", m_name)});
            }
        }
        return result.get();
    }

    bool alive() const { return !m_dead; }

private:
    void wake()
    {
        if (m_wake[1] >= 0) [[maybe_unused]] auto n = ::write(m_wake[1], "x", 1);
    }

    std::expected<int, Fault> open_channel(const OpenRequest& request, std::vector<std::unique_ptr<Relay>>& relays)
    {
        ssh_session s = m_session.get();
        auto refused = [&] {
            --m_tunnels;
            return std::unexpected(Fault{Failure::unreachable,
                                         fmt::format("unreachable via bastion {}: it could not connect to {}:{} ({})", m_name,
                                                     request.host, request.port, session_error(s))});
        };
        Channel channel(ssh_channel_new(s));
        if (!channel || ssh_channel_open_forward(channel.get(), request.host.c_str(), request.port, "127.0.0.1", 22) != SSH_OK)
            return refused();
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return refused();
        ::fcntl(pair[0], F_SETFL, ::fcntl(pair[0], F_GETFL) | O_NONBLOCK);
        auto relay = std::make_unique<Relay>();
        relay->channel = std::move(channel);
        relay->local = pair[0];
        relays.push_back(std::move(relay));
        return pair[1];
    }

    /// Moves what is ready in both directions of one tunnel; true when the channel holds more.
    bool pump(Relay& r, short revents, std::vector<char>& buffer)
    {
        ssh_channel ch = r.channel.get();
        if ((revents & (POLLIN | POLLHUP | POLLERR)) && !r.local_eof) {
            std::size_t room = std::min<std::size_t>(buffer.size(), ssh_channel_window_size(ch));
            if (room > 0) {
                ssize_t n = ::read(r.local, buffer.data(), room);
                if (n > 0) {
                    if (ssh_channel_write(ch, buffer.data(), static_cast<std::uint32_t>(n)) != n) r.done = true;
                } else if (n == 0) {
                    ssh_channel_send_eof(ch);
                    r.local_eof = true;
                } else if (errno != EAGAIN && errno != EINTR) {
                    r.done = true;
                }
            }
        }
        if (r.to_local.empty() && !r.done && !r.channel_eof) {
            int n = ssh_channel_read_nonblocking(ch, buffer.data(), static_cast<std::uint32_t>(buffer.size()), 0);
            if (n > 0) r.to_local.assign(buffer.data(), static_cast<std::size_t>(n));
            else if (n == SSH_ERROR) r.done = true;
        }
        if (!r.to_local.empty()) {
            ssize_t w = ::send(r.local, r.to_local.data(), r.to_local.size(), MSG_NOSIGNAL);
            if (w > 0) r.to_local.erase(0, static_cast<std::size_t>(w));
            else if (w < 0 && errno != EAGAIN && errno != EINTR) r.done = true;
        }
        bool more = false;
        if (r.to_local.empty() && !r.done && !r.channel_eof) {
            int available = ssh_channel_poll(ch, 0);
            if (available > 0) {
                more = true;
            } else if (available == SSH_EOF || ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch)) {
                ::shutdown(r.local, SHUT_WR);
                r.channel_eof = true;
            } else if (available == SSH_ERROR) {
                r.done = true;
            }
        }
        if (r.local_eof && r.channel_eof) r.done = true;
        return more;
    }

    void loop()
    {
        std::vector<std::unique_ptr<Relay>> relays;
        std::vector<char> buffer(relay_chunk);
        std::vector<pollfd> fds;
        auto idle_since = Clock::now();
        bool more = false;
        while (!m_stop) {
            std::deque<std::shared_ptr<OpenRequest>> requests;
            {
                std::lock_guard lock(m_mutex);
                requests.swap(m_requests);
            }
            for (auto& r : requests) {
                auto opened = open_channel(*r, relays);
                std::lock_guard lock(m_mutex);
                if (!r->abandoned)
                    r->result.set_value(std::move(opened));
                else if (opened)
                    ::close(*opened);  // nobody takes it: its relay sees EOF and ends
            }

            fds.clear();
            fds.push_back({m_wake[0], POLLIN, 0});
            fds.push_back({ssh_get_fd(m_session.get()), POLLIN, 0});
            for (const auto& r : relays) {
                short events = 0;
                if (!r->local_eof && ssh_channel_window_size(r->channel.get()) > 0) events |= POLLIN;
                if (!r->to_local.empty()) events |= POLLOUT;
                fds.push_back({r->local, events, 0});
            }
            int wait_ms = more ? 0 : 1000;
            if (relays.empty())
                wait_ms = static_cast<int>(std::max<milliseconds::rep>(
                    0, std::chrono::duration_cast<milliseconds>(idle_since + idle_limit - Clock::now()).count()));
            ::poll(fds.data(), fds.size(), wait_ms);
            if (fds[0].revents & POLLIN) {
                char drain[64];
                while (::read(m_wake[0], drain, sizeof drain) > 0) {
                }
            }
            more = false;
            for (std::size_t i = 0; i < relays.size(); ++i) more = pump(*relays[i], fds[i + 2].revents, buffer) || more;
            std::size_t before = relays.size();
            std::erase_if(relays, [](const auto& r) { return r->done; });
            m_tunnels -= before - relays.size();
            if (!relays.empty()) idle_since = Clock::now();
            bool lost = !ssh_is_connected(m_session.get());
            bool idle = relays.empty() && Clock::now() - idle_since >= idle_limit;
            if (lost || idle) break;
        }
        // Ending: tunnels close (their devices see the connection end), waiting requests fail.
        std::lock_guard lock(m_mutex);
        m_dead = true;
        relays.clear();
        for (auto& r : m_requests)
            r->result.set_value(std::unexpected(Fault{Failure::unreachable, fmt::format("the connection to bastion {} dropped", m_name)}));
        m_requests.clear();
    }

    Session m_session;
    std::string m_name;
    int m_wake[2] = {-1, -1};
    std::mutex m_mutex;
    std::deque<std::shared_ptr<OpenRequest>> m_requests;
    std::atomic<bool> m_stop{false};
    std::atomic<bool> m_dead{false};
    std::atomic<std::size_t> m_tunnels{0};
    std::thread m_thread;  // last: started once everything above exists
};

/// The process's bastion connections, per chain.
struct Registry {
    std::mutex mutex;
    int users = 0;  ///< pools alive (bastions_in_use)
    std::map<std::string, std::shared_ptr<std::mutex>> opening;  ///< one connection attempt per chain at a time
    std::map<std::string, std::vector<std::shared_ptr<Bastion>>> live;
    std::map<std::string, std::pair<Clock::time_point, Fault>> failed;
};

Registry& registry()
{
    static Registry r;
    return r;
}

std::expected<std::shared_ptr<Bastion>, Fault> connect_bastion(const std::vector<SshHop>& hops, std::size_t n,
                                                               milliseconds timeout);

/// A connection to the chain's n-th hop with room for one more tunnel, opened when there is none.
std::expected<std::shared_ptr<Bastion>, Fault> bastion_for(const std::vector<SshHop>& hops, std::size_t n, milliseconds timeout)
{
    auto& reg = registry();
    std::string key = chain_key(hops, n);
    std::shared_ptr<std::mutex> opening;
    {
        std::lock_guard lock(reg.mutex);
        auto& slot = reg.opening[key];
        if (!slot) slot = std::make_shared<std::mutex>();
        opening = slot;
    }
    std::lock_guard one_at_a_time(*opening);
    {
        std::lock_guard lock(reg.mutex);
        auto& list = reg.live[key];
        std::erase_if(list, [](const auto& b) { return !b->alive(); });
        for (auto& b : list)
            if (b->reserve()) return b;
        if (auto f = reg.failed.find(key); f != reg.failed.end() && Clock::now() - f->second.first < failure_memory)
            return std::unexpected(f->second.second);
    }
    auto made = connect_bastion(hops, n, timeout);
    std::lock_guard lock(reg.mutex);
    if (!made) {
        reg.failed[key] = {Clock::now(), made.error()};
        return made;
    }
    reg.failed.erase(key);
    (*made)->reserve();
    reg.live[key].push_back(*made);
    return made;
}

std::expected<std::shared_ptr<Bastion>, Fault> connect_bastion(const std::vector<SshHop>& hops, std::size_t n,
                                                               milliseconds timeout)
{
    const SshHop& hop = hops[n - 1];
    std::string known_hosts;
    auto session = configure_session({hop.host, hop.port, hop.user, hop.credential, timeout}, known_hosts);
    if (!session) return std::unexpected(session.error());
    auto [host, port] = session_target(session->get());
    std::string name = host == hop.host ? fmt::format("{}:{}", host, port) : fmt::format("{} ({}:{})", hop.host, host, port);
    int fd = -1;
    if (n > 1) {  // reached through the bastion before it
        auto previous = bastion_for(hops, n - 1, timeout);
        if (!previous) return std::unexpected(previous.error());
        auto tunnel = (*previous)->open(host, port, timeout);
        if (!tunnel) return std::unexpected(tunnel.error());
        fd = *tunnel;
    }
    if (auto step = connect_session(session->get(), fd); !step)
        return std::unexpected(Fault{Failure::unreachable, fmt::format("bastion {} unreachable: {}", name, step.error().cause)});
    if (auto step = verify_host_key(session->get(), hop.credential, known_hosts); !step)
        return std::unexpected(Fault{Failure::host_key, fmt::format("host key of bastion {}: {}", name, step.error().cause)});
    if (auto step = authenticate_session(session->get(), hop.credential); !step)
        return std::unexpected(Fault{step.error().failure, fmt::format("at bastion {}: {}", name, step.error().cause)});
    return std::make_shared<Bastion>(std::move(*session), name);
}

} // namespace

std::string chain_key(const std::vector<SshHop>& hops, std::size_t n)
{
    std::string key;
    for (std::size_t i = 0; i < n && i < hops.size(); ++i) {
        const auto& h = hops[i];
        key += fmt::format("{}\x1f{}\x1f{}", h.host, h.port, h.user) + credential_identity(h.credential) + "\x1e";
    }
    return key;
}

namespace {

/// "[user@]host[:port]" as ProxyJump writes a hop.
SshHop parse_hop(std::string text, const std::optional<Credential>& credential)
{
    SshHop hop;
    hop.credential = credential;
    if (auto at = text.rfind('@'); at != std::string::npos) {
        hop.user = text.substr(0, at);
        text.erase(0, at + 1);
    }
    if (auto colon = text.rfind(':'); colon != std::string::npos && text.find(']') == std::string::npos) {
        hop.port = std::atoi(text.substr(colon + 1).c_str());
        text.erase(colon);
    }
    if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
    hop.host = text;
    return hop;
}

} // namespace

std::vector<SshHop> config_jump(ssh_session session, const std::optional<Credential>& credential)
{
    char* value = nullptr;
    if (ssh_options_get(session, SSH_OPTIONS_PROXYCOMMAND, &value) != SSH_OK || !value) return {};
    std::string command = value;
    ssh_string_free_char(value);
    std::vector<std::string> words;
    for (std::size_t at = 0; at < command.size();) {
        auto end = command.find(' ', at);
        if (end == std::string::npos) end = command.size();
        if (end > at) words.push_back(command.substr(at, end - at));
        at = end + 1;
    }
    // Only the command libssh writes for ProxyJump; a ProxyCommand of the user's own is left alone.
    if (words.size() < 4 || words.front() != "ssh" || words[words.size() - 3] != "-W" || words[words.size() - 2] != "'[%h]:%p'")
        return {};
    SshHop first;
    std::vector<SshHop> rest;
    for (std::size_t i = 1; i + 3 < words.size(); i += 2) {
        const auto& flag = words[i];
        const auto& arg = words[i + 1];
        if (flag == "-l") first.user = arg;
        else if (flag == "-p") first.port = std::atoi(arg.c_str());
        else if (flag == "-J")
            for (std::size_t at = 0; at <= arg.size();) {
                auto comma = std::min(arg.find(',', at), arg.size());
                if (comma > at) rest.push_back(parse_hop(arg.substr(at, comma - at), credential));
                at = comma + 1;
            }
        else return {};  // not the form above
    }
    auto host = parse_hop(words.back(), credential);
    first.host = host.host;
    if (first.user.empty()) first.user = host.user;
    if (first.port == 0) first.port = host.port;
    first.credential = credential;
    std::vector<SshHop> hops{first};
    hops.insert(hops.end(), rest.begin(), rest.end());
    ssh_options_set(session, SSH_OPTIONS_PROXYCOMMAND, "none");
    return hops;
}

void bastions_in_use(int delta)
{
    auto& reg = registry();
    std::map<std::string, std::vector<std::shared_ptr<Bastion>>> closing;  // joined after the lock is released
    {
        std::lock_guard lock(reg.mutex);
        reg.users += delta;
        if (reg.users > 0) return;
        closing.swap(reg.live);
        reg.failed.clear();
    }
}

std::expected<int, Fault> open_tunnel(const std::vector<SshHop>& hops, const std::string& host, int port, milliseconds timeout)
{
    for (int attempt = 0;; ++attempt) {
        auto bastion = bastion_for(hops, hops.size(), timeout);
        if (!bastion) return std::unexpected(bastion.error());
        bool ended = false;
        auto tunnel = (*bastion)->open(host, port, timeout, &ended);
        if (tunnel || !ended || attempt > 0) return tunnel;  // a connection closing as it was chosen: once more
    }
}

} // namespace fleet::transport::detail
