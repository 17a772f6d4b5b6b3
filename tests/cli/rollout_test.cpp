// Rollouts end to end: the real binary against real OpenSSH servers on loopback.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "tests/support/background.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

using namespace fleet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string slurp(const fs::path& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// A tenant `site` whose devices are all served by one real sshd; each device keeps its installed
/// version in DIR/NAME.version and counts its installs in DIR/NAME.count on the "device".
struct SshSite {
    test::Sshd sshd;
    test::Fleet fleet;
    fs::path devdir;

    explicit SshSite(const std::vector<std::string>& devices, const std::string& extra_devices = "")
    {
        devdir = sshd.dir() / "devices";
        fs::create_directories(devdir);
        REQUIRE(fleet({"init"}).exit_code == 0);
        auto known = fleet.dir().write("known_hosts", sshd.known_hosts_line() + "\n");
        fleet.dir().write("fw.bin", std::string(64 * 1024, 'F'));
        std::string docs = fmt::format(R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {{name: site}}
spec: {{settings: {{channel: stable}}}}
---
apiVersion: fleetadm/v1
kind: Credential
metadata: {{name: key, tenant: site}}
spec: {{type: ssh-key, privateKeyFile: {}, knownHostsFile: {}}}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {{name: fw, tenant: site}}
spec: {{file: fw.bin, version: "2.0.0", deviceTypes: [rpi4]}}
)",
                                       sshd.user_key().string(), known.string());
        for (const auto& name : devices) docs += device_doc(name, "rpi4");
        docs += extra_devices;
        auto file = fleet.dir().write("site.yaml", docs);
        auto applied = fleet({"apply", "-f", file.string()});
        INFO(applied.err);
        REQUIRE(applied.exit_code == 0);
    }

    /// Each device has its upload directory DIR/up-NAME, as real devices have their own file
    /// systems: uploads of one file to one path at once would race each other's install.
    std::string device_doc(const std::string& name, const std::string& type) const
    {
        fs::create_directories(devdir / ("up-" + name));
        return fmt::format("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: {}, tenant: site, labels: "
                           "{{fleet: \"yes\"}}}}\nspec: {{deviceType: {}, versionProbe: \"cat {}/{}.version\", ssh: "
                           "{{host: 127.0.0.1, port: {}, user: {}, credential: key}}}}\n",
                           name, type, devdir.string(), name, sshd.port(), test::login_name());
    }

    /// Applies a rollout `up` of fw to every device labelled fleet=yes. The install command checks
    /// that the artifact arrived, logs when it started, runs `hook` (with $d the device name), then
    /// records the version and counts the install.
    void rollout(const std::string& strategy, const std::string& hook = "")
    {
        std::string d = devdir.string();
        auto file = fleet.dir().write("rollout.yaml", fmt::format(R"(apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: up, tenant: site}}
spec:
  artifact: fw
  targets: {{selector: "fleet=yes"}}
  strategy: {}
  schedule: {{windows: none}}
  install:
    ssh:
      uploadDir: '{}/up-{{{{device.name}}}}'
      command: "d={{{{device.name}}}}; test -s {{{{artifact.path}}}} || exit 9; date +%s.%N >> {}/starts; {} printf %s {{{{artifact.version}}}} > {}/$d.version; echo run >> {}/$d.count"
  verify:
    ssh: {{command: "cat {}/{{{{device.name}}}}.version", expect: "{{{{artifact.version}}}}"}}
)",
                                                                  strategy, d, d, hook, d, d, d));
        auto applied = fleet({"apply", "-f", file.string()});
        INFO(applied.err);
        REQUIRE(applied.exit_code == 0);
    }

    int installs(const std::string& device) const
    {
        auto text = slurp(devdir / (device + ".count"));
        return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    }

    json status() const
    {
        auto r = fleet({"rollout", "status", "up", "-o", "json"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        return json::parse(r.out);
    }
};

std::map<std::string, std::string> device_states(const json& status)
{
    std::map<std::string, std::string> out;
    for (const auto& d : status["devices"]) out[d["device"].get<std::string>()] = d["state"].get<std::string>();
    return out;
}

} // namespace


