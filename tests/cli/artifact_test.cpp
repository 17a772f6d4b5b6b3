// Artifacts and rollout objects through apply: file checks, the artifact area, references and templates.
#include <catch2/catch.hpp>

#include <fstream>

#include "core/util/sha256.hpp"
#include "tests/support/process.hpp"

using namespace fleet;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const char* tenant_doc = R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: site}
spec: {settings: {channel: stable}}
)";

std::string artifact_doc(const std::string& extra = "")
{
    return "---\napiVersion: fleetadm/v1\nkind: Artifact\nmetadata: {name: fw, tenant: site}\nspec:\n  file: fw.bin\n"
           "  version: \"1.0\"\n" + extra;
}

std::string rollout_doc(const std::string& command, const std::string& artifact = "fw")
{
    return "---\napiVersion: fleetadm/v1\nkind: Rollout\nmetadata: {name: up, tenant: site}\nspec:\n  artifact: " +
           artifact + "\n  targets: {selector: \"a=b\"}\n  install:\n    ssh:\n      command: \"" + command + "\"\n";
}

} // namespace

TEST_CASE("apply copies an artifact into the tenant's area, addressed by SHA-256", "[rollout][artifact][cli]")
{
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", "firmware one");
    auto file = fleet.dir().write("site.yaml", std::string(tenant_doc) + artifact_doc() +
                                                   rollout_doc("install {{artifact.path}} {{tenant.settings.channel}}"));
    auto first = fleet({"apply", "-f", file.string()});
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    auto sha = util::sha256_hex("firmware one");
    CHECK(fleet.artifact("site", sha) == "firmware one");
    // A shared store keeps the bytes in the database only: nothing of them on this machine.
    if (fleet.on_postgres()) {
        CHECK_FALSE(fs::exists(fleet.state_dir() / "artifacts"));
        CHECK_FALSE(fs::exists(fleet.artifact_cache()));
    }
    auto got = fleet({"get", "artifact", "fw", "-o", "json"});
    CHECK(contains(got.out, sha));
    CHECK(fleet({"apply", "-f", file.string()}).out == "0 created, 0 configured, 0 pruned, 3 unchanged\n");
    // A changed file is a change of the artifact.
    fleet.dir().write("fw.bin", "firmware two");
    auto diff = fleet({"diff", "-f", file.string()});
    CHECK(diff.exit_code == 1);
    CHECK(contains(diff.out, "spec.sha256"));
    REQUIRE(fleet({"apply", "-f", file.string()}).exit_code == 0);
    CHECK(fleet.artifact("site", util::sha256_hex("firmware two")) == "firmware two");
    auto get = fleet({"get", "rollouts"});
    CHECK(contains(get.out, "not started"));

    // An artifact a rollout uses cannot be deleted on its own.
    auto del = fleet({"delete", "artifact", "fw", "--tenant", "site"});
    CHECK(del.exit_code == 5);
    CHECK(contains(del.err, "rollout/up"));
}

TEST_CASE("bad artifacts and rollouts are refused with file, line and field, writing nothing", "[rollout][artifact][cli]")
{
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", "firmware");
    auto before = fleet.store_digest();
    struct Case {
        std::string docs;
        std::string expected;
    };
    std::vector<Case> cases = {
        {artifact_doc("  sha256: " + std::string(64, 'a') + "\n"), "site.yaml:12:3: spec.sha256"},
        {"---\napiVersion: fleetadm/v1\nkind: Artifact\nmetadata: {name: fw, tenant: site}\nspec: {file: nope.bin, "
         "version: \"1\"}\n",
         "spec.file: artifact/fw: cannot read"},
        {artifact_doc() + rollout_doc("install {{artifact.nope}}"), "spec.install.ssh.command: unknown template variable"},
        {rollout_doc("true", "missing"), "spec.artifact: rollout/up: artifact \"missing\" does not exist"},
        // Checked against the tenant's effective settings at apply time, not when the rollout starts.
        {artifact_doc() + rollout_doc("echo {{tenant.settings.absent}}"),
         "spec.install.ssh.command: rollout/up: template variable \"tenant.settings.absent\": tenant \"site\" has no "
         "setting"},
    };
    for (const auto& c : cases) {
        auto file = fleet.dir().write("site.yaml", std::string(tenant_doc) + c.docs);
        auto r = fleet({"apply", "-f", file.string()});
        INFO(c.docs << "\n" << r.err);
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, c.expected));
        CHECK(fleet.store_digest() == before);
    }
}
