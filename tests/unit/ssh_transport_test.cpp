// The SSH transport against real OpenSSH servers on loopback (tests/support/sshd.hpp).
#include <catch2/catch.hpp>

#include <csignal>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

#include "core/transport/ssh.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

using namespace fleet;
using transport::Failure;
using transport::Outcome;
using transport::SshJob;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

/// Points HOME at a fresh directory for the test's lifetime, so that ~/.ssh is the test's own.
class ScopedHome {
public:
    ScopedHome()
    {
        const char* old = std::getenv("HOME");
        m_old = old ? old : "";
        ::setenv("HOME", m_dir.path().c_str(), 1);
    }
    ~ScopedHome() { ::setenv("HOME", m_old.c_str(), 1); }
    const fs::path& path() const { return m_dir.path(); }

private:
    test::TempDir m_dir;
    std::string m_old;
};

/// A job for server logging in with its authorized key, checking host keys against known_hosts.
SshJob job_for(const test::Sshd& server, const fs::path& known_hosts, const std::string& policy = "strict")
{
    SshJob job;
    job.endpoint.device = "dev-1";
    job.endpoint.host = "127.0.0.1";
    job.endpoint.port = server.port();
    job.endpoint.user = test::login_name();
    transport::Credential cred;
    cred.name = "test-key";
    cred.type = "ssh-key";
    cred.private_key_file = server.user_key().string();
    cred.known_hosts_file = known_hosts.string();
    cred.host_key_policy = policy;
    job.endpoint.credential = cred;
    job.connect_timeout = std::chrono::seconds(10);
    job.command_timeout = std::chrono::seconds(20);
    return job;
}

Outcome run_one(SshJob job)
{
    transport::SshPool pool(1);
    Outcome outcome;
    pool.submit(std::move(job), [&](Outcome o) { outcome = std::move(o); });
    pool.wait();
    return outcome;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string random_bytes(std::size_t n)
{
    std::mt19937 rng(42);
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(rng() & 0xff);
    return out;
}

/// Files in dir whose names contain part.
std::size_t files_containing(const fs::path& dir, const std::string& part)
{
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += contains(e.path().filename().string(), part);
    return n;
}

} // namespace

TEST_CASE("SSH: upload and run succeed: the file arrives byte-exact and no temporary file is left", "[ssh]")
{
    ScopedHome home;
    test::Sshd server;
    test::TempDir local;
    auto known = local.write("known_hosts", server.known_hosts_line());
    std::string content = random_bytes(700 * 1024 + 13);
    auto file = local.write("payload.bin", content);
    fs::create_directories(server.dir() / "incoming");
    auto target = server.dir() / "incoming" / "payload.bin";

    SshJob job = job_for(server, known);
    job.upload_file = file.string();
    job.upload_path = target.string();
    job.command = "cat " + target.string() + " | wc -c; echo to-stderr >&2";
    auto out = run_one(job);
    INFO(out.message);
    REQUIRE(out.ok());
    CHECK(out.exit_status == 0);
    CHECK(out.stdout_tail == std::to_string(content.size()) + "\n");
    CHECK(out.stderr_tail == "to-stderr\n");
    CHECK(test::read_file(target) == content);
    CHECK(files_containing(server.dir() / "incoming", "fleetadm") == 0);

    SECTION("uploading again replaces the file")
    {
        std::string second = random_bytes(1000);
        local.write("payload.bin", second);
        job.command.clear();
        auto again = run_one(job);
        INFO(again.message);
        REQUIRE(again.ok());
        CHECK(test::read_file(target) == second);
        CHECK(files_containing(server.dir() / "incoming", "fleetadm") == 0);
    }
    SECTION("the output kept is a bounded tail")
    {
        job.upload_file.clear();
        job.command = "head -c 100000 /dev/zero | tr '\\0' a; echo END";
        auto big = run_one(job);
        REQUIRE(big.ok());
        CHECK(big.stdout_tail.size() == transport::tail_limit);
        CHECK(big.stdout_tail.ends_with("aEND\n"));
    }
}

