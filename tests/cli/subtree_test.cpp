// --tenant T --subtree: a customer's whole subtree for get, exec, device check and audit, and only
// what the caller can see of it.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <set>
#include <sstream>

#include "tests/support/process.hpp"

using fleet::test::Fleet;

namespace {

std::string tenant_doc(const std::string& name, const std::string& parent, const std::string& members = "")
{
    std::string doc = fmt::format("---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {{name: {}}}\nspec:\n", name);
    if (!parent.empty()) doc += fmt::format("  parent: {}\n", parent);
    doc += "  deviceLimit: 100\n";
    if (!members.empty()) doc += "  members: " + members + "\n";
    return doc;
}

/// provider ─┬─ acme ─┬─ acme-eu ── acme-eu-lab
///           │        └─ acme-us
///           └─ acmex (a sibling whose name starts like acme's)
/// Each tenant has one device, "<tenant>-d", without endpoints, and "shared" exists in acme-eu and
/// acmex. alice is admin of acme-eu only.
void build(const Fleet& fleet)
{
    auto me = fleet::test::run_process("/usr/bin/id", {"-un"}).out;
    me.pop_back();
    REQUIRE(fleet({"init"}).exit_code == 0);
    std::string all = tenant_doc("provider", "", fmt::format("[{{user: {}, role: admin}}]", me)) +
                      tenant_doc("acme", "provider") + tenant_doc("acme-eu", "acme", "[{user: alice, role: admin}]") +
                      tenant_doc("acme-eu-lab", "acme-eu") + tenant_doc("acme-us", "acme") +
                      tenant_doc("acmex", "provider");
    std::string csv = "name,tenant,deviceType\n";
    for (const char* t : {"provider", "acme", "acme-eu", "acme-eu-lab", "acme-us", "acmex"})
        csv += fmt::format("{0}-d,{0},rpi4\n", t);
    csv += "shared,acme-eu,rpi4\nshared,acmex,rpi4\n";
    auto r = fleet({"apply", "-f", "-"}, all);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    r = fleet({"device", "enroll", "-f", "-"}, csv);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    if (fleet.on_postgres()) REQUIRE(fleet({"user", "add", "alice", "--no-password"}).exit_code == 0);
}

std::set<std::string> lines(const std::string& text)
{
    std::set<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.insert(line);
    return out;
}

/// "tenant/name" of each device in NDJSON lines or a JSON array of {device, tenant} objects.
std::set<std::string> devices_of(const std::string& text)
{
    std::set<std::string> out;
    auto add = [&](const nlohmann::json& j) {
        out.insert(j["tenant"].get<std::string>() + "/" + j["device"].get<std::string>());
    };
    auto trimmed = text.substr(0, text.find_last_not_of("\n") + 1);
    if (trimmed.starts_with("[")) {
        for (const auto& j : nlohmann::json::parse(trimmed)) add(j);
        return out;
    }
    for (const auto& line : lines(text)) add(nlohmann::json::parse(line));
    return out;
}

} // namespace

TEST_CASE("get --tenant T --subtree lists T and every tenant below it, no sibling", "[cli][subtree]")
{
    Fleet fleet;
    build(fleet);
    auto devices = fleet({"get", "devices", "--tenant", "acme", "--subtree", "-o", "json"});
    INFO(devices.err);
    REQUIRE(devices.exit_code == 0);
    std::vector<std::string> seen;
    auto listed = nlohmann::json::parse(devices.out);
    for (const auto& item : listed["items"])
        seen.push_back(item["metadata"]["tenant"].get<std::string>() + "/" + item["metadata"]["name"].get<std::string>());
    // In (tenant, name) order, like -A.
    CHECK(seen == std::vector<std::string>{"acme/acme-d", "acme-eu/acme-eu-d", "acme-eu/shared",
                                           "acme-eu-lab/acme-eu-lab-d", "acme-us/acme-us-d"});
    // Without --subtree: acme's own only.
    CHECK(lines(fleet({"get", "devices", "--tenant", "acme", "-o", "name"}).out) ==
          std::set<std::string>{"device/acme-d"});
    CHECK(lines(fleet({"get", "tenants", "--tenant", "acme-eu", "--subtree", "-o", "name"}).out) ==
          std::set<std::string>{"tenant/acme-eu", "tenant/acme-eu-lab"});

    // A name is found in whichever tenant of the subtree holds it; "shared" also exists in the sibling acmex.
    auto one = fleet({"get", "device", "shared", "--tenant", "acme", "--subtree", "-o", "json"});
    INFO(one.err);
    REQUIRE(one.exit_code == 0);
    CHECK(nlohmann::json::parse(one.out)["metadata"]["tenant"] == "acme-eu");
    CHECK(fleet({"get", "device", "acmex-d", "--tenant", "acme", "--subtree"}).exit_code == 4);
    CHECK(fleet({"get", "device", "shared", "-A"}).exit_code == 2);  // ambiguous without the subtree

    auto both = fleet({"get", "devices", "-A", "--subtree"});
    CHECK(both.exit_code == 2);
    CHECK(both.err.find("--subtree and -A") != std::string::npos);
    auto bare = fleet({"get", "devices", "--subtree"});
    CHECK(bare.exit_code == 2);
    CHECK(bare.err.find("--subtree needs a tenant") != std::string::npos);
    CHECK(fleet({"get", "devices", "--tenant", "nope", "--subtree"}).exit_code == 4);
}

