// -o never lies: a command prints the formats it declares and refuses the others (exit 2).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("an output format a command does not print is refused with the formats it does print, before anything runs",
          "[cli][output]")
{
    Fleet fleet;
    // Not even a store is made: the check comes before the command runs.
    auto init = fleet({"init", "-o", "json"});
    CHECK(init.exit_code == 2);
    CHECK(contains(init.err, "-o json: `fleetadm init` prints table only"));
    if (!fleet.on_postgres()) CHECK_FALSE(fs::exists(fleet.state()));
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", fleet::test::examples_dir(), "-R"}).exit_code == 0);
    auto before = fleet.store_digest();

    struct Case {
        std::vector<std::string> args;
        std::string expected;
    };
    const std::vector<Case> refused = {
        {{"audit", "-o", "yaml"}, "-o yaml: `fleetadm audit` prints table, wide, json, csv, jsonpath or custom-columns"},
        {{"audit", "-o", "name"}, "-o name: `fleetadm audit` prints table, wide, json, csv, jsonpath or custom-columns"},
        {{"audit", "verify", "-A", "-o", "csv"}, "-o csv: `fleetadm audit verify` prints table, json, jsonpath or custom-columns"},
        {{"tenant", "tree", "-o", "yaml"}, "-o yaml: `fleetadm tenant tree` prints table, json, jsonpath or custom-columns"},
        {{"rollout", "status", "hvac-2.1.0", "--tenant", "acme-prod", "-o", "name"},
         "`fleetadm rollout status` prints table, wide, json, jsonpath or custom-columns"},
        {{"diff", "-f", fleet::test::examples_dir(), "-R", "-o", "csv"}, "`fleetadm diff` prints table, json, jsonpath or custom-columns"},
        {{"device", "check", "hvac-0001", "--tenant", "acme-prod", "-o", "yaml"},
         "`fleetadm device check` prints table, json, jsonpath or custom-columns"},
        {{"device", "enroll", "-f", fleet::test::examples_dir() + "/devices/devices.csv", "-o", "name"},
         "`fleetadm device enroll` prints table, json, jsonpath or custom-columns"},
        {{"version", "-o", "csv"}, "`fleetadm version` prints table, json, jsonpath or custom-columns"},
        {{"config", "get-contexts", "-o", "yaml"}, "`fleetadm config get-contexts` prints table, json, jsonpath or custom-columns"},
        {{"delete", "device", "hvac-0001", "--tenant", "acme-prod", "-o", "json"}, "`fleetadm delete` prints table only"},
        {{"-o", "wide", "apply", "-f", fleet::test::examples_dir(), "-R"}, "`fleetadm apply` prints table, json, jsonpath or custom-columns"},
    };
    for (const auto& c : refused) {
        auto r = fleet(c.args);
        INFO(c.args.front() << " " << c.args.back() << ": " << r.out << r.err);
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, c.expected));
        CHECK(r.out.empty());
    }
    CHECK(fleet.store_digest() == before);

    // What they do print.
    auto tree = fleet({"tenant", "tree", "-o", "json"});
    REQUIRE(tree.exit_code == 0);
    CHECK(nlohmann::json::parse(tree.out)["name"] == "provider");
    auto audit = fleet({"audit", "-A", "-o", "csv"});
    CHECK(audit.exit_code == 0);
    CHECK(audit.out.starts_with("seq,time,actor,tenant,action,object,summary,prev_hash,hash\n"));
    auto verify = fleet({"audit", "verify", "-A", "-o", "json"});
    CHECK(verify.exit_code == 0);
    CHECK(nlohmann::json::parse(verify.out)["intact"] == true);
    auto version = fleet({"version", "-o", "json"});
    CHECK(version.exit_code == 0);
    CHECK(nlohmann::json::parse(version.out).is_object());
    CHECK(fleet({"get", "tenants", "-o", "name"}).out.starts_with("tenant/"));
}

TEST_CASE("a mistyped command gets the nearest one, usage errors point to the command's own --help, and --version "
          "and help COMMAND work",
          "[cli][usage]")
{
    Fleet fleet;
    struct Case {
        std::vector<std::string> args;
        std::string error;
    };
    const std::vector<Case> mistakes = {
        {{"aply", "-f", "x.yaml"}, "unknown command 'aply'; did you mean 'apply'?\nRun 'fleetadm --help' for usage."},
        {{"--tenant", "acme", "gte", "devices"}, "unknown command 'gte'; did you mean 'get'?"},
        {{"device", "enrol", "-f", "d.csv"},
         "unknown command 'device enrol'; did you mean 'device enroll'?\nRun 'fleetadm device --help' for usage."},
        {{"rollout", "stauts", "up"}, "did you mean 'rollout status'?"},
        {{"teleport"}, "unknown command 'teleport'\nRun 'fleetadm --help' for usage."},
        {{"get"}, "Run 'fleetadm get --help' for usage."},
        {{"audit", "--since"}, "Run 'fleetadm audit --help' for usage."},
    };
    for (const auto& c : mistakes) {
        auto r = fleet(c.args);
        INFO(c.args.front() << ": " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, c.error));
    }
    auto version = fleet({"--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out.starts_with("fleetadm "));
    CHECK(version.out == fleet({"version"}).out.substr(0, version.out.size()));
    auto help = fleet({"help", "device", "enroll"});
    CHECK(help.exit_code == 0);
    CHECK(help.out == fleet({"device", "enroll", "--help"}).out);
    CHECK(contains(help.out, "--format"));
    CHECK(fleet({"help"}).out == fleet({"--help"}).out);
}
