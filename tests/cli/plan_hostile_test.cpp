// Saved plans are input: every hostile plan file is refused with exit 2 and nothing is written,
// neither to the store nor to the artifact folder nor anywhere beside them.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>

#include "core/util/sha256.hpp"
#include "tests/support/process.hpp"

using namespace fleet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const std::string site_yaml = R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: acme}
---
apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: globex-eu}
---
apiVersion: fleetadm/v1
kind: Credential
metadata: {name: key, tenant: acme}
spec: {type: ssh-key, privateKeyFile: /nonexistent/key}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {name: d1, tenant: acme, labels: {role: dev}}
spec: {deviceType: rpi4, ssh: {host: 10.0.0.1, user: root, credential: key}}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: acme}
spec: {file: fw.bin, version: "1.0", deviceTypes: [rpi4]}
)";

/// Every file below dir with its size: what "nothing was written" is checked against.
std::map<std::string, std::uintmax_t> tree(const fs::path& dir)
{
    std::map<std::string, std::uintmax_t> files;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        files[fs::relative(e.path(), dir).string()] = e.is_regular_file() ? e.file_size() : 0;
    return files;
}

/// The plan with its digest made to match its content, as someone who knows the format would.
json redigest(json plan)
{
    plan.erase("digest");
    plan["digest"] = "sha256:" + util::sha256_hex(plan.dump());
    return plan;
}

/// The document of the plan's object kind/name.
json& document(json& plan, const std::string& kind, const std::string& name)
{
    for (auto& o : plan["objects"])
        if (o["document"]["kind"] == kind && o["document"]["metadata"]["name"] == name) return o["document"];
    FAIL("no " << kind << "/" << name << " in the plan");
    throw std::logic_error("unreachable");
}

struct PlanSite {
    test::Fleet fleet;
    test::TempDir plans;  // hostile plan files live apart from the store
    fs::path plan_file;
    json plan;

    PlanSite()
    {
        REQUIRE(fleet({"init"}).exit_code == 0);
        fleet.dir().write("fw.bin", std::string(1000, 'F'));
        auto site = fleet.dir().write("site.yaml", site_yaml);
        plan_file = plans.path() / "plan.json";
        auto made = fleet({"plan", "-f", site.string(), "--out", plan_file.string()});
        INFO(made.err);
        REQUIRE(made.exit_code == 1);
        plan = json::parse(test::read_file(plan_file));
    }

    /// Applies text as a plan file (also as a dry run): exit 2, the error names expected, and
    /// nothing changed in the store, its folder or beside it.
    void refused(const std::string& name, const std::string& text, const std::string& expected)
    {
        auto file = plans.write(name, text);
        auto store = fleet.store_digest();
        auto files = tree(fleet.dir().path());
        for (bool dry : {true, false}) {
            std::vector<std::string> args = {"apply", file.string()};
            if (dry) args.push_back("--dry-run");
            auto r = fleet(args);
            INFO(name << (dry ? " --dry-run" : "") << ": " << r.err);
            CHECK(r.exit_code == 2);
            CHECK(contains(r.err, expected));
            CHECK(contains(r.err, "nothing was written"));
            CHECK_FALSE(contains(r.err, "internal error"));
        }
        CHECK(fleet.store_digest() == store);
        CHECK(tree(fleet.dir().path()) == files);
        CHECK_FALSE(fs::exists(fleet.dir().path().parent_path() / "ESCAPED"));
        CHECK_FALSE(fs::exists(fleet.dir().path().parent_path().parent_path() / "ESCAPED"));
    }

    void refused_plan(const std::string& name, const json& p, const std::string& expected)
    {
        refused(name, p.dump(2), expected);
    }
};

} // namespace

TEST_CASE("hostile names in a saved plan are refused by the name rule before anything is written",
          "[cli][plan][hostile]")
{
    PlanSite site;
    {
        json p = site.plan;
        document(p, "Tenant", "acme")["metadata"]["name"] = "../../ESCAPED";
        document(p, "Artifact", "fw")["metadata"]["tenant"] = "../../ESCAPED";
        site.refused_plan("escape.json", redigest(p), "metadata.name");
    }
    {
        json p = site.plan;
        document(p, "Artifact", "fw")["metadata"]["tenant"] = "globex-eu/.";
        site.refused_plan("dot.json", redigest(p), "metadata.tenant");
    }
    {
        json p = site.plan;
        document(p, "Device", "d1")["metadata"]["name"] = std::string("d1\0x", 4);
        site.refused_plan("nul.json", redigest(p), "nul.json:");
    }
    // Still applies untouched afterwards: nothing above moved the store on.
    auto applied = site.fleet({"apply", site.plan_file.string()});
    INFO(applied.err);
    CHECK(applied.exit_code == 0);
    CHECK(contains(site.fleet({"describe", "tenant", "acme"}).out, "site.yaml:1"));
}

