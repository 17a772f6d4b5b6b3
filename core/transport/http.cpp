// HttpClient: one libcurl multi handle driven by one thread.
//
// A job is queued by submit(); the thread starts it when fewer than max_parallel jobs run.
// Each attempt is a Transfer that owns its easy handle, mime, file, header list and outcome.
// The thread sleeps in curl_multi_poll(), woken by curl_multi_wakeup() for submissions,
// cancellation and websocket events. A connection-level failure (nothing reached the device
// or the device never answered) puts the job back with an exponential delay; anything the
// device answered is final.
//
// The swupdate profile opens the device's websocket first, starts the multipart upload only
// once the websocket is connected (so no status is missed), and ends on the device's terminal
// status: SUCCESS is ok, FAILURE is remote; the upload's 200 alone is not success.
#include "core/transport/http.hpp"

#include "core/util/files.hpp"
#include "core/util/paths.hpp"
#include "core/util/sha256.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <condition_variable>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/transport/swupdate_ws.hpp"

namespace fleet::transport {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

/// Device messages kept per job (SWUpdate can be chatty).
constexpr std::size_t messages_limit = 100;
/// How long to keep reading SWUpdate's messages after its terminal status: it sends statuses and
/// messages from different threads, so the reason for a FAILURE can arrive just after it.
constexpr milliseconds settle_time{300};

struct EasyDeleter {
    void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct MimeDeleter {
    void operator()(curl_mime* mime) const { curl_mime_free(mime); }
};
struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

/// A submitted job and what survives across its attempts.
struct Job {
    std::uint64_t id = 0;
    HttpJob spec;
    std::function<void(Outcome)> done;
    int attempts = 0;                ///< attempts started
    Clock::time_point started{};     ///< start of the first attempt
    Clock::time_point ready{};       ///< earliest start of the next attempt
};

/// Why an attempt ended, and whether a new attempt may help.
struct Verdict {
    Failure failure = Failure::none;
    std::string message;
    bool retry = false;
};

/// One attempt of one job.
struct Transfer {
    std::unique_ptr<Job> job;
    std::unique_ptr<CURL, EasyDeleter> easy;
    std::unique_ptr<curl_mime, MimeDeleter> mime;
    std::unique_ptr<std::FILE, FileCloser> file;
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    Outcome outcome;
    char error[CURL_ERROR_SIZE] = {};
    bool in_multi = false;
    bool response_started = false;  ///< a byte of the response arrived
    // A stored artifact's body is hashed as curl reads it (see on_read).
    std::unique_ptr<util::Sha256> hash;
    std::uint64_t body_size = 0, body_read = 0;
    bool body_verified = false;
    std::string integrity_error;    ///< why the body was cut short: it is not the artifact it claims to be
    // The secrets sent with this request: a device that echoes them back must not get them stored.
    std::vector<std::string> secrets;

