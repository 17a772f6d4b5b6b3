#include <catch2/catch.hpp>

#include "core/rollout/decide.hpp"
#include "core/rollout/step.hpp"
#include "core/transport/endpoints.hpp"

// The pieces of the runner that are pure functions: the decisions over a rollout's stored rows
// (threshold, soak, phase advance, completion) at a given time, and the mapping from a device's
// endpoints to a transport step. The runner's loop around them is tested with real processes.

using namespace fleet;
using nlohmann::json;
using store::DeviceState;
using store::RunState;

namespace {

std::chrono::system_clock::time_point at(const std::string& utc) { return rollout::parse_utc(utc).value(); }

/// A running rollout at phase, with devices per phase in the given states.
struct Rows {
    store::RolloutRun run{"t", "up", RunState::running, "", 0, "", "", "", "", "", "", 0};
    std::vector<store::RolloutDevice> devices;
    void add(std::int64_t phase, DeviceState state, std::size_t n = 1)
    {
        for (std::size_t i = 0; i < n; ++i)
            devices.push_back({"t", "up", "d" + std::to_string(devices.size()), phase, state, "", 1, "", "", 0});
    }
    rollout::Tally tally() const { return rollout::tally(devices, run.phase); }
};

} // namespace

TEST_CASE("a phase past its failure threshold pauses the rollout (or aborts it with onFailure: abort)", "[rollout][decide]")
{
    json strategy = json::parse(R"({"phases": [{"name": "canary", "count": 4}, {"percent": 100}], "failureThreshold": 1})");
    auto plan = rollout::PhasePlan::make(strategy, 10);
    REQUIRE(plan.phases.size() == 2);
    Rows rows;
    rows.add(0, DeviceState::failed);
    rows.add(0, DeviceState::transferring, 3);
    rows.add(1, DeviceState::pending, 6);
    auto now = at("2026-12-01T02:00:00Z");
    // One failure is allowed: nothing to decide while devices are in flight.
    CHECK_FALSE(rollout::decision_due(rows.run, plan, rows.tally(), now));
    CHECK_FALSE(rollout::decide(rows.run, plan, rows.tally(), now).run);

    rows.devices[1].state = DeviceState::failed;
    REQUIRE(rollout::decision_due(rows.run, plan, rows.tally(), now));
    auto d = rollout::decide(rows.run, plan, rows.tally(), now);
    REQUIRE(d.run);
    CHECK(d.run->state == RunState::paused);
    CHECK(d.run->reason == "failure threshold exceeded in phase canary: 2 of 4 device(s) failed (allowed 1)");
    CHECK(d.audit_type == "rollout-paused");
    CHECK_FALSE(d.next_phase);

    strategy["onFailure"] = "abort";
    auto aborting = rollout::decide(rows.run, rollout::PhasePlan::make(strategy, 10), rows.tally(), now);
    REQUIRE(aborting.run);
    CHECK(aborting.run->state == RunState::aborted);
    CHECK(aborting.audit_type == "rollout-aborted");
}

TEST_CASE("a finished phase soaks for its time by the clock, then the next phase starts", "[rollout][decide]")
{
    json strategy = json::parse(R"({"phases": [{"name": "canary", "count": 2, "soak": "10m"}, {"name": "rest", "percent": 100, "pause": true}]})");
    auto plan = rollout::PhasePlan::make(strategy, 5);
    Rows rows;
    rows.add(0, DeviceState::succeeded, 2);
    rows.add(1, DeviceState::pending, 3);
    auto t0 = at("2026-12-01T02:00:00Z");

    // The phase's devices all ended: the soak starts now (no audit entry, a soak event).
    REQUIRE(rollout::decision_due(rows.run, plan, rows.tally(), t0));
    auto soak = rollout::decide(rows.run, plan, rows.tally(), t0);
    REQUIRE(soak.run);
    CHECK(soak.run->state == RunState::running);
    CHECK(soak.run->phase_done_at == "2026-12-01T02:00:00Z");
    CHECK(soak.audit_type.empty());
    REQUIRE(soak.event);
    CHECK(soak.event->type == "soak");
    rows.run = *soak.run;

    // During the soak nothing is due; at its end the next phase starts.
    CHECK_FALSE(rollout::decision_due(rows.run, plan, rows.tally(), t0 + std::chrono::minutes(9)));
    CHECK_FALSE(rollout::decide(rows.run, plan, rows.tally(), t0 + std::chrono::minutes(9)).run);
    auto next = rollout::decide(rows.run, plan, rows.tally(), t0 + std::chrono::minutes(10));
    REQUIRE(next.run);
    CHECK(next.run->phase == 1);
    CHECK(next.run->phase_done_at.empty());
    CHECK(next.next_phase);
    CHECK(next.audit_type == "rollout-phase-done");
    CHECK(next.audit_summary == "phase canary done");
    rows.run = *next.run;

    // The last phase pauses after itself only if it is not the last: completing wins.
    for (auto& d : rows.devices) d.state = DeviceState::succeeded;
    rows.devices.back().state = DeviceState::failed;
    json lenient = strategy;
    lenient["failureThreshold"] = 1;
    auto done = rollout::decide(rows.run, rollout::PhasePlan::make(lenient, 5), rows.tally(), t0 + std::chrono::minutes(11));
    REQUIRE(done.run);
    CHECK(done.run->state == RunState::completed);
    CHECK(done.run->reason == "1 device(s) failed");
    CHECK(done.audit_type == "rollout-completed");
}