TEST_CASE("a three-phase rollout over SSH installs each device once, skips the rest, records versions",
          "[rollout][ssh][cli]")
{
    std::vector<std::string> devices = {"d1", "d2", "d3", "d4", "d5", "d6", "cur"};
    SshSite site(devices, "");
    // One more device of another type, and one already at the version (its probe says so).
    auto extra = site.fleet.dir().write("extra.yaml", site.device_doc("gw", "imx8"));
    REQUIRE(site.fleet({"apply", "-f", extra.string()}).exit_code == 0);
    std::ofstream(site.devdir / "cur.version") << "2.0.0";
    auto check = site.fleet({"device", "check", "cur"});
    INFO(check.out << check.err);
    REQUIRE(check.exit_code == 0);
    site.rollout(R"({phases: [{name: canary, count: 2}, {percent: 50}, {percent: 100}], maxParallel: 2})");

    auto run = site.fleet({"rollout", "run", "up", "-o", "json"});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    // NDJSON events, one per line, ending with the result.
    std::vector<json> events;
    std::istringstream lines(run.out);
    for (std::string line; std::getline(lines, line);) events.push_back(json::parse(line));
    REQUIRE_FALSE(events.empty());
    CHECK(events.back()["type"] == "result");
    CHECK(events.back()["succeeded"] == 6);
    CHECK(events.back()["skipped"] == 2);

    auto status = site.status();
    CHECK(status["state"] == "completed");
    auto states = device_states(status);
    CHECK(states["gw"] == "skipped");
    CHECK(states["cur"] == "skipped");
    for (const auto& d : status["devices"]) {
        if (d["device"] == "gw") CHECK(contains(d["reason"].get<std::string>(), "incompatible"));
        if (d["device"] == "cur") CHECK(contains(d["reason"].get<std::string>(), "up-to-date"));
    }
    REQUIRE(status["phases"].size() == 3);
    CHECK(status["phases"][0]["devices"] == 2);
    CHECK(status["phases"][1]["devices"] == 1);
    CHECK(status["phases"][2]["devices"] == 3);
    for (const char* d : {"d1", "d2", "d3", "d4", "d5", "d6"}) {
        CHECK(site.installs(d) == 1);
        CHECK(slurp(site.devdir / (std::string(d) + ".version")) == "2.0.0");
    }
    CHECK_FALSE(fs::exists(site.devdir / "cur.count"));
    CHECK_FALSE(fs::exists(site.devdir / "gw.count"));

    auto got = json::parse(site.fleet({"get", "devices", "-o", "json"}).out);
    for (const auto& item : got["items"])
        if (item["spec"]["deviceType"] == "rpi4") CHECK(item["status"]["reportedVersion"] == "2.0.0");
    auto tree = site.fleet({"tenant", "tree"});
    CHECK(contains(tree.out, "1 completed"));
    auto audit = site.fleet({"audit", "--tenant", "site", "-o", "json"});
    CHECK(contains(audit.out, "rollout-started"));
    CHECK(contains(audit.out, "rollout-device-succeeded"));
    CHECK(contains(audit.out, "rollout-completed"));
    // Running it again has nothing to do.
    auto again = site.fleet({"rollout", "run", "up"});
    CHECK(again.exit_code == 0);
    CHECK(site.installs("d1") == 1);
}

