// Black-box tests: the real fleetadm binary against a real store in a temporary directory.
#include <catch2/catch.hpp>

#include <fstream>
#include <future>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::RunResult;

namespace {

const std::string tenant_doc = R"(apiVersion: fleetadm/v1
kind: Tenant
metadata:
  name: {name}
spec:
  parent: {parent}
  deviceLimit: 10
)";

std::string tenant(const std::string& name, const std::string& parent = "provider")
{
    std::string doc = tenant_doc;
    doc.replace(doc.find("{name}"), 6, name);
    doc.replace(doc.find("{parent}"), 8, parent);
    return doc;
}

void init(const Fleet& fleet)
{
    auto r = fleet({"init"});
    REQUIRE(r.exit_code == 0);
}

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("apply creates the examples' tenants: applying again changes nothing", "[cli][apply]")
{
    Fleet fleet;
    init(fleet);
    auto first = fleet({"apply", "-f", fleet::test::examples_dir(), "-R"});
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    CHECK(contains(first.out, "tenant/acme created"));
    CHECK(contains(first.out, "tenant/acme-prod created"));
    CHECK(contains(first.out, "25 created, 0 configured, 0 pruned, 0 unchanged"));

    auto again = fleet({"apply", "-f", fleet::test::examples_dir(), "-R"});
    REQUIRE(again.exit_code == 0);
    CHECK(again.out == "0 created, 0 configured, 0 pruned, 25 unchanged\n");

    auto diff = fleet({"diff", "-f", fleet::test::examples_dir(), "-R"});
    CHECK(diff.exit_code == 0);
    CHECK(diff.out.empty());

    auto tree = fleet({"tenant", "tree"});
    REQUIRE(tree.exit_code == 0);
    CHECK(contains(tree.out, "├── acme "));
    CHECK(contains(tree.out, "│   ├── acme-dev"));
    CHECK(contains(tree.out, "    └── globex-us"));
}

TEST_CASE("diff exits 1 and names the changed field: apply then configures it", "[cli][diff]")
{
    Fleet fleet;
    init(fleet);
    auto file = fleet.dir().write("t.yaml", tenant("acme"));
    REQUIRE(fleet({"apply", "-f", file.string()}).exit_code == 0);
    fleet.dir().write("t.yaml", tenant("acme") + "  displayName: ACME\n");
    std::string edited = fleet::test::read_file(file);
    edited.replace(edited.find("deviceLimit: 10"), 15, "deviceLimit: 12");
    fleet.dir().write("t.yaml", edited);

    auto diff = fleet({"diff", "-f", file.string()});
    INFO(diff.out + diff.err);
    CHECK(diff.exit_code == 1);
    CHECK(contains(diff.out, "~ tenant/acme (configure)"));
    CHECK(contains(diff.out, "~ spec.deviceLimit: 10 → 12"));
    CHECK(contains(diff.out, "+ spec.displayName: \"ACME\""));

    auto json_diff = fleet({"diff", "-f", file.string(), "-o", "json"});
    CHECK(json_diff.exit_code == 1);
    auto parsed = nlohmann::json::parse(json_diff.out);
    CHECK(parsed["format_version"] == "1.0");
    CHECK(parsed["changes"][0]["action"] == "configured");

    auto applied = fleet({"apply", "-f", file.string()});
    CHECK(applied.exit_code == 0);
    CHECK(contains(applied.out, "tenant/acme configured"));
    CHECK(fleet({"diff", "-f", file.string()}).exit_code == 0);

    auto described = fleet({"describe", "tenant", "acme"});
    CHECK(contains(described.out, "Device Limit:   12"));
    CHECK(contains(described.out, "generation 2"));
    CHECK(contains(described.out, "changed spec.deviceLimit, spec.displayName"));
}

TEST_CASE("get -o yaml piped back to apply -f - changes nothing", "[cli][get]")
{
    Fleet fleet;
    init(fleet);
    REQUIRE(fleet({"apply", "-f", fleet::test::examples_dir(), "-R"}).exit_code == 0);
    auto yaml = fleet({"get", "tenants", "-o", "yaml"});
    REQUIRE(yaml.exit_code == 0);
    auto before = fleet.store_digest();
    auto back = fleet({"apply", "-f", "-"}, yaml.out);
    INFO(back.err);
    CHECK(back.exit_code == 0);
    CHECK(back.out == "0 created, 0 configured, 0 pruned, 8 unchanged\n");
    CHECK(fleet.store_digest() == before);

    auto json = fleet({"get", "tenants", "-o", "json"});
    auto list = nlohmann::json::parse(json.out);
    CHECK(list["kind"] == "List");
    CHECK(list["items"].size() == 8);
    auto json_back = fleet({"apply", "-f", "-"}, json.out);
    CHECK(json_back.out == "0 created, 0 configured, 0 pruned, 8 unchanged\n");
}

