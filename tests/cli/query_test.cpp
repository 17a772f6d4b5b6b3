// kubectl's query tools on fleetadm objects: -o jsonpath, -o custom-columns, --sort-by,
// --no-headers, --field-selector, KIND/NAME arguments; explain; config current-context,
// delete-context and view; --context over the environment.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::RunResult;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

/// The examples' tenants and devices, with status rows as `device check` would leave them:
/// hvac-0001 reachable at 2.1.0, hvac-0002 unreachable, the others never checked.
void example_fleet(const Fleet& fleet)
{
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", fleet::test::examples_dir() + "/tenants", "-f",
                   fleet::test::examples_dir() + "/credentials"})
                .exit_code == 0);
    REQUIRE(fleet({"device", "enroll", "-f", fleet::test::examples_dir() + "/devices/devices.csv"}).exit_code == 0);
    fleet.sql("INSERT INTO device_status (tenant, name, reported_version, last_seen, reachable) VALUES "
              "('acme-prod', 'hvac-0001', '2.1.0', '2026-11-30T10:00:00Z', (1=1)), "
              "('acme-prod', 'hvac-0002', '2.0.0', '2026-11-30T10:00:00Z', (1=0))");
}

/// A golden file of tests/golden: compared, or written when FLEETADM_UPDATE_GOLDEN is set.
void check_golden(const std::string& name, const std::string& actual)
{
    fs::path file = fs::path(FLEETADM_SOURCE_DIR) / "tests" / "golden" / name;
    if (const char* update = std::getenv("FLEETADM_UPDATE_GOLDEN"); update && *update) {
        fs::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << actual;
    }
    INFO("golden file " << file << " (FLEETADM_UPDATE_GOLDEN=1 rewrites it)");
    CHECK(fleet::test::read_file(file) == actual);
}

} // namespace

TEST_CASE("jsonpath and custom-columns output render what -o json prints the way kubectl does", "[cli][query]")
{
    Fleet fleet;
    example_fleet(fleet);

    // kubectl's `{.items[*].metadata.name}` and its range example, on devices.
    auto names = fleet({"get", "devices", "--tenant", "acme-prod", "-o", "jsonpath={.items[*].metadata.name}"});
    REQUIRE(names.exit_code == 0);
    CHECK(names.out == "hvac-0001 hvac-0002 hvac-0003");
    auto range = fleet({"get", "devices", "-A", "-o",
                        R"(jsonpath={range .items[*]}{.metadata.tenant}/{.metadata.name}{"\t"}{.spec.deviceType}{"\n"}{end})"});
    REQUIRE(range.exit_code == 0);
    CHECK(lines(range.out).size() == 7);
    CHECK(contains(range.out, "acme-prod/hvac-0001\trpi4\n"));
    CHECK(contains(range.out, "globex-us/gw-us-01\timx8\n"));
    // A filter, and one named object (the template sees the object, not a List).
    auto filtered = fleet({"get", "devices", "-A", "-o", R"(jsonpath={.items[?(@.spec.deviceType=="imx8")].metadata.name})"});
    CHECK(filtered.out == "gw-eu-01 gw-eu-02 gw-us-01");
    auto one = fleet({"get", "device", "hvac-0001", "--tenant", "acme-prod", "-o", "jsonpath={.status.reportedVersion}"});
    CHECK(one.out == "2.1.0");
    // Any command that prints JSON takes a template too.
    auto tree = fleet({"tenant", "tree", "-o", "jsonpath={.name}"});
    CHECK(tree.exit_code == 0);
    CHECK(tree.out == "provider");

    // kubectl's custom-columns, relaxed expressions (no leading dot) and <none>.
    auto columns = fleet({"get", "devices", "--tenant", "acme-prod", "-o",
                          "custom-columns=NAME:.metadata.name,TYPE:spec.deviceType,VERSION:.status.reportedVersion"});
    REQUIRE(columns.exit_code == 0);
    auto rows = lines(columns.out);
    REQUIRE(rows.size() == 4);
    CHECK(rows[0] == "NAME       TYPE  VERSION");
    CHECK(rows[1] == "hvac-0001  rpi4  2.1.0");
    CHECK(rows[3] == "hvac-0003  rpi4  <none>");
    auto bare = fleet({"get", "devices", "--tenant", "acme-prod", "--no-headers", "-o", "custom-columns=NAME:.metadata.name"});
    CHECK(bare.out == "hvac-0001\nhvac-0002\nhvac-0003\n");

    // A malformed template is refused before the command runs (exit 2, the column named).
    auto bad = fleet({"get", "devices", "-A", "-o", "jsonpath={.items[0}"});
    CHECK(bad.exit_code == 2);
    CHECK(contains(bad.err, "-o jsonpath={.items[0}: "));
    CHECK(contains(bad.err, "column"));
    CHECK(bad.out.empty());
    auto bad_columns = fleet({"get", "devices", "-A", "-o", "custom-columns=NAME"});
    CHECK(bad_columns.exit_code == 2);
    CHECK(contains(bad_columns.err, "HEADER:EXPRESSION"));
    // Where no JSON is printed, neither is a template.
    auto refused = fleet({"delete", "device", "x", "-o", "jsonpath={.a}"});
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, "`fleetadm delete` prints table only"));
}

