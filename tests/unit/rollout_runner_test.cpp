// The rollout state machine against the real store, with a scripted driver standing in for the
// transports (logic only: tests/cli/rollout_test.cpp runs rollouts against real SSH and HTTP devices).
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <thread>

#include "core/rollout/runner.hpp"
#include "tests/support/process.hpp"

using namespace fleet;

namespace {

/// Completes every step on its own thread; devices in fail_install fail their install step.
class ScriptedDriver final : public rollout::Driver {
public:
    std::set<std::string> fail_install;
    std::map<std::string, int> installs;        ///< install steps per device
    std::vector<std::string> install_order;     ///< devices in the order their installs started
    std::map<std::string, util::Clock::time_point> install_times;  ///< by `clock`, when it is set
    const util::Clock* clock = nullptr;
    std::size_t max_running = 0;

    void start(rollout::Step step, std::function<void(transport::Outcome)> done) override
    {
        transport::Outcome o;
        {
            std::lock_guard lock(m_mutex);
            if (step.kind == rollout::Step::Kind::install) {
                ++installs[step.device];
                install_order.push_back(step.device);
                if (clock) install_times[step.device] = clock->now();
                if (fail_install.contains(step.device)) {
                    o.failure = transport::Failure::remote;
                    o.exit_status = 3;
                    o.message = "exit status 3";
                }
            }
            if (step.kind == rollout::Step::Kind::verify) o.stdout_tail = "version 2.0.0\n";
            max_running = std::max(max_running, ++m_running);
        }
        m_threads.emplace_back([this, o, done = std::move(done)] {
            {
                std::lock_guard lock(m_mutex);
                --m_running;
            }
            done(o);
        });
    }
    void cancel() override {}
    ~ScriptedDriver() override
    {
        for (auto& t : m_threads) t.join();
    }

private:
    std::mutex m_mutex;
    std::size_t m_running = 0;
    std::vector<std::thread> m_threads;
};

/// A store with tenant `site`, ten rpi4 devices d00..d09 with SSH endpoints, one imx8 device, an
/// artifact and a rollout with the given strategy.
struct World {
    test::Fleet fleet;
    std::unique_ptr<store::Store> store;

    explicit World(const std::string& strategy, const std::string& schedule = "{windows: none}")
    {
        REQUIRE(fleet({"init"}).exit_code == 0);
        fleet.dir().write("fw.bin", "firmware 2.0.0");
        std::string docs = R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: site}
spec: {settings: {channel: stable}}
---
apiVersion: fleetadm/v1
kind: Credential
metadata: {name: key, tenant: site}
spec: {type: ssh-agent}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: site}
spec: {file: fw.bin, version: "2.0.0", deviceTypes: [rpi4]}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: up, tenant: site}
spec:
  artifact: fw
  targets: {selector: "fleet=yes"}
  strategy: )" + strategy + R"(
  schedule: )" + schedule + R"(
  install: {ssh: {command: "install {{artifact.path}} {{tenant.settings.channel}}"}}
  verify: {ssh: {command: "cat /version", expect: "{{artifact.version}}"}}
)";
        for (int i = 0; i < 10; ++i)
            docs += fmt::format("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: d{:02}, tenant: site, "
                                "labels: {{fleet: \"yes\"}}}}\nspec: {{deviceType: rpi4, ssh: {{host: 127.0.0.1, "
                                "credential: key}}}}\n",
                                i);
        docs += "---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {name: other, tenant: site, labels: {fleet: "
                "\"yes\"}}\nspec: {deviceType: imx8, ssh: {host: 127.0.0.1, credential: key}}\n";
        auto file = fleet.dir().write("world.yaml", docs);
        auto applied = fleet({"apply", "-f", file.string()});
        INFO(applied.err);
        REQUIRE(applied.exit_code == 0);
        store = store::Store::open(fleet.location(), {test::os_login()}).value();
    }

    rollout::Ending run(ScriptedDriver& driver, std::vector<rollout::Event>* events = nullptr)
    {
        rollout::RunOptions options;
        options.tick = std::chrono::milliseconds(5);
        if (events) options.observe = [events](const rollout::Event& e, const rollout::Snapshot&) { events->push_back(e); };
        auto ending = rollout::run(*store, "site", "up", driver, options);
        INFO((ending ? "" : ending.error().message));
        REQUIRE(ending);
        return *ending;
    }

    rollout::Progress progress() { return rollout::progress(*store, "site", "up").value(); }
};

