// Black-box tests of devices: enrollment, limits, moves, hostile CSV, concurrency.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <future>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::RunResult;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

std::string tenant(const std::string& name, const std::string& parent, int limit = -1)
{
    std::string doc = fmt::format("---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {{name: {}}}\nspec:\n  parent: {}\n",
                                  name, parent);
    if (limit >= 0) doc += fmt::format("  deviceLimit: {}\n", limit);
    doc += fmt::format("---\napiVersion: fleetadm/v1\nkind: Credential\nmetadata: {{name: ssh, tenant: {}}}\n"
                       "spec: {{type: ssh-agent}}\n",
                       name);
    return doc;
}

const std::string header = "name,tenant,deviceType,labels,ssh.host,ssh.credential\n";

/// CSV rows name-{first}..name-{first+count-1} in tenant.
std::string rows(const std::string& tenant, const std::string& prefix, int first, int count)
{
    std::string out;
    for (int i = first; i < first + count; ++i)
        out += fmt::format("{}-{:03d},{},rpi4,building=b{};channel=stable,10.0.0.{},ssh\n", prefix, i, tenant, i % 3,
                           i % 250 + 1);
    return out;
}

/// provider → a (10) → b (8) → c (5), plus d (no limit) under a.
void three_levels(const Fleet& fleet)
{
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto r = fleet({"apply", "-f", "-"}, tenant("a", "provider", 10) + tenant("b", "a", 8) + tenant("c", "b", 5) +
                                             tenant("d", "a"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
}

std::size_t device_count(const Fleet& fleet, const std::string& tenant_name = "")
{
    std::vector<std::string> args{"get", "devices", "-o", "name"};
    if (!tenant_name.empty()) args.insert(args.begin(), {"--tenant", tenant_name});
    auto out = fleet(args).out;
    return static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n'));
}

} // namespace

TEST_CASE("device limits hold for a tenant and every ancestor, and a refused enroll writes nothing", "[cli][limits]")
{
    Fleet fleet;
    three_levels(fleet);
    auto c5 = fleet.dir().write("c5.csv", header + rows("c", "c", 0, 5));
    REQUIRE(fleet({"device", "enroll", "-f", c5.string()}).exit_code == 0);

    auto before = fleet.store_digest();
    auto c1 = fleet.dir().write("c1.csv", header + rows("c", "c", 5, 1));
    auto over_c = fleet({"device", "enroll", "-f", c1.string()});
    CHECK(over_c.exit_code == 5);
    CHECK(contains(over_c.err, "tenant \"c\": device limit 5 would be exceeded: 5 in use, 1 more requested"));
    CHECK(contains(over_c.err, "nothing was enrolled"));
    CHECK(fleet.store_digest() == before);

    auto b3 = fleet.dir().write("b3.csv", header + rows("b", "b", 0, 3));
    REQUIRE(fleet({"device", "enroll", "-f", b3.string()}).exit_code == 0);  // b's subtree: 8 of 8
    auto b1 = fleet.dir().write("b1.csv", header + rows("b", "b", 3, 1));
    auto over_b = fleet({"device", "enroll", "-f", b1.string()});
    CHECK(over_b.exit_code == 5);
    CHECK(contains(over_b.err, "tenant \"b\": device limit 8 would be exceeded: 8 in use, 1 more requested"));

    // d has no limit of its own, but a's limit of 10 covers it: 8 used, 3 asked.
    auto d3 = fleet.dir().write("d3.csv", header + rows("d", "d", 0, 3));
    auto over_a = fleet({"device", "enroll", "-f", d3.string()});
    CHECK(over_a.exit_code == 5);
    CHECK(contains(over_a.err, "tenant \"a\": device limit 10 would be exceeded: 8 in use, 3 more requested"));
    auto d2 = fleet.dir().write("d2.csv", header + rows("d", "d", 0, 2));
    CHECK(fleet({"device", "enroll", "-f", d2.string()}).exit_code == 0);
    CHECK(device_count(fleet) == 10);

    auto tree = nlohmann::json::parse(fleet({"tenant", "tree", "-o", "json"}).out);
    CHECK(tree["devices"] == 10);
    CHECK(tree["children"][0]["name"] == "a");
    CHECK(tree["children"][0]["devices"] == 10);
    CHECK(tree["children"][0]["deviceLimit"] == 10);
    CHECK(tree["children"][0]["children"][0]["devices"] == 8);  // b: c's 5 and its own 3

    // Lowering a limit below usage is a conflict; so is applying the same devices through apply.
    auto lower = fleet({"apply", "-f", "-"}, tenant("b", "a", 4));
    CHECK(lower.exit_code == 5);
    CHECK(contains(lower.err, "tenant \"b\": deviceLimit 4 is below its current usage of 8 device(s)"));
}

TEST_CASE("8 processes enrolling into one tenant at once never exceed its limit", "[cli][limits][concurrency]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", "-"}, tenant("busy", "provider", 50)).exit_code == 0);
    std::vector<std::filesystem::path> files;
    for (int p = 0; p < 8; ++p)
        files.push_back(fleet.dir().write(fmt::format("p{}.csv", p), header + rows("busy", fmt::format("p{}", p), 0, 10)));
    std::vector<std::future<RunResult>> runs;
    for (const auto& f : files)
        runs.push_back(std::async(std::launch::async, [&, f] { return fleet({"device", "enroll", "-f", f.string()}); }));
    int succeeded = 0, refused = 0;
    for (auto& r : runs) {
        auto result = r.get();
        INFO(result.err);
        if (result.exit_code == 0) ++succeeded;
        else if (result.exit_code == 5 && contains(result.err, "device limit 50 would be exceeded")) ++refused;
    }
    CHECK(succeeded == 5);
    CHECK(refused == 3);
    CHECK(device_count(fleet, "busy") == 50);
    if (!fleet.on_postgres()) CHECK(fleet.sql("PRAGMA integrity_check") == "ok\n");
}

