// An interrupted or timed-out remote command is ended on the device, never installed twice, and
// every step's output tails say why it failed: the real binary against a real sshd on loopback.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/background.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

using namespace fleet;
using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string slurp(const fs::path& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

int lines_in(const fs::path& path)
{
    auto text = slurp(path);
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

/// Waits until path exists and holds a whole line (the remote shell wrote it); false after timeout.
bool wait_for_file(const fs::path& path, std::chrono::seconds timeout)
{
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
        auto text = slurp(path);
        if (!text.empty() && text.back() == '\n') return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a file written by another process: polled
    }
    return false;
}

/// True while a live process (not a zombie left for init to reap) of process group pgid exists.
bool group_alive(pid_t pgid)
{
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        auto name = entry.path().filename().string();
        if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
        auto stat = slurp(entry.path() / "stat");
        auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
        if (close == std::string::npos) continue;
        std::istringstream fields(stat.substr(close + 1));
        std::string state;
        long ppid = 0, pgrp = 0;
        fields >> state >> ppid >> pgrp;
        if (pgrp == pgid && state != "Z" && state != "X") return true;
    }
    return false;
}

/// How long until no process of group pgid exists (at most limit; limit + 1 ms when some still do).
std::chrono::milliseconds time_until_gone(pid_t pgid, std::chrono::milliseconds limit)
{
    auto start = Clock::now();
    for (;;) {
        auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        if (!group_alive(pgid)) return std::min(elapsed, limit);
        if (elapsed >= limit) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(-pgid, SIGKILL);  // leave nothing behind for the next test
    return limit + std::chrono::milliseconds(1);
}

/// A tenant `site` with one device `dev` on a real sshd, and a 64 KiB artifact fw 2.0.0.
struct Site {
    test::Sshd sshd;
    test::Fleet fleet;
    fs::path d = sshd.dir() / "dev";

    Site()
    {
        fs::create_directories(d);
        REQUIRE(fleet({"init"}).exit_code == 0);
        auto known = fleet.dir().write("known_hosts", sshd.known_hosts_line() + "\n");
        fleet.dir().write("fw.bin", std::string(64 * 1024, 'F'));
        auto docs = fmt::format(R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {{name: site}}
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
---
apiVersion: fleetadm/v1
kind: Device
metadata: {{name: dev, tenant: site, labels: {{fleet: "yes"}}}}
spec: {{deviceType: rpi4, versionProbe: "cat {}/version", ssh: {{host: 127.0.0.1, port: {}, user: {}, credential: key}}}}
)",
                                sshd.user_key().string(), known.string(), d.string(), sshd.port(), test::login_name());
        auto file = fleet.dir().write("site.yaml", docs);
        auto applied = fleet({"apply", "-f", file.string()});
        INFO(applied.err);
        REQUIRE(applied.exit_code == 0);
    }

    /// Applies rollout `up` with this install command; verify passes when D/version holds 2.0.0.
    void rollout(const std::string& install, const std::string& strategy = "{}")
    {
        auto file = fleet.dir().write("rollout.yaml", fmt::format(R"(apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: up, tenant: site}}
spec:
  artifact: fw
  targets: {{selector: "fleet=yes"}}
  strategy: {}
  schedule: {{windows: none}}
  install:
    ssh: {{uploadDir: {}, command: {}}}
  verify:
    ssh: {{command: "cat {}/version", expect: "{{{{artifact.version}}}}"}}
)",
                                                                  strategy, d.string(), json(install).dump(),
                                                                  d.string()));
        auto applied = fleet({"apply", "-f", file.string()});
        INFO(applied.err);
        REQUIRE(applied.exit_code == 0);
    }

    json status() const
    {
        auto r = fleet({"rollout", "status", "up", "-o", "json"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        return json::parse(r.out);
    }

    std::string env_home() const { return fleet.dir().path().string(); }
};

std::string device_state(const json& status, const std::string& device)
{
    for (const auto& d : status["devices"])
        if (d["device"] == device) return d["state"];
    return "";
}

} // namespace