    // swupdate profile
    enum class Phase {
        request,    ///< the HTTP request runs (curl's own timeouts apply)
        websocket,  ///< waiting for the websocket to connect
        result,     ///< uploaded, waiting for the terminal status
        settle,     ///< terminal status known, collecting the last messages
    } phase = Phase::request;
    bool ws_open = false;
    std::optional<Failure> device_result;  ///< from the terminal status, when it came
    Clock::time_point deadline{};          ///< websocket connect, then the install result
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user)
{
    auto* t = static_cast<Transfer*>(user);
    t->response_started = true;
    append_tail(t->outcome.stdout_tail, data, size * count);
    return size * count;
}

std::size_t on_header(char*, std::size_t size, std::size_t count, void* user)
{
    static_cast<Transfer*>(user)->response_started = true;
    return size * count;
}

/// Feeds the body to curl. A stored artifact is hashed on the way, and its last chunk is handed
/// over only when the whole file has the expected SHA-256: on a mismatch the request is aborted
/// before the device has the complete body, so it can never install it.
std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user)
{
    auto* t = static_cast<Transfer*>(user);
    std::FILE* file = t->file.get();
    std::size_t n = std::fread(buffer, size, count, file);
    if (n == 0 && std::ferror(file)) return CURL_READFUNC_ABORT;
    if (!t->hash) return n;
    const std::string& path = t->job->spec.upload_file;
    std::size_t bytes = n * size;
    t->body_read += bytes;
    if (t->body_verified ? bytes > 0 : t->body_read > t->body_size || (bytes == 0 && t->body_read < t->body_size)) {
        t->integrity_error = fmt::format("stored artifact {} changed size while it was sent: not installed", path);
        return CURL_READFUNC_ABORT;
    }
    if (t->body_verified) return n;
    t->hash->update({buffer, bytes});
    if (t->body_read < t->body_size) return n;
    t->body_verified = true;
    if (auto actual = util::to_hex(t->hash->digest()); actual != t->job->spec.upload_sha256) {
        t->integrity_error = fmt::format("stored artifact {} has SHA-256 {}, not {}: it was changed in the store; "
                                         "not installed",
                                         path, actual, t->job->spec.upload_sha256);
        return CURL_READFUNC_ABORT;
    }
    return n;
}

/// Rewinds the body for curl (a resend after a redirect or an auth round trip).
int on_seek(void* user, curl_off_t offset, int origin)
{
    auto* t = static_cast<Transfer*>(user);
    if (offset != 0 || origin != SEEK_SET || std::fseek(t->file.get(), 0, SEEK_SET) != 0)
        return CURL_SEEKFUNC_CANTSEEK;
    if (t->hash) t->hash->digest();  // starts over
    t->body_read = 0;
    t->body_verified = false;
    return CURL_SEEKFUNC_OK;
}

std::string trim_secret(std::string secret)
{
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' '))
        secret.pop_back();
    return secret;
}

std::string join_url(const std::string& base, const std::string& path)
{
    if (path.empty()) return base;
    if (base.ends_with('/') && path.starts_with('/')) return base + path.substr(1);
    if (!base.ends_with('/') && !path.starts_with('/')) return base + "/" + path;
    return base + path;
}

std::string seconds_text(milliseconds ms) { return fmt::format("{:g} s", static_cast<double>(ms.count()) / 1000.0); }

Verdict verdict_for_status(long status)
{
    if (status >= 200 && status < 300) return {Failure::none, fmt::format("HTTP {}", status)};
    if (status == 401 || status == 403) return {Failure::auth, fmt::format("HTTP {}: the device refused the credential", status)};
    return {Failure::remote, fmt::format("HTTP {}", status)};
}

Verdict verdict_for_error(const Transfer& t, CURLcode code)
{
    std::string detail = t.error[0] ? t.error : curl_easy_strerror(code);
    curl_off_t pretransfer = 0, uploaded = 0;
    curl_easy_getinfo(t.easy.get(), CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    curl_easy_getinfo(t.easy.get(), CURLINFO_SIZE_UPLOAD_T, &uploaded);
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return {Failure::unreachable, detail, true};
    case CURLE_OPERATION_TIMEDOUT:
        if (pretransfer == 0) return {Failure::unreachable, detail, true};
        return {Failure::timeout, fmt::format("no complete response within {}", seconds_text(t.job->spec.timeout))};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return {Failure::host_key, "TLS certificate not verified: " + detail};
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE: return {Failure::credential, detail};
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        // Reset before the device said anything: the request may be retried.
        if (!t.response_started)
            return {uploaded > 0 ? Failure::transfer : Failure::unreachable, "connection broken: " + detail, true};
        return {Failure::transfer, "connection broken: " + detail};
    case CURLE_ABORTED_BY_CALLBACK: return {Failure::cancelled, "cancelled"};
    default: return {Failure::transfer, detail};
    }
}

/// Maps a failed websocket connection; libwebsockets reports only text ("HS: …" for handshakes
/// the device answered, OpenSSL's verify error strings for certificates).
Verdict verdict_for_ws_failure(const std::string& text)
{
    if (text.find("unauthorized") != std::string::npos) return {Failure::auth, "websocket refused: " + text};
    if (text.starts_with("HS:")) return {Failure::remote, "the device refused the websocket: " + text};
    if (text.find("certificate") != std::string::npos || text.find("verif") != std::string::npos)
        return {Failure::host_key, "TLS certificate not verified (websocket): " + text};
    if (text.find("SSL") != std::string::npos || text.find("TLS") != std::string::npos)
        return {Failure::transfer, "websocket TLS handshake failed: " + text};
    return {Failure::unreachable, "websocket: " + text, true};
}