TEST_CASE("field selectors filter on metadata and spec and status while sort-by orders and no-headers drops the header",
          "[cli][query]")
{
    Fleet fleet;
    example_fleet(fleet);
    auto names = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"get", "devices", "-A", "-o", "name"});
        auto r = fleet(args);
        INFO(r.err);
        CHECK(r.exit_code == 0);
        return lines(r.out);
    };
    using V = std::vector<std::string>;
    CHECK(names({"--field-selector", "spec.deviceType=imx8"}) == V{"device/gw-eu-01", "device/gw-eu-02", "device/gw-us-01"});
    CHECK(names({"--field-selector", "status.reachable=false"}) == V{"device/hvac-0002"});
    CHECK(names({"--field-selector", "status.reachable==true"}) == V{"device/hvac-0001"});
    // != keeps the devices that lack the field (never checked), as kubectl's selectors do.
    CHECK(names({"--field-selector", "spec.deviceType=rpi4,status.reportedVersion!=2.1.0"}) ==
          V{"device/hvac-0002", "device/hvac-0003", "device/hvac-0101"});
    CHECK(names({"--field-selector", "metadata.tenant=globex-eu,spec.http.profile=swupdate"}) ==
          V{"device/gw-eu-01", "device/gw-eu-02"});
    CHECK(names({"--field-selector", "metadata.name=hvac-0003"}) == V{"device/hvac-0003"});
    CHECK(names({"--field-selector", "metadata.labels.site=chicago"}) == V{"device/gw-us-01"});
    CHECK(names({"--field-selector", "spec.ssh.port=2222"}) == V{"device/hvac-0101"});
    // A spec field the schema lacks is refused with the fields that are there.
    auto typo = fleet({"get", "devices", "-A", "--field-selector", "spec.devicType=rpi4"});
    CHECK(typo.exit_code == 2);
    CHECK(contains(typo.err, "--field-selector: Device.spec has no field \"devicType\""));
    CHECK(contains(typo.err, "deviceType"));
    auto nonsense = fleet({"get", "devices", "-A", "--field-selector", "owner=me"});
    CHECK(nonsense.exit_code == 2);
    CHECK(contains(nonsense.err, "\"owner\" is not a field of Device"));
    CHECK(fleet({"get", "devices", "-A", "--field-selector", "spec.deviceType"}).exit_code == 2);

    // --sort-by: missing first, numbers by value, strings by bytes; stable otherwise.
    CHECK(names({"--sort-by", ".metadata.labels.channel", "--field-selector", "spec.deviceType=rpi4"}) ==
          V{"device/hvac-0002", "device/hvac-0101", "device/hvac-0001", "device/hvac-0003"});
    CHECK(names({"--sort-by", ".spec.ssh.port"}) == V{"device/gw-eu-01", "device/gw-eu-02", "device/gw-us-01",
                                                        "device/hvac-0001", "device/hvac-0002", "device/hvac-0003",
                                                        "device/hvac-0101"});
    CHECK(names({"--sort-by", "{.metadata.labels.site}"}).front() == "device/hvac-0001");  // no site label: first
    CHECK(names({"--sort-by", "{.metadata.labels.site}"}).back() == "device/gw-eu-01");    // rotterdam
    auto by_name = fleet({"get", "devices", "-A", "--sort-by", "metadata.name", "-o", "json"});
    REQUIRE(by_name.exit_code == 0);
    auto items = nlohmann::json::parse(by_name.out)["items"];
    REQUIRE(items.size() == 7);
    CHECK(items[0]["metadata"]["name"] == "gw-eu-01");
    CHECK(items[6]["metadata"]["name"] == "hvac-0101");
    CHECK(fleet({"get", "devices", "-A", "--sort-by", ".a[", "-o", "name"}).exit_code == 2);

    auto table = fleet({"get", "devices", "--tenant", "acme-prod", "--no-headers"});
    REQUIRE(table.exit_code == 0);
    CHECK(lines(table.out).size() == 3);
    CHECK(table.out.starts_with("acme-prod"));
    auto csv = fleet({"get", "devices", "--tenant", "acme-prod", "--no-headers", "-o", "csv"});
    CHECK(csv.out.starts_with("acme-prod,hvac-0001,"));
}