TEST_CASE("objects of a saved plan are validated exactly as -f documents", "[cli][plan][hostile]")
{
    PlanSite site;
    {
        json p = site.plan;
        document(p, "Device", "d1")["spec"]["deviceType"] = 5;
        site.refused_plan("type.json", redigest(p), "spec.deviceType");
    }
    {
        json p = site.plan;
        document(p, "Artifact", "fw")["spec"] = json::object();
        site.refused_plan("empty-spec.json", redigest(p), "spec");
    }
    {
        json p = site.plan;
        document(p, "Artifact", "fw").erase("spec");
        site.refused_plan("no-spec.json", redigest(p), "spec");
    }
    {
        json p = site.plan;  // a relative file would be resolved against wherever apply runs
        document(p, "Artifact", "fw")["spec"]["file"] = "fw.bin";
        site.refused_plan("relative.json", redigest(p), "spec.file");
    }
    {
        json p = site.plan;  // the artifact is hashed again
        document(p, "Artifact", "fw")["spec"]["sha256"] = std::string(64, '0');
        site.refused_plan("sha.json", redigest(p), "spec.sha256");
    }
    {
        json p = site.plan;
        document(p, "Device", "d1")["spec"]["surprise"] = true;
        site.refused_plan("unknown.json", redigest(p), "unknown field \"surprise\"");
    }
    {
        json p = site.plan;
        document(p, "Tenant", "acme")["kind"] = "List";
        site.refused_plan("list.json", redigest(p), "kind");
    }
}

TEST_CASE("a saved plan's own fields have types: wrong ones are named, never internal errors",
          "[cli][plan][hostile]")
{
    PlanSite site;
    const std::vector<std::tuple<std::string, std::function<void(json&)>, std::string>> cases = {
        {"revision", [](json& p) { p["revision"] = "7"; }, "revision: expected a revision number"},
        {"negative", [](json& p) { p["revision"] = -1; }, "revision: expected a revision number"},
        {"objects", [](json& p) { p["objects"] = 5; }, "objects: expected a list of objects"},
        {"prune", [](json& p) { p["prune"] = "yes"; }, "prune: expected true or false"},
        {"source", [](json& p) { p["source"] = json::array(); }, "source: expected a source key"},
        {"commit", [](json& p) { p["commit"] = "../../x"; }, "commit: expected a git commit id"},
        {"object", [](json& p) { p["objects"][0] = "x"; }, "objects[0]: expected an object"},
        {"document", [](json& p) { p["objects"][0]["document"] = json::array(); }, "objects[0].document: expected"},
        {"origin", [](json& p) { p["objects"][0]["origin"]["line"] = "3"; }, "objects[0].origin.line: expected"},
        {"origin-text", [](json& p) { p["objects"][0]["origin"]["file"] = "\x1b[2Jx"; }, "objects[0].origin.file"},
        {"name", [](json& p) { p["objects"][0]["document"]["metadata"]["name"] = 7; }, "metadata.name"},
        {"extra", [](json& p) { p["hook"] = "rm -rf /"; }, "hook: unknown field"},
        {"kind", [](json& p) { p["kind"] = "Tenant"; }, "not a fleetadm plan file"},
        {"changes", [](json& p) { p["changes"] = json::array(); }, "the file was edited"},
    };
    for (const auto& [name, mutate, expected] : cases) {
        json p = site.plan;
        mutate(p);
        site.refused_plan(name + ".json", redigest(p), expected);
    }
    auto applied = site.fleet({"apply", site.plan_file.string()});
    INFO(applied.err);
    CHECK(applied.exit_code == 0);
}

TEST_CASE("a tampered, malformed or endless plan file is refused with exit 2", "[cli][plan][hostile]")
{
    PlanSite site;
    {
        json p = site.plan;  // edited without the digest: refused as tampered
        document(p, "Device", "d1")["metadata"]["labels"]["role"] = "prod";
        site.refused_plan("tampered.json", p, "changed after `fleetadm plan --out` saved it");
    }
    {
        json p = site.plan;
        p.erase("digest");
        site.refused_plan("undigested.json", p, "digest: missing");
    }
    std::string text = site.plan.dump(2);
    std::string deep = text;
    auto at = deep.find("\"spec\": {") + 9;
    deep.insert(at, "\"x\": " + std::string(20000, '[') + std::string(20000, ']') + ",");
    site.refused("deep.json", deep, "deep.json:");
    site.refused("invalid-utf8.json", text.substr(0, text.find("\"acme\"") + 2) + "\xff\xfe" + text.substr(text.find("\"acme\"") + 2),
                 "not UTF-8 text");
    site.refused("truncated.json", text.substr(0, text.size() / 2), "truncated.json:");
    site.refused("yaml.json", "kind: Plan\n", "not a JSON plan file");
    site.refused("empty.json", "", "not a JSON plan file");
    site.refused("two.json", text + "\n" + text, "two.json");
    site.refused("array.json", "[1, 2]", "not a JSON plan file");
    auto zero = site.fleet({"apply", "/dev/zero"});
    CHECK(zero.exit_code == 2);
    CHECK(contains(zero.err, "not a regular file"));
    auto folder = site.fleet({"apply", site.plans.path().string()});
    CHECK(folder.exit_code == 2);
    CHECK(contains(folder.err, "a folder, not a saved plan: to apply the resources in it, run `fleetadm apply -f "));
    // `apply FILE` of a resource file, as `kubectl apply file.yaml` users type it, is pointed to -f.
    auto yaml = site.plans.write("tenant.yaml", "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: x}\n");
    auto hint = site.fleet({"apply", yaml.string()});
    CHECK(hint.exit_code == 2);
    CHECK(contains(hint.err, "to apply the resources in it, run `fleetadm apply -f " + yaml.string() + "`"));
}