TEST_CASE("get selects by name and label, prints names, and says not found with exit 4", "[cli][get]")
{
    Fleet fleet;
    init(fleet);
    REQUIRE(fleet({"apply", "-f", fleet::test::examples_dir(), "-R"}).exit_code == 0);
    auto names = fleet({"get", "tenants", "-l", "tier=gold,stage in (dev,production)", "-o", "name"});
    CHECK(names.out == "tenant/acme-dev\ntenant/acme-prod\n");
    auto one = fleet({"get", "tenant", "globex", "-o", "json"});
    CHECK(nlohmann::json::parse(one.out)["metadata"]["name"] == "globex");
    auto missing = fleet({"get", "tenant", "nope"});
    CHECK(missing.exit_code == 4);
    CHECK(contains(missing.err, "fleetadm: error: tenant/nope not found"));
    CHECK(fleet({"get", "spaceships"}).exit_code == 2);
    CHECK(fleet({"get", "tenants", "-l", "a in (b"}).exit_code == 2);
}

TEST_CASE("invalid input exits 2 with file:line:column and leaves the store byte-for-byte unchanged", "[cli][errors]")
{
    Fleet fleet;
    init(fleet);
    REQUIRE(fleet({"apply", "-f", fleet::test::examples_dir(), "-R"}).exit_code == 0);
    const std::string head = "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata:\n";
    struct Case {
        const char* what;
        std::string doc;
        std::string expected;
    };
    std::vector<Case> cases = {
        {"malformed YAML", head + "  name: x\n spec: [\n", "bad.yaml:5:2: invalid YAML"},
        {"wrong type", head + "  name: x\nspec:\n  deviceLimit: many\n",
         "bad.yaml:6:3: spec.deviceLimit: expected integer, got string \"many\""},
        {"unknown field", head + "  name: x\nspec:\n  devicelimit: 3\n",
         "bad.yaml:6:3: spec.devicelimit: unknown field \"devicelimit\""},
        {"cycle", tenant("c1", "c2") + "---\n" + tenant("c2", "c1"),
         "bad.yaml:6:3: spec.parent: tenant \"c1\": the parent chain c1 → c2 → c1 is a cycle"},
        {"missing parent", tenant("orphan", "nobody"),
         "bad.yaml:6:3: spec.parent: tenant \"orphan\": parent tenant \"nobody\" does not exist"},
        {"name rule", head + "  name: -Hostile;rm\n", "bad.yaml:4:3: metadata.name: invalid name \"-Hostile;rm\""},
        {"duplicate object", tenant("twice") + "---\n" + tenant("twice"), "bad.yaml:9:1: metadata.name: tenant/twice is defined twice"},
        {"too deep", tenant("l2", "provider") + "---\n" + tenant("l3", "l2") + "---\n" + tenant("l4", "l3") + "---\n" +
                         tenant("l5", "l4") + "---\n" + tenant("l6", "l5") + "---\n" + tenant("l7", "l6") + "---\n" +
                         tenant("l8", "l7") + "---\n" + tenant("l9", "l8"),
         "tenant \"l9\" would be nested 9 levels deep"},
        {"reparent provider", "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: provider}\nspec: {parent: acme}\n",
         "the provider tenant \"provider\" cannot have a parent"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto file = fleet.dir().write("bad.yaml", c.doc);
        auto before = fleet.store_digest();
        auto r = fleet({"apply", "-f", file.string()});
        INFO(r.err);
        CHECK(r.exit_code == 2);
        if (c.expected.starts_with("bad.yaml"))
            CHECK(contains(r.err, "fleetadm: error: " + file.parent_path().string() + "/" + c.expected));
        else
            CHECK(contains(r.err, c.expected));
        CHECK(contains(r.err, "nothing was written"));
        CHECK(r.out.empty());
        CHECK(fleet.store_digest() == before);
        CHECK(fleet({"validate", "-f", file.string()}).exit_code == 2);
    }
    auto missing = fleet({"apply", "-f", (fleet.dir().path() / "none.yaml").string()});
    CHECK(missing.exit_code == 2);
    CHECK(contains(missing.err, "none.yaml: no such file or directory"));
}

TEST_CASE("apply --dry-run reports the changes and writes nothing", "[cli][apply]")
{
    Fleet fleet;
    init(fleet);
    auto before = fleet.store_digest();
    auto r = fleet({"apply", "-f", fleet::test::examples_dir(), "-R", "--dry-run"});
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "tenant/acme created (dry run)"));
    CHECK(contains(r.out, "25 created, 0 configured, 0 pruned, 0 unchanged (dry run)"));
    CHECK(fleet.store_digest() == before);
    CHECK(fleet({"get", "tenant", "acme"}).exit_code == 4);
}