TEST_CASE("the kind/name lines of -o name are taken back by get and describe and delete", "[cli][query]")
{
    Fleet fleet;
    example_fleet(fleet);
    auto listed = fleet({"get", "devices", "--tenant", "acme-prod", "-o", "name"});
    auto refs = lines(listed.out);
    REQUIRE(refs.size() == 3);
    std::vector<std::string> args{"get"};
    args.insert(args.end(), refs.begin(), refs.end());
    args.insert(args.end(), {"--tenant", "acme-prod", "-o", "name"});
    CHECK(fleet(args).out == listed.out);
    auto described = fleet({"describe", "device/hvac-0002", "--tenant", "acme-prod"});
    CHECK(described.exit_code == 0);
    CHECK(contains(described.out, "hvac-0002"));
    CHECK(fleet({"describe", "tenant/acme"}).exit_code == 0);
    auto mixed = fleet({"get", "device/hvac-0001", "tenant/acme"});
    CHECK(mixed.exit_code == 2);
    CHECK(contains(mixed.err, "of one kind"));
    CHECK(fleet({"get", "device/hvac-0001", "hvac-0002"}).exit_code == 2);
    CHECK(fleet({"get", "gadget/x"}).exit_code == 2);
    auto deleted = fleet({"delete", "device/hvac-0003", "dev/hvac-0002", "--tenant", "acme-prod"});
    REQUIRE(deleted.exit_code == 0);
    CHECK(fleet({"get", "devices", "--tenant", "acme-prod", "-o", "name"}).out == "device/hvac-0001\n");
}

