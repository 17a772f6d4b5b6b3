#include "core/transport/swupdate_ws.hpp"

#include <libwebsockets.h>
#include <nlohmann/json.hpp>
#include <openssl/x509.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/util/sha256.hpp"

namespace fleet::transport {

SwupdateMessage parse_swupdate_message(const std::string& text)
{
    SwupdateMessage message;
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return message;
    auto field = [&](const char* key) {
        auto it = json.find(key);
        return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    message.type = field("type");
    message.status = field("status");
    message.text = field("text");
    if (message.text.empty()) message.text = field("info");
    return message;
}

namespace {

/// One websocket, owned by the service thread from open() until close() or its end.
struct Watch {
    std::uint64_t id = 0;
    WsTarget target;
    lws* wsi = nullptr;
    std::string partial;  ///< fragments of the message being received
    std::string certificate_error;  ///< why OpenSSL rejected the device's certificate, if it did
    bool ended = false;   ///< connected/failed/closed reported as far as it goes
};

} // namespace

struct WsWatcher::Impl {
    std::function<void()> wake;
    struct ContextDestroy {
        void operator()(lws_context* c) const { lws_context_destroy(c); }
    };
    std::unique_ptr<lws_context, ContextDestroy> context;
    std::thread thread;

    std::mutex mutex;  // guards the four members below
    std::vector<std::pair<std::uint64_t, WsTarget>> to_open;
    std::vector<std::uint64_t> to_close;
    std::vector<std::pair<std::uint64_t, WsEvent>> events;
    bool stopping = false;

    // Service thread only.
    std::map<std::uint64_t, std::unique_ptr<Watch>> watches;
    std::map<std::string, lws_vhost*> tls_vhosts;  ///< by digest of the TLS settings
    int vhost_count = 0;

    void post(const Watch& watch, WsEvent::Kind kind, std::string text = {})
    {
        {
            std::lock_guard lock(mutex);
            events.emplace_back(watch.id, WsEvent{kind, std::move(text)});
        }
        wake();
    }

    lws_vhost* vhost_for(const WsTarget& target);
    void connect(std::uint64_t id, WsTarget target);
    void drop(std::uint64_t id);
    void run();
    static int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len);
    static const lws_protocols protocols[2];
};

const lws_protocols WsWatcher::Impl::protocols[2] = {
    {"fleetadm-swupdate", &WsWatcher::Impl::callback, 0, 4096, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

namespace {

/// Detaches a watch from its connection: later callbacks for that wsi are ignored.
void detach(Watch& watch)
{
    if (watch.wsi) lws_set_opaque_user_data(watch.wsi, nullptr);
    watch.wsi = nullptr;
    watch.ended = true;
}

} // namespace

int WsWatcher::Impl::callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len)
{
    auto* watch = static_cast<Watch*>(lws_get_opaque_user_data(wsi));
    if (watch == nullptr || watch->ended) return 0;
    auto* self = static_cast<Impl*>(lws_context_user(lws_get_context(wsi)));
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        const auto& auth = watch->target.authorization;
        if (auth.empty()) return 0;
        auto** p = static_cast<unsigned char**>(in);
        return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                            reinterpret_cast<const unsigned char*>(auth.data()),
                                            static_cast<int>(auth.size()), p, *p + len)
                   ? -1
                   : 0;
    }
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        // Only recorded: with preverify_ok == 0 libwebsockets fails the handshake whatever we return.
        if (len == 0) {
            int error = X509_STORE_CTX_get_error(static_cast<X509_STORE_CTX*>(user));
            watch->certificate_error = X509_verify_cert_error_string(error);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED: self->post(*watch, WsEvent::Kind::connected); return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        watch->partial.append(static_cast<const char*>(in), len);
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            self->post(*watch, WsEvent::Kind::text, std::move(watch->partial));
            watch->partial.clear();
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!watch->certificate_error.empty())
            self->post(*watch, WsEvent::Kind::failed, "certificate verify failed: " + watch->certificate_error);
        else
            self->post(*watch, WsEvent::Kind::failed,
                       in ? std::string(static_cast<const char*>(in)) : std::string("connection failed"));
        detach(*watch);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED: self->post(*watch, WsEvent::Kind::closed); detach(*watch); return 0;
    case LWS_CALLBACK_WSI_DESTROY: self->post(*watch, WsEvent::Kind::failed, "connection closed"); detach(*watch); return 0;
    default: return 0;
    }
}

