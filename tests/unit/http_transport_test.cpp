// HttpClient against real HTTP servers started here: tests/support/http_device.py (plain and
// TLS, certificates made with the openssl CLI) and Debian's swupdate with its web server.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "core/transport/http.hpp"
#include "core/transport/swupdate_ws.hpp"
#include "core/util/sha256.hpp"
#include "tests/support/background.hpp"
#include "tests/support/pki.hpp"
#include "tests/support/process.hpp"

using namespace fleet;
using namespace std::chrono_literals;
using transport::Failure;
using transport::HttpClient;
using transport::HttpJob;
using transport::Outcome;

namespace {

std::string random_bytes(std::size_t size, unsigned seed)
{
    std::mt19937 gen(seed);
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(gen());
    return data;
}

/// Runs jobs on one client with max_parallel and returns their outcomes in submission order.
std::vector<Outcome> run_all(std::vector<HttpJob> jobs, std::size_t max_parallel = 4)
{
    std::vector<Outcome> outcomes(jobs.size());
    HttpClient client(max_parallel);
    for (std::size_t i = 0; i < jobs.size(); ++i)
        client.submit(std::move(jobs[i]), [&outcomes, i](Outcome o) { outcomes[i] = std::move(o); });
    client.wait();
    return outcomes;
}

Outcome run_one(HttpJob job) { return run_all({std::move(job)}, 1).front(); }

HttpJob job_for(int port, const std::string& path, const std::string& scheme = "http")
{
    HttpJob job;
    job.device = "dev-1";
    job.base_url = scheme + "://localhost:" + std::to_string(port);
    job.path = path;
    job.connect_timeout = 5s;
    job.timeout = 20s;
    return job;
}

nlohmann::json received(const Outcome& outcome)
{
    INFO(outcome.message << " " << outcome.stdout_tail);
    return nlohmann::json::parse(outcome.stdout_tail);
}

/// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, all signed by it,
/// and a second CA the client does not know with its own server certificate.
struct Pki : test::Pki {
    Pki()
    {
        make_ca("ca");
        make_ca("rogue-ca");
        std::string server_ext = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
        make_cert("server", "ca", "localhost", server_ext);
        make_cert("rogue-server", "rogue-ca", "localhost", server_ext);
        make_cert("client", "ca", "device-client", "extendedKeyUsage=clientAuth\n");
    }
};

transport::Credential tls_client(const Pki& pki)
{
    transport::Credential c;
    c.name = "acme-tls";
    c.type = "tls-client";
    c.cert_file = pki.path("client.crt");
    c.key_file = pki.path("client.key");
    c.ca_file = pki.path("ca.crt");
    return c;
}

} // namespace

TEST_CASE("HTTP PUT, raw POST and multipart POST arrive byte-exact: GET keeps the body", "[http]")
{
    test::TempDir dir;
    std::string payload = random_bytes(3 * 1024 * 1024 + 17, 1);
    auto file = dir.write("artifact.bin", payload).string();
    std::string digest = util::sha256_hex(payload);
    test::HttpDevice device;

    auto put = job_for(device.port(), "/put");
    put.method = "PUT";
    put.upload_file = file;
    put.headers = {"X-Fleet-Rollout: r1"};
    auto raw_post = put;
    raw_post.method = "POST";
    auto multipart = job_for(device.port(), "/form");
    multipart.upload_file = file;
    multipart.form_field = "artifact";
    auto get = job_for(device.port(), "/version");
    get.method = "GET";

    auto outcomes = run_all({put, raw_post, multipart, get});
    for (const auto& o : outcomes) {
        INFO(o.message);
        CHECK(o.ok());
        CHECK(o.http_status == 200);
    }
    CHECK(received(outcomes[0])["method"] == "PUT");
    CHECK(received(outcomes[0])["sha256"] == digest);
    CHECK(received(outcomes[1])["method"] == "POST");
    CHECK(received(outcomes[1])["sha256"] == digest);
    auto form = received(outcomes[2]);
    CHECK(form["sha256"] == digest);
    CHECK(form["size"] == payload.size());
    CHECK(form["fields"][0].get<std::string>().find("name=\"artifact\"; filename=\"artifact.bin\"") != std::string::npos);
    CHECK(received(outcomes[3])["path"] == "/version");

    auto missing = put;
    missing.upload_file = (dir.path() / "nope.bin").string();
    auto m = run_one(missing);
    CHECK(m.failure == Failure::transfer);
    CHECK(m.message.find("nope.bin") != std::string::npos);
}