/// The websocket of an SWUpdate device: /ws next to the upload, same TLS settings and credential.
struct UrlCleanup {
    void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlFree {
    void operator()(char* text) const { curl_free(text); }
};
using CurlText = std::unique_ptr<char, CurlFree>;

/// One part of a parsed URL; null when it has none (or parsing it failed).
CurlText url_part(CURLU* url, CURLUPart part, unsigned int flags = 0)
{
    char* text = nullptr;
    if (curl_url_get(url, part, &text, flags) != CURLUE_OK) return nullptr;
    return CurlText(text);
}

std::optional<WsTarget> websocket_target(const std::string& base_url)
{
    std::unique_ptr<CURLU, UrlCleanup> url(curl_url());
    if (!url || curl_url_set(url.get(), CURLUPART_URL, base_url.c_str(), 0) != CURLUE_OK) return std::nullopt;
    auto scheme = url_part(url.get(), CURLUPART_SCHEME);
    auto host = url_part(url.get(), CURLUPART_HOST);
    auto port = url_part(url.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
    auto path = url_part(url.get(), CURLUPART_PATH);
    if (!scheme || !host || !port || !path) return std::nullopt;
    WsTarget t;
    t.tls = std::string(scheme.get()) == "https";
    t.host = host.get();
    if (t.host.starts_with('[') && t.host.ends_with(']')) t.host = t.host.substr(1, t.host.size() - 2);
    t.port = std::atoi(port.get());
    std::string prefix = path.get();
    while (prefix.ends_with('/')) prefix.pop_back();
    t.path = prefix + "/ws";
    return t;
}

std::string base64(const std::string& in)
{
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

/// Applies the credential to the request (and to the websocket target); reads secrets now.
std::optional<Verdict> apply_credential(Transfer& t, WsTarget* ws)
{
    if (!t.job->spec.credential) return std::nullopt;
    const Credential& cred = *t.job->spec.credential;
    CURL* easy = t.easy.get();
    auto refuse = [&](std::string message) { return Verdict{Failure::credential, std::move(message)}; };

    if (!cred.ca_file.empty()) {
        std::string ca = util::expand_home(cred.ca_file);
        curl_easy_setopt(easy, CURLOPT_CAINFO, ca.c_str());
        if (ws) ws->ca_file = ca;
    }
    if (cred.type == "http-bearer") {
        auto token = read_secret(cred, cred.token_file);
        if (!token) return refuse(token.error().message);
        std::string value = "Bearer " + trim_secret(std::move(*token));
        t.secrets.push_back(value.substr(7));
        t.headers.reset(curl_slist_append(t.headers.release(), ("Authorization: " + value).c_str()));
        if (ws) ws->authorization = std::move(value);
    } else if (cred.type == "http-basic") {
        auto password = read_secret(cred, cred.password_file);
        if (!password) return refuse(password.error().message);
        std::string pass = trim_secret(std::move(*password));
        t.secrets.push_back(pass);
        t.secrets.push_back(base64(cred.username + ":" + pass));
        curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(easy, CURLOPT_USERNAME, cred.username.c_str());
        curl_easy_setopt(easy, CURLOPT_PASSWORD, pass.c_str());
        if (ws) ws->authorization = "Basic " + base64(cred.username + ":" + pass);
    } else if (cred.type == "tls-client") {
        // fromEnv: one PEM text (or file) holding both certificate and key.
        auto cert = read_secret(cred, cred.cert_file);
        if (!cert) return refuse(cert.error().message);
        auto key = cred.from_env.empty() ? read_secret(cred, cred.key_file) : cert;
        if (!key) return refuse(key.error().message);
        curl_blob cert_blob{cert->data(), cert->size(), CURL_BLOB_COPY};
        curl_blob key_blob{key->data(), key->size(), CURL_BLOB_COPY};
        curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert_blob);
        curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key_blob);
        curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
        if (ws) {
            ws->cert_pem = std::move(*cert);
            ws->key_pem = std::move(*key);
        }
    } else {
        return refuse(fmt::format("credential {} has type {}, which HTTP cannot use", cred.name, cred.type));
    }
    return std::nullopt;
}

/// Sets the request body: multipart from the file, a raw stream from the file, or none.
std::optional<Verdict> apply_body(Transfer& t)
{
    const HttpJob& spec = t.job->spec;
    CURL* easy = t.easy.get();
    bool put = spec.method == "PUT";
    if (spec.method == "GET") {
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        return std::nullopt;
    }
    if (!put && spec.method != "POST")
        return Verdict{Failure::transfer, fmt::format("HTTP method {} is not supported (GET, POST, PUT)", spec.method)};

    curl_off_t size = 0;
    if (!spec.upload_file.empty()) {
        // A stored artifact is content: never read through a link, only a regular file, hashed as sent.
        bool artifact = !spec.upload_sha256.empty();
        util::Fd fd(::open(spec.upload_file.c_str(), O_RDONLY | O_CLOEXEC | (artifact ? O_NOFOLLOW | O_NONBLOCK : 0)));
        struct stat st {};
        if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
            return Verdict{Failure::transfer, fmt::format("cannot read {}: {}", spec.upload_file,
                                                          fd.get() < 0 ? std::strerror(errno) : "not a regular file")};
        ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
        t.file.reset(::fdopen(fd.get(), "rb"));
        if (!t.file) return Verdict{Failure::transfer, fmt::format("cannot read {}", spec.upload_file)};
        fd.release();  // the FILE owns the descriptor now
        size = static_cast<curl_off_t>(st.st_size);
        t.body_size = static_cast<std::uint64_t>(st.st_size);
        if (artifact) t.hash = std::make_unique<util::Sha256>();
    }
    if (!spec.form_field.empty()) {
        t.mime.reset(curl_mime_init(easy));
        curl_mimepart* part = curl_mime_addpart(t.mime.get());
        curl_mime_name(part, spec.form_field.c_str());
        if (t.file) {
            // Streamed through on_read (not curl_mime_filedata) so that the artifact is hashed as it goes.
            curl_mime_data_cb(part, size, &on_read, &on_seek, nullptr, &t);
            curl_mime_filename(part, std::filesystem::path(spec.upload_file).filename().c_str());
            curl_mime_type(part, "application/octet-stream");
        } else {
            curl_mime_data(part, "", 0);
        }
        curl_easy_setopt(easy, CURLOPT_MIMEPOST, t.mime.get());
        if (put) curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
        return std::nullopt;
    }
    if (!t.file) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
        if (put) curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
        return std::nullopt;
    }
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, &on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, &t);
    curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, &on_seek);
    curl_easy_setopt(easy, CURLOPT_SEEKDATA, &t);
    if (put) {
        curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, size);
    } else {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, size);
    }
    return std::nullopt;
}

} // namespace