TEST_CASE("Ctrl-C during an SSH install ends the remote command: a rerun verifies before installing again",
          "[rollout][ssh][interrupt][cli]")
{
    Site site;
    std::string D = site.d.string();
    // Records its start; the first run writes its shell's pid (its process group) and hangs; every
    // run that gets past the hang records its end. With `early`, the first run has already
    // installed (the version is in place) when it is interrupted.
    bool early = GENERATE(false, true);
    std::string before_hang = early ? fmt::format("printf %s 2.0.0 > {}/version; ", D) : "";
    site.rollout(fmt::format("echo start >> {0}/starts; if [ ! -e {0}/pgid ]; then {1}echo $$ > {0}/pgid; sleep 60; "
                             "fi; printf %s {{{{artifact.version}}}} > {0}/version; echo end >> {0}/ends",
                             D, before_hang));
    {
        test::BackgroundProcess runner(FLEETADM_BIN, {"--state", site.fleet.location(), "rollout", "run", "up"},
                                       {{"HOME", site.env_home()}});
        REQUIRE(wait_for_file(site.d / "pgid", std::chrono::seconds(30)));
        auto pgid = static_cast<pid_t>(std::stol(slurp(site.d / "pgid")));
        REQUIRE(group_alive(pgid));  // the installer runs
        runner.kill(SIGINT);
        auto gone = time_until_gone(pgid, std::chrono::milliseconds(2000));
        CHECK(gone <= std::chrono::milliseconds(2000));
        CHECK(runner.wait() == 130);
        INFO(runner.output());
    }
    CHECK(lines_in(site.d / "starts") == 1);
    CHECK_FALSE(fs::exists(site.d / "ends"));
    auto after = site.status();
    CHECK(device_state(after, "dev") == "installing");  // left for the next run to verify

    auto rerun = site.fleet({"rollout", "run", "up"});
    INFO(rerun.out << rerun.err);
    CHECK(rerun.exit_code == 0);
    CHECK(device_state(site.status(), "dev") == "succeeded");
    if (early) {
        // Verify passed: not installed again.
        CHECK(lines_in(site.d / "starts") == 1);
        CHECK_FALSE(fs::exists(site.d / "ends"));
    } else {
        // Verify failed: installed exactly once more, to its end.
        CHECK(lines_in(site.d / "starts") == 2);
        CHECK(lines_in(site.d / "ends") == 1);
    }
    auto device = json::parse(site.fleet({"get", "device", "dev", "--tenant", "site", "-o", "json"}).out);
    CHECK(device["status"]["reportedVersion"] == "2.0.0");
}