TEST_CASE("HTTP bearer and basic credentials arrive as Authorization headers and stay out of messages", "[http]")
{
    test::TempDir dir;
    test::HttpDevice device;
    auto body = dir.write("body", "x").string();

    transport::Credential bearer;
    bearer.name = "acme-http";
    bearer.type = "http-bearer";
    bearer.token_file = dir.write("token", "tok-SECRET-123\n").string();
    auto job = job_for(device.port(), "/auth");
    job.upload_file = body;
    job.credential = bearer;
    auto o = run_one(job);
    REQUIRE(o.ok());
    // The device echoes the header back; what fleetadm keeps of the answer has it redacted,
    // so the digest the device computed proves the header arrived intact.
    CHECK(received(o)["authorization_sha256"] == util::sha256_hex("Bearer tok-SECRET-123"));
    CHECK(received(o)["authorization"] == "Bearer [redacted]");
    CHECK(o.message.find("SECRET") == std::string::npos);

    transport::Credential basic;
    basic.name = "acme-basic";
    basic.type = "http-basic";
    basic.username = "admin";
    basic.password_file = dir.write("password", "pw-SECRET\n").string();
    job.credential = basic;
    o = run_one(job);
    REQUIRE(o.ok());
    CHECK(received(o)["authorization_sha256"] == util::sha256_hex("Basic YWRtaW46cHctU0VDUkVU"));  // admin:pw-SECRET
    CHECK(received(o)["authorization"] == "Basic [redacted]");

    bearer.token_file = (dir.path() / "missing-token").string();
    job.credential = bearer;
    o = run_one(job);
    CHECK(o.failure == Failure::credential);
    CHECK(o.message.find("acme-http") != std::string::npos);

    transport::Credential ssh;
    ssh.name = "acme-ssh";
    ssh.type = "ssh-key";
    job.credential = ssh;
    CHECK(run_one(job).failure == Failure::credential);
}

TEST_CASE("HTTP 4xx/5xx fail as remote, 401 and 403 as auth, with the body kept", "[http]")
{
    test::HttpDevice device;
    std::vector<HttpJob> jobs;
    for (int code : {404, 500, 401, 403, 204}) jobs.push_back(job_for(device.port(), "/status/" + std::to_string(code)));
    auto o = run_all(jobs);
    CHECK(o[0].failure == Failure::remote);
    CHECK(o[0].http_status == 404);
    CHECK(o[0].stdout_tail.find("as asked") != std::string::npos);
    CHECK(o[1].failure == Failure::remote);
    CHECK(o[1].http_status == 500);
    CHECK(o[2].failure == Failure::auth);
    CHECK(o[3].failure == Failure::auth);
    CHECK(o[4].ok());
}