TEST_CASE("move and decommission keep usage right and check the destination's limits", "[cli][move]")
{
    Fleet fleet;
    three_levels(fleet);
    auto c3 = fleet.dir().write("c3.csv", header + rows("c", "c", 0, 3));
    auto d5 = fleet.dir().write("d5.csv", header + rows("d", "d", 0, 5));
    REQUIRE(fleet({"device", "enroll", "-f", c3.string()}).exit_code == 0);
    REQUIRE(fleet({"device", "enroll", "-f", d5.string()}).exit_code == 0);

    // b holds 3 (in c); moving 5 more into b would make 8: fine. Moving the 6th is over b's limit.
    auto moved = fleet({"device", "move", "d-000", "d-001", "d-002", "d-003", "d-004", "--to", "b", "--detach"});
    INFO(moved.err);
    CHECK(moved.exit_code == 0);
    CHECK(contains(moved.out, "device/d-000 moved from d to b"));
    CHECK(device_count(fleet, "b") == 5);
    CHECK(device_count(fleet, "d") == 0);
    auto tree = fleet({"tenant", "tree", "-o", "json"});
    auto root = nlohmann::json::parse(tree.out);
    CHECK(root["devices"] == 8);
    CHECK(root["children"][0]["devices"] == 8);                 // a
    CHECK(root["children"][0]["children"][0]["devices"] == 8);  // b: its own 5 and c's 3

    auto back = fleet({"device", "move", "c-000", "--to", "d", "--detach"});
    CHECK(back.exit_code == 0);
    auto over = fleet({"device", "move", "d-000", "--to", "c", "--tenant", "b"});
    CHECK(over.exit_code == 0);  // within b's subtree: b's usage does not change
    CHECK(device_count(fleet, "c") == 3);  // c-001, c-002 and d-000
    auto c_full = fleet.dir().write("c-more.csv", header + rows("c", "cx", 0, 3));
    auto full = fleet({"device", "enroll", "-f", c_full.string()});
    CHECK(full.exit_code == 5);  // 3 + 3 > c's limit of 5
    CHECK(contains(full.err, "tenant \"c\": device limit 5 would be exceeded: 3 in use, 3 more requested"));
    CHECK(device_count(fleet, "c") == 3);

    auto missing = fleet({"device", "move", "ghost", "--to", "b"});
    CHECK(missing.exit_code == 4);
    auto nowhere = fleet({"device", "move", "c-001", "--to", "ghost"});
    CHECK(nowhere.exit_code == 4);

    auto before = device_count(fleet);
    auto gone = fleet({"device", "decommission", "c-001", "c-002"});
    CHECK(gone.exit_code == 0);
    CHECK(contains(gone.out, "device/c-001 decommissioned from c"));
    CHECK(device_count(fleet) == before - 2);
    auto audit = fleet({"describe", "tenant", "c"});
    CHECK(audit.exit_code == 0);
}