TEST_CASE("failing installs pause a rollout at its threshold: retry and run finish it", "[rollout][ssh][cli]")
{
    SshSite site({"a1", "a2", "abad", "b1", "b2", "b3"});
    std::string fixed = (site.devdir / "fixed").string();
    site.rollout(R"({phases: [{count: 3}, {percent: 100}], failureThreshold: 0, maxParallel: 1})",
                 fmt::format("case $d in *bad) test -e {} || exit 3;; esac;", fixed));
    auto run = site.fleet({"rollout", "run", "up"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 5);
    CHECK(contains(run.err, "failure threshold"));
    auto status = site.status();
    CHECK(status["state"] == "paused");
    auto states = device_states(status);
    CHECK(states["abad"] == "failed");
    CHECK(states["b1"] == "pending");  // the next phase never started
    CHECK_FALSE(fs::exists(site.devdir / "b1.count"));
    for (const auto& d : status["devices"])
        if (d["device"] == "abad") CHECK(contains(d["reason"].get<std::string>(), "status 3"));

    // The device is fixed; retry queues it again and the next run finishes the rollout.
    std::ofstream(fixed) << "yes";
    auto retry = site.fleet({"rollout", "retry", "up"});
    INFO(retry.err);
    REQUIRE(retry.exit_code == 0);
    auto rerun = site.fleet({"rollout", "run", "up"});
    INFO(rerun.out << rerun.err);
    CHECK(rerun.exit_code == 0);
    for (const auto& [device, state] : device_states(site.status())) CHECK(state == "succeeded");
    CHECK(site.installs("a1") == 1);
    CHECK(site.installs("abad") == 1);
}

TEST_CASE("a hanging device times out without holding up the others", "[rollout][ssh][cli]")
{
    SshSite site({"aslow", "h1", "h2", "h3", "h4"});
    // 6s: the timeout also bounds an upload's stall, and a loaded machine (ctest -j) stalls a 2s one.
    site.rollout(R"({maxParallel: 2, deviceTimeout: 6s, failureThreshold: 1})",
                 "case $d in aslow) sleep 60;; esac;");
    auto started = std::chrono::steady_clock::now();
    auto run = site.fleet({"rollout", "run", "up"});
    auto took = std::chrono::steady_clock::now() - started;
    INFO(run.out << run.err);
    CHECK(run.exit_code == 1);  // completed, with a failed device
    // aslow sleeps 60 s: ending well before proves it was cut off (a loaded machine needs slack).
    CHECK(took < std::chrono::seconds(50));
    auto status = site.status();
    CHECK(status["state"] == "completed");
    auto states = device_states(status);
    CHECK(states["aslow"] == "failed");
    for (const char* d : {"h1", "h2", "h3", "h4"}) CHECK(states[d] == "succeeded");
    for (const auto& d : status["devices"])
        if (d["device"] == "aslow") CHECK(contains(d["reason"].get<std::string>(), "timeout"));
}

namespace {

/// `fleetadm rollout run up` of a site, started in the background with plain progress lines.
test::BackgroundProcess start_runner(const SshSite& site)
{
    return test::BackgroundProcess(FLEETADM_BIN, {"--state", site.fleet.location(), "rollout", "run", "up"},
                                   {{"HOME", site.fleet.dir().path().string()}});
}

} // namespace

TEST_CASE("kill -9 of the runner, then run again: every device ends succeeded, none installed twice",
          "[rollout][ssh][cli]")
{
    std::vector<std::string> devices;
    for (int i = 1; i <= 8; ++i) devices.push_back(fmt::format("k{}", i));
    SshSite site(devices);
    site.rollout(R"({maxParallel: 1})", "sleep 0.2;");
    std::set<std::string> done_before;
    {
        auto runner = start_runner(site);
        runner.wait_for_line("device/k3 succeeded", std::chrono::seconds(60));
        runner.kill(SIGKILL);
        CHECK(runner.wait() == -SIGKILL);
        for (const auto& [device, state] : device_states(site.status()))
            if (state == "succeeded") done_before.insert(device);
    }
    REQUIRE(done_before.size() >= 3);
    REQUIRE(done_before.size() < devices.size());
    // The dead runner's lease is taken over at once: its process is gone.
    auto resumed = site.fleet({"rollout", "run", "up"});
    INFO(resumed.out << resumed.err);
    CHECK(resumed.exit_code == 0);
    for (const auto& [device, state] : device_states(site.status())) CHECK(state == "succeeded");
    for (const auto& d : done_before) {
        INFO(d);
        CHECK(site.installs(d) == 1);
    }
}

TEST_CASE("pause from a second shell stops new dispatches within a second: in-flight devices finish",
          "[rollout][ssh][cli]")
{
    std::vector<std::string> devices;
    for (int i = 1; i <= 12; ++i) devices.push_back(fmt::format("p{:02}", i));
    SshSite site(devices);
    site.rollout(R"({maxParallel: 2})", "sleep 0.4;");
    auto runner = start_runner(site);
    runner.wait_for_line("device/p02 succeeded", std::chrono::seconds(60));
    auto paused = site.fleet({"rollout", "pause", "up"});
    auto paused_at = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    REQUIRE(paused.exit_code == 0);
    CHECK(runner.wait() == 0);  // a pause asked for is a clean stop
    std::istringstream starts(slurp(site.devdir / "starts"));
    std::size_t late = 0, total = 0;
    for (double t; starts >> t; ++total)
        if (t > paused_at + 1.0) ++late;
    // Devices already dispatched finish their steps (SPEC §8), so up to maxParallel installs may start
    // after the pause on a loaded machine; no device dispatched after it may.
    CHECK(late <= 2);
    CHECK(total < devices.size());
    auto status = site.status();
    CHECK(status["state"] == "paused");
    for (const auto& [device, state] : device_states(status))
        CHECK((state == "succeeded" || state == "pending"));  // nothing left half-way
    // resume + run finishes the rest.
    REQUIRE(site.fleet({"rollout", "resume", "up"}).exit_code == 0);
    auto rest = site.fleet({"rollout", "run", "up"});
    INFO(rest.err);
    CHECK(rest.exit_code == 0);
    for (const auto& d : devices) CHECK(site.installs(d) == 1);
}

TEST_CASE("a rollout over HTTP uploads to each device's endpoint: a 500 fails that device only", "[rollout][http][cli]")
{
    test::HttpDevice endpoint;
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.swu", std::string(100 * 1024, 'S'));
    std::string base = fmt::format("http://127.0.0.1:{}", endpoint.port());
    auto file = fleet.dir().write("site.yaml", fmt::format(R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {{name: site}}
---
apiVersion: fleetadm/v1
kind: Credential
metadata: {{name: token, tenant: site}}
spec: {{type: http-bearer, fromEnv: FLEETADM_TEST_TOKEN}}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {{name: gw-5.4.0, tenant: site}}
spec: {{file: fw.swu, version: "5.4.0"}}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: gw, tenant: site}}
spec:
  artifact: gw-5.4.0
  targets: {{selector: "role=gw"}}
  strategy: {{failureThreshold: 1, maxParallel: 4}}
  schedule: {{windows: none}}
  install: {{http: {{method: POST, path: /upload, form: file}}}}
---
apiVersion: fleetadm/v1
kind: List
items:
  - {{apiVersion: fleetadm/v1, kind: Device, metadata: {{name: g1, tenant: site, labels: {{role: gw}}}}, spec: {{deviceType: imx8, http: {{url: "{0}", credential: token}}}}}}
  - {{apiVersion: fleetadm/v1, kind: Device, metadata: {{name: g2, tenant: site, labels: {{role: gw}}}}, spec: {{deviceType: imx8, http: {{url: "{0}", credential: token}}}}}}
  - {{apiVersion: fleetadm/v1, kind: Device, metadata: {{name: g3, tenant: site, labels: {{role: gw}}}}, spec: {{deviceType: imx8, http: {{url: "{0}/status/500", credential: token}}}}}}
)",
                                                           base));
    auto applied = fleet({"apply", "-f", file.string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    auto run = test::run_process(FLEETADM_BIN, {"--state", fleet.location(), "rollout", "run", "gw"}, "",
                                 {{"HOME", fleet.dir().path().string()}, {"FLEETADM_TEST_TOKEN", "s3cr3t-token"}});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 1);  // completed, one device failed
    auto status = json::parse(fleet({"rollout", "status", "gw", "-o", "json"}).out);
    auto states = device_states(status);
    CHECK(states["g1"] == "succeeded");
    CHECK(states["g2"] == "succeeded");
    CHECK(states["g3"] == "failed");
    for (const auto& d : status["devices"])
        if (d["device"] == "g3") CHECK(contains(d["reason"].get<std::string>(), "500"));
    // The token is read at use and never printed or stored.
    CHECK_FALSE(contains(run.out + run.err, "s3cr3t-token"));
    CHECK_FALSE(contains(fleet({"audit", "-A", "-o", "json"}).out, "s3cr3t-token"));
    CHECK_FALSE(contains(fleet.store_text(), "s3cr3t-token"));
}