std::map<std::string, std::string> states(const rollout::Progress& p)
{
    std::map<std::string, std::string> out;
    for (const auto& d : p.devices) out[d.device] = store::state_name(d.state);
    return out;
}

} // namespace

TEST_CASE("a three-phase rollout installs every compatible device once, phase after phase", "[rollout]")
{
    World w(R"({phases: [{name: canary, count: 2}, {percent: 50}, {percent: 100}], maxParallel: 3})");
    ScriptedDriver driver;
    CHECK(w.run(driver) == rollout::Ending::completed);
    auto p = w.progress();
    CHECK(p.state == "completed");
    REQUIRE(p.phases.size() == 3);
    CHECK(p.phases[0].devices == 2);
    CHECK(p.phases[1].devices == 3);
    CHECK(p.phases[2].devices == 5);
    CHECK(p.skipped == 1);
    auto s = states(p);
    CHECK(s["other"] == "skipped");
    for (int i = 0; i < 10; ++i) CHECK(s[fmt::format("d{:02}", i)] == "succeeded");
    for (const auto& [device, n] : driver.installs) CHECK(n == 1);
    CHECK(driver.installs.size() == 10);
    CHECK(driver.max_running <= 3);
    // Canaries (the first two by name) install before anything else, the second phase before the third.
    REQUIRE(driver.install_order.size() == 10);
    CHECK(std::set<std::string>(driver.install_order.begin(), driver.install_order.begin() + 2) ==
          std::set<std::string>{"d00", "d01"});
    CHECK(std::set<std::string>(driver.install_order.begin() + 2, driver.install_order.begin() + 5) ==
          std::set<std::string>{"d02", "d03", "d04"});

    // Recorded versions changed; a second run has nothing to do and installs nothing again.
    {
        auto tx = w.store->begin(store::TxMode::read).value();
        auto status = w.store->device_status().value();
        CHECK(status.at({"site", "d05"}).reported_version == "2.0.0");
        CHECK(status.at({"site", "d05"}).last_rollout == "up: succeeded");
    }
    ScriptedDriver again;
    CHECK(w.run(again) == rollout::Ending::completed);
    CHECK(again.installs.empty());
}

TEST_CASE("failures over the threshold pause the rollout: retry and a new run finish it", "[rollout]")
{
    World w(R"({phases: [{count: 4}, {percent: 100}], failureThreshold: 1, maxParallel: 1})");
    ScriptedDriver failing;
    failing.fail_install = {"d01", "d02"};
    CHECK(w.run(failing) == rollout::Ending::paused_by_threshold);
    CHECK(rollout::exit_code(rollout::Ending::paused_by_threshold) == 5);
    auto p = w.progress();
    CHECK(p.state == "paused");
    CHECK(p.reason.find("failure threshold") != std::string::npos);
    CHECK(p.phases[0].failed == 2);
    CHECK(p.phases[1].succeeded == 0);  // the second phase never started
    // Running it again without retry or resume does nothing and says the same.
    ScriptedDriver idle;
    CHECK(w.run(idle) == rollout::Ending::paused_by_threshold);
    CHECK(idle.installs.empty());

    REQUIRE(rollout::control(*w.store, "site", "up", "retry"));
    ScriptedDriver fixed;
    CHECK(w.run(fixed) == rollout::Ending::completed);
    CHECK(fixed.installs.count("d01") == 1);
    CHECK(fixed.installs.count("d00") == 0);  // succeeded before: never pushed again
    for (const auto& [device, state] : states(w.progress()))
        CHECK(state == (device == "other" ? "skipped" : "succeeded"));
}