TEST_CASE("a move needs the device's credentials in the destination tenant", "[cli][move]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", "-"}, tenant("src", "provider") +
                                            "---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: bare}\n")
                .exit_code == 0);
    auto f = fleet.dir().write("s.csv", header + rows("src", "s", 0, 1));
    REQUIRE(fleet({"device", "enroll", "-f", f.string()}).exit_code == 0);
    auto r = fleet({"device", "move", "s-000", "--to", "bare", "--detach"});
    CHECK(r.exit_code == 5);
    CHECK(contains(r.err, "uses credential \"ssh\", which tenant \"bare\" does not have"));
}

TEST_CASE("enrollment is idempotent, and CSV, JSONL, YAML and stdin all work", "[cli][enroll]")
{
    Fleet fleet;
    three_levels(fleet);
    auto csv = fleet.dir().write("d.csv", header + rows("d", "d", 0, 4));
    auto first = fleet({"device", "enroll", "-f", csv.string()});
    CHECK(first.out == "4 enrolled, 0 updated, 0 unchanged, 0 rejected\n");
    auto again = fleet({"device", "enroll", "-f", csv.string()});
    CHECK(again.out == "0 enrolled, 0 updated, 4 unchanged, 0 rejected\n");
    auto via_apply = fleet({"apply", "-f", csv.string()});
    CHECK(via_apply.out == "0 created, 0 configured, 0 pruned, 4 unchanged\n");

    auto jsonl = fleet.dir().write(
        "d.jsonl", R"({"metadata": {"name": "j-1", "tenant": "d"}, "spec": {"deviceType": "imx8"}}
{"apiVersion": "fleetadm/v1", "kind": "Device", "metadata": {"name": "j-2", "tenant": "d"}, "spec": {"deviceType": "imx8", "ssh": {"host": "h", "credential": "ssh"}}}
)");
    auto j = fleet({"device", "enroll", "-f", jsonl.string()});
    INFO(j.err);
    CHECK(j.out == "2 enrolled, 0 updated, 0 unchanged, 0 rejected\n");

    auto piped = fleet({"device", "enroll", "-f", "-"}, header + rows("d", "p", 0, 2));
    CHECK(piped.out == "2 enrolled, 0 updated, 0 unchanged, 0 rejected\n");
    auto yaml = fleet({"--tenant", "d", "device", "enroll", "-f", "-"},
                      "apiVersion: fleetadm/v1\nkind: Device\nmetadata: {name: y-1}\nspec: {deviceType: rpi4}\n");
    CHECK(yaml.out == "1 enrolled, 0 updated, 0 unchanged, 0 rejected\n");
    auto not_device = fleet({"device", "enroll", "-f", "-"}, tenant("sneaky", "provider"));
    CHECK(not_device.exit_code == 2);
    CHECK(contains(not_device.err, "only Device records may appear here"));

    auto changed = fleet.dir().write("d.csv", header + rows("d", "d", 0, 4) + "");
    std::string edited = fleet::test::read_file(changed);
    edited.replace(edited.find("building=b0"), 11, "building=zz");
    fleet.dir().write("d.csv", edited);
    auto update = fleet({"device", "enroll", "-f", csv.string()});
    CHECK(update.out == "0 enrolled, 1 updated, 3 unchanged, 0 rejected\n");

    auto dry = fleet.dir().write("dry.csv", header + rows("d", "dry", 0, 1));  // the 10th device under a
    auto before = fleet.store_digest();
    auto dry_run = fleet({"device", "enroll", "--dry-run", "-f", dry.string()});
    INFO(dry_run.err);
    CHECK(dry_run.out == "1 enrolled, 0 updated, 0 unchanged, 0 rejected (dry run)\n");
    CHECK(fleet.store_digest() == before);

    auto selected = fleet({"get", "devices", "-l", "building=b1,channel in (stable)", "-o", "name"});
    CHECK(selected.out == "device/d-001\ndevice/p-001\n");
}

