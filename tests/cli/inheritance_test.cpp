// Inheritance (SPEC §4): a tenant without its own maintenance windows has its nearest ancestor's;
// settings are inherited key by key; templates are checked against the effective settings.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "tests/support/background.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

using fleet::test::Fleet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

/// A customer `acme` with settings and Mon–Fri windows, and its child `acme-prod`, which sets
/// one setting of its own and no windows. windows is acme's updatePolicy.windows list.
std::string customer(const std::string& windows)
{
    return fmt::format(R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {{name: acme}}
spec:
  settings: {{timezone: Europe/Berlin, channel: stable}}
  updatePolicy: {{windows: {}}}
---
apiVersion: fleetadm/v1
kind: Tenant
metadata: {{name: acme-prod}}
spec:
  parent: acme
  settings: {{channel: beta}}
)",
                       windows);
}

/// The UTC day name ("mon") and date ("2026-12-03") a number of days from now.
std::pair<std::string, std::string> utc_day(int days_ahead)
{
    std::time_t t = std::time(nullptr) + days_ahead * 86400;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    static const char* names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    char date[16];
    std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
    return {names[tm.tm_wday], date};
}

std::string rollout(const std::string& name, const std::string& command)
{
    return fmt::format(R"(apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: {}, tenant: acme-prod}}
spec:
  artifact: fw
  targets: {{selector: "role=hvac"}}
  install: {{ssh: {{command: "{}"}}}}
)",
                       name, command);
}

} // namespace

TEST_CASE("describe tenant shows effective settings and windows and which tenant each comes from",
          "[cli][inheritance]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto file = fleet.dir().write(
        "t.yaml", customer(R"([{days: [mon, tue, wed, thu, fri], start: "02:00", end: "04:00", timezone: Europe/Berlin}])"));
    auto applied = fleet({"apply", "-f", file.string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);

    auto child = fleet({"describe", "tenant", "acme-prod"});
    INFO(child.out << child.err);
    REQUIRE(child.exit_code == 0);
    CHECK(contains(child.out, "  channel: beta (own)\n"));
    CHECK(contains(child.out, "  timezone: Europe/Berlin (inherited from acme)\n"));
    CHECK(contains(child.out, "Maintenance Windows: (inherited from acme)\n  mon,tue,wed,thu,fri 02:00-04:00 Europe/Berlin\n"));
    CHECK_FALSE(contains(child.out, "installs may start at any time"));

    auto parent = fleet({"describe", "tenant", "acme"});
    CHECK(contains(parent.out, "  channel: stable (own)\n"));
    CHECK(contains(parent.out, "Maintenance Windows: (own)\n"));
}

TEST_CASE("templates are checked against the effective settings: every unknown variable is reported",
          "[cli][inheritance]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", "firmware");
    std::string base = customer("[]") + R"(---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: acme-prod}
spec: {file: fw.bin, version: "2.0"}
)";
    REQUIRE(fleet({"apply", "-f", fleet.dir().write("base.yaml", base).string()}).exit_code == 0);

    // An inherited setting (timezone) and an own one (channel) are known.
    auto good = fleet.dir().write(
        "good.yaml", rollout("ok", "install --tz {{tenant.settings.timezone}} --channel {{tenant.settings.channel}}"));
    auto valid = fleet({"validate", "-f", good.string()});
    INFO(valid.err);
    CHECK(valid.exit_code == 0);
    CHECK(fleet({"apply", "-f", good.string()}).exit_code == 0);

    // Two settings nobody on the way up has: both reported, with where they are.
    auto bad = fleet.dir().write("bad.yaml", rollout("bad", "install {{tenant.settings.region}} {{tenant.settings.site}}"));
    auto digest = fleet.store_digest();
    for (const char* command : {"validate", "plan", "apply"}) {
        INFO(command);
        auto r = fleet({command, "-f", bad.string()});
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, bad.string() + ":7:"));
        CHECK(contains(r.err, "template variable \"tenant.settings.region\": tenant \"acme-prod\" has no setting"));
        CHECK(contains(r.err, "template variable \"tenant.settings.site\": tenant \"acme-prod\" has no setting"));
    }
    CHECK(fleet.store_digest() == digest);

    // Unknown variables of other kinds: every one, not only the first.
    auto unknown = fleet.dir().write("unknown.yaml", rollout("odd", "install {{artifact.nope}} {{device.bogus}}"));
    auto r = fleet({"validate", "-f", unknown.string()});
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "unknown template variable \"artifact.nope\""));
    CHECK(contains(r.err, "unknown template variable \"device.bogus\""));
}