TEST_CASE("explain documents kinds and fields from the schemas", "[cli][explain]")
{
    Fleet fleet;
    auto device = fleet({"explain", "device"});
    REQUIRE(device.exit_code == 0);
    check_golden("explain-device.txt", device.out);
    auto ssh = fleet({"explain", "device.spec.ssh"});
    REQUIRE(ssh.exit_code == 0);
    check_golden("explain-device.spec.ssh.txt", ssh.out);
    auto phases = fleet({"explain", "rollouts.spec.strategy.phases"});
    REQUIRE(phases.exit_code == 0);
    CHECK(contains(phases.out, "FIELD:    phases <[]object>"));
    CHECK(contains(phases.out, "percent"));
    auto recursive = fleet({"explain", "tenant", "--recursive"});
    REQUIRE(recursive.exit_code == 0);
    CHECK(contains(recursive.out, "    deviceLimit\t<integer>"));
    auto json_out = fleet({"explain", "credential.spec.type", "-o", "json"});
    REQUIRE(json_out.exit_code == 0);
    auto j = nlohmann::json::parse(json_out.out);
    CHECK(j["kind"] == "Credential");
    CHECK(contains(j.value("constraints", ""), "Allowed values: "));
    auto unknown = fleet({"explain", "device.spec.sshh"});
    CHECK(unknown.exit_code == 2);
    CHECK(contains(unknown.err, "Device.spec has no field \"sshh\""));
    CHECK(fleet({"explain", "gadget"}).exit_code == 2);
}

TEST_CASE("config current-context and delete-context and view and a named context winning over the environment", "[cli][config]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", fleet::test::examples_dir() + "/tenants"}).exit_code == 0);
    CHECK(fleet({"config", "current-context"}).exit_code == 4);
    REQUIRE(fleet({"config", "set-context", "ops", "--state", fleet.location(), "--tenant", "acme-prod"}).exit_code == 0);
    REQUIRE(fleet({"config", "set-context", "other", "--tenant", "globex-eu"}).exit_code == 0);
    REQUIRE(fleet({"config", "use-context", "other"}).exit_code == 0);
    CHECK(fleet({"config", "current-context"}).out == "other\n");
    auto view = fleet({"config", "view", "-o", "json"});
    REQUIRE(view.exit_code == 0);
    auto v = nlohmann::json::parse(view.out);
    CHECK(v["current-context"] == "other");
    CHECK(v["contexts"].size() == 2);
    CHECK(contains(fleet({"config", "view"}).out, "current-context: other"));

    // The harness passes --state; FLEETADM_TENANT in the environment loses to an explicit --context,
    // and wins over the current context (kubectl's order).
    auto env_tenant = fleet::test::run_process(FLEETADM_BIN, {"--state", fleet.location(), "get", "devicegroups", "-o", "name"},
                                               "", {{"HOME", fleet.dir().path().string()}, {"FLEETADM_TENANT", "nope"}});
    CHECK(env_tenant.exit_code == 4);  // tenant "nope" from the environment, over context "other"
    auto explicit_context = fleet::test::run_process(
        FLEETADM_BIN, {"--context", "ops", "get", "devicegroups", "-o", "name"}, "",
        {{"HOME", fleet.dir().path().string()}, {"FLEETADM_TENANT", "nope"}, {"FLEETADM_STATE", "/nonexistent/state.db"}});
    INFO(explicit_context.err);
    CHECK(explicit_context.exit_code == 0);  // the store and tenant of --context ops, not the environment's

    auto deleted = fleet({"config", "delete-context", "other"});
    CHECK(deleted.exit_code == 0);
    CHECK(contains(deleted.err, "none is current now"));
    CHECK(fleet({"config", "current-context"}).exit_code == 4);
    CHECK(fleet({"config", "delete-context", "other"}).exit_code == 4);
    CHECK(fleet({"config", "get-contexts", "-o", "json"}).out.find("\"other\"") == std::string::npos);
}