TEST_CASE("hostile CSV gives clear errors with file:line and writes nothing", "[cli][csv]")
{
    Fleet fleet;
    three_levels(fleet);
    auto before = fleet.store_digest();
    struct Case {
        const char* what;
        std::string text;
        std::string expected;
    };
    std::string big(10 * 1024 * 1024, 'x');
    std::vector<Case> cases = {
        {"duplicate names", header + rows("d", "d", 0, 2) + "d-001,d,rpi4,,h,ssh\n",
         "bad.csv:4: metadata.name: device/d-001 is defined twice (first at"},
        {"10 MB field", header + "d-1,d,rpi4,," + big + ",ssh\n", "bad.csv:2:5: field longer than 64 KiB"},
        {"unterminated quote", header + "d-1,d,rpi4,\"building=a,h,ssh\n", "bad.csv:2:4: unterminated quoted field"},
        {"stray quote", header + "d-1,d,rp\"i4,,h,ssh\n", "bad.csv:2:3: a quote inside an unquoted field"},
        {"field count", header + "d-1,d,rpi4\n", "bad.csv:2: 3 fields, but the header has 6"},
        {"unknown column", "name,tenant,colour\nd-1,d,red\n", "bad.csv:1: colour: unknown column \"colour\""},
        {"bad label", header + "d-1,d,rpi4,nolabel,h,ssh\n", "bad.csv:2: labels: label \"nolabel\" is not key=value"},
        {"bad port", "name,tenant,deviceType,ssh.host,ssh.port\nd-1,d,rpi4,h,99999\n",
         "bad.csv:2: spec.ssh.port: must be between 1 and 65535"},
        {"hostile name", header + "\"../../etc;rm -rf\",d,rpi4,,h,ssh\n", "bad.csv:2: metadata.name: \"../../etc;rm -rf\" is not a valid name"},
        {"missing credential", header + "d-1,d,rpi4,,h,nokey\n",
         "bad.csv:2: spec.ssh.credential: device/d-1: credential \"nokey\" does not exist in tenant \"d\""},
        {"missing tenant", header + "d-1,nowhere,rpi4,,h,ssh\n",
         "bad.csv:2: metadata.tenant: device/d-1: tenant \"nowhere\" does not exist"},
        {"empty file", "", "bad.csv:1: empty CSV file"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto file = fleet.dir().write("bad.csv", c.text);
        auto r = fleet({"device", "enroll", "-f", file.string()});
        INFO(r.err.substr(0, 2000));
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, file.parent_path().string() + "/" + c.expected));
        CHECK(fleet.store_digest() == before);
    }
    CHECK(device_count(fleet) == 0);
}