TEST_CASE("SSH: host keys are checked against known_hosts", "[ssh]")
{
    ScopedHome home;
    test::Sshd server;
    test::TempDir local;
    auto known = local.path() / "known_hosts";
    std::string where = "127.0.0.1:" + std::to_string(server.port());

    SECTION("an unknown host key is refused under strict")
    {
        local.write("known_hosts", "");
        auto job = job_for(server, known);
        job.command = "touch " + (server.dir() / "ran").string();
        auto out = run_one(job);
        CHECK(out.failure == Failure::host_key);
        CHECK(contains(out.message, "dev-1"));
        CHECK(contains(out.message, where));
        CHECK(contains(out.message, "unknown"));
        CHECK_FALSE(fs::exists(server.dir() / "ran"));
        CHECK(test::read_file(known).empty());
    }
    SECTION("a missing known_hosts file is refused under strict, and not created")
    {
        auto out = run_one(job_for(server, known));
        CHECK(out.failure == Failure::host_key);
        CHECK_FALSE(fs::exists(known));
    }
    SECTION("a changed host key is refused under strict")
    {
        local.write("known_hosts", server.known_hosts_line());
        server.change_host_key();
        auto out = run_one(job_for(server, known));
        CHECK(out.failure == Failure::host_key);
        CHECK(contains(out.message, "changed"));
        CHECK(contains(out.message, where));
    }
    SECTION("accept-new records the key on first contact, then refuses a changed key")
    {
        auto first = run_one(job_for(server, known, "accept-new"));
        INFO(first.message);
        REQUIRE(first.ok());
        std::string recorded = test::read_file(known);
        auto key = server.known_hosts_line();
        CHECK(contains(recorded, key.substr(key.find(' ') + 1, key.size() - key.find(' ') - 2)));
        CHECK(contains(recorded, "[127.0.0.1]:" + std::to_string(server.port())));
        CHECK(run_one(job_for(server, known, "accept-new")).ok());

        server.change_host_key();
        auto changed = run_one(job_for(server, known, "accept-new"));
        CHECK(changed.failure == Failure::host_key);
        CHECK(contains(changed.message, "changed"));
        CHECK(test::read_file(known) == recorded);
    }
}

TEST_CASE("SSH: authentication, connection and command failures are reported per kind", "[ssh]")
{
    ScopedHome home;
    test::Sshd server;
    test::TempDir local;
    auto known = local.write("known_hosts", server.known_hosts_line());

    SECTION("a key the server does not know is an auth failure that names no key material")
    {
        test::generate_key(local.path() / "other_key");
        auto job = job_for(server, known);
        job.endpoint.credential->private_key_file = (local.path() / "other_key").string();
        auto out = run_one(job);
        CHECK(out.failure == Failure::auth);
        CHECK(contains(out.message, "dev-1"));
        CHECK(contains(out.message, "test-key"));
        CHECK_FALSE(contains(out.message, "PRIVATE KEY"));
    }
    SECTION("a missing key file is a credential failure")
    {
        auto job = job_for(server, known);
        job.endpoint.credential->private_key_file = (local.path() / "missing").string();
        CHECK(run_one(job).failure == Failure::credential);
    }
    SECTION("a key given as PEM text in an environment variable works")
    {
        ::setenv("FLEETADM_TEST_SSH_KEY", test::read_file(server.user_key()).c_str(), 1);
        auto job = job_for(server, known);
        job.endpoint.credential->private_key_file.clear();
        job.endpoint.credential->from_env = "FLEETADM_TEST_SSH_KEY";
        job.command = "echo via-env";
        auto out = run_one(job);
        ::unsetenv("FLEETADM_TEST_SSH_KEY");
        INFO(out.message);
        CHECK(out.ok());
        CHECK(out.stdout_tail == "via-env\n");
    }
    SECTION("a closed port is unreachable")
    {
        auto job = job_for(server, known);
        job.endpoint.port = test::closed_port();
        auto out = run_one(job);
        CHECK(out.failure == Failure::unreachable);
        CHECK(contains(out.message, "127.0.0.1:" + std::to_string(job.endpoint.port)));
    }
    SECTION("a command that exits 3 is a remote failure with its status and output")
    {
        auto job = job_for(server, known);
        job.command = "echo partial; echo broken >&2; exit 3";
        auto out = run_one(job);
        CHECK(out.failure == Failure::remote);
        CHECK(out.exit_status == 3);
        CHECK(out.stdout_tail == "partial\n");
        CHECK(out.stderr_tail == "broken\n");
        CHECK(contains(out.message, "status 3"));
    }
    SECTION("a command that hangs past its timeout is stopped")
    {
        auto job = job_for(server, known);
        job.command = "echo started; sleep 60";
        // Long enough for the wrapper to start the command on a loaded machine (ctest -j, ASan).
        job.command_timeout = std::chrono::milliseconds(2500);
        auto start = Clock::now();
        auto out = run_one(job);
        CHECK(out.failure == Failure::timeout);
        CHECK(out.stdout_tail == "started\n");
        CHECK(Clock::now() - start < std::chrono::seconds(8));
        CHECK(contains(out.message, "2500ms"));
    }
    SECTION("~/.ssh/config host entries give host, port and user")
    {
        fs::create_directories(home.path() / ".ssh");
        std::ofstream(home.path() / ".ssh" / "config") << "Host test-device\n  HostName 127.0.0.1\n  Port "
                                                         << server.port() << "\n  User " << test::login_name() << "\n";
        auto job = job_for(server, known);
        job.endpoint.host = "test-device";
        job.endpoint.port = 0;
        job.endpoint.user.clear();
        job.command = "echo from-config";
        auto out = run_one(job);
        INFO(out.message);
        CHECK(out.ok());
        CHECK(out.stdout_tail == "from-config\n");
    }
}