struct MultiCleanup {
    void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};

struct HttpClient::Impl {
    std::size_t max_parallel = 1;
    std::unique_ptr<CURLM, MultiCleanup> multi_handle;
    CURLM* multi = nullptr;  ///< multi_handle's, for the many calls that take it
    std::thread thread;
    std::unique_ptr<WsWatcher> watcher;  ///< created for the first swupdate job; client thread only

    std::mutex mutex;  // guards the members up to the next blank line
    std::condition_variable idle;
    std::vector<std::unique_ptr<Job>> inbox;
    std::size_t outstanding = 0;  ///< submitted, done not yet called
    bool cancel_requested = false;
    bool stopping = false;
    std::uint64_t next_id = 1;

    // Client thread only.
    std::deque<std::unique_ptr<Job>> queue;            ///< waiting for a slot, oldest first
    std::vector<std::unique_ptr<Job>> delayed;         ///< waiting for their retry time
    std::map<std::uint64_t, std::unique_ptr<Transfer>> active;

    void run();
    void start(std::unique_ptr<Job> job);
    void add_to_multi(Transfer& t);
    void on_curl_done(Transfer& t, CURLcode code);
    void on_ws_events();
    void on_deadlines();
    void settle(Transfer& t);
    void end_attempt(std::uint64_t id, Verdict verdict);
    void finish(std::unique_ptr<Job> job, Outcome outcome);
    void cancel_all();
    int poll_timeout_ms() const;
};