TEST_CASE("a deviceTimeout ends the remote install on the device before the attempt fails", "[rollout][ssh][interrupt][cli]")
{
    Site site;
    std::string D = site.d.string();
    site.rollout(fmt::format("echo $$ > {0}/pgid; sleep 60; echo end >> {0}/ends", D), "{deviceTimeout: 6s, failureThreshold: 1}");
    auto run = site.fleet({"rollout", "run", "up"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 1);
    REQUIRE(fs::exists(site.d / "pgid"));
    auto pgid = static_cast<pid_t>(std::stol(slurp(site.d / "pgid")));
    // Ended before the run reported the failure: nothing of it is left when the command returns.
    CHECK(time_until_gone(pgid, std::chrono::milliseconds(2000)) <= std::chrono::milliseconds(2000));
    CHECK_FALSE(fs::exists(site.d / "ends"));
    auto status = site.status();
    CHECK(device_state(status, "dev") == "failed");
    CHECK(contains(status["devices"][0]["reason"].get<std::string>(), "timeout"));
}

TEST_CASE("exec --timeout and Ctrl-C of exec end the command's process group on the device", "[ssh][cli][interrupt]")
{
    Site site;
    std::string D = site.d.string();
    auto command = fmt::format("echo $$ > {0}/pgid; sleep 60; echo end >> {0}/ends", D);
    SECTION("--timeout")
    {
        auto r = site.fleet({"exec", "--all", "--timeout", "5s", "--", command});
        INFO(r.out << r.err);
        CHECK(r.exit_code == 1);
        CHECK(contains(r.out, "timeout"));
        REQUIRE(fs::exists(site.d / "pgid"));
        auto pgid = static_cast<pid_t>(std::stol(slurp(site.d / "pgid")));
        CHECK(time_until_gone(pgid, std::chrono::milliseconds(2000)) <= std::chrono::milliseconds(2000));
    }
    SECTION("Ctrl-C")
    {
        test::BackgroundProcess exec(FLEETADM_BIN, {"--state", site.fleet.location(), "exec", "--all", "--", command},
                                     {{"HOME", site.env_home()}});
        REQUIRE(wait_for_file(site.d / "pgid", std::chrono::seconds(30)));
        auto pgid = static_cast<pid_t>(std::stol(slurp(site.d / "pgid")));
        exec.kill(SIGINT);
        CHECK(time_until_gone(pgid, std::chrono::milliseconds(2000)) <= std::chrono::milliseconds(2000));
        CHECK(exec.wait() == 130);
    }
    CHECK_FALSE(fs::exists(site.d / "ends"));
}

TEST_CASE("a failing install says why: its output in rollout status -o wide and json, and describe device",
          "[rollout][ssh][output][cli]")
{
    Site site;
    site.rollout("echo unpacking; echo 'install: /data: no space left on device' >&2; echo rolled back >&2; exit 3",
                 "{failureThreshold: 1}");
    auto run = site.fleet({"rollout", "run", "up"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 1);

    auto status = site.status();
    REQUIRE(status["devices"].size() == 1);
    const auto& steps = status["devices"][0]["steps"];
    bool install_seen = false;
    for (const auto& s : steps)
        if (s["step"] == "install") {
            install_seen = true;
            CHECK(s["result"] == "remote");
            CHECK(s["exitStatus"] == 3);
            CHECK(s["stdout"] == "unpacking\n");
            CHECK(s["stderr"] == "install: /data: no space left on device\nrolled back\n");
        }
    CHECK(install_seen);

    auto wide = site.fleet({"rollout", "status", "up", "-o", "wide"});
    INFO(wide.out);
    CHECK(wide.exit_code == 0);
    CHECK(contains(wide.out, "stderr | install: /data: no space left on device"));
    CHECK(contains(wide.out, "stderr | rolled back"));
    CHECK(contains(wide.out, "stdout | unpacking"));

    auto describe = site.fleet({"describe", "device", "dev", "--tenant", "site"});
    INFO(describe.out << describe.err);
    CHECK(describe.exit_code == 0);
    CHECK(contains(describe.out, "rollout/up install: remote, exit 3"));
    CHECK(contains(describe.out, "stderr | install: /data: no space left on device"));

    auto described = site.fleet({"describe", "device", "dev", "--tenant", "site", "-o", "json"});
    REQUIRE(described.exit_code == 0);
    auto outputs = json::parse(described.out)["status"]["outputs"];
    REQUIRE(outputs.is_array());
    bool found = false;
    for (const auto& o : outputs)
        found = found || (o["source"] == "rollout/up" && contains(o["stderr"].get<std::string>(), "no space left"));
    CHECK(found);
}

TEST_CASE("exec and device check show every output line and keep it for describe device", "[ssh][cli][output]")
{
    Site site;
    auto command = "echo first; echo 'error: one' >&2; echo 'error: two' >&2; printf '\\377\\n'; exit 4";
    auto r = site.fleet({"exec", "--all", "--", command});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "stderr | error: one"));  // not only the last line
    CHECK(contains(r.out, "stderr | error: two"));
    CHECK(contains(r.out, "stdout | first"));
    CHECK_FALSE(contains(r.out, "fleetadm-pgid"));  // the wrapper's own line never shows

    auto j = site.fleet({"exec", "--all", "-o", "json", "--", command});
    REQUIRE(j.exit_code == 1);
    auto line = json::parse(j.out.substr(0, j.out.find('\n')));
    CHECK(line["stderr"] == "error: one\nerror: two\n");
    CHECK(line["stdout"] == "first\n\xef\xbf\xbd\n");  // a byte that is not UTF-8, replaced
    CHECK(line["exit"] == 4);

    // The version probe fails: device check prints why, and describe device keeps it.
    auto check = site.fleet({"device", "check", "dev", "--tenant", "site"});
    INFO(check.out << check.err);
    CHECK(check.exit_code == 1);
    CHECK(contains(check.out, "stderr | cat: "));
    auto describe = site.fleet({"describe", "device", "dev", "--tenant", "site"});
    CHECK(contains(describe.out, "exec: remote, exit 4"));
    CHECK(contains(describe.out, "stderr | error: one"));
    CHECK(contains(describe.out, "check: remote, exit 1"));
}