TEST_CASE("retries re-run a failed device before it counts as failed", "[rollout]")
{
    World w(R"({phases: [{percent: 100}], retries: 2, failureThreshold: "50%"})");
    ScriptedDriver driver;
    driver.fail_install = {"d03"};
    CHECK(w.run(driver) == rollout::Ending::completed_with_failures);
    CHECK(driver.installs["d03"] == 3);
    auto p = w.progress();
    CHECK(p.phases[0].failed == 1);
    CHECK(p.phases[0].succeeded == 9);
}

TEST_CASE("a pause phase stops after it until resume: pause and abort change the stored state", "[rollout]")
{
    World w(R"({phases: [{count: 2, pause: true}, {percent: 100}]})");
    ScriptedDriver first;
    CHECK(w.run(first) == rollout::Ending::paused);
    CHECK(first.installs.size() == 2);
    CHECK_FALSE(rollout::control(*w.store, "site", "up", "pause"));  // already paused
    REQUIRE(rollout::control(*w.store, "site", "up", "resume"));
    ScriptedDriver second;
    CHECK(w.run(second) == rollout::Ending::completed);
    CHECK(second.installs.size() == 8);
    auto aborted = rollout::control(*w.store, "site", "up", "abort");
    CHECK_FALSE(aborted);  // completed rollouts cannot be aborted
    CHECK(aborted.error().kind == util::ErrorKind::conflict);
}

TEST_CASE("a device is in at most one active rollout", "[rollout]")
{
    World w(R"({phases: [{count: 1, pause: true}, {percent: 100}]})");
    ScriptedDriver driver;
    CHECK(w.run(driver) == rollout::Ending::paused);
    auto second = w.fleet.dir().write("second.yaml", R"(apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: second, tenant: site}
spec:
  artifact: fw
  targets: {selector: "fleet=yes"}
  force: true
  install: {ssh: {command: "true"}}
)");
    REQUIRE(w.fleet({"apply", "-f", second.string()}).exit_code == 0);
    ScriptedDriver other;
    rollout::RunOptions options;
    auto ending = rollout::run(*w.store, "site", "second", other, options);
    REQUIRE_FALSE(ending);
    CHECK(ending.error().kind == util::ErrorKind::conflict);
    CHECK(ending.error().message.find("device/d05 (in rollout/up)") != std::string::npos);
    CHECK(other.installs.empty());
}

namespace {

/// Runner events as they come, for the test thread to wait on while the run goes on in another.
class EventLog {
public:
    void add(const rollout::Event& e)
    {
        std::lock_guard lock(m_mutex);
        m_events.push_back(e);
        m_changed.notify_all();
    }
    /// Waits (at most 30 s of real time) until `done` holds over the events so far.
    bool wait(const std::function<bool(const std::vector<rollout::Event>&)>& done)
    {
        std::unique_lock lock(m_mutex);
        return m_changed.wait_for(lock, std::chrono::seconds(30), [&] { return done(m_events); });
    }
    static std::size_t count(const std::vector<rollout::Event>& events, const std::string& type,
                             const std::string& state = "")
    {
        return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [&](const rollout::Event& e) {
            return e.type == type && (state.empty() || e.state == state);
        }));
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::vector<rollout::Event> m_events;
};

} // namespace