void HttpClient::Impl::run()
{
    for (;;) {
        std::vector<std::unique_ptr<Job>> incoming;
        bool cancel_now = false, stop = false;
        {
            std::lock_guard lock(mutex);
            incoming.swap(inbox);
            cancel_now = std::exchange(cancel_requested, false);
            stop = stopping;
        }
        for (auto& job : incoming) queue.push_back(std::move(job));
        if (cancel_now || stop) cancel_all();
        if (stop) break;

        on_ws_events();
        auto now = Clock::now();
        for (auto it = delayed.begin(); it != delayed.end();) {
            if ((*it)->ready <= now) {
                queue.push_front(std::move(*it));
                it = delayed.erase(it);
            } else {
                ++it;
            }
        }
        while (active.size() < max_parallel && !queue.empty()) {
            auto job = std::move(queue.front());
            queue.pop_front();
            start(std::move(job));
        }

        int running = 0;
        curl_multi_perform(multi, &running);
        int left = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
            if (msg->msg != CURLMSG_DONE) continue;
            Transfer* t = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
            on_curl_done(*t, msg->data.result);
        }
        on_deadlines();
        curl_multi_poll(multi, nullptr, 0, poll_timeout_ms(), nullptr);
    }
}

int HttpClient::Impl::poll_timeout_ms() const
{
    if (active.size() < max_parallel && !queue.empty()) return 0;
    auto now = Clock::now();
    auto next = now + milliseconds(1000);
    for (const auto& job : delayed) next = std::min(next, job->ready);
    for (const auto& [id, t] : active)
        if (t->phase != Transfer::Phase::request) next = std::min(next, t->deadline);
    return static_cast<int>(std::max<std::int64_t>(0, duration_cast<milliseconds>(next - now).count() + 1));
}

void HttpClient::Impl::start(std::unique_ptr<Job> job)
{
    auto now = Clock::now();
    if (job->attempts++ == 0) job->started = now;
    const HttpJob& spec = job->spec;
    bool swupdate = spec.profile == "swupdate";

    auto t = std::make_unique<Transfer>();
    t->job = std::move(job);
    t->easy.reset(curl_easy_init());
    CURL* easy = t->easy.get();
    std::string path = swupdate && (spec.path.empty() || spec.path == "/") ? "/upload" : spec.path;
    std::string url = join_url(spec.base_url, path);
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(spec.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(spec.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());

    // No "Expect: 100-continue": small devices often ignore it, and waiting costs a round trip.
    t->headers.reset(curl_slist_append(nullptr, "Expect:"));
    for (const auto& header : spec.headers) t->headers.reset(curl_slist_append(t->headers.release(), header.c_str()));

    std::optional<WsTarget> ws;
    if (swupdate) {
        ws = websocket_target(spec.base_url);
        if (!ws) {
            finish(std::move(t->job), failed(Failure::transfer, fmt::format("invalid URL {}", spec.base_url)));
            return;
        }
        if (spec.form_field.empty()) t->job->spec.form_field = swupdate_form_field;
        if (spec.method == "GET") t->job->spec.method = "POST";
    }
    std::optional<Verdict> refused = apply_credential(*t, ws ? &*ws : nullptr);
    if (!refused) refused = apply_body(*t);
    if (refused) {
        finish(std::move(t->job), failed(refused->failure, std::move(refused->message)));
        return;
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers.get());

    std::uint64_t id = t->job->id;
    Transfer& ref = *t;
    active.emplace(id, std::move(t));
    if (swupdate) {
        if (!watcher) {
            auto created = WsWatcher::create([this] { curl_multi_wakeup(multi); });
            if (!created) {
                // No websocket, no install result: the job fails here, on the client's thread.
                auto job = std::move(ref.job);
                active.erase(id);
                finish(std::move(job), failed(Failure::transfer, created.error().message));
                return;
            }
            watcher = std::move(*created);
        }
        ref.phase = Transfer::Phase::websocket;
        ref.deadline = now + spec.connect_timeout;
        ref.ws_open = true;
        watcher->open(id, std::move(*ws));
    } else {
        add_to_multi(ref);
    }
}

void HttpClient::Impl::add_to_multi(Transfer& t)
{
    curl_multi_add_handle(multi, t.easy.get());
    t.in_multi = true;
}

void HttpClient::Impl::on_curl_done(Transfer& t, CURLcode code)
{
    curl_multi_remove_handle(multi, t.easy.get());
    t.in_multi = false;
    curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &t.outcome.http_status);
    Verdict verdict = code == CURLE_OK ? verdict_for_status(t.outcome.http_status) : verdict_for_error(t, code);
    std::uint64_t id = t.job->id;
    if (!t.integrity_error.empty()) return end_attempt(id, {Failure::transfer, t.integrity_error});
    if (t.job->spec.profile == "swupdate") {
        // The device's verdict wins over the upload's: FAILURE may cut the upload short.
        if (t.device_result == Failure::remote || (verdict.failure == Failure::none && t.device_result)) {
            settle(t);
            return;
        }
        if (verdict.failure == Failure::none) {
            t.phase = Transfer::Phase::result;  // deadline: the job's timeout from the upload's start
            return;
        }
    }
    end_attempt(id, std::move(verdict));
}