TEST_CASE("a subtree holds to what the caller can see", "[cli][subtree]")
{
    Fleet fleet;
    build(fleet);
    // alice is admin of acme-eu: acme does not exist for her, her own subtree does.
    auto above = fleet.as("alice", {"get", "devices", "--tenant", "acme", "--subtree"});
    CHECK(above.exit_code == 4);
    CHECK(above.out.empty());
    auto own = fleet.as("alice", {"get", "devices", "--tenant", "acme-eu", "--subtree", "-o", "name"});
    INFO(own.err);
    REQUIRE(own.exit_code == 0);
    CHECK(lines(own.out) == std::set<std::string>{"device/acme-eu-d", "device/shared", "device/acme-eu-lab-d"});
    auto log = fleet.as("alice", {"audit", "--tenant", "acme-eu", "--subtree", "-o", "json"});
    REQUIRE(log.exit_code == 0);
    std::set<std::string> tenants;
    auto entries = nlohmann::json::parse(log.out);
    for (const auto& e : entries["items"]) tenants.insert(e["tenant"].get<std::string>());
    CHECK(tenants == std::set<std::string>{"acme-eu", "acme-eu-lab"});
    CHECK(fleet.as("alice", {"audit", "--tenant", "acme", "--subtree"}).exit_code == 4);
}

TEST_CASE("audit, audit verify and audit checkpoint take --subtree", "[cli][subtree][audit]")
{
    Fleet fleet;
    build(fleet);
    const std::set<std::string> subtree{"acme", "acme-eu", "acme-eu-lab", "acme-us"};
    auto log = fleet({"audit", "--tenant", "acme", "--subtree", "-o", "json"});
    INFO(log.err);
    REQUIRE(log.exit_code == 0);
    std::set<std::string> tenants;
    std::int64_t last = 0;
    bool ordered = true;
    auto entries = nlohmann::json::parse(log.out);
    for (const auto& e : entries["items"]) {
        tenants.insert(e["tenant"].get<std::string>());
        ordered = ordered && e["seq"].get<std::int64_t>() > last;
        last = e["seq"].get<std::int64_t>();
    }
    CHECK(tenants == subtree);
    CHECK(ordered);  // in the order the entries were written, as without --subtree

    auto verify = fleet({"audit", "verify", "--tenant", "acme", "--subtree", "-o", "json"});
    REQUIRE(verify.exit_code == 0);
    tenants.clear();
    auto logs = nlohmann::json::parse(verify.out);
    for (const auto& l : logs["logs"]) tenants.insert(l["tenant"].get<std::string>());
    CHECK(tenants == subtree);

    auto checkpoint = fleet({"audit", "checkpoint", "--tenant", "acme", "--subtree"});
    REQUIRE(checkpoint.exit_code == 0);
    tenants.clear();
    auto heads = nlohmann::json::parse(checkpoint.out);
    for (const auto& h : heads["heads"]) tenants.insert(h["tenant"].get<std::string>());
    CHECK(tenants == subtree);
    CHECK(fleet({"audit", "verify", "-A", "--subtree"}).exit_code == 2);
}

TEST_CASE("exec and device check act on a whole subtree", "[cli][subtree][ssh]")
{
    Fleet fleet;
    build(fleet);
    const std::set<std::string> subtree{"acme/acme-d", "acme-eu/acme-eu-d", "acme-eu/shared",
                                        "acme-eu-lab/acme-eu-lab-d", "acme-us/acme-us-d"};
    auto dry = fleet({"exec", "--tenant", "acme", "--subtree", "--all", "--dry-run", "-o", "json"});
    INFO(dry.err);
    REQUIRE(dry.exit_code == 0);
    CHECK(devices_of(dry.out) == subtree);
    // The devices have no endpoint: every one fails, and every one of the subtree is tried.
    auto run = fleet({"exec", "--tenant", "acme", "--subtree", "--all", "-o", "json", "--", "true"});
    CHECK(run.exit_code == 1);
    CHECK(devices_of(run.out) == subtree);
    auto named = fleet({"exec", "--tenant", "acme", "--subtree", "shared", "--dry-run", "-o", "json"});
    REQUIRE(named.exit_code == 0);
    CHECK(devices_of(named.out) == std::set<std::string>{"acme-eu/shared"});
    auto check = fleet({"device", "check", "--tenant", "acme", "--subtree", "-o", "json"});
    CHECK(check.exit_code == 1);
    CHECK(devices_of(check.out) == subtree);
    // Each tenant's audit log records the run on its own devices.
    auto eu = nlohmann::json::parse(fleet({"audit", "--tenant", "acme-eu-lab", "--action", "exec", "-o", "json"}).out);
    REQUIRE(eu["items"].size() == 1);
    CHECK(eu["items"][0]["summary"] == "1 device: 1 unreachable");
    CHECK(nlohmann::json::parse(fleet({"audit", "--tenant", "acmex", "--action", "exec", "-o", "json"}).out)["items"]
              .empty());
    CHECK(fleet({"device", "check", "--subtree"}).exit_code == 2);
}