TEST_CASE("a CSV file over 1 MiB, read in parts, keeps line numbers, duplicates and all-or-nothing", "[cli][csv]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", "-"}, tenant("d", "provider")).exit_code == 0);
    // 24,000 rows (~1.3 MiB), every 7th with a serial that spans two lines; optionally a bad device
    // type (row 20,000) or a repeated name (row 22,000), late in the file where a later part reads them.
    int line_of_10 = 0, line_of_bad = 0, line_of_dup = 0;
    auto csv = [&](bool bad_type, bool duplicate) {
        std::string text = "name,tenant,deviceType,labels,ssh.host,ssh.credential,identity.serial\n";
        int line = 2;
        for (int i = 0; i < 24000; ++i) {
            if (i == 10) line_of_10 = line;
            if (i == 20000) line_of_bad = line;
            if (i == 22000) line_of_dup = line;
            std::string name = duplicate && i == 22000 ? "d-00010" : fmt::format("d-{:05d}", i);
            std::string type = bad_type && i == 20000 ? "BAD TYPE" : "rpi4";
            // Serials are unique in the store (SPEC §4), the two-line ones too.
            std::string serial = i % 7 == 0 ? fmt::format("\"first\nsecond {}\"", i) : fmt::format("SN{}", i);
            text += fmt::format("{},d,{},building=b{},10.0.{}.{},ssh,{}\n", name, type, i % 3, i / 250 % 250, i % 250,
                                serial);
            line += i % 7 == 0 ? 2 : 1;
        }
        REQUIRE(text.size() > (1u << 20));
        return text;
    };
    auto before = fleet.store_digest();
    auto bad = fleet.dir().write("bad.csv", csv(true, false));
    auto r = fleet({"device", "enroll", "-f", bad.string()});
    INFO(r.err.substr(0, 2000));
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, fmt::format("bad.csv:{}: spec.deviceType: \"BAD TYPE\" is not a valid device type", line_of_bad)));
    CHECK(fleet.store_digest() == before);

    auto dup = fleet.dir().write("dup.csv", csv(false, true));
    r = fleet({"device", "enroll", "-f", dup.string()});
    INFO(r.err.substr(0, 2000));
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, fmt::format("dup.csv:{}: metadata.name: device/d-00010 is defined twice (first at {}:{})",
                                      line_of_dup, dup.string(), line_of_10)));
    CHECK(fleet.store_digest() == before);

    auto skip = fleet({"device", "enroll", "--skip-invalid", "-f", bad.string()});
    INFO(skip.err.substr(0, 2000));
    CHECK(skip.exit_code == 1);
    CHECK(skip.out == "23999 enrolled, 0 updated, 0 unchanged, 1 rejected\n");
    CHECK(device_count(fleet, "d") == 23999);
    auto multi = nlohmann::json::parse(fleet({"get", "device", "d-23996", "--tenant", "d", "-o", "json"}).out);
    CHECK(multi["spec"]["identity"]["serial"] == "first\nsecond 23996");
    auto again = fleet({"device", "enroll", "--skip-invalid", "-f", bad.string()});
    CHECK(again.out == "0 enrolled, 0 updated, 23999 unchanged, 1 rejected\n");
}

TEST_CASE("BOM, CRLF, quoting, embedded newlines and blank lines are read correctly", "[cli][csv]")
{
    Fleet fleet;
    three_levels(fleet);
    std::string text = "\xEF\xBB\xBFname,tenant,deviceType,labels,ssh.host,ssh.credential,identity.serial\r\n"
                       "d-1,d,rpi4,\"building=a;note=x\",h1,ssh,\"serial, with comma\"\r\n"
                       "\r\n"
                       "d-2,d,rpi4,,h2,ssh,\"line one\nline \"\"two\"\"\"\r\n"
                       "\n"
                       "d-3,d,BAD TYPE,,h3,ssh,x\r\n";
    auto file = fleet.dir().write("crlf.csv", text);
    auto r = fleet({"device", "enroll", "-f", file.string()});
    CHECK(r.exit_code == 2);
    // d-3 starts on line 7: line counting survives the embedded newline and blank lines.
    CHECK(contains(r.err, "crlf.csv:7: spec.deviceType: \"BAD TYPE\" is not a valid device type"));

    auto skip = fleet({"device", "enroll", "--skip-invalid", "-f", file.string()});
    CHECK(skip.exit_code == 1);
    CHECK(skip.out == "2 enrolled, 0 updated, 0 unchanged, 1 rejected\n");
    auto d2 = nlohmann::json::parse(fleet({"get", "device", "d-2", "-o", "json"}).out);
    CHECK(d2["spec"]["identity"]["serial"] == "line one\nline \"two\"");
    auto d1 = nlohmann::json::parse(fleet({"get", "device", "d-1", "-o", "json"}).out);
    CHECK(d1["metadata"]["labels"] == nlohmann::json{{"building", "a"}, {"note", "x"}});
    CHECK(d1["spec"]["identity"]["serial"] == "serial, with comma");
}