TEST_CASE("notBefore, soak and maxPerMinute are judged by the rollout's clock: a fake one moves them, no sleep",
          "[rollout][clock]")
{
    using namespace std::chrono;
    auto t0 = system_clock::from_time_t(1893456000);  // 2030-01-01T00:00:00Z
    util::ManualClock clock(t0);
    World w(R"({phases: [{name: canary, count: 2, soak: 30m}, {name: rest, percent: 100}], maxParallel: 10, )"
            R"(maxPerMinute: 4})",
            R"({windows: none, notBefore: "2030-01-01T01:00:00Z"})");
    ScriptedDriver driver;
    driver.clock = &clock;
    EventLog log;
    rollout::RunOptions options;
    options.tick = milliseconds(2);
    options.clock = &clock;
    options.observe = [&](const rollout::Event& e, const rollout::Snapshot&) { log.add(e); };
    std::optional<util::Result<rollout::Ending>> ending;
    std::thread runner([&] { ending = rollout::run(*w.store, "site", "up", driver, options); });
    auto succeeded = [](std::size_t n) {
        return [n](const auto& events) { return EventLog::count(events, "device", "succeeded") >= n; };
    };

    // Before notBefore: it waits, whatever the real time.
    CHECK(log.wait([](const auto& events) { return EventLog::count(events, "waiting") == 1; }));
    clock.advance(hours(1));
    // The canary phase, then its soak.
    CHECK(log.wait([](const auto& events) { return EventLog::count(events, "soak") == 1; }));
    CHECK(log.wait(succeeded(2)));
    clock.advance(minutes(29));
    clock.advance(minutes(1));
    // The soak is over: four devices (maxPerMinute), then no more until the minute has passed.
    CHECK(log.wait(succeeded(6)));
    clock.advance(minutes(1));
    CHECK(log.wait([](const auto& events) { return EventLog::count(events, "completed") == 1; }));
    runner.join();
    REQUIRE(ending.has_value());
    INFO((ending->has_value() ? "" : ending->error().message));
    REQUIRE(ending->has_value());
    CHECK((**ending == rollout::Ending::completed));

    std::map<seconds, std::vector<std::string>> started;  // minutes after t0 → devices installed then
    for (const auto& [device, at] : driver.install_times) started[duration_cast<seconds>(at - t0)].push_back(device);
    CHECK(started == std::map<seconds, std::vector<std::string>>{
                         {minutes(60), {"d00", "d01"}},
                         {minutes(90), {"d02", "d03", "d04", "d05"}},
                         {minutes(91), {"d06", "d07", "d08", "d09"}},
                     });
    for (const auto& [device, n] : driver.installs) CHECK(n == 1);
}

TEST_CASE("a runner's slots are shared max-min fair between tenants and none is left idle", "[rollout][slots]")
{
    rollout::Slots slots(8);
    // Alone, a tenant takes every slot.
    CHECK(slots.acquire("big", "big/up", 100) == 8);
    // Another tenant arrives while all are taken: it waits, and the big one gets no more.
    CHECK(slots.acquire("small", "small/up", 5) == 0);
    slots.release("big", 1);
    CHECK(slots.acquire("big", "big/up", 100) == 0);
    CHECK(slots.acquire("small", "small/up", 5) == 1);
    // As the big tenant's devices finish, the freed slots go to the small one, up to its share (4).
    slots.release("big", 3);
    CHECK(slots.acquire("big", "big/up", 100) == 0);
    CHECK(slots.acquire("small", "small/up", 4) == 3);
    CHECK(slots.held("small") == 4);
    CHECK(slots.held("big") == 4);
    // At its share the small tenant waits too; the big one keeps its share.
    slots.release("big", 1);
    CHECK(slots.acquire("small", "small/up", 1) == 0);
    CHECK(slots.acquire("big", "big/up", 100) == 1);
    // The small tenant is done: the big one takes every slot again.
    slots.release("small", 4);
    slots.leave("small/up");
    CHECK(slots.acquire("big", "big/up", 100) == 4);
    CHECK(slots.held("big") == 8);
    // Three tenants: shares of two, two, two (and the rest to whoever asks when nobody else waits).
    rollout::Slots three(6);
    CHECK(three.acquire("a", "a/1", 6) == 6);
    CHECK(three.acquire("b", "b/1", 6) == 0);
    CHECK(three.acquire("c", "c/1", 6) == 0);
    three.release("a", 4);
    CHECK(three.acquire("a", "a/1", 4) == 0);
    CHECK(three.acquire("b", "b/1", 6) == 2);
    CHECK(three.acquire("c", "c/1", 6) == 2);
    CHECK(three.acquire("a", "a/1", 4) == 0);
}