TEST_CASE("HTTPS verifies the device certificate and presents the client certificate", "[http][tls]")
{
    Pki pki;
    test::TempDir dir;
    test::TempDir state;
    auto file = dir.write("artifact.bin", random_bytes(100000, 2)).string();
    test::HttpDevice device({"--cert", pki.path("server.crt"), "--key", pki.path("server.key"), "--client-ca",
                             pki.path("ca.crt")});
    test::HttpDevice rogue({"--cert", pki.path("rogue-server.crt"), "--key", pki.path("rogue-server.key")});

    auto job = job_for(device.port(), "/tls", "https");
    job.method = "PUT";
    job.upload_file = file;
    job.credential = tls_client(pki);
    auto o = run_one(job);
    INFO(o.message);
    REQUIRE(o.ok());
    CHECK(received(o)["client_cn"] == "device-client");
    CHECK(received(o)["sha256"] == util::sha256_hex(test::read_file(file)));

    SECTION("the certificate and key as PEM text in an environment variable")
    {
        auto cred = tls_client(pki);
        cred.cert_file.clear();
        cred.key_file.clear();
        cred.from_env = "FLEETADM_TEST_TLS_PEM";
        std::string pem = test::read_file(pki.path("client.crt")) + test::read_file(pki.path("client.key"));
        ::setenv("FLEETADM_TEST_TLS_PEM", pem.c_str(), 1);
        job.credential = cred;
        auto env = run_one(job);
        ::unsetenv("FLEETADM_TEST_TLS_PEM");
        INFO(env.message);
        REQUIRE(env.ok());
        CHECK(received(env)["client_cn"] == "device-client");
    }
    SECTION("a certificate signed by an unknown CA is host-key, not retried")
    {
        auto bad = job_for(rogue.port(), "/tls", "https");
        auto r = run_one(bad);
        CHECK(r.failure == Failure::host_key);
        bad.credential = tls_client(pki);  // caFile is our CA, not the rogue one
        CHECK(run_one(bad).failure == Failure::host_key);
        auto fine = job_for(rogue.port(), "/tls", "https");
        transport::Credential ca;
        ca.name = "rogue-trust";
        ca.type = "http-bearer";
        ca.token_file = dir.write("token", "t").string();
        ca.ca_file = pki.path("rogue-ca.crt");
        fine.credential = ca;
        auto ok = run_one(fine);
        INFO(ok.message);
        CHECK(ok.ok());
    }
}

TEST_CASE("HTTP: a stalled device times out, refused and dropped connections are retried", "[http]")
{
    test::TempDir state;
    test::HttpDevice device({"--state", state.path().string()});

    SECTION("stall")
    {
        auto job = job_for(device.port(), "/stall");
        job.timeout = 1s;
        auto o = run_one(job);
        CHECK(o.failure == Failure::timeout);
        CHECK(o.elapsed >= 1s);
        CHECK(o.elapsed < 3s);
    }
    SECTION("refused")
    {
        auto job = job_for(test::free_port(), "/");
        job.retries = 2;
        auto o = run_one(job);
        CHECK(o.failure == Failure::unreachable);
        CHECK(o.message.find("after 3 attempts") != std::string::npos);
        CHECK(o.elapsed >= HttpClient::backoff(1) + HttpClient::backoff(2));
    }
    SECTION("dropped before any answer: attempts counted at the device")
    {
        auto job = job_for(device.port(), "/drop");
        job.method = "GET";
        job.retries = 3;
        auto o = run_one(job);
        CHECK(o.failure == Failure::unreachable);
        CHECK(test::read_file(state.path() / "drops") == "4");
    }
    SECTION("an answer is never retried")
    {
        auto job = job_for(device.port(), "/status/503");
        job.retries = 3;
        auto o = run_one(job);
        CHECK(o.failure == Failure::remote);
        CHECK(o.elapsed < HttpClient::backoff(1));
    }
}