TEST_CASE("enroll --skip-invalid also drops rows whose references are broken", "[cli][enroll]")
{
    Fleet fleet;
    three_levels(fleet);
    auto file = fleet.dir().write("mixed.csv", header + rows("d", "ok", 0, 2) + "bad-1,d,rpi4,,h,nokey\n");
    auto r = fleet({"device", "enroll", "--skip-invalid", "-f", file.string()});
    CHECK(r.exit_code == 1);
    CHECK(r.out == "2 enrolled, 0 updated, 0 unchanged, 1 rejected\n");
    CHECK(contains(r.err, "mixed.csv:4: spec.ssh.credential: device/bad-1: credential \"nokey\" does not exist"));
}

TEST_CASE("groups, credentials and their references", "[cli][groups]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto applied = fleet({"apply", "-f", fleet::test::examples_dir(), "-R"});
    REQUIRE(applied.exit_code == 0);
    auto groups = nlohmann::json::parse(fleet({"get", "groups", "-o", "json"}).out);
    REQUIRE(groups["items"].size() == 3);
    CHECK(groups["items"][0]["metadata"]["name"] == "building-a");
    CHECK(groups["items"][0]["status"]["members"] == nlohmann::json{"hvac-0001", "hvac-0002"});
    auto described = fleet({"describe", "group", "canaries", "--tenant", "acme-prod"});
    CHECK(contains(described.out, "Kind:           static"));

    const std::string wrong_type = "apiVersion: fleetadm/v1\nkind: Device\nmetadata: {name: x, tenant: globex-eu}\n"
                                   "spec: {deviceType: imx8, ssh: {host: h, credential: globex-http}}\n";
    auto r = fleet({"apply", "-f", "-"}, wrong_type);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "credential \"globex-http\" is of type http-bearer, which cannot be used for ssh"));

    const std::string bad_selector = "apiVersion: fleetadm/v1\nkind: DeviceGroup\nmetadata: {name: g, tenant: acme}\n"
                                     "spec: {selector: \"a in (b\"}\n";
    auto s = fleet({"apply", "-f", "-"}, bad_selector);
    CHECK(s.exit_code == 2);
    CHECK(contains(s.err, "<stdin>:4:8: spec.selector: invalid label selector"));

    // A credential still used by a device cannot be pruned away.
    auto creds = fleet.dir().write("c/creds.yaml",
                                   "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: k, tenant: acme}\n"
                                   "spec: {type: ssh-key, privateKeyFile: id_ed25519}\n---\n"
                                   "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: k2, tenant: acme}\n"
                                   "spec: {type: ssh-agent}\n");
    REQUIRE(fleet({"apply", "-f", creds.parent_path().string()}).exit_code == 0);
    auto key = nlohmann::json::parse(fleet({"get", "cred", "k", "--tenant", "acme", "-o", "json"}).out);
    CHECK(key["spec"]["privateKeyFile"] == (creds.parent_path() / "id_ed25519").string());
    REQUIRE(fleet({"device", "enroll", "-f", "-"}, "name,tenant,deviceType,ssh.host,ssh.credential\nuser,acme,rpi4,h,k\n")
                .exit_code == 0);
    fleet.dir().write("c/creds.yaml", "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: k2, tenant: acme}\n"
                                      "spec: {type: ssh-agent}\n");
    auto prune = fleet({"apply", "-f", creds.parent_path().string(), "--prune", "--confirm-prune"});
    CHECK(prune.exit_code == 5);
    CHECK(contains(prune.err, "credential/k cannot be pruned: device/user in tenant \"acme\" uses it"));
}