void HttpClient::Impl::on_ws_events()
{
    if (!watcher) return;
    for (auto& [id, event] : watcher->take_events()) {
        auto it = active.find(id);
        if (it == active.end()) continue;
        Transfer& t = *it->second;
        switch (event.kind) {
        case WsEvent::Kind::connected:
            if (t.phase == Transfer::Phase::websocket) {
                t.phase = Transfer::Phase::request;
                t.deadline = Clock::now() + t.job->spec.timeout;
                add_to_multi(t);
            }
            break;
        case WsEvent::Kind::text: {
            SwupdateMessage message = parse_swupdate_message(event.text);
            if ((message.type == "message" || message.type == "info") && !message.text.empty()) {
                t.outcome.messages.push_back(message.text);
                if (t.outcome.messages.size() > messages_limit) t.outcome.messages.erase(t.outcome.messages.begin());
            }
            if (message.type != "status" || t.device_result) break;
            if (message.status == "SUCCESS") t.device_result = Failure::none;
            if (message.status == "FAILURE") t.device_result = Failure::remote;
            if (t.device_result && (t.phase == Transfer::Phase::result || *t.device_result == Failure::remote))
                settle(t);
            break;
        }
        case WsEvent::Kind::failed:
        case WsEvent::Kind::closed:
            t.ws_open = false;
            if (t.phase == Transfer::Phase::settle) {
                t.deadline = Clock::now();  // nothing more can come
            } else if (t.device_result) {
                break;  // the upload is still running; its end settles
            } else if (t.phase == Transfer::Phase::websocket) {
                end_attempt(id, verdict_for_ws_failure(event.text));
            } else {
                end_attempt(id, {Failure::transfer, "the device closed its websocket before reporting a result"});
            }
            break;
        }
    }
}

void HttpClient::Impl::on_deadlines()
{
    auto now = Clock::now();
    std::vector<std::pair<std::uint64_t, Verdict>> expired;
    for (const auto& [id, t] : active) {
        if (t->phase == Transfer::Phase::request || t->deadline > now) continue;
        if (t->phase == Transfer::Phase::websocket)
            expired.emplace_back(id, Verdict{Failure::unreachable, "websocket connect timed out", true});
        else if (t->phase == Transfer::Phase::settle)
            expired.emplace_back(id, *t->device_result == Failure::none
                                         ? Verdict{Failure::none, "SWUpdate reported SUCCESS"}
                                         : Verdict{Failure::remote, "SWUpdate reported FAILURE"});
        else
            expired.emplace_back(id, Verdict{Failure::timeout, fmt::format("no install result within {}",
                                                                            seconds_text(t->job->spec.timeout))});
    }
    for (auto& [id, verdict] : expired) end_attempt(id, std::move(verdict));
}

void HttpClient::Impl::settle(Transfer& t)
{
    if (t.in_multi) {
        curl_multi_remove_handle(multi, t.easy.get());
        t.in_multi = false;
    }
    t.phase = Transfer::Phase::settle;
    t.deadline = t.ws_open ? Clock::now() + settle_time : Clock::now();
}

