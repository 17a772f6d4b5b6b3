// Rollout state says what is true (SPEC §8): running only while a runner holds the lease, queued
// when nobody runs it, waiting (with until when) before notBefore or outside a window; and
// `status --watch` ends when the rollout ends or pauses, and with 130 at Ctrl-C.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>

#include "tests/support/background.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

using fleet::test::BackgroundProcess;
using fleet::test::Fleet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

/// A tenant `site` with devices on one real sshd and a rollout `up` of firmware to all of them;
/// each install sleeps a little, so a run takes long enough to be looked at.
struct Site {
    fleet::test::Sshd sshd;
    Fleet fleet;

    Site(int devices, const std::string& schedule)
    {
        REQUIRE(fleet({"init"}).exit_code == 0);
        auto known = fleet.dir().write("known_hosts", sshd.known_hosts_line() + "\n");
        fleet.dir().write("fw.bin", "firmware");
        auto done = sshd.dir() / "installed";
        std::string docs = fmt::format(R"(apiVersion: fleetadm/v1
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
spec: {{file: fw.bin, version: "2.0"}}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: up, tenant: site}}
spec:
  artifact: fw
  targets: {{selector: "role=x"}}
  strategy: {{maxParallel: 1}}
  schedule: {}
  install: {{ssh: {{command: "sleep 0.5; echo {{{{device.name}}}} >> {}"}}}}
)",
                                       sshd.user_key().string(), known.string(), schedule, done.string());
        for (int i = 1; i <= devices; ++i)
            docs += fmt::format("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: d{}, tenant: site, "
                                "labels: {{role: x}}}}\nspec: {{deviceType: rpi4, ssh: {{host: 127.0.0.1, port: {}, "
                                "user: {}, credential: key}}}}\n",
                                i, sshd.port(), fleet::test::login_name());
        auto applied = fleet({"apply", "-f", fleet.dir().write("site.yaml", docs).string()});
        INFO(applied.err);
        REQUIRE(applied.exit_code == 0);
    }

    /// The state `get rollouts` and `tenant tree` show for `up`: they must agree with status.
    std::pair<std::string, json> listed_state() const
    {
        auto got = fleet({"get", "rollouts", "--tenant", "site", "-o", "json"});
        INFO(got.err);
        REQUIRE(got.exit_code == 0);
        auto items = json::parse(got.out);
        if (items.is_object() && items.contains("items")) items = items["items"];
        REQUIRE(items.size() == 1);
        auto tree = fleet({"tenant", "tree", "-o", "json"});
        INFO(tree.err);
        REQUIRE(tree.exit_code == 0);
        json counts;
        std::function<void(const json&)> walk = [&](const json& node) {
            if (node.value("name", "") == "site") counts = node["rollouts"];
            for (const auto& c : node.value("children", json::array())) walk(c);
        };
        auto root = json::parse(tree.out);
        if (root.is_array()) for (const auto& n : root) walk(n);
        else walk(root);
        return {items[0]["status"]["state"].get<std::string>(), counts};
    }

    json status() const
    {
        auto r = fleet({"rollout", "status", "up", "-o", "json"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        return json::parse(r.out);
    }

    /// A fleetadm command in the background against this store.
    BackgroundProcess background(std::vector<std::string> args) const
    {
        args.insert(args.begin(), {"--state", fleet.location()});
        return BackgroundProcess(FLEETADM_BIN, args, {{"HOME", fleet.dir().path().string()}});
    }
};

} // namespace

