#pragma once
// SWUpdate's progress websocket (`/ws` on its embedded web server), on libwebsockets.
// libwebsockets is not thread-safe, so one thread owns its context and every connection;
// other threads hand it requests through a locked queue and lws_cancel_service(), and get
// events back through take_events() after the wake callback told them to look.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/util/error.hpp"

namespace fleet::transport {

/// Where and how to open one websocket.
struct WsTarget {
    std::string host;
    int port = 0;
    std::string path = "/ws";
    bool tls = false;
    std::string ca_file;        ///< empty: the system's trust store
    std::string cert_pem;       ///< TLS client certificate (PEM text); empty: none
    std::string key_pem;        ///< its private key (PEM text)
    std::string authorization;  ///< value of the Authorization header; empty: none
};

/// Something that happened on one watched websocket.
struct WsEvent {
    enum class Kind {
        connected,  ///< the handshake completed: statuses from now on reach us
        failed,     ///< the connection or handshake failed; text says why
        text,       ///< one complete text message
        closed,     ///< the connection ended after it had been established
    };
    Kind kind = Kind::text;
    std::string text;
};

/// One parsed SWUpdate progress message: {"type":"status","status":"SUCCESS"} and friends.
struct SwupdateMessage {
    std::string type;    ///< status | message | info | source | step | … (empty: not JSON)
    std::string status;  ///< for type status: IDLE | START | RUN | SUCCESS | FAILURE | DONE
    std::string text;    ///< for type message/info: the human-readable line
};

/// Parses one websocket message from SWUpdate; anything unparsable comes back with an empty type.
SwupdateMessage parse_swupdate_message(const std::string& text);

/// Owns the libwebsockets context and its service thread; watches any number of websockets.
class WsWatcher {
public:
    /// Creates the libwebsockets context and starts the service thread; wake is called (from that
    /// thread) whenever events are waiting. A context libwebsockets cannot create is an error
    /// (Failure-level: the caller fails its swupdate jobs), never an exception.
    static util::Result<std::unique_ptr<WsWatcher>> create(std::function<void()> wake);
    /// Closes every connection and stops the thread.
    ~WsWatcher();
    WsWatcher(const WsWatcher&) = delete;
    WsWatcher& operator=(const WsWatcher&) = delete;

    /// Opens a websocket for id; thread-safe. Its events arrive through take_events().
    void open(std::uint64_t id, WsTarget target);
    /// Closes the websocket of id, if any; thread-safe. No events for id follow.
    void close(std::uint64_t id);
    /// Events since the last call, oldest first; thread-safe.
    std::vector<std::pair<std::uint64_t, WsEvent>> take_events();

private:
    struct Impl;
    explicit WsWatcher(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace fleet::transport