TEST_CASE("a rollout state in the store that fleetadm did not write is refused when read, naming it",
          "[rollout][hostile][cli]")
{
    // On a shared store the rows are written by others: a state outside SPEC §8's list is an error
    // naming the row, never read as some other state.
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", "F");
    auto file = fleet.dir().write("site.yaml", R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: site}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: site}
spec: {file: fw.bin, version: "1.0"}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {name: g1, tenant: site, labels: {role: gw}}
spec: {deviceType: imx8, http: {url: "http://127.0.0.1:9"}}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: up, tenant: site}
spec:
  artifact: fw
  targets: {selector: "role=gw"}
  schedule: {windows: none}
  install: {http: {method: PUT, path: /upload}}
)");
    REQUIRE(fleet({"apply", "-f", file.string()}).exit_code == 0);
    REQUIRE(fleet({"rollout", "start", "up"}).exit_code == 0);
    REQUIRE(fleet({"rollout", "status", "up"}).exit_code == 0);

    fleet.sql("UPDATE rollout_devices SET state = 'succeeded ' WHERE device = 'g1'");
    auto status = fleet({"rollout", "status", "up"});
    CHECK(status.exit_code == 6);
    CHECK(contains(status.err, "unknown state \"succeeded \" for device g1 of rollout up"));

    fleet.sql("UPDATE rollout_devices SET state = 'pending' WHERE device = 'g1'");
    fleet.sql("UPDATE rollout_runs SET state = 'RUNNING' WHERE name = 'up'");
    auto run = fleet({"rollout", "run", "up"});
    CHECK(run.exit_code == 6);
    CHECK(contains(run.err, "unknown state \"RUNNING\" for rollout up"));
    CHECK(fleet.sql("SELECT state FROM rollout_devices WHERE device = 'g1'").find("pending") != std::string::npos);
}