TEST_CASE("prune deletes only objects of the same source, and a large prune needs confirmation", "[cli][prune]")
{
    Fleet fleet;
    init(fleet);
    auto a = fleet.dir().write("a/tenants.yaml", tenant("a1") + "---\n" + tenant("a2") + "---\n" + tenant("a3") +
                                                     "---\n" + tenant("a4") + "---\n" + tenant("a5"));
    auto b = fleet.dir().write("b/tenants.yaml", tenant("b1"));
    REQUIRE(fleet({"apply", "-f", a.parent_path().string()}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", b.parent_path().string()}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", "-"}, tenant("by-hand")).exit_code == 0);

    fleet.dir().write("a/tenants.yaml", tenant("a1") + "---\n" + tenant("a2") + "---\n" + tenant("a3") + "---\n" +
                                            tenant("a4"));
    auto plan = fleet({"diff", "-f", a.parent_path().string(), "--prune"});
    CHECK(plan.exit_code == 1);
    CHECK(contains(plan.out, "- tenant/a5 (prune)"));
    auto pruned = fleet({"apply", "-f", a.parent_path().string(), "--prune"});
    INFO(pruned.err);
    CHECK(pruned.exit_code == 0);
    CHECK(contains(pruned.out, "tenant/a5 pruned"));
    CHECK(contains(pruned.out, "0 created, 0 configured, 1 pruned, 4 unchanged"));
    CHECK(fleet({"get", "tenant", "b1"}).exit_code == 0);
    CHECK(fleet({"get", "tenant", "by-hand"}).exit_code == 0);

    fleet.dir().write("a/tenants.yaml", tenant("a1"));
    auto before = fleet.store_digest();
    auto refused = fleet({"apply", "-f", a.parent_path().string(), "--prune"});
    CHECK(refused.exit_code == 5);
    CHECK(contains(refused.err, "refusing to prune 3 of the 4 objects"));
    CHECK(fleet.store_digest() == before);
    auto confirmed = fleet({"apply", "-f", a.parent_path().string(), "--prune", "--confirm-prune"});
    CHECK(confirmed.exit_code == 0);
    CHECK(contains(confirmed.out, "3 pruned"));
}