TEST_CASE("validate warns about credential files missing on this machine", "[cli][validate]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", "-"}, tenant("t", "provider")).exit_code == 0);
    fleet.dir().write("keys/present", "not a real key");
    auto file = fleet.dir().write("keys/creds.yaml",
                                  "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: a, tenant: t}\n"
                                  "spec: {type: ssh-key, privateKeyFile: present}\n---\n"
                                  "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: b, tenant: t}\n"
                                  "spec: {type: ssh-key, privateKeyFile: missing_key, knownHostsFile: ~/nope}\n");
    auto r = fleet({"validate", "-f", file.string()});
    CHECK(r.exit_code == 0);
    CHECK(contains(r.err, "warning: " + file.string() + ":9:23: spec.privateKeyFile: credential/b:"));
    CHECK(contains(r.err, "missing_key does not exist on this machine"));
    CHECK(contains(r.err, "spec.knownHostsFile: credential/b: ~/nope does not exist"));
    CHECK_FALSE(contains(r.err, "credential/a"));
    CHECK(contains(r.out, "2 document(s) valid"));
}

TEST_CASE("a killed enrollment leaves the store as it was", "[cli][crash]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", "-"}, tenant("big", "provider")).exit_code == 0);
    auto file = fleet.dir().write("big.csv", header + rows("big", "b", 0, 999) + rows("big", "c", 0, 999) +
                                                 rows("big", "d", 0, 999) + rows("big", "e", 0, 999));
    auto before = nlohmann::json::parse(fleet({"get", "devices", "-o", "json"}).out);
    // Kill the enrollment at a few points of its run; whatever it had done must vanish.
    for (int delay_ms : {5, 20, 60}) {
        auto killed = fleet::test::run_process(
            "/bin/sh",
            {"-c", fmt::format("\"$0\" --state \"$1\" device enroll -f \"$2\" & pid=$!; sleep {}; kill -9 $pid; wait $pid",
                               delay_ms / 1000.0),
             FLEETADM_BIN, fleet.location(), file.string()});
        INFO(killed.err);
        auto count = fleet({"get", "devices", "-o", "name"}).out;
        auto lines = std::count(count.begin(), count.end(), '\n');
        CHECK((lines == 0 || lines == 3996));  // all or nothing
        if (lines) REQUIRE(fleet({"device", "decommission", "--tenant", "big", "b-000"}).exit_code == 0);
        if (lines) break;  // the run finished before the kill; nothing more to learn
    }
    if (!fleet.on_postgres()) CHECK(fleet.sql("PRAGMA integrity_check") == "ok\n");
    CHECK(fleet({"device", "enroll", "-f", file.string()}).exit_code == 0);
}

TEST_CASE("deleting a tenant with devices needs --cascade and removes each device", "[cli][delete]")
{
    Fleet fleet;
    three_levels(fleet);
    auto f = fleet.dir().write("c.csv", header + rows("c", "c", 0, 3));
    REQUIRE(fleet({"device", "enroll", "-f", f.string()}).exit_code == 0);
    auto refused = fleet({"delete", "tenant", "b"});
    CHECK(refused.exit_code == 5);
    CHECK(contains(refused.err, "tenant \"b\" is not empty (1 child tenant(s), 1 object(s))"));
    auto cascade = fleet({"delete", "tenant", "b", "--cascade"});
    CHECK(cascade.exit_code == 0);
    CHECK(contains(cascade.out, "device/c-000 deleted\n"));
    CHECK(contains(cascade.out, "credential/ssh deleted\n"));
    CHECK(cascade.out.find("device/c-000 deleted") < cascade.out.find("tenant/c deleted"));
    CHECK(cascade.out.find("tenant/c deleted") < cascade.out.find("tenant/b deleted"));
    CHECK(device_count(fleet) == 0);
    auto a = nlohmann::json::parse(fleet({"get", "tenant", "a", "-o", "json"}).out);
    CHECK(a["status"]["devices"] == 0);
}

TEST_CASE("a tenant with deviceLimit 0 takes no devices", "[cli][limits]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", "-"}, tenant("frozen", "provider", 0)).exit_code == 0);
    auto r = fleet({"device", "enroll", "-f", "-"}, header + rows("frozen", "f", 0, 1));
    CHECK(r.exit_code == 5);
    CHECK(contains(r.err, "tenant \"frozen\": device limit 0 would be exceeded: 0 in use, 1 more requested"));
}