TEST_CASE("plan lines name the tenant and plan -o json is versioned with tenant and kind and name and action and fields",
          "[cli][plan]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", fleet::test::examples_dir() + "/tenants"}).exit_code == 0);
    auto creds = fleet::test::examples_dir() + "/credentials";
    auto text = fleet({"plan", "-f", creds});
    CHECK(text.exit_code == 1);
    CHECK(contains(text.out, "+ acme-prod/credential/acme-ssh (create)\n"));
    CHECK(contains(text.out, "+ acme-staging/credential/acme-ssh (create)\n"));
    CHECK(contains(text.out, "+ globex-eu/credential/globex-http (create)\n"));
    auto plan = fleet({"plan", "-f", creds, "-o", "json"});
    CHECK(plan.exit_code == 1);
    auto j = nlohmann::json::parse(plan.out);
    j.erase("source");  // the test's own folder
    check_golden("plan-credentials.json", j.dump(2) + "\n");
    auto applied = fleet({"apply", "-f", creds});
    CHECK(contains(applied.out, "globex-us/credential/globex-http created\n"));
    // A saved plan of another format version is refused with a reason.
    auto saved = fleet.dir().path() / "p.json";
    REQUIRE(fleet({"plan", "-f", fleet::test::examples_dir() + "/tenants", "--out", saved.string()}).exit_code == 0);
    auto body = nlohmann::json::parse(fleet::test::read_file(saved));
    body["format_version"] = "2.0";
    std::ofstream(saved) << body.dump(2);
    auto refused = fleet({"apply", saved.string()});
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, "plan format 2.0 is newer than this fleetadm reads"));
}

TEST_CASE("a CSV header with a near-miss column or semicolon separators gets a suggestion", "[cli][usage]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", fleet::test::examples_dir() + "/tenants"}).exit_code == 0);
    auto enroll = [&](const std::string& name, const std::string& text) {
        return fleet({"device", "enroll", "-f", fleet.dir().write(name, text).string()});
    };
    auto hostname = enroll("a.csv", "name,tenant,deviceType,ssh.hostname\nd1,acme-prod,rpi4,10.0.0.1\n");
    CHECK(hostname.exit_code == 2);
    CHECK(contains(hostname.err, "a.csv:1: ssh.hostname: unknown column \"ssh.hostname\"; did you mean \"ssh.host\"?"));
    auto tenent = enroll("b.csv", "name,Tenent,deviceType\nd1,acme-prod,rpi4\n");
    CHECK(tenent.exit_code == 2);
    CHECK(contains(tenent.err, "did you mean \"tenant\"?"));
    auto far = enroll("c.csv", "name,colour\nd1,red\n");
    CHECK(contains(far.err, "unknown column \"colour\" (known: "));
    auto semicolons = enroll("d.csv", "name;tenant;deviceType\nd1;acme-prod;rpi4\n");
    CHECK(semicolons.exit_code == 2);
    CHECK(contains(semicolons.err, "the header is separated by ';': fleetadm reads comma-separated CSV"));
    CHECK(fleet({"get", "devices", "-A", "-o", "name"}).out.empty());
}

TEST_CASE("version names every library fleetadm links with its version", "[cli][usage]")
{
    Fleet fleet;
    auto v = fleet({"version", "-o", "json"});
    REQUIRE(v.exit_code == 0);
    auto libs = nlohmann::json::parse(v.out)["libraries"];
    for (const char* lib : {"libssh", "libcurl", "libgit2", "libpq", "libwebsockets", "sqlite", "openssl", "yaml-cpp"}) {
        INFO(lib);
        REQUIRE(libs.contains(lib));
        CHECK(std::isdigit(static_cast<unsigned char>(libs[lib].get<std::string>().front())));
    }
}

TEST_CASE("a subcommand's help names the global options and shows an example and the exit codes", "[cli][usage]")
{
    Fleet fleet;
    auto help = fleet({"get", "--help"});
    REQUIRE(help.exit_code == 0);
    CHECK(contains(help.out, "Global options (see fleetadm --help): --state PATH|URL, --tenant NAME"));
    CHECK(contains(help.out, "Example (devices of one building, as JSON):\n  fleetadm get devices -l building=a -o json\n"));
    CHECK(contains(help.out, "See fleetadm-get(1)."));
    auto nested = fleet({"config", "view", "--help"});
    CHECK(contains(nested.out, "Global options"));
    CHECK(contains(nested.out, "See fleetadm-config(1)."));
}
