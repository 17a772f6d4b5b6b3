#pragma once
// HTTP push to devices on libcurl's multi interface: one multi handle driven by the client's own
// thread, at most max_parallel jobs at once, uploads streamed from disk. The `swupdate` profile
// also follows SWUpdate's websocket (swupdate_ws.hpp) until the device reports its install result.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/transport/transport.hpp"

namespace fleet::transport {

/// One request to one device.
struct HttpJob {
    std::string device;
    std::string base_url;        ///< the device's spec.http.url
    std::string path = "/";      ///< appended to base_url (swupdate profile: /upload; websocket at /ws)
    std::string method = "POST"; ///< GET | POST | PUT
    std::string upload_file;     ///< streamed from disk, never read whole into memory; empty: no body
    /// When set, upload_file is a stored artifact: opened without following links and hashed while
    /// it is sent; a different SHA-256 aborts the request before its last byte, and the job fails.
    std::string upload_sha256;
    std::string form_field;      ///< non-empty: multipart/form-data with this field name; empty: raw body
    std::vector<std::string> headers;      ///< "Name: value" lines
    std::optional<Credential> credential;  ///< http-bearer | http-basic | tls-client (+ caFile for any)
    std::string profile = "generic";       ///< generic | swupdate
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds timeout{300000};  ///< whole transfer, and for swupdate also the wait for the result
    int retries = 2;             ///< connection-level failures only, exponential backoff
};

/// The multipart field SWUpdate's web UI (Dropzone) uploads the .swu in.
inline constexpr const char* swupdate_form_field = "file";

/// Runs HttpJobs with bounded parallelism; one device's slowness never holds up the others.
class HttpClient {
public:
    /// Starts the client's thread; at most max_parallel jobs (at least 1) run at once.
    explicit HttpClient(std::size_t max_parallel);
    /// Cancels every job not finished yet (done is still called, with Failure::cancelled) and stops.
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    /// Queues a job; thread-safe. done runs on the client's thread, once per job.
    void submit(HttpJob job, std::function<void(Outcome)> done);
    /// Returns when every submitted job has called done.
    void wait();
    /// Ends queued and running jobs with Failure::cancelled.
    void cancel();

    /// The retry delay before attempt n+1 (n >= 1): 250 ms doubled per attempt, at most 8 s.
    static std::chrono::milliseconds backoff(int attempt);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace fleet::transport