TEST_CASE("a pruned tenant that still has children is refused", "[cli][prune]")
{
    Fleet fleet;
    init(fleet);
    auto a = fleet.dir().write("a.yaml", tenant("parent") + "---\n" + tenant("x1") + "---\n" + tenant("x2") + "---\n" +
                                             tenant("x3"));
    REQUIRE(fleet({"apply", "-f", a.string()}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", "-"}, tenant("child", "parent")).exit_code == 0);
    fleet.dir().write("a.yaml", tenant("x1") + "---\n" + tenant("x2") + "---\n" + tenant("x3"));
    auto r = fleet({"apply", "-f", a.string(), "--prune"});
    CHECK(r.exit_code == 5);  // in use (SPEC §3), as a tenant that still owns objects
    CHECK(contains(r.err, "tenant \"parent\" cannot be pruned: tenant \"child\" still has it as parent"));
    CHECK(fleet({"get", "tenant", "parent"}).exit_code == 0);
}

TEST_CASE("plan --out saves a plan that apply takes, and refuses once the store moved on", "[cli][plan]")
{
    Fleet fleet;
    init(fleet);
    auto plan_file = (fleet.dir().path() / "plan.json").string();
    auto plan = fleet({"plan", "-f", fleet::test::examples_dir(), "-R", "--out", plan_file});
    CHECK(plan.exit_code == 1);
    CHECK(contains(plan.out, "Plan: 25 created, 0 configured, 0 pruned, 0 unchanged"));
    auto applied = fleet({"apply", plan_file});
    INFO(applied.err);
    CHECK(applied.exit_code == 0);
    CHECK(contains(applied.out, "tenant/globex-eu created"));
    auto described = fleet({"describe", "tenant", "globex-eu"});
    CHECK(contains(described.out, "globex-regions.yaml:3"));

    auto stale_plan = (fleet.dir().path() / "stale.json").string();
    REQUIRE(fleet({"plan", "-f", "-", "--out", stale_plan}, tenant("late")).exit_code == 1);
    REQUIRE(fleet({"apply", "-f", "-"}, tenant("meanwhile")).exit_code == 0);
    auto before = fleet.store_digest();
    auto stale = fleet({"apply", stale_plan});
    CHECK(stale.exit_code == 5);
    CHECK(contains(stale.err, "the saved plan is stale"));
    CHECK(fleet.store_digest() == before);

    CHECK(fleet({"apply", (fleet.dir().path() / "missing.json").string()}).exit_code == 2);
}

TEST_CASE("delete removes empty tenants, needs --cascade for the rest, never the provider", "[cli][delete]")
{
    Fleet fleet;
    init(fleet);
    REQUIRE(fleet({"apply", "-f", fleet::test::examples_dir(), "-R"}).exit_code == 0);
    auto busy = fleet({"delete", "tenant", "acme"});
    CHECK(busy.exit_code == 5);
    CHECK(contains(busy.err, "tenant \"acme\" is not empty (3 child tenant(s), 0 object(s))"));
    CHECK(fleet({"delete", "tenant", "provider"}).exit_code == 5);
    CHECK(fleet({"delete", "tenant", "ghost"}).exit_code == 4);
    CHECK(fleet({"delete", "tenant", "ghost", "--ignore-not-found"}).exit_code == 0);

    auto dry = fleet({"delete", "tenant", "acme", "--cascade", "--dry-run"});
    CHECK(dry.exit_code == 0);
    CHECK(fleet({"get", "tenant", "acme-dev"}).exit_code == 0);

    auto cascade = fleet({"delete", "tenant", "acme", "--cascade"});
    CHECK(cascade.exit_code == 0);
    CHECK(contains(cascade.out, "tenant/acme-dev deleted\n"));
    CHECK(cascade.out.rfind("tenant/acme deleted") > cascade.out.find("tenant/acme-dev deleted"));
    CHECK(fleet({"get", "tenant", "acme-prod"}).exit_code == 4);
    CHECK(fleet({"delete", "tenant", "globex-eu"}).exit_code == 5);  // owns devices and a credential
}

TEST_CASE("two applies started at the same moment both finish, one after the other", "[cli][concurrency]")
{
    Fleet fleet;
    init(fleet);
    std::string first, second;
    for (int i = 0; i < 40; ++i) {
        first += tenant("left-" + std::to_string(i)) + "---\n";
        second += tenant("right-" + std::to_string(i)) + "---\n";
    }
    first += tenant("shared");
    second += tenant("shared");
    auto a = fleet.dir().write("left.yaml", first);
    auto b = fleet.dir().write("right.yaml", second);
    for (int round = 0; round < 3; ++round) {
        auto fa = std::async(std::launch::async, [&] { return fleet({"apply", "-f", a.string()}); });
        auto fb = std::async(std::launch::async, [&] { return fleet({"apply", "-f", b.string()}); });
        RunResult ra = fa.get(), rb = fb.get();
        INFO(ra.err + rb.err);
        CHECK(ra.exit_code == 0);
        CHECK(rb.exit_code == 0);
        if (round == 0) {
            // "shared" is created by exactly one of them; the other sees it unchanged.
            bool a_created = contains(ra.out, "tenant/shared created");
            bool b_created = contains(rb.out, "tenant/shared created");
            CHECK(a_created != b_created);
        }
    }
    auto list = nlohmann::json::parse(fleet({"get", "tenants", "-o", "json"}).out);
    CHECK(list["items"].size() == 1 + 40 + 40 + 1);
    if (!fleet.on_postgres()) CHECK(fleet.sql("PRAGMA integrity_check") == "ok\n");
}

TEST_CASE("store problems have their own exit codes", "[cli][store]")
{
    Fleet fleet;
    auto missing = fleet({"get", "tenants"});
    CHECK(missing.exit_code == 6);
    CHECK(contains(missing.err, "run `fleetadm init` first"));
    REQUIRE(fleet({"init", "--provider", "msp"}).exit_code == 0);
    auto twice = fleet({"init"});
    CHECK(twice.exit_code == 5);
    CHECK(contains(twice.err, "already initialized (provider tenant \"msp\")"));
    CHECK(fleet({"init", "--provider", "Bad"}).exit_code == 2);
    CHECK(fleet({"apply"}).exit_code == 2);
    CHECK(fleet({"frobnicate"}).exit_code == 2);
    auto version = fleet({"version", "-o", "json"});
    CHECK(nlohmann::json::parse(version.out)["version"] == FLEETADM_VERSION_STRING);
}