TEST_CASE("a swupdate device needs no install.http: it is installed, not skipped as incompatible",
          "[rollout][http][cli]")
{
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.swu", "swu");
    int port = test::free_port();  // nothing listens: the attempt fails as unreachable
    auto file = fleet.dir().write("all.yaml", fmt::format(R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {{name: site}}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {{name: fw, tenant: site}}
spec: {{file: fw.swu, version: "2.0.0"}}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {{name: swu, tenant: site, labels: {{fleet: "yes"}}}}
spec: {{deviceType: imx8, http: {{url: "http://127.0.0.1:{}", profile: swupdate}}}}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: up, tenant: site}}
spec:
  artifact: fw
  targets: {{selector: "fleet=yes"}}
  strategy: {{failureThreshold: 1}}
  schedule: {{windows: none}}
)",
                                                          port));
    auto applied = fleet({"apply", "-f", file.string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    auto run = fleet({"rollout", "run", "up"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 1);
    auto status = json::parse(fleet({"rollout", "status", "up", "-o", "json"}).out);
    REQUIRE(status["devices"].size() == 1);
    CHECK(status["devices"][0]["state"] == "failed");
    CHECK_FALSE(contains(status["devices"][0].value("reason", ""), "incompatible"));
    CHECK(contains(status["devices"][0].value("reason", ""), "unreachable"));
}

TEST_CASE("a rollout that would reach a generic HTTP device without install.http is refused at validate, plan and "
          "apply",
          "[rollout][http][cli]")
{
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", "fw");
    auto base = fleet.dir().write("base.yaml", R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: site}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: site}
spec: {file: fw.bin, version: "2.0.0"}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {name: cam-1, tenant: site, labels: {fleet: "yes"}}
spec: {deviceType: imx8, http: {url: "http://127.0.0.1:9"}}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {name: gw-1, tenant: site, labels: {fleet: "yes"}}
spec: {deviceType: imx8, ssh: {host: 127.0.0.1}, http: {url: "http://127.0.0.1:9"}}
---
apiVersion: fleetadm/v1
kind: DeviceGroup
metadata: {name: cams, tenant: site}
spec: {devices: [cam-1]}
)");
    REQUIRE(fleet({"apply", "-f", base.string()}).exit_code == 0);
    // Over SSH for the device that has it; cam-1 has only a generic HTTP endpoint.
    const std::string rollout = R"(apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: up, tenant: site}
spec:
  artifact: fw
  targets: TARGETS
  schedule: {windows: none}
  install: {ssh: {command: "true"}}
)";
    auto with_targets = [&](const std::string& targets) {
        auto text = rollout;
        text.replace(text.find("TARGETS"), 7, targets);
        return fleet.dir().write("rollout.yaml", text).string();
    };
    for (const auto& targets : {std::string("{selector: \"fleet=yes\"}"), std::string("{group: cams}")}) {
        auto file = with_targets(targets);
        for (std::vector<std::string> cmd : {std::vector<std::string>{"validate", "-f", file},
                                             {"plan", "-f", file},
                                             {"apply", "-f", file},
                                             {"apply", "--dry-run", "-f", file}}) {
            auto r = fleet(cmd);
            INFO(cmd[0] << " " << targets << ": " << r.out << r.err);
            CHECK(r.exit_code == 2);
            CHECK(contains(r.err, "rollout.yaml:"));
            CHECK(contains(r.err, "spec.install.http"));
            CHECK(contains(r.err, "1 target device(s)"));
            CHECK(contains(r.err, "device/cam-1"));
            CHECK_FALSE(contains(r.err, "device/gw-1"));  // reached over SSH
        }
    }
    CHECK(fleet({"get", "rollouts", "--tenant", "site", "-o", "name"}).out.empty());

    // The same apply that removes cam-1 from the targets makes the rollout valid.
    auto relabel = fleet.dir().write("relabel.yaml", R"(apiVersion: fleetadm/v1
kind: Device
metadata: {name: cam-1, tenant: site, labels: {fleet: "no"}}
spec: {deviceType: imx8, http: {url: "http://127.0.0.1:9"}}
)");
    auto together = fleet({"apply", "-f", relabel.string(), "-f", with_targets("{selector: \"fleet=yes\"}")});
    INFO(together.err);
    CHECK(together.exit_code == 0);

    // And an install.http step makes a generic device a valid target.
    auto file = with_targets("{selector: \"fleet=no\"}");
    auto text = test::read_file(file);
    text.replace(text.find("install: {ssh: {command: \"true\"}}"), 33,
                 "install: {ssh: {command: \"true\"}, http: {path: /upload}}");
    fleet.dir().write("rollout.yaml", text);
    auto fixed = fleet({"apply", "-f", file});
    INFO(fixed.err);
    CHECK(fixed.exit_code == 0);
}

TEST_CASE("a retry after an install timeout verifies first: installed once when the timed-out install took",
          "[rollout][ssh][interrupt][cli]")
{
    Site site;
    std::string D = site.d.string();
    // The first run hangs past deviceTimeout; with `took`, it has written the version before.
    bool took = GENERATE(false, true);
    std::string before_hang = took ? fmt::format("printf %s 2.0.0 > {}/version; ", D) : "";
    site.rollout(fmt::format("echo start >> {0}/starts; if [ ! -e {0}/hung ]; then touch {0}/hung; {1}sleep 60; fi; "
                             "printf %s {{{{artifact.version}}}} > {0}/version; echo end >> {0}/ends",
                             D, before_hang),
                 "{deviceTimeout: 6s, retries: 1, failureThreshold: 1}");
    auto run = site.fleet({"rollout", "run", "up"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 0);
    CHECK(device_state(site.status(), "dev") == "succeeded");
    if (took) {
        CHECK(lines_in(site.d / "starts") == 1);  // verify passed: no second install
        CHECK_FALSE(fs::exists(site.d / "ends"));
    } else {
        CHECK(lines_in(site.d / "starts") == 2);  // verify failed: installed once more, to its end
        CHECK(lines_in(site.d / "ends") == 1);
    }
}