TEST_CASE("a phase with pause: true pauses the rollout at the next phase and nothing is decided for a stopped rollout",
          "[rollout][decide]")
{
    json strategy = json::parse(R"({"phases": [{"name": "canary", "count": 1, "pause": true}, {"percent": 100}]})");
    auto plan = rollout::PhasePlan::make(strategy, 3);
    Rows rows;
    rows.add(0, DeviceState::succeeded);
    rows.add(1, DeviceState::pending, 2);
    auto now = at("2026-12-01T02:00:00Z");
    auto d = rollout::decide(rows.run, plan, rows.tally(), now);
    REQUIRE(d.run);
    CHECK(d.run->state == RunState::paused);
    CHECK(d.run->phase == 1);
    CHECK(d.run->reason == "paused after phase canary; run `rollout resume` to go on");

    rows.run.state = RunState::paused;
    CHECK_FALSE(rollout::decision_due(rows.run, plan, rows.tally(), now));
    CHECK_FALSE(rollout::decide(rows.run, plan, rows.tally(), now).run);

    // Every target skipped: no phases, completed at once.
    Rows none;
    none.add(-1, DeviceState::skipped, 2);
    auto empty = rollout::decide(none.run, rollout::PhasePlan::make(strategy, 0), none.tally(), now);
    REQUIRE(empty.run);
    CHECK(empty.run->state == RunState::completed);
    CHECK(empty.run->reason == "no device needed the artifact");
}

TEST_CASE("rollout states are stored by name and any other text is refused", "[rollout][decide]")
{
    for (auto s : {DeviceState::pending, DeviceState::transferring, DeviceState::installing, DeviceState::verifying,
                   DeviceState::succeeded, DeviceState::failed, DeviceState::skipped})
        CHECK(store::parse_device_state(store::state_name(s)) == s);
    for (auto s : {RunState::running, RunState::paused, RunState::aborted, RunState::completed})
        CHECK(store::parse_run_state(store::state_name(s)) == s);
    CHECK_FALSE(store::parse_device_state("Succeeded"));
    CHECK_FALSE(store::parse_device_state("succeeded "));
    CHECK_FALSE(store::parse_run_state(""));
    CHECK(store::bad_state("rollout up", "a\x01\"b") ==
          "the store holds an unknown state \"a\\x01\\x22b\" for rollout up; only fleetadm should write rollout state");
}

TEST_CASE("a device's endpoints carry its own tenant's credentials and a missing one is that endpoint's problem",
          "[rollout][transport]")
{
    model::Resource device;
    device.kind = model::Kind::device;
    device.tenant = "site";
    device.name = "g1";
    device.spec = json::parse(R"({"deviceType": "x",
        "ssh": {"host": "10.0.0.5", "port": 2222, "user": "root", "credential": "key",
                "jump": [{"host": "gw.site", "credential": "bastion"}, {"host": "inner"}]},
        "http": {"url": "https://10.0.0.5", "profile": "swupdate", "credential": "token"}})");
    std::vector<std::string> asked;
    transport::CredentialLookup lookup = [&](const std::string& name) -> util::Result<std::optional<transport::Credential>> {
        asked.push_back(name);
        if (name == "token") return std::nullopt;
        transport::Credential c;
        c.name = name;
        c.type = "ssh-key";
        return c;
    };
    auto e = transport::device_endpoints(device, lookup).value();
    REQUIRE(e.ssh);
    CHECK(e.ssh->device == "g1");
    CHECK(e.ssh->host == "10.0.0.5");
    CHECK(e.ssh->port == 2222);
    CHECK(e.ssh->user == "root");
    REQUIRE(e.ssh->credential);
    CHECK(e.ssh->credential->name == "key");
    REQUIRE(e.ssh->jump.size() == 2);
    CHECK(e.ssh->jump[0].credential->name == "bastion");
    CHECK(e.ssh->jump[1].credential->name == "key");  // a hop without its own uses the device's
    CHECK(e.ssh_problem.empty());
    REQUIRE(e.http);
    CHECK(e.http->url == "https://10.0.0.5");
    CHECK(e.http->profile == "swupdate");
    CHECK_FALSE(e.http->credential);
    CHECK(e.http_problem == "credential \"token\" does not exist in tenant \"site\"");

    // A bastion's missing credential makes the SSH endpoint unusable, naming it.
    lookup = [](const std::string& name) -> util::Result<std::optional<transport::Credential>> {
        if (name == "bastion") return std::nullopt;
        transport::Credential c;
        c.name = name;
        return c;
    };
    auto hop = transport::device_endpoints(device, lookup).value();
    CHECK(hop.ssh_problem == "credential \"bastion\" of jump host gw.site does not exist in the device's tenant");
    // The lookup's own errors (an unreadable store) pass through.
    lookup = [](const std::string&) -> util::Result<std::optional<transport::Credential>> {
        return util::fail(util::ErrorKind::runtime, "store unreadable");
    };
    CHECK(transport::device_endpoints(device, lookup).error().message == "store unreadable");
}