TEST_CASE("HTTP: 20 jobs with max_parallel 4 never exceed 4 connections: a slow device holds up no one", "[http]")
{
    test::TempDir state;
    test::HttpDevice device({"--state", state.path().string()});
    test::HttpDevice slow_device;

    std::vector<HttpJob> jobs;
    for (int i = 0; i < 20; ++i) jobs.push_back(job_for(device.port(), "/slow/100"));
    auto outcomes = run_all(jobs, 4);
    for (const auto& o : outcomes) CHECK(o.ok());
    int most = std::stoi(test::read_file(state.path() / "max_connections"));
    CHECK(most <= 4);
    CHECK(most >= 2);

    // One device stalls until its timeout; the others, submitted after it, finish meanwhile.
    std::mutex mutex;
    std::vector<std::string> order;
    HttpClient client(4);
    auto stalled = job_for(slow_device.port(), "/stall");
    stalled.timeout = 3s;
    client.submit(stalled, [&](Outcome o) {
        std::lock_guard lock(mutex);
        order.push_back(std::string("slow:") + transport::failure_name(o.failure));
    });
    for (int i = 0; i < 12; ++i)
        client.submit(job_for(device.port(), "/fast"), [&](Outcome o) {
            std::lock_guard lock(mutex);
            order.push_back(o.ok() ? "fast" : "fast-failed");
        });
    client.wait();
    REQUIRE(order.size() == 13);
    CHECK(order.back() == "slow:timeout");
    CHECK(std::count(order.begin(), order.end(), "fast") == 12);
}

TEST_CASE("HTTP: cancel ends queued and running jobs as cancelled", "[http]")
{
    test::HttpDevice device;
    std::atomic<int> cancelled = 0;
    HttpClient client(2);
    for (int i = 0; i < 5; ++i)
        client.submit(job_for(device.port(), "/stall"), [&](Outcome o) { cancelled += o.failure == Failure::cancelled; });
    client.cancel();
    client.wait();
    CHECK(cancelled == 5);
}

TEST_CASE("swupdate profile: a device without SWUpdate's websocket fails before any upload", "[http][swupdate][tls]")
{
    Pki pki;
    test::TempDir dir;
    auto swu = dir.write("update.swu", "not really").string();
    test::HttpDevice plain;
    test::HttpDevice tls({"--cert", pki.path("server.crt"), "--key", pki.path("server.key")});
    test::HttpDevice rogue({"--cert", pki.path("rogue-server.crt"), "--key", pki.path("rogue-server.key")});
    auto job = [&](int port, const std::string& scheme) {
        auto j = job_for(port, "/", scheme);
        j.profile = "swupdate";
        j.upload_file = swu;
        j.retries = 1;
        return j;
    };
    transport::Credential trust;
    trust.name = "acme-http";
    trust.type = "http-bearer";
    trust.token_file = dir.write("token", "t").string();
    trust.ca_file = pki.path("ca.crt");
    auto with_trust = job(tls.port(), "https");
    with_trust.credential = trust;
    auto untrusted = job(rogue.port(), "https");
    untrusted.credential = trust;

    auto o = run_all({job(plain.port(), "http"), with_trust, untrusted, job(test::free_port(), "http")});
    INFO(o[0].message << " | " << o[1].message << " | " << o[2].message << " | " << o[3].message);
    CHECK(o[0].failure == Failure::remote);  // answered /ws with 200, not 101
    CHECK(o[0].http_status == 0);            // and nothing was uploaded
    CHECK(o[1].failure == Failure::remote);  // the same over verified TLS
    CHECK(o[2].failure == Failure::host_key);
    CHECK(o[3].failure == Failure::unreachable);
    CHECK(o[3].message.find("after 2 attempts") != std::string::npos);
}

TEST_CASE("SWUpdate progress messages are parsed", "[http][swupdate]")
{
    auto status = transport::parse_swupdate_message("{\r\n\t\"type\": \"status\",\r\n\t\"status\": \"SUCCESS\"\r\n}\r\n");
    CHECK(status.type == "status");
    CHECK(status.status == "SUCCESS");
    auto message = transport::parse_swupdate_message(R"({"type": "message", "level": "3", "text": "Image invalid"})");
    CHECK(message.type == "message");
    CHECK(message.text == "Image invalid");
    CHECK(transport::parse_swupdate_message("SWUpdate v2022.12").type.empty());
}