lws_vhost* WsWatcher::Impl::vhost_for(const WsTarget& target)
{
    std::string key = util::sha256_hex(target.ca_file + '\0' + target.cert_pem + '\0' + target.key_pem);
    if (auto it = tls_vhosts.find(key); it != tls_vhosts.end()) return it->second;

    std::string name = "fleetadm-tls-" + std::to_string(++vhost_count);
    lws_context_creation_info info{};
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.vhost_name = name.c_str();
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    if (!target.ca_file.empty()) info.client_ssl_ca_filepath = target.ca_file.c_str();
    if (!target.cert_pem.empty()) {
        info.client_ssl_cert_mem = target.cert_pem.data();
        info.client_ssl_cert_mem_len = static_cast<unsigned>(target.cert_pem.size());
        info.client_ssl_key_mem = target.key_pem.data();
        info.client_ssl_key_mem_len = static_cast<unsigned>(target.key_pem.size());
    }
    lws_vhost* vhost = lws_create_vhost(context.get(), &info);
    if (vhost) tls_vhosts.emplace(key, vhost);
    return vhost;
}

void WsWatcher::Impl::connect(std::uint64_t id, WsTarget target)
{
    auto watch = std::make_unique<Watch>();
    watch->id = id;
    watch->target = std::move(target);
    const WsTarget& t = watch->target;
    lws_client_connect_info info{};
    info.context = context.get();
    info.address = t.host.c_str();
    info.port = t.port;
    info.path = t.path.c_str();
    info.host = t.host.c_str();
    info.origin = t.host.c_str();
    info.local_protocol_name = protocols[0].name;
    info.opaque_user_data = watch.get();
    info.pwsi = &watch->wsi;
    if (t.tls) {
        info.ssl_connection = LCCSCF_USE_SSL;
        info.vhost = vhost_for(t);
        if (info.vhost == nullptr) {
            post(*watch, WsEvent::Kind::failed, "cannot set up TLS (CA file or client certificate)");
            return;
        }
    }
    Watch& w = *watch;
    watches[id] = std::move(watch);
    // A failure reported from inside the call came through the callback already.
    if (lws_client_connect_via_info(&info) == nullptr && !w.ended) {
        post(w, WsEvent::Kind::failed, "cannot start the connection");
        detach(w);
    }
}

void WsWatcher::Impl::drop(std::uint64_t id)
{
    auto it = watches.find(id);
    if (it == watches.end()) return;
    if (lws* wsi = it->second->wsi) {
        detach(*it->second);
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    watches.erase(it);
}

void WsWatcher::Impl::run()
{
    for (;;) {
        std::vector<std::pair<std::uint64_t, WsTarget>> opens;
        std::vector<std::uint64_t> closes;
        {
            std::lock_guard lock(mutex);
            if (stopping) break;
            opens.swap(to_open);
            closes.swap(to_close);
        }
        for (auto& [id, target] : opens) connect(id, std::move(target));
        for (auto id : closes) drop(id);
        // Ended watches nobody closed yet stay until close(); their events are already posted.
        lws_service(context.get(), 0);  // returns after network activity or lws_cancel_service()
    }
    for (auto& [id, watch] : watches) detach(*watch);
    context.reset();
    watches.clear();
}

WsWatcher::WsWatcher(std::unique_ptr<Impl> impl) : m_impl(std::move(impl))
{
    m_impl->thread = std::thread([impl = m_impl.get()] { impl->run(); });
}

util::Result<std::unique_ptr<WsWatcher>> WsWatcher::create(std::function<void()> wake)
{
    auto impl = std::make_unique<Impl>();
    impl->wake = std::move(wake);
    lws_set_log_level(0, nullptr);  // failures reach the caller as events, not as log lines
    lws_context_creation_info info{};
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = Impl::protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.gid = -1;
    info.uid = -1;
    info.user = impl.get();
    impl->context.reset(lws_create_context(&info));
    if (impl->context == nullptr)
        return util::fail(util::ErrorKind::runtime, "cannot create the websocket context (libwebsockets)");
    return std::unique_ptr<WsWatcher>(new WsWatcher(std::move(impl)));
}

WsWatcher::~WsWatcher()
{
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->stopping = true;
    }
    lws_cancel_service(m_impl->context.get());
    m_impl->thread.join();
}

void WsWatcher::open(std::uint64_t id, WsTarget target)
{
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->to_open.emplace_back(id, std::move(target));
    }
    lws_cancel_service(m_impl->context.get());
}

void WsWatcher::close(std::uint64_t id)
{
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->to_close.push_back(id);
    }
    lws_cancel_service(m_impl->context.get());
}

std::vector<std::pair<std::uint64_t, WsEvent>> WsWatcher::take_events()
{
    std::lock_guard lock(m_impl->mutex);
    return std::exchange(m_impl->events, {});
}

} // namespace fleet::transport