TEST_CASE("rollout status: running only while a runner holds it: queued after Ctrl-C and after resume",
          "[cli][rollout][state][ssh]")
{
    Site site(6, "{windows: none}");
    CHECK(site.status()["state"] == "not started");
    {
        auto runner = site.background({"rollout", "run", "up"});
        runner.wait_for_line("device/d1 succeeded", std::chrono::seconds(60));
        CHECK(site.status()["state"] == "running");
        auto [listed, counts] = site.listed_state();
        CHECK(listed == "running");
        CHECK(counts["running"] == 1);
        runner.kill(SIGINT);
        CHECK(runner.wait() == 130);
    }
    auto stopped = site.status();
    CHECK(stopped["state"] == "queued");
    CHECK(contains(stopped["reason"].get<std::string>(), "no runner holds it"));
    auto table = site.fleet({"rollout", "status", "up"});
    CHECK(contains(table.out, "rollout/up (tenant site): queued"));
    {
        // Not what the killed runner stored ("running"): what is true now.
        auto [listed, counts] = site.listed_state();
        CHECK(listed == "queued");
        CHECK(counts["queued"] == 1);
        CHECK(counts["running"] == 0);
    }

    REQUIRE(site.fleet({"rollout", "pause", "up"}).exit_code == 0);
    CHECK(site.status()["state"] == "paused");
    // --watch of a paused rollout ends at once: nothing changes until someone acts.
    auto watched = fleet::test::run_process("/usr/bin/timeout", {"30", FLEETADM_BIN, "--state", site.fleet.location(),
                                                        "rollout", "status", "up", "--watch"},
                                            "", {{"HOME", site.fleet.dir().path().string()}});
    CHECK(watched.exit_code == 0);
    CHECK(contains(watched.out, ": paused"));

    REQUIRE(site.fleet({"rollout", "resume", "up"}).exit_code == 0);
    CHECK(site.status()["state"] == "queued");  // resumed, but nobody runs it

    // --watch of a queued rollout goes on until Ctrl-C: exit 130.
    {
        auto watch = site.background({"rollout", "status", "up", "--watch"});
        watch.wait_for_line("rollout/up (tenant site): queued");
        watch.kill(SIGINT);
        CHECK(watch.wait() == 130);
    }
    // --watch ends with exit 0 when a runner completes the rollout.
    auto watch = site.background({"rollout", "status", "up", "--watch"});
    watch.wait_for_line("rollout/up (tenant site): queued");
    auto finished = site.fleet({"rollout", "run", "up"});
    INFO(finished.err);
    CHECK(finished.exit_code == 0);
    CHECK(watch.wait() == 0);
    CHECK(contains(watch.output(), "rollout/up (tenant site): completed"));
    CHECK(site.status()["state"] == "completed");
}

TEST_CASE("rollout status: waiting until notBefore, with or without a runner", "[cli][rollout][state]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", "firmware");
    auto file = fleet.dir().write("site.yaml", R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: site}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: site}
spec: {file: fw.bin, version: "2.0"}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {name: d1, tenant: site, labels: {role: x}}
spec: {deviceType: rpi4, ssh: {host: 127.0.0.1, port: 1}}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: later, tenant: site}
spec:
  artifact: fw
  targets: {selector: "role=x"}
  schedule: {notBefore: "2099-01-01T00:00:00Z", windows: none}
  install: {ssh: {command: "true"}}
)");
    auto applied = fleet({"apply", "-f", file.string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);

    BackgroundProcess runner(FLEETADM_BIN, {"--state", fleet.location(), "rollout", "run", "later"},
                             {{"HOME", fleet.dir().path().string()}});
    runner.wait_for_line("waiting until notBefore 2099-01-01T00:00:00Z");
    auto status = fleet({"rollout", "status", "later"});
    CHECK(contains(status.out, "rollout/later (tenant site): waiting — notBefore 2099-01-01T00:00:00Z"));
    runner.kill(SIGINT);
    CHECK(runner.wait() == 130);
    // Still waiting for its time, runner or not; and nothing was pushed.
    auto after = json::parse(fleet({"rollout", "status", "later", "-o", "json"}).out);
    CHECK(after["state"] == "waiting");
    CHECK(after["reason"] == "notBefore 2099-01-01T00:00:00Z");
    CHECK(after["devices"][0]["state"] == "pending");
    auto got = json::parse(fleet({"get", "rollouts", "--tenant", "site", "-o", "json"}).out);
    if (got.is_object() && got.contains("items")) got = got["items"];
    REQUIRE(got.size() == 1);
    CHECK(got[0]["status"]["state"] == "waiting");
    CHECK(got[0]["status"]["reason"] == "notBefore 2099-01-01T00:00:00Z");
    auto table = fleet({"get", "rollouts", "--tenant", "site"});
    CHECK(contains(table.out, "waiting"));
    CHECK(contains(fleet({"tenant", "tree"}).out, "1 waiting"));
}