TEST_CASE("steps are built from the rollout's templates and the device's endpoint", "[rollout][transport]")
{
    rollout::Loaded l;
    l.rollout.resource.kind = model::Kind::rollout;
    l.rollout.resource.tenant = "site";
    l.rollout.resource.name = "up";
    l.rollout.resource.spec = json::parse(R"({"artifact": "fw",
        "install": {"ssh": {"uploadDir": "/data/{{device.name}}", "command": "install {{artifact.path}} {{tenant.settings.channel}}"}},
        "verify": {"ssh": {"command": "cat /etc/version", "expect": "{{artifact.version}}"}}})");
    l.artifact.resource.name = "fw";
    l.artifact.resource.spec = json::parse(R"({"file": "/art/fw 1.bin", "version": "2.0", "sha256": "ab"})");
    l.tenant.resource.name = "site";
    l.settings = json::parse(R"({"channel": "stable"})");
    rollout::StepBuilder steps(l, std::chrono::seconds(30));

    model::Object device;
    device.resource.kind = model::Kind::device;
    device.resource.tenant = "site";
    device.resource.name = "g1";
    device.resource.spec = json::parse(R"({"deviceType": "x", "ssh": {"host": "h"}})");
    transport::Endpoints e;
    e.ssh = transport::SshEndpoint{"g1", "h", 0, "", std::nullopt, {}};

    auto transfer = steps.build(device, e, rollout::Step::Kind::transfer, "/cache/ab", "ab").value();
    REQUIRE(transfer.step);
    CHECK(transfer.step->transport == "ssh");
    CHECK(transfer.step->remote_path == "/data/g1/fw 1.bin");
    CHECK(transfer.step->local_file == "/cache/ab");
    CHECK(transfer.step->timeout == std::chrono::seconds(30));
    auto install = steps.build(device, e, rollout::Step::Kind::install, "", "").value();
    REQUIRE(install.step);
    // Values reach the shell as quoted variables, never as command text.
    CHECK(install.step->command == "FLEET_V1='/data/g1/fw 1.bin' FLEET_V2='stable'; install \"${FLEET_V1}\" \"${FLEET_V2}\"");
    CHECK(steps.next(rollout::Step::Kind::transfer, "ssh") == rollout::Step::Kind::install);
    CHECK(steps.next(rollout::Step::Kind::install, "ssh") == rollout::Step::Kind::verify);
    CHECK_FALSE(steps.next(rollout::Step::Kind::verify, "ssh"));
    CHECK(steps.unexpected_output(device, "ssh", "version 2.0\n").value().empty());
    CHECK(steps.unexpected_output(device, "ssh", "version 1.9\n").value() == "output does not contain \"2.0\"");

    // The endpoint's problem (its credential is gone) is the step's dispatch failure.
    e.ssh_problem = "credential \"key\" does not exist in tenant \"site\"";
    auto missing = steps.build(device, e, rollout::Step::Kind::transfer, "/cache/ab", "ab").value();
    CHECK_FALSE(missing.step);
    CHECK(missing.failure.failure == transport::Failure::credential);
    CHECK(missing.failure.message == e.ssh_problem);
    // A device no transport of the rollout reaches (HTTP only, no install.http).
    device.resource.spec = json::parse(R"({"deviceType": "x", "http": {"url": "http://h"}})");
    auto none = steps.build(device, e, rollout::Step::Kind::transfer, "/cache/ab", "ab").value();
    CHECK_FALSE(none.step);
    CHECK(none.failure.failure == transport::Failure::credential);
}