TEST_CASE("two rollout runs started at once share the rollout: each device installs once, both end completed",
          "[rollout][ssh][cli][concurrency]")
{
    std::vector<std::string> devices = {"r1", "r2", "r3", "r4"};
    SshSite site(devices);
    // Long enough installs that the second run starts while the first still works.
    site.rollout(R"({maxParallel: 1})", "sleep 0.6;");
    auto a = std::async(std::launch::async, [&] { return site.fleet({"rollout", "run", "up"}); });
    auto b = std::async(std::launch::async, [&] { return site.fleet({"rollout", "run", "up"}); });
    auto ra = a.get(), rb = b.get();
    INFO(ra.out << ra.err << "\n---\n" << rb.out << rb.err);
    CHECK(ra.exit_code == 0);
    CHECK(rb.exit_code == 0);
    // Each device was claimed by one of them: its success is reported by exactly one run.
    for (const auto& d : devices) {
        INFO(d);
        auto line = fmt::format("device/{} succeeded", d);
        CHECK(contains(ra.out + ra.err, line) != contains(rb.out + rb.err, line));
        CHECK(site.installs(d) == 1);
    }
    for (const auto& [device, state] : device_states(site.status())) CHECK(state == "succeeded");
}

namespace {

/// `fleetadm runner` in the background, on the site's store, logging one line per event.
test::BackgroundProcess start_service(const SshSite& site, const std::vector<std::string>& extra = {})
{
    std::vector<std::string> args{"--state", site.fleet.location(), "runner"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::BackgroundProcess(FLEETADM_BIN, args, {{"HOME", site.fleet.dir().path().string()}});
}

} // namespace

TEST_CASE("rollout start queues and returns and a runner already running takes it and installs each device once",
          "[rollout][runner][ssh][cli]")
{
    std::vector<std::string> devices = {"q1", "q2", "q3"};
    SshSite site(devices);
    site.rollout(R"({maxParallel: 2})");
    auto service = start_service(site, {"--name", "r-one"});
    service.wait_for_line("runner/r-one runner-started");
    auto started = site.fleet({"rollout", "start", "up"});
    INFO(started.err);
    REQUIRE(started.exit_code == 0);
    CHECK(contains(started.out, "rollout/up queued: 3 target(s)"));
    service.wait_for_line("rollout/up released completed", std::chrono::seconds(60));
    auto status = site.status();
    CHECK(status["state"] == "completed");
    for (const auto& d : devices) {
        INFO(d);
        CHECK(site.installs(d) == 1);
        CHECK(contains(service.output(), fmt::format("runner/r-one tenant/site rollout/up device/{} succeeded", d)));
    }
    // Started before: a second start changes nothing and says so.
    auto again = site.fleet({"rollout", "start", "up"});
    CHECK(again.exit_code == 5);
    CHECK(contains(again.err, "rollout/up was started before and is completed"));
    service.kill(SIGTERM);
    CHECK(service.wait() == 0);
}

TEST_CASE("a running runner starts a rollout by itself when its notBefore comes", "[rollout][runner][ssh][cli]")
{
    SshSite site({"n1", "n2"});
    using namespace std::chrono;
    auto at = system_clock::now() + seconds(4);
    std::time_t secs = system_clock::to_time_t(at);
    std::tm utc{};
    gmtime_r(&secs, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    // The rollout of SshSite::rollout with a notBefore.
    site.rollout(R"({maxParallel: 2})");
    auto doc = slurp(site.fleet.dir().path() / "rollout.yaml");
    auto pos = doc.find("schedule: {windows: none}");
    REQUIRE(pos != std::string::npos);
    doc.replace(pos, std::string("schedule: {windows: none}").size(),
                fmt::format("schedule: {{windows: none, notBefore: \"{}\"}}", text));
    auto file = site.fleet.dir().write("rollout.yaml", doc);
    REQUIRE(site.fleet({"apply", "-f", file.string()}).exit_code == 0);
    auto service = start_service(site);
    REQUIRE(site.fleet({"rollout", "start", "up"}).exit_code == 0);
    auto line = service.wait_for_line("rollout/up waiting", std::chrono::seconds(30));
    auto waiting = site.status();
    CHECK(waiting["state"] == "waiting");
    // Which runner holds it: the name its log lines carry.
    auto name = line.substr(line.find("runner/") + 7, line.find(' ', line.find("runner/")) - line.find("runner/") - 7);
    CHECK(waiting["runner"].get<std::string>().starts_with("runner " + name + " on "));
    // get rollouts -A says so too.
    auto listed = site.fleet({"get", "rollouts", "-A", "-o", "json"});
    REQUIRE(listed.exit_code == 0);
    auto items = json::parse(listed.out)["items"];
    REQUIRE(items.size() == 1);
    CHECK(items[0]["status"]["state"] == "waiting");
    CHECK(items[0]["status"]["runner"] == waiting["runner"]);
    CHECK(contains(site.fleet({"get", "rollouts", "-A", "-o", "wide"}).out, "runner " + name + " on "));
    service.wait_for_line("rollout/up released completed", std::chrono::seconds(60));
    // Nothing was installed before notBefore.
    std::istringstream starts(slurp(site.devdir / "starts"));
    auto not_before = static_cast<double>(secs);
    for (double t; starts >> t;) CHECK(t >= not_before);
    CHECK(site.installs("n1") == 1);
    CHECK(site.installs("n2") == 1);
}

TEST_CASE("SIGTERM stops a runner cleanly: in-flight devices end recorded, the lease is handed back, another "
          "runner finishes",
          "[rollout][runner][ssh][cli]")
{
    std::vector<std::string> devices;
    for (int i = 1; i <= 6; ++i) devices.push_back(fmt::format("t{}", i));
    SshSite site(devices);
    site.rollout(R"({maxParallel: 2})", "sleep 1;");
    REQUIRE(site.fleet({"rollout", "start", "up"}).exit_code == 0);
    {
        auto first = start_service(site, {"--name", "first"});
        first.wait_for_line("device/t1 installing", std::chrono::seconds(60));
        first.kill(SIGTERM);
        CHECK(first.wait() == 0);
        CHECK(contains(first.output(), "runner/first runner-stopped"));
    }
    // Nothing is left claimed: the rollout is queued for the next runner at once.
    auto status = site.status();
    CHECK(status["state"] == "queued");
    CHECK(status["runner"].is_null());
    auto second = start_service(site, {"--name", "second", "--once"});
    CHECK(second.wait() == 0);
    status = site.status();
    CHECK(status["state"] == "completed");
    for (const auto& d : devices) {
        INFO(d);
        CHECK(site.installs(d) == 1);  // an install ended by the stop was verified, not run twice
    }
}

TEST_CASE("runner --once with nothing to run exits at once and a runner only takes rollouts its caller may operate",
          "[rollout][runner][ssh][cli]")
{
    SshSite site({"o1"});
    site.rollout(R"({maxParallel: 1})");
    auto idle = site.fleet({"runner", "--once"});
    CHECK(idle.exit_code == 0);
    CHECK(contains(idle.out, "runner-stopped: nothing left to run"));
    REQUIRE(site.fleet({"rollout", "start", "up"}).exit_code == 0);
    // A viewer's runner sees the rollout but may not run it.
    REQUIRE(site.fleet({"apply", "-f", "-"}, "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: site}\n"
                                             "spec: {settings: {channel: stable}, members: [{user: vic, role: viewer}]}\n")
                .exit_code == 0);
    if (site.fleet.on_postgres()) REQUIRE(site.fleet({"user", "add", "vic", "--no-password"}).exit_code == 0);
    auto viewer = site.fleet.as("vic", {"runner", "--once"});
    CHECK(viewer.exit_code == 0);
    CHECK(site.status()["state"] == "queued");
    CHECK(site.installs("o1") == 0);
    auto json_log = site.fleet({"runner", "--once", "-o", "json"});
    CHECK(json_log.exit_code == 0);
    std::set<std::string> types;
    std::istringstream lines(json_log.out);
    for (std::string line; std::getline(lines, line);) {
        auto e = json::parse(line);
        types.insert(e["type"].get<std::string>());
        CHECK(e.contains("runner"));
        if (e["type"] == "device") CHECK(e["tenant"] == "site");
    }
    CHECK(types.contains("runner-started"));
    CHECK(types.contains("released"));
    CHECK(site.installs("o1") == 1);
}

namespace {

/// The devices a runner's log says it installed ("… device/NAME succeeded …").
std::set<std::string> succeeded_in(const std::string& log)
{
    std::set<std::string> out;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        auto at = line.find(" device/");
        if (at == std::string::npos || line.find(" succeeded", at) == std::string::npos) continue;
        at += 8;
        out.insert(line.substr(at, line.find(' ', at) - at));
    }
    return out;
}

/// The most installs running at once, from the "+"/"-" lines the install hook appends.
int most_at_once(const std::string& marks)
{
    int now = 0, most = 0;
    for (char c : marks) {
        now += c == '+' ? 1 : c == '-' ? -1 : 0;
        most = std::max(most, now);
    }
    return most;
}

} // namespace

TEST_CASE("three runners share one 60-device rollout: every device is installed exactly once",
          "[rollout][runner][ssh][cli][concurrency]")
{
    std::vector<std::string> devices;
    for (int i = 1; i <= 60; ++i) devices.push_back(fmt::format("m{:02}", i));
    SshSite site(devices);
    site.rollout(R"({phases: [{count: 6}, {percent: 100}], maxParallel: 4})", "sleep 0.1;");
    auto ra = start_service(site, {"--name", "ra"});
    auto rb = start_service(site, {"--name", "rb"});
    auto rc = start_service(site, {"--name", "rc"});
    std::vector<test::BackgroundProcess*> runners{&ra, &rb, &rc};
    for (auto* r : runners) r->wait_for_line("runner-started");
    REQUIRE(site.fleet({"rollout", "start", "up"}).exit_code == 0);
    // Each of them sees the rollout end, whichever decided it.
    for (auto* r : runners) r->wait_for_line("rollout/up released completed", std::chrono::seconds(180));
    std::map<std::string, int> installed_by;
    std::size_t working = 0;
    for (auto* r : runners) {
        r->kill(SIGTERM);
        CHECK(r->wait() == 0);
        auto mine = succeeded_in(r->output());
        working += mine.empty() ? 0 : 1;
        for (const auto& d : mine) ++installed_by[d];
    }
    INFO(ra.output() << "\n---\n" << rb.output() << "\n---\n" << rc.output());
    CHECK(working >= 2);  // the work was shared, not run by one while the others waited
    for (const auto& d : devices) {
        INFO(d);
        CHECK(site.installs(d) == 1);
        CHECK(installed_by[d] == 1);  // reported by the one runner that claimed it
    }
    auto status = site.status();
    CHECK(status["state"] == "completed");
    for (const auto& [device, state] : device_states(status)) CHECK(state == "succeeded");
    // The phase was advanced once, the rollout completed once: one audit entry each.
    auto audit = json::parse(site.fleet({"audit", "--tenant", "site", "-o", "json"}).out)["items"];
    int phase_done = 0, completed = 0;
    for (const auto& e : audit) {
        phase_done += e["action"] == "rollout-phase-done" ? 1 : 0;
        completed += e["action"] == "rollout-completed" ? 1 : 0;
    }
    CHECK(phase_done == 1);
    CHECK(completed == 1);
}

TEST_CASE("kill -9 of one of two runners mid-phase: the other finishes, re-verifies the dead one's devices, "
          "never installs a succeeded device twice",
          "[rollout][runner][ssh][cli][concurrency]")
{
    std::vector<std::string> devices;
    for (int i = 1; i <= 16; ++i) devices.push_back(fmt::format("x{:02}", i));
    SshSite site(devices);
    site.rollout(R"({maxParallel: 2, retries: 1})", "sleep 0.5;");
    auto doomed = start_service(site, {"--name", "doomed"});
    doomed.wait_for_line("runner/doomed runner-started");
    REQUIRE(site.fleet({"rollout", "start", "up"}).exit_code == 0);
    doomed.wait_for_line("succeeded", std::chrono::seconds(60));
    auto survivor = start_service(site, {"--name", "survivor"});
    survivor.wait_for_line("rollout/up started", std::chrono::seconds(30));
    // Mid-phase: the doomed runner has devices in flight when it dies.
    std::string held;
    for (int tries = 0; tries < 200 && held.empty(); ++tries) {
        auto now = site.status();
        for (const auto& d : now["devices"])
            if (d.contains("runner") && d["runner"].get<std::string>().starts_with("runner doomed "))
                held = d["device"].get<std::string>();
        if (held.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE_FALSE(held.empty());
    std::set<std::string> done_before;
    doomed.kill(SIGKILL);
    CHECK(doomed.wait() == -SIGKILL);
    for (const auto& [device, state] : device_states(site.status()))
        if (state == "succeeded") done_before.insert(device);
    survivor.wait_for_line("rollout/up released completed", std::chrono::seconds(120));
    // The survivor took the dead runner's devices over (its process is gone: at once, not after 30 s).
    CHECK(contains(survivor.output(), "taken-over"));
    for (const auto& [device, state] : device_states(site.status())) CHECK(state == "succeeded");
    for (const auto& d : devices) {
        INFO(d);
        if (done_before.contains(d))
            CHECK(site.installs(d) == 1);
        else
            CHECK(site.installs(d) <= 2);  // at most once more, for an install the kill cut short
    }
    survivor.kill(SIGTERM);
    CHECK(survivor.wait() == 0);
}

TEST_CASE("a failure threshold crossed on one runner pauses the rollout for every runner",
          "[rollout][runner][ssh][cli][concurrency]")
{
    std::vector<std::string> devices;
    for (int i = 1; i <= 12; ++i) devices.push_back(fmt::format("f{:02}", i));
    SshSite site(devices);
    // Devices f01-f03 fail their install; one failure is allowed.
    site.rollout(R"({maxParallel: 2, failureThreshold: 1})",
                 "case $d in f01|f02|f03) exit 7;; esac; sleep 0.3;");
    auto one = start_service(site, {"--name", "one"});
    auto two = start_service(site, {"--name", "two"});
    one.wait_for_line("runner/one runner-started");
    two.wait_for_line("runner/two runner-started");
    REQUIRE(site.fleet({"rollout", "start", "up"}).exit_code == 0);
    one.wait_for_line("rollout/up released paused-by-threshold", std::chrono::seconds(60));
    two.wait_for_line("rollout/up released paused-by-threshold", std::chrono::seconds(60));
    auto status = site.status();
    CHECK(status["state"] == "paused");
    CHECK(contains(status["reason"].get<std::string>(), "failure threshold exceeded"));
    // Decided once: one audit entry.
    auto audit = json::parse(site.fleet({"audit", "--tenant", "site", "-o", "json"}).out)["items"];
    int paused = 0;
    for (const auto& e : audit) paused += e["action"] == "rollout-paused" ? 1 : 0;
    CHECK(paused == 1);
    // Nothing is left half-way, and no device started after both runners let go.
    for (const auto& [device, state] : device_states(status))
        CHECK((state == "succeeded" || state == "failed" || state == "pending"));
    for (auto* r : {&one, &two}) {
        r->kill(SIGTERM);
        CHECK(r->wait() == 0);
    }
}

TEST_CASE("updatePolicy.maxParallel caps a tenant's devices in flight across runners",
          "[rollout][runner][ssh][cli][concurrency]")
{
    std::vector<std::string> devices;
    for (int i = 1; i <= 10; ++i) devices.push_back(fmt::format("c{:02}", i));
    SshSite site(devices);
    REQUIRE(site.fleet({"apply", "-f", "-"}, "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: site}\n"
                                             "spec: {settings: {channel: stable}, updatePolicy: {maxParallel: 2}}\n")
                .exit_code == 0);
    auto marks = (site.devdir / "marks").string();
    // Each runner alone would run 4 at once (the rollout's maxParallel): 8 with two.
    site.rollout(R"({maxParallel: 4})", fmt::format("echo + >> {0}; sleep 0.4; echo - >> {0};", marks));
    auto one = start_service(site, {"--name", "one"});
    auto two = start_service(site, {"--name", "two"});
    one.wait_for_line("runner/one runner-started");
    two.wait_for_line("runner/two runner-started");
    REQUIRE(site.fleet({"rollout", "start", "up"}).exit_code == 0);
    one.wait_for_line("rollout/up released completed", std::chrono::seconds(90));
    two.wait_for_line("rollout/up released completed", std::chrono::seconds(90));
    auto text = slurp(marks);
    CHECK(std::count(text.begin(), text.end(), '+') == 10);
    CHECK(most_at_once(text) <= 2);
    CHECK(most_at_once(text) >= 1);
    for (const auto& d : devices) CHECK(site.installs(d) == 1);
    for (auto* r : {&one, &two}) {
        r->kill(SIGTERM);
        CHECK(r->wait() == 0);
    }
}
