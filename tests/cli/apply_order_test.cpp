// Order-free apply (SPEC §4): what validate, plan and a dry run accept, apply applies, whatever the
// order of documents, files and folders; prunes undo it in reverse.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <random>
#include <sstream>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

std::string tenant(const std::string& name, const std::string& parent)
{
    return fmt::format("apiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {{name: {}}}\nspec: {{parent: {}}}\n", name,
                       parent);
}

/// One document of every kind, each referring to the ones before it: tenants a → b → c, and in c a
/// credential, a device using it, a group listing the device, an artifact and a rollout of both.
std::vector<std::pair<std::string, std::string>> every_kind(const fs::path& firmware)
{
    return {
        {"tenant-a", tenant("a", "provider")},
        {"tenant-b", tenant("b", "a")},
        {"tenant-c", tenant("c", "b")},
        {"credential", "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: key, tenant: c}\n"
                       "spec: {type: ssh-key, privateKeyFile: /nonexistent/key}\n"},
        {"device", "apiVersion: fleetadm/v1\nkind: Device\nmetadata: {name: d1, tenant: c, labels: {role: x}}\n"
                   "spec: {deviceType: rpi4, ssh: {host: 127.0.0.1, credential: key}}\n"},
        {"group", "apiVersion: fleetadm/v1\nkind: DeviceGroup\nmetadata: {name: g, tenant: c}\nspec: {devices: [d1]}\n"},
        {"artifact", fmt::format("apiVersion: fleetadm/v1\nkind: Artifact\nmetadata: {{name: fw, tenant: c}}\n"
                                 "spec: {{file: {}, version: \"1.0\"}}\n",
                                 firmware.string())},
        {"rollout", "apiVersion: fleetadm/v1\nkind: Rollout\nmetadata: {name: up, tenant: c}\n"
                    "spec: {artifact: fw, targets: {group: g}, install: {ssh: {command: \"true\"}}}\n"},
    };
}

/// The lines of apply's output about one object ("kind/name verb") whose verb is verb, in order.
std::vector<std::string> lines_with(const std::string& text, const std::string& verb)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (contains(line, "/") && contains(line, " " + verb)) out.push_back(line);
    return out;
}

} // namespace