TEST_CASE("a child tenant's rollout waits for the maintenance window it inherits", "[cli][inheritance][rollout]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    // acme's only window is on the day after tomorrow (UTC), so it is closed now.
    auto [day, date] = utc_day(2);
    fleet.dir().write("fw.bin", "firmware");
    std::string docs = customer(fmt::format(R"([{{days: [{}], start: "02:00", end: "03:00", timezone: UTC}}])", day)) +
                       R"(---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: acme-prod}
spec: {file: fw.bin, version: "2.0"}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {name: hvac-1, tenant: acme-prod, labels: {role: hvac}}
spec: {deviceType: rpi4, ssh: {host: 127.0.0.1, port: 1}}
---
)" + rollout("up", "touch installed");
    auto applied = fleet({"apply", "-f", fleet.dir().write("all.yaml", docs).string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);

    fleet::test::BackgroundProcess runner(FLEETADM_BIN,
                                          {"--state", fleet.location(), "-o", "json", "rollout", "run", "up"},
                                          {{"HOME", fleet.dir().path().string()}});
    auto waiting = runner.wait_for_line("\"type\":\"waiting\"");
    CHECK(contains(waiting, fmt::format("the next maintenance window opens at {}T02:00:00Z", date)));
    auto status = json::parse(fleet({"rollout", "status", "up", "-o", "json"}).out);
    CHECK(status["state"] == "waiting");
    CHECK(status["reason"] == fmt::format("the next maintenance window opens at {}T02:00:00Z", date));
    runner.kill(SIGINT);
    CHECK(runner.wait() == 130);
    auto after = json::parse(fleet({"rollout", "status", "up", "-o", "json"}).out);
    CHECK(after["devices"][0]["state"] == "pending");  // never dispatched
    CHECK(after["devices"][0]["attempts"] == 0);
}

TEST_CASE("an install command gets the settings the tenant inherits", "[cli][inheritance][rollout][ssh]")
{
    fleet::test::Sshd sshd;
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto known = fleet.dir().write("known_hosts", sshd.known_hosts_line() + "\n");
    fleet.dir().write("fw.bin", "firmware");
    auto out = sshd.dir() / "settings.txt";
    std::string docs = customer("[]") + fmt::format(R"(---
apiVersion: fleetadm/v1
kind: Credential
metadata: {{name: key, tenant: acme-prod}}
spec: {{type: ssh-key, privateKeyFile: {}, knownHostsFile: {}}}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {{name: fw, tenant: acme-prod}}
spec: {{file: fw.bin, version: "2.0"}}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {{name: hvac-1, tenant: acme-prod, labels: {{role: hvac}}}}
spec: {{deviceType: rpi4, ssh: {{host: 127.0.0.1, port: {}, user: {}, credential: key}}}}
---
)",
                                                    sshd.user_key().string(), known.string(), sshd.port(),
                                                    fleet::test::login_name()) +
                       rollout("up", fmt::format("echo {{{{tenant.settings.timezone}}}} {{{{tenant.settings.channel}}}} > {}",
                                                 out.string()));
    auto applied = fleet({"apply", "-f", fleet.dir().write("all.yaml", docs).string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    auto run = fleet({"rollout", "run", "up"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 0);
    CHECK(fleet::test::read_file(out) == "Europe/Berlin beta\n");
}
