// Black-box tests of the audit log: every change is recorded, and tampering is found.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

#include "core/store/audit_chain.hpp"
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

TEST_CASE("a checkpoint kept elsewhere catches a log rewritten consistently from an old entry on", "[cli][audit]")
{
    Fleet fleet;
    populate(fleet);
    auto taken = fleet({"audit", "checkpoint", "-A"});
    INFO(taken.err);
    REQUIRE(taken.exit_code == 0);
    auto checkpoint = nlohmann::json::parse(taken.out);
    CHECK(checkpoint["kind"] == "AuditCheckpoint");
    std::map<std::string, nlohmann::json> heads;
    for (const auto& h : checkpoint["heads"]) heads[h["tenant"]] = h;
    REQUIRE(heads.contains("t"));
    REQUIRE(heads.contains("u"));
    auto newest_t = sql(fleet, "SELECT max(seq) FROM audit WHERE tenant = 't'");
    CHECK(heads["t"]["seq"] == std::stoll(newest_t));
    auto file = (fleet.dir().path() / "checkpoint.json").string();
    std::ofstream(file) << taken.out;

    // The log goes on; it still extends the checkpoint.
    REQUIRE(fleet({"apply", "-f", "-"}, "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: k2, tenant: t}\n"
                                        "spec: {type: ssh-agent}\n")
                .exit_code == 0);
    auto extended = fleet({"audit", "verify", "-A", "--checkpoint", file});
    INFO(extended.out << extended.err);
    CHECK(extended.exit_code == 0);

    // Someone who controls the store (on PostgreSQL: its owner role, triggers disabled) edits an old
    // entry of t and recomputes every later entry's links and hashes, and the head, to match.
    auto rows = sql(fleet, "SELECT seq || '~' || at || '~' || actor || '~' || tenant || '~' || action || '~' || object "
                           "|| '~' || summary FROM audit WHERE tenant = 't' ORDER BY seq");
    std::vector<fleet::store::AuditEntry> log;
    std::istringstream lines(rows);
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::string> f;
        std::istringstream parts(line);
        for (std::string part; std::getline(parts, part, '~');) f.push_back(part);
        f.resize(7);
        log.push_back({std::stoll(f[0]), f[1], f[2], f[3], f[4], f[5], f[6], "", ""});
    }
    REQUIRE(log.size() >= 4);
    log[1].summary = "rewritten";
    std::string script, prev;
    for (auto& e : log) {
        e.prev_hash = prev;
        e.hash = fleet::store::entry_hash(e);
        prev = e.hash;
        script += fmt::format("UPDATE audit SET summary = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};\n", e.summary,
                              e.prev_hash, e.hash, e.seq);
    }
    script += fmt::format("UPDATE audit_heads SET hash = '{}' WHERE tenant = 't';\n", prev);
    if (fleet.on_postgres())
        script = fmt::format("SET ROLE {0}_owner; ALTER TABLE audit DISABLE TRIGGER USER;\n{1}"
                             "ALTER TABLE audit ENABLE TRIGGER USER; RESET ROLE;",
                             fleet.database(), script);
    sql(fleet, script);

    // The chain alone cannot tell; the checkpoint does, and names the tenant and entry.
    auto plain = fleet({"audit", "verify", "-A"});
    INFO(plain.out << plain.err);
    CHECK(plain.exit_code == 0);
    auto checked = fleet({"audit", "verify", "-A", "--checkpoint", file});
    INFO(checked.out << checked.err);
    CHECK(checked.exit_code == 1);
    CHECK(contains(checked.out, fmt::format("tenant t: BROKEN at entry {}: entry {} no longer has the checkpointed hash",
                                            heads["t"]["seq"].get<long>(), heads["t"]["seq"].get<long>())));
    CHECK_FALSE(contains(checked.out, "tenant u: BROKEN"));
    auto json = nlohmann::json::parse(fleet({"audit", "verify", "-A", "--checkpoint", file, "-o", "json"}).out);
    CHECK(json["intact"] == false);

    // A file that is not a checkpoint is a usage error naming the file and field.
    std::ofstream(file) << R"({"kind": "AuditCheckpoint", "heads": [{"tenant": "t", "seq": "x"}]})";
    auto bad = fleet({"audit", "verify", "--checkpoint", file});
    CHECK(bad.exit_code == 2);
    CHECK(contains(bad.err, file + ": heads[0].seq"));
}