void HttpClient::Impl::end_attempt(std::uint64_t id, Verdict verdict)
{
    auto node = active.extract(id);
    std::unique_ptr<Transfer> t = std::move(node.mapped());
    if (t->in_multi) curl_multi_remove_handle(multi, t->easy.get());
    if (t->ws_open) watcher->close(id);
    std::unique_ptr<Job> job = std::move(t->job);
    if (verdict.retry && job->attempts <= job->spec.retries) {
        job->ready = Clock::now() + HttpClient::backoff(job->attempts);
        delayed.push_back(std::move(job));
        return;
    }
    Outcome outcome = std::move(t->outcome);
    outcome.failure = verdict.failure;
    outcome.message = std::move(verdict.message);
    for (const auto& secret : t->secrets) {
        if (secret.empty()) continue;
        for (std::string* text : {&outcome.stdout_tail, &outcome.stderr_tail, &outcome.message})
            for (auto at = text->find(secret); at != std::string::npos; at = text->find(secret, at + 10))
                text->replace(at, secret.size(), "[redacted]");
    }
    if (verdict.retry && job->attempts > 1) outcome.message += fmt::format(" (after {} attempts)", job->attempts);
    finish(std::move(job), std::move(outcome));
}

void HttpClient::Impl::finish(std::unique_ptr<Job> job, Outcome outcome)
{
    if (job->attempts > 0) outcome.elapsed = duration_cast<milliseconds>(Clock::now() - job->started);
    auto done = std::move(job->done);
    job.reset();
    done(std::move(outcome));
    std::lock_guard lock(mutex);
    --outstanding;
    idle.notify_all();
}

void HttpClient::Impl::cancel_all()
{
    std::vector<std::uint64_t> running;
    for (const auto& [id, t] : active) running.push_back(id);
    for (auto id : running) end_attempt(id, {Failure::cancelled, "cancelled"});
    auto cancel = [&](std::unique_ptr<Job>& job) { finish(std::move(job), failed(Failure::cancelled, "cancelled")); };
    for (auto& job : delayed) cancel(job);
    delayed.clear();
    while (!queue.empty()) {
        auto job = std::move(queue.front());
        queue.pop_front();
        cancel(job);
    }
}

HttpClient::HttpClient(std::size_t max_parallel) : m_impl(std::make_unique<Impl>())
{
    static const bool initialized = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    (void)initialized;
    m_impl->max_parallel = std::max<std::size_t>(1, max_parallel);
    m_impl->multi_handle.reset(curl_multi_init());
    if (!m_impl->multi_handle) throw std::runtime_error("cannot start libcurl (curl_multi_init failed)");
    m_impl->multi = m_impl->multi_handle.get();
    curl_multi_setopt(m_impl->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(m_impl->max_parallel));
    m_impl->thread = std::thread([impl = m_impl.get()] { impl->run(); });
}

HttpClient::~HttpClient()
{
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->stopping = true;
    }
    curl_multi_wakeup(m_impl->multi);
    m_impl->thread.join();
    m_impl->watcher.reset();       // its wake callback uses the multi handle: gone first
    m_impl->multi_handle.reset();  // then the multi handle, before the transfers' easy handles, as always
    m_impl->multi = nullptr;
}

void HttpClient::submit(HttpJob job, std::function<void(Outcome)> done)
{
    {
        std::lock_guard lock(m_impl->mutex);
        auto entry = std::make_unique<Job>();
        entry->id = m_impl->next_id++;
        entry->spec = std::move(job);
        entry->done = std::move(done);
        m_impl->inbox.push_back(std::move(entry));
        ++m_impl->outstanding;
    }
    curl_multi_wakeup(m_impl->multi);
}

void HttpClient::wait()
{
    std::unique_lock lock(m_impl->mutex);
    m_impl->idle.wait(lock, [&] { return m_impl->outstanding == 0; });
}

void HttpClient::cancel()
{
    {
        std::lock_guard lock(m_impl->mutex);
        m_impl->cancel_requested = true;
    }
    curl_multi_wakeup(m_impl->multi);
}

std::chrono::milliseconds HttpClient::backoff(int attempt)
{
    return std::min(milliseconds(8000), milliseconds(250) * (1 << std::min(attempt - 1, 5)));
}

} // namespace fleet::transport