TEST_CASE("SSH: a device that drops mid-upload is a transfer failure and leaves no file at the target", "[ssh]")
{
    ScopedHome home;
    // The SFTP server gets the first 300 kB, then the sshd process serving the session is killed.
    test::Sshd server(test::Sshd::Options::with_sftp("stdbuf -o0 head -c 300000 | /usr/lib/openssh/sftp-server; kill -9 $PPID"));
    test::TempDir local;
    auto known = local.write("known_hosts", server.known_hosts_line());
    auto file = local.write("big.bin", random_bytes(2 * 1024 * 1024));
    auto job = job_for(server, known);
    job.upload_file = file.string();
    job.upload_path = (server.dir() / "big.bin").string();
    job.command = "touch " + (server.dir() / "ran").string();
    auto out = run_one(job);
    INFO(out.message);
    CHECK(out.failure == Failure::transfer);
    CHECK(contains(out.message, "dev-1"));
    CHECK_FALSE(fs::exists(server.dir() / "big.bin"));
    CHECK_FALSE(fs::exists(server.dir() / "ran"));
}

TEST_CASE("SSH: an upload to a device that stops answering ends when no progress was made for the command timeout",
          "[ssh]")
{
    ScopedHome home;
    test::Sshd server(test::Sshd::Options::with_sftp("cat >/dev/null"));  // takes the data, never replies
    test::TempDir local;
    auto known = local.write("known_hosts", server.known_hosts_line());
    auto job = job_for(server, known);
    job.upload_file = local.write("small.bin", "data").string();
    job.upload_path = (server.dir() / "small.bin").string();
    job.command_timeout = std::chrono::milliseconds(800);
    auto start = Clock::now();
    auto out = run_one(job);
    CHECK(out.failure == Failure::timeout);
    CHECK(contains(out.message, "stalled"));
    CHECK(Clock::now() - start < std::chrono::seconds(8));
}

TEST_CASE("SSH: good devices succeed next to failing ones, and a slow one delays nobody", "[ssh]")
{
    ScopedHome home;
    test::Sshd server;
    test::Sshd other;
    test::TempDir local;
    auto known = local.write("known_hosts", server.known_hosts_line());

    std::vector<SshJob> jobs;
    auto slow = job_for(server, known);
    slow.endpoint.device = "slow";
    slow.command = "sleep 60";
    // Long enough that the other seven jobs finish on two workers even on a loaded machine.
    slow.command_timeout = std::chrono::seconds(15);
    jobs.push_back(slow);  // first, so that it holds a worker the whole time
    for (int i = 0; i < 4; ++i) {
        auto good = job_for(server, known);
        good.endpoint.device = "good-" + std::to_string(i);
        good.command = "echo ok-" + std::to_string(i);
        jobs.push_back(good);
    }
    auto refused = job_for(server, known);
    refused.endpoint.device = "refused";
    refused.endpoint.port = test::closed_port();
    jobs.push_back(refused);
    auto unknown = job_for(other, known);  // other's host key is not in known_hosts
    unknown.endpoint.device = "unknown-host";
    jobs.push_back(unknown);
    auto exits = job_for(server, known);
    exits.endpoint.device = "exits";
    exits.command = "exit 3";
    jobs.push_back(exits);

    std::mutex mutex;
    std::map<std::string, std::pair<Outcome, Clock::duration>> results;
    auto start = Clock::now();
    {
        transport::SshPool pool(3);
        for (auto& job : jobs) {
            std::string name = job.endpoint.device;
            pool.submit(job, [&, name](Outcome o) {
                std::lock_guard lock(mutex);
                results[name] = {std::move(o), Clock::now() - start};
            });
        }
        pool.wait();
    }
    auto total = Clock::now() - start;
    REQUIRE(results.size() == jobs.size());
    CHECK(results["slow"].first.failure == Failure::timeout);
    CHECK(results["refused"].first.failure == Failure::unreachable);
    CHECK(results["unknown-host"].first.failure == Failure::host_key);
    CHECK(results["exits"].first.failure == Failure::remote);
    auto slow_done = results["slow"].second;
    for (int i = 0; i < 4; ++i) {
        const auto& [outcome, done] = results["good-" + std::to_string(i)];
        INFO(outcome.message);
        CHECK(outcome.ok());
        CHECK(outcome.stdout_tail == "ok-" + std::to_string(i) + "\n");
        CHECK(done < slow_done);  // finished while the slow one still ran
    }
    CHECK(total < std::chrono::seconds(8) + std::chrono::seconds(8));
}

