// Black-box tests of the audit log: every change is recorded, and tampering is found.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "tests/support/process.hpp"

using fleet::test::Fleet;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

/// A store with a few audited changes in tenant "t": created, configured, device enrolled, moved, decommissioned.
void populate(const Fleet& fleet)
{
    REQUIRE(fleet({"init"}).exit_code == 0);
    std::string tenants;
    for (const char* name : {"t", "u"})
        tenants += fmt::format("---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {{name: {}}}\n"
                               "---\napiVersion: fleetadm/v1\nkind: Credential\nmetadata: {{name: k, tenant: {}}}\n"
                               "spec: {{type: ssh-agent}}\n",
                               name, name);
    REQUIRE(fleet({"apply", "-f", "-"}, tenants).exit_code == 0);
    REQUIRE(fleet({"device", "enroll", "-f", "-"},
                  "name,tenant,deviceType,ssh.host,ssh.credential\nd1,t,rpi4,h,k\nd2,t,rpi4,h,k\nd3,t,rpi4,h,k\n")
                .exit_code == 0);
    REQUIRE(fleet({"device", "move", "d3", "--to", "u", "--detach"}).exit_code == 0);
    REQUIRE(fleet({"device", "decommission", "d2"}).exit_code == 0);
}

std::string sql(const Fleet& fleet, const std::string& statement) { return fleet.sql(statement); }

} // namespace

TEST_CASE("every change lands in its tenant's audit log", "[cli][audit]")
{
    Fleet fleet;
    populate(fleet);
    auto log = fleet({"audit", "--tenant", "t", "-o", "json"});
    REQUIRE(log.exit_code == 0);
    auto items = nlohmann::json::parse(log.out)["items"];
    std::vector<std::string> seen;
    for (const auto& e : items) seen.push_back(e["action"].get<std::string>() + " " + e["object"].get<std::string>());
    CHECK(seen == std::vector<std::string>{"created tenant/t", "created credential/k", "created device/d1",
                                           "created device/d2", "created device/d3", "moved device/d3",
                                           "decommissioned device/d2"});
    CHECK(items[0]["actor"] == fleet::test::run_process("/usr/bin/id", {"-un"}).out.substr(0, items[0]["actor"].get<std::string>().size()));
    auto moved_in = fleet({"audit", "--tenant", "u", "--action", "moved"});
    CHECK(contains(moved_in.out, "moved from tenant t"));
    auto csv = fleet({"audit", "-A", "-o", "csv", "--action", "decommissioned"});
    CHECK(contains(csv.out, "seq,time,actor,tenant,action,object,summary,prev_hash,hash\n"));
    CHECK(contains(csv.out, ",t,decommissioned,device/d2,"));
    CHECK(fleet({"audit", "--since", "1h", "-o", "json"}).exit_code == 0);
    CHECK(nlohmann::json::parse(fleet({"audit", "--since", "2999-01-01T00:00:00Z", "-o", "json"}).out)["items"].empty());
    CHECK(fleet({"audit", "--since", "yesterday"}).exit_code == 2);

    auto verify = fleet({"audit", "verify"});
    CHECK(verify.exit_code == 0);
    CHECK(contains(verify.out, "tenant t: 7 entries, chain intact"));
}

TEST_CASE("editing, deleting or reordering audit rows makes verify fail and name the row", "[cli][audit]")
{
    struct Case {
        const char* what;
        const char* statement;
        const char* expected;
    };
    const std::vector<Case> cases = {
        {"edited summary", "UPDATE audit SET summary = 'nothing to see' WHERE tenant = 't' AND action = 'moved'",
         "its content does not match its hash (it was edited)"},
        {"edited actor", "UPDATE audit SET actor = 'mallory' WHERE tenant = 't' AND object = 'device/d1'",
         "its content does not match its hash"},
        {"deleted middle row", "DELETE FROM audit WHERE tenant = 't' AND object = 'device/d2' AND action = 'created'",
         "it does not link to entry"},
        {"deleted newest row", "DELETE FROM audit WHERE tenant = 't' AND action = 'decommissioned'",
         "newer entries were removed"},
        {"deleted oldest row", "DELETE FROM audit WHERE tenant = 't' AND object = 'tenant/t'",
         "earlier entries were removed"},
        {"reordered rows", "", "entries were reordered"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        Fleet fleet;
        populate(fleet);
        REQUIRE(fleet({"audit", "verify"}).exit_code == 0);
        if (*c.statement) {
            sql(fleet, c.statement);
        } else {
            // Swap the places of two entries: d1's and d2's creation.
            auto a = sql(fleet, "SELECT seq FROM audit WHERE tenant = 't' AND object = 'device/d1'");
            auto b = sql(fleet, "SELECT seq FROM audit WHERE tenant = 't' AND object = 'device/d2' AND action = 'created'");
            a.pop_back();
            b.pop_back();
            sql(fleet, fmt::format("UPDATE audit SET seq = -1 WHERE seq = {0}; UPDATE audit SET seq = {0} WHERE seq = {1}; "
                                   "UPDATE audit SET seq = {1} WHERE seq = -1;",
                                   a, b));
        }
        auto r = fleet({"audit", "verify"});
        INFO(r.out + r.err);
        CHECK(r.exit_code == 1);
        CHECK(contains(r.out, std::string("tenant t: BROKEN at entry")));
        CHECK(contains(r.out, c.expected));
        CHECK(contains(r.out, "tenant u:"));
        CHECK_FALSE(contains(r.out, "tenant u: BROKEN"));
        auto json = nlohmann::json::parse(fleet({"audit", "verify", "-o", "json"}).out);
        CHECK(json["intact"] == false);
    }
}
