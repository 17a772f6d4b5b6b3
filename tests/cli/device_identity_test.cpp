// Black-box tests of SPEC §4's "one device, one tenant": every path that could store a second copy of
// one physical device (apply after a move, enroll after a move, one serial enrolled into two tenants,
// two sources, two processes at once) is refused with exit 5 and writes nothing; a source that changes a
// device's tenant moves it.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <future>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::RunResult;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

std::string tenant(const std::string& name, const std::string& members = "", int limit = -1)
{
    std::string doc = fmt::format("---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {{name: {}}}\nspec:\n"
                                  "  parent: provider\n",
                                  name);
    if (!members.empty()) doc += "  members: " + members + "\n";
    if (limit >= 0) doc += fmt::format("  deviceLimit: {}\n", limit);
    doc += fmt::format("---\napiVersion: fleetadm/v1\nkind: Credential\nmetadata: {{name: ssh, tenant: {}}}\n"
                       "spec: {{type: ssh-agent}}\n",
                       name);
    return doc;
}

/// A Device document; serial empty: no identity.
std::string device(const std::string& name, const std::string& tenant_name, const std::string& serial = "",
                   const std::string& host = "10.0.0.1")
{
    std::string doc = fmt::format("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: {}, tenant: {}}}\n"
                                  "spec:\n  deviceType: rpi4\n  ssh: {{host: {}, credential: ssh}}\n",
                                  name, tenant_name, host);
    if (!serial.empty()) doc += fmt::format("  identity: {{serial: {}}}\n", serial);
    return doc;
}

const std::string header = "name,tenant,deviceType,ssh.host,ssh.credential,identity.serial,identity.mac\n";

/// prod and staging (alice is operator of staging only), and a third tenant with room for nothing.
void setup(const Fleet& fleet)
{
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto r = fleet({"apply", "-f", "-"}, tenant("acme-prod") + tenant("acme-staging", "[{user: alice, role: operator}]") +
                                             tenant("full", "", 0));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
}

/// Every device of every tenant, as "tenant/name" lines.
std::string devices(const Fleet& fleet)
{
    auto r = fleet({"get", "devices", "-A", "-o", "json"});
    REQUIRE(r.exit_code == 0);
    std::string out;
    auto list = nlohmann::json::parse(r.out);
    for (const auto& item : list["items"])
        out += item["metadata"]["tenant"].get<std::string>() + "/" + item["metadata"]["name"].get<std::string>() + "\n";
    return out;
}

} // namespace