TEST_CASE("SSH: cancel ends queued and running jobs as cancelled", "[ssh]")
{
    ScopedHome home;
    test::Sshd server;
    test::TempDir local;
    auto known = local.write("known_hosts", server.known_hosts_line());
    std::mutex mutex;
    std::vector<Failure> failures;
    auto start = Clock::now();
    transport::SshPool pool(1);
    for (int i = 0; i < 3; ++i) {
        auto job = job_for(server, known);
        job.command = "sleep 60";
        pool.submit(job, [&](Outcome o) {
            std::lock_guard lock(mutex);
            failures.push_back(o.failure);
        });
    }
    pool.cancel();
    pool.wait();
    CHECK(failures == std::vector<Failure>(3, Failure::cancelled));
    CHECK(Clock::now() - start < std::chrono::seconds(8));
}

namespace {

/// Runs jobs one after another on pool, each waited for; their outcomes.
std::vector<Outcome> run_in_turn(transport::SshPool& pool, const std::vector<SshJob>& jobs)
{
    std::vector<Outcome> outcomes;
    for (const auto& job : jobs) {
        Outcome outcome;
        pool.submit(job, [&](Outcome o) { outcome = std::move(o); });
        pool.wait();
        outcomes.push_back(std::move(outcome));
    }
    return outcomes;
}

} // namespace

TEST_CASE("SSH: a pool that keeps sessions runs a device's jobs on one connection, and reconnects when the "
          "device closed it",
          "[ssh]")
{
    ScopedHome home;
    test::Sshd server;
    test::TempDir local;
    auto known = local.write("known_hosts", server.known_hosts_line());
    auto file = local.write("payload.bin", random_bytes(100 * 1024));
    // $PPID of a command is the server's process for its connection: equal PPIDs, one connection.
    SshJob upload = job_for(server, known);
    upload.upload_file = file.string();
    upload.upload_path = (server.dir() / "payload.bin").string();
    SshJob ppid = job_for(server, known);
    ppid.command = "echo $PPID";
    SshJob failing = job_for(server, known);
    failing.command = "echo $PPID; exit 3";

    SECTION("kept: upload, then commands, all on one connection; a non-zero exit keeps it too")
    {
        transport::SshPool pool(2, true);
        auto out = run_in_turn(pool, {upload, ppid, failing, ppid});
        for (const auto& o : out) INFO(o.message);
        REQUIRE(out[0].ok());
        REQUIRE(out[1].ok());
        CHECK(out[2].failure == Failure::remote);
        REQUIRE(out[3].ok());
        CHECK(out[1].stdout_tail == out[2].stdout_tail);
        CHECK(out[1].stdout_tail == out[3].stdout_tail);
        CHECK(test::read_file(upload.upload_path) == test::read_file(file));
    }
    SECTION("not kept by default: each job connects anew")
    {
        transport::SshPool pool(2);
        auto out = run_in_turn(pool, {ppid, ppid});
        REQUIRE(out[0].ok());
        REQUIRE(out[1].ok());
        CHECK(out[0].stdout_tail != out[1].stdout_tail);
    }
    SECTION("the device closed the kept connection (a reboot): the next job reconnects and succeeds")
    {
        transport::SshPool pool(2, true);
        auto first = run_in_turn(pool, {ppid});
        REQUIRE(first[0].ok());
        auto pid = std::stoi(first[0].stdout_tail);
        REQUIRE(::kill(pid, SIGKILL) == 0);  // the server's process for that connection
        auto out = run_in_turn(pool, {ppid, upload, ppid});
        for (const auto& o : out) INFO(o.message);
        REQUIRE(out[0].ok());
        CHECK(out[0].stdout_tail != first[0].stdout_tail);
        REQUIRE(out[1].ok());
        REQUIRE(out[2].ok());
        CHECK(out[2].stdout_tail == out[0].stdout_tail);
    }
    SECTION("a session is only kept for the same endpoint and credential")
    {
        transport::SshPool pool(2, true);
        SshJob other = ppid;
        other.endpoint.credential->name = "another-credential";
        auto out = run_in_turn(pool, {ppid, other});
        REQUIRE(out[0].ok());
        REQUIRE(out[1].ok());
        CHECK(out[0].stdout_tail != out[1].stdout_tail);
    }
}