TEST_CASE("tenants listed child first: validate, plan, dry run and apply all accept them", "[cli][apply][order]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto file = fleet.dir().write("tenants.yaml", tenant("b", "a") + "---\n" + tenant("c", "b") + "---\n" +
                                                      tenant("a", "provider"));
    auto valid = fleet({"validate", "-f", file.string()});
    INFO(valid.err);
    CHECK(valid.exit_code == 0);
    CHECK(fleet({"plan", "-f", file.string()}).exit_code == 1);  // changes found
    auto digest = fleet.store_digest();
    auto dry = fleet({"apply", "--dry-run", "-f", file.string()});
    INFO(dry.err);
    CHECK(dry.exit_code == 0);
    CHECK(fleet.store_digest() == digest);

    auto applied = fleet({"apply", "-f", file.string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    // Written parent first, and the dry run printed the same lines.
    CHECK(lines_with(applied.out, "created") ==
          std::vector<std::string>{"tenant/a created", "tenant/b created", "tenant/c created"});
    CHECK(lines_with(dry.out, "created") == std::vector<std::string>{"tenant/a created (dry run)",
                                                                     "tenant/b created (dry run)",
                                                                     "tenant/c created (dry run)"});
    auto c = json::parse(fleet({"get", "tenant", "c", "-o", "json"}).out);
    CHECK(c["spec"]["parent"] == "b");
    auto again = fleet({"apply", "-f", file.string()});
    CHECK(again.out == "0 created, 0 configured, 0 pruned, 3 unchanged\n");
}

TEST_CASE("documents of every kind in any order, one file or many folders, apply: prune undoes them in reverse",
          "[cli][apply][order]")
{
    fleet::test::TempDir scratch;
    auto firmware = scratch.write("fw.bin", "firmware");
    auto docs = every_kind(firmware);
    std::mt19937 random(12);
    for (int round = 0; round < 4; ++round) {
        // Reversed (everything before what it needs), then shuffled.
        if (round == 0)
            std::reverse(docs.begin(), docs.end());
        else
            std::shuffle(docs.begin(), docs.end(), random);
        std::string order;
        for (const auto& [name, doc] : docs) order += name + " ";
        INFO("round " << round << ": " << order);

        Fleet fleet;
        REQUIRE(fleet({"init"}).exit_code == 0);
        // Odd rounds: one file. Even rounds: one file per document in folders whose names sort in
        // the documents' order, so the reader meets them in that order.
        std::vector<std::string> args = {"apply", "-R", "-f"};
        if (round % 2) {
            std::string text;
            for (const auto& [name, doc] : docs) text += "---\n" + doc;
            args.push_back(fleet.dir().write("all.yaml", text).string());
        } else {
            for (std::size_t i = 0; i < docs.size(); ++i)
                fleet.dir().write(fmt::format("src/{:02}-{}/{}.yaml", i, docs[i].first, docs[i].first), docs[i].second);
            args.push_back((fleet.dir().path() / "src").string());
        }
        auto valid = fleet({"validate", "-R", "-f", args.back()});
        INFO(valid.err);
        CHECK(valid.exit_code == 0);
        auto applied = fleet(args);
        INFO(applied.err);
        REQUIRE(applied.exit_code == 0);
        CHECK(contains(applied.out, "8 created, 0 configured, 0 pruned, 0 unchanged"));
        CHECK(lines_with(applied.out, "created").front() == "tenant/a created");
        CHECK(json::parse(fleet({"get", "rollout", "up", "--tenant", "c", "-o", "json"}).out)["spec"]["artifact"] ==
              "fw");

        if (round % 2) continue;
        // Prune: only an unrelated tenant stays in the source; everything else goes, users first.
        fs::remove_all(fleet.dir().path() / "src");
        fleet.dir().write("src/keep.yaml", tenant("keep", "provider"));
        auto pruned = fleet({"apply", "-R", "--prune", "--confirm-prune", "-f", (fleet.dir().path() / "src").string()});
        INFO(pruned.err);
        REQUIRE(pruned.exit_code == 0);
        CHECK(lines_with(pruned.out, "pruned") ==
              std::vector<std::string>{"c/rollout/up pruned", "c/artifact/fw pruned", "c/devicegroup/g pruned",
                                       "c/device/d1 pruned", "c/credential/key pruned", "tenant/c pruned",
                                       "tenant/b pruned", "tenant/a pruned"});
        CHECK(contains(pruned.out, "1 created, 0 configured, 8 pruned, 0 unchanged"));
        CHECK(fleet({"get", "tenant", "a"}).exit_code == 4);
    }
}

TEST_CASE("an export restores into a store whose provider has another name", "[cli][apply][order][export]")
{
    Fleet source;
    REQUIRE(source({"init"}).exit_code == 0);
    auto examples = source({"apply", "-f", fleet::test::examples_dir(), "-R"});
    INFO(examples.err);
    REQUIRE(examples.exit_code == 0);
    auto dir = source.dir().path() / "export";
    REQUIRE(source({"export", "-d", dir.string()}).exit_code == 0);

    Fleet target;
    REQUIRE(target({"init", "--provider", "msp"}).exit_code == 0);
    auto dry = target({"apply", "--dry-run", "-R", "-f", dir.string()});
    INFO(dry.err);
    CHECK(dry.exit_code == 0);
    auto restored = target({"apply", "-R", "-f", dir.string()});
    INFO(restored.err);
    REQUIRE(restored.exit_code == 0);
    CHECK(contains(restored.out, "26 created, 0 configured, 0 pruned, 0 unchanged"));
    // The old provider comes back as a tenant under msp, with the whole tree below it.
    auto tenants = json::parse(target({"get", "tenants", "-o", "json"}).out);
    std::map<std::string, std::string> parents;
    for (const auto& t : tenants["items"])
        parents[t["metadata"]["name"].get<std::string>()] = t["spec"].value("parent", "");
    CHECK(parents["provider"] == "msp");
    CHECK(parents["acme"] == "provider");
    CHECK(parents["acme-prod"] == "acme");
    auto devices = json::parse(target({"get", "devices", "-A", "-o", "json"}).out);
    auto original = json::parse(source({"get", "devices", "-A", "-o", "json"}).out);
    CHECK(devices["items"].size() == original["items"].size());
    CHECK(target({"apply", "-R", "-f", dir.string()}).out == "0 created, 0 configured, 0 pruned, 26 unchanged\n");
}