TEST_CASE("changing a device's tenant in its source moves it, keeping its history: limits hold", "[cli][identity]")
{
    Fleet fleet;
    setup(fleet);
    auto src = fleet.dir().write("fleet.yaml", device("hvac-0001", "acme-prod", "SN-1") + device("hvac-0002", "acme-prod"));
    REQUIRE(fleet({"apply", "-f", src.string()}).exit_code == 0);
    auto created = nlohmann::json::parse(fleet({"--tenant", "acme-prod", "get", "device", "hvac-0002", "-o", "json"}).out);

    // Into a tenant without room: refused, nothing written.
    fleet.dir().write("fleet.yaml", device("hvac-0001", "full", "SN-1") + device("hvac-0002", "acme-prod"));
    auto before = fleet.store_digest();
    auto over = fleet({"apply", "-f", src.string()});
    CHECK(over.exit_code == 5);
    CHECK(contains(over.err, "tenant \"full\": device limit 0 would be exceeded"));
    CHECK(fleet.store_digest() == before);

    // Both devices, with and without identity, move: recognized by serial and by source + name.
    fleet.dir().write("fleet.yaml", device("hvac-0001", "acme-staging", "SN-1") +
                                        device("hvac-0002", "acme-staging", "", "10.0.0.2"));
    auto plan = fleet({"diff", "-f", src.string()});
    CHECK(plan.exit_code == 1);
    CHECK(contains(plan.out, "~ acme-staging/device/hvac-0002 (move from tenant \"acme-prod\" to \"acme-staging\")"));
    CHECK(contains(plan.out, "~ spec.ssh.host: \"10.0.0.1\" → \"10.0.0.2\""));
    auto moved = fleet({"apply", "-f", src.string()});
    INFO(moved.err);
    CHECK(moved.exit_code == 0);
    CHECK(moved.out == "acme-staging/device/hvac-0001 moved\nacme-staging/device/hvac-0002 moved\n0 created, 2 "
                       "configured, 0 pruned, 0 unchanged\n");
    CHECK(devices(fleet) == "acme-staging/hvac-0001\nacme-staging/hvac-0002\n");
    auto after = nlohmann::json::parse(fleet({"--tenant", "acme-staging", "get", "device", "hvac-0002", "-o", "json"}).out);
    CHECK(after["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]);
    CHECK(after["spec"]["ssh"]["host"] == "10.0.0.2");
    // Audited in both tenants.
    CHECK(contains(fleet({"--tenant", "acme-prod", "audit"}).out, "moved"));
    CHECK(contains(fleet({"--tenant", "acme-staging", "audit"}).out, "moved"));
    // Applying again changes nothing.
    CHECK(fleet({"apply", "-f", src.string()}).out == "0 created, 0 configured, 0 pruned, 2 unchanged\n");
}

TEST_CASE("device move of a source's device needs --detach, and the source cannot bring it back", "[cli][identity]")
{
    Fleet fleet;
    setup(fleet);
    auto src = fleet.dir().write("fleet.yaml", device("hvac-0001", "acme-prod", "SN-1") + device("hvac-0002", "acme-prod"));
    REQUIRE(fleet({"apply", "-f", src.string()}).exit_code == 0);

    auto before = fleet.store_digest();
    auto refused = fleet({"device", "move", "hvac-0001", "--to", "acme-staging"});
    CHECK(refused.exit_code == 5);
    CHECK(contains(refused.err, "device/hvac-0001 in tenant \"acme-prod\" is applied from source"));
    CHECK(contains(refused.err, "pass --detach"));
    CHECK(fleet.store_digest() == before);

    auto detached = fleet({"device", "move", "hvac-0001", "hvac-0002", "--to", "acme-staging", "--detach"});
    INFO(detached.err);
    CHECK(detached.exit_code == 0);
    CHECK(contains(detached.out, "device/hvac-0001 moved from acme-prod to acme-staging (detached from its source)"));

    // Apply after the move: both devices (with and without identity) are refused; nothing written.
    before = fleet.store_digest();
    auto again = fleet({"apply", "-f", src.string()});
    CHECK(again.exit_code == 5);
    CHECK(contains(again.err, "device/hvac-0001 in tenant \"acme-prod\": this device was taken out of this source by "
                              "`device move --detach` and is in tenant \"acme-staging\" now"));
    CHECK(contains(again.err, "device/hvac-0002 in tenant \"acme-prod\": this device was taken out"));
    CHECK(fleet.store_digest() == before);
    CHECK(fleet({"apply", "-f", src.string(), "--prune"}).exit_code == 5);
    CHECK(fleet.store_digest() == before);
    CHECK(devices(fleet) == "acme-staging/hvac-0001\nacme-staging/hvac-0002\n");

    // Declaring them where they are now is fine.
    fleet.dir().write("fleet.yaml", device("hvac-0001", "acme-staging", "SN-1") + device("hvac-0002", "acme-staging"));
    auto adopted = fleet({"apply", "-f", src.string()});
    INFO(adopted.err);
    CHECK(adopted.exit_code == 0);
    CHECK(devices(fleet) == "acme-staging/hvac-0001\nacme-staging/hvac-0002\n");
}

TEST_CASE("enrollment cannot make a second copy: after a move, or of a serial another tenant holds",
          "[cli][identity]")
{
    Fleet fleet;
    setup(fleet);
    auto csv = fleet.dir().write("prod.csv", header + "hvac-0001,acme-prod,rpi4,h,ssh,SN-1,AA:BB:CC:DD:EE:01\n"
                                                      "hvac-0002,acme-prod,rpi4,h,ssh,,\n");
    REQUIRE(fleet({"device", "enroll", "-f", csv.string()}).exit_code == 0);
    REQUIRE(fleet({"device", "move", "hvac-0001", "hvac-0002", "--to", "acme-staging", "--detach"}).exit_code == 0);

    // Enroll after the move.
    auto before = fleet.store_digest();
    auto again = fleet({"device", "enroll", "-f", csv.string()});
    CHECK(again.exit_code == 5);
    CHECK(contains(again.err, "prod.csv:2: device/hvac-0001 in tenant \"acme-prod\": this device was taken out of "
                              "this source by `device move --detach`"));
    CHECK(contains(again.err, "prod.csv:3: device/hvac-0002 in tenant \"acme-prod\": this device was taken out"));
    CHECK(contains(again.err, "nothing was enrolled"));
    CHECK(fleet.store_digest() == before);

    // The same serial, or the same MAC in another case, under another name into another tenant.
    for (const auto& row : {std::string("other-1,acme-prod,rpi4,h,ssh,SN-1,\n"),
                            std::string("other-1,acme-prod,rpi4,h,ssh,SN-9,aa:bb:cc:dd:ee:01\n")}) {
        auto other = fleet.dir().write("other.csv", header + row);
        auto twice = fleet({"device", "enroll", "-f", other.string()});
        CHECK(twice.exit_code == 5);
        CHECK(contains(twice.err, "other.csv:2: device/other-1 in tenant \"acme-prod\": identity."));
        CHECK(contains(twice.err, "belongs to device/hvac-0001 in tenant \"acme-staging\""));
        CHECK(fleet.store_digest() == before);
    }

    // A caller who cannot see the holder's tenant learns neither its tenant nor its name.
    REQUIRE(fleet({"device", "move", "hvac-0001", "--to", "acme-prod"}).exit_code == 0);  // detached: free to move
    before = fleet.store_digest();
    auto hidden = fleet({"--as", "alice", "device", "enroll", "-f", "-"},
                        header + "mine,acme-staging,rpi4,h,ssh,SN-1,\n");
    CHECK(hidden.exit_code == 5);
    CHECK(contains(hidden.err, "identity.serial \"SN-1\" belongs to a device in another tenant"));
    CHECK_FALSE(contains(hidden.err, "acme-prod"));
    CHECK_FALSE(contains(hidden.err, "hvac-0001"));
    CHECK(fleet.store_digest() == before);

    // One input giving one serial twice is invalid input.
    auto dup = fleet({"device", "enroll", "-f", "-"},
                     header + "n-1,acme-prod,rpi4,h,ssh,SN-7,\nn-2,acme-staging,rpi4,h,ssh,SN-7,\n");
    CHECK(dup.exit_code == 2);
    CHECK(contains(dup.err, "device/n-2 in tenant \"acme-staging\": identity.serial \"SN-7\" is also given to "
                            "device/n-1 in tenant \"acme-prod\""));
    CHECK(fleet.store_digest() == before);
}

TEST_CASE("two sources declaring one device in two tenants: the second is refused", "[cli][identity]")
{
    Fleet fleet;
    setup(fleet);
    auto a = fleet.dir().write("a.yaml", device("hvac-0001", "acme-prod", "SN-1"));
    auto b = fleet.dir().write("b.yaml", device("hvac-0001", "acme-staging", "SN-1"));
    REQUIRE(fleet({"apply", "-f", a.string()}).exit_code == 0);
    auto before = fleet.store_digest();
    auto r = fleet({"apply", "-f", b.string()});
    CHECK(r.exit_code == 5);
    CHECK(contains(r.err, "b.yaml:"));
    CHECK(contains(r.err, "device/hvac-0001 in tenant \"acme-staging\": identity.serial \"SN-1\" belongs to "
                          "device/hvac-0001 in tenant \"acme-prod\""));
    CHECK(fleet.store_digest() == before);
    // Nor can the second source take it over by moving it: it is the first source's.
    CHECK(fleet({"--tenant", "acme-staging", "get", "device", "hvac-0001"}).exit_code == 4);
    CHECK(devices(fleet) == "acme-prod/hvac-0001\n");
}

TEST_CASE("two processes enrolling one serial into two tenants at once: exactly one succeeds",
          "[cli][identity][concurrency]")
{
    for (int round = 0; round < 3; ++round) {
        Fleet fleet;
        setup(fleet);
        auto prod = fleet.dir().write("p.csv", header + "p-1,acme-prod,rpi4,h,ssh,SN-RACE,\n");
        auto staging = fleet.dir().write("s.csv", header + "s-1,acme-staging,rpi4,h,ssh,SN-RACE,\n");
        auto one = std::async(std::launch::async, [&] { return fleet({"device", "enroll", "-f", prod.string()}); });
        auto two = std::async(std::launch::async, [&] { return fleet({"device", "enroll", "-f", staging.string()}); });
        std::vector<RunResult> results{one.get(), two.get()};
        int enrolled = 0, refused = 0;
        for (const auto& r : results) {
            INFO(r.err);
            if (r.exit_code == 0) ++enrolled;
            if (r.exit_code == 5 && contains(r.err, "identity.serial \"SN-RACE\" belongs to device/")) ++refused;
        }
        CHECK(enrolled == 1);
        CHECK(refused == 1);
        auto listed = devices(fleet);
        CHECK((listed == "acme-prod/p-1\n" || listed == "acme-staging/s-1\n"));
    }
}