TEST_CASE("a device enrolled from CSV is stored exactly as the same device from YAML", "[cli][enroll][canonical]")
{
    // Values that escaping could get wrong: quotes, backslashes, tabs, newlines, non-ASCII, a padded port,
    // labels out of order and repeated.
    const std::string csv = "name,tenant,labels,deviceType,ssh.host,ssh.port,ssh.user,ssh.credential,http.url,"
                            "http.profile,identity.serial,versionProbe\n"
                            "q-1,d,zone=z9;app=web;zone=z1,rpi4,10.0.0.1,022,root,ssh,,,\"SN \"\"q\"\" \\ ü\","
                            "\"cat /etc/version\t| tr -d '\"\"\\n'\"\n"
                            "q-2,d,,imx8,,,,,https://d.example/ä?x=1,swupdate,日本-🚀,\n";
    nlohmann::json q1 = {{"apiVersion", "fleetadm/v1"},
                         {"kind", "Device"},
                         {"metadata", {{"name", "q-1"}, {"tenant", "d"}, {"labels", {{"app", "web"}, {"zone", "z1"}}}}},
                         {"spec",
                          {{"deviceType", "rpi4"},
                           {"ssh", {{"host", "10.0.0.1"}, {"port", 22}, {"user", "root"}, {"credential", "ssh"}}},
                           {"identity", {{"serial", "SN \"q\" \\ ü"}}},
                           {"versionProbe", "cat /etc/version\t| tr -d '\"\\n'"}}}};
    nlohmann::json q2 = {{"apiVersion", "fleetadm/v1"},
                         {"kind", "Device"},
                         {"metadata", {{"name", "q-2"}, {"tenant", "d"}}},
                         {"spec",
                          {{"deviceType", "imx8"},
                           {"http", {{"url", "https://d.example/ä?x=1"}, {"profile", "swupdate"}}},
                           {"identity", {{"serial", "日本-🚀"}}}}}};
    const std::string yaml = "---\n" + q1.dump() + "\n---\n" + q2.dump() + "\n";

    Fleet from_csv, from_yaml;
    three_levels(from_csv);
    three_levels(from_yaml);
    auto c = from_csv({"device", "enroll", "-f", from_csv.dir().write("q.csv", csv).string()});
    INFO(c.err);
    REQUIRE(c.out == "2 enrolled, 0 updated, 0 unchanged, 0 rejected\n");
    auto y = from_yaml({"device", "enroll", "-f", from_yaml.dir().write("q.yaml", yaml).string()});
    INFO(y.err);
    REQUIRE(y.out == "2 enrolled, 0 updated, 0 unchanged, 0 rejected\n");

    // The stored objects are the same, bookkeeping aside.
    auto stored = [](const Fleet& fleet) {
        auto list = nlohmann::json::parse(fleet({"get", "devices", "-A", "-o", "json"}).out);
        for (auto& item : list["items"]) {
            for (const char* field : {"creationTimestamp", "updateTimestamp", "annotations"})
                item["metadata"].erase(field);
            item.erase("status");
        }
        return list;
    };
    auto csv_objects = stored(from_csv);
    CHECK(csv_objects == stored(from_yaml));
    CHECK(csv_objects["items"][0]["spec"] == q1["spec"]);
    CHECK(csv_objects["items"][1]["spec"] == q2["spec"]);
    // And their canonical texts are: each form finds the other's unchanged.
    auto yaml_again = from_csv({"device", "enroll", "-f", from_csv.dir().write("q.yaml", yaml).string()});
    CHECK(yaml_again.out == "0 enrolled, 0 updated, 2 unchanged, 0 rejected\n");
    auto csv_again = from_yaml({"apply", "-f", from_yaml.dir().write("q.csv", csv).string()});
    CHECK(csv_again.out == "0 created, 0 configured, 0 pruned, 2 unchanged\n");
}
