// export: the visible state as a resource tree that apply takes back unchanged.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

void init_with_examples(const Fleet& fleet)
{
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto r = fleet({"apply", "-f", fleet::test::examples_dir(), "-R"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
}

/// Every visible object as `get -A -o json` prints it, without what differs between stores by
/// design: timestamps and the annotations that say where an object was read from.
json visible_objects(const Fleet& fleet)
{
    json all = json::object();
    for (const char* kind : {"tenants", "devices", "groups", "credentials"}) {
        auto r = fleet({"get", kind, "-A", "-o", "json"});
        REQUIRE(r.exit_code == 0);
        auto list = json::parse(r.out);
        for (auto& item : list["items"]) {
            auto& meta = item["metadata"];
            meta.erase("creationTimestamp");
            meta.erase("updateTimestamp");
            if (meta.contains("annotations")) {
                // Where the objects came from: the source key, file, and for a checkout with an
                // origin (as in CI's clone) its git-url, git-path and git-commit.
                auto& annotations = meta["annotations"];
                for (auto it = annotations.begin(); it != annotations.end();) {
                    if (it.key().rfind("fleetadm.io/", 0) == 0) it = annotations.erase(it);
                    else ++it;
                }
                if (annotations.empty()) meta.erase("annotations");
            }
        }
        all[kind] = list["items"];
    }
    return all;
}

/// The text of every file below dir, concatenated, and their paths relative to dir.
std::pair<std::string, std::vector<std::string>> tree(const fs::path& dir)
{
    std::string text;
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        files.push_back(fs::relative(entry.path(), dir).string());
        text += fleet::test::read_file(entry.path());
    }
    std::sort(files.begin(), files.end());
    return {text, files};
}

} // namespace

TEST_CASE("export then apply reports no changes: into a fresh store it recreates the same objects", "[cli][export]")
{
    Fleet fleet;
    init_with_examples(fleet);
    auto dir = fleet.dir().path() / "export";
    auto r = fleet({"export", "-d", dir.string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "exported 8 tenant(s), 26 object(s) in 22 file(s) to " + dir.string() + "\n");
    auto [text, files] = tree(dir);
    CHECK(std::find(files.begin(), files.end(), "acme-prod/devices.yaml") != files.end());
    CHECK(std::find(files.begin(), files.end(), "acme-prod/credentials.yaml") != files.end());
    CHECK(std::find(files.begin(), files.end(), "provider/tenant.yaml") != files.end());
    // Credentials are references, as stored; no status, timestamps or fleetadm.io/ annotations.
    CHECK(contains(text, "privateKeyFile: ~/.fleet/acme_ed25519"));
    CHECK(contains(text, "fromEnv: GLOBEX_EU_TOKEN"));
    CHECK_FALSE(contains(text, "fleetadm.io/"));
    CHECK_FALSE(contains(text, "creationTimestamp"));
    CHECK_FALSE(contains(text, "status:"));

    auto again = fleet({"apply", "-f", dir.string(), "-R"});
    INFO(again.err);
    REQUIRE(again.exit_code == 0);
    CHECK(again.out == "0 created, 0 configured, 0 pruned, 26 unchanged\n");

    Fleet fresh;
    REQUIRE(fresh({"init"}).exit_code == 0);
    auto recreated = fresh({"apply", "-f", dir.string(), "-R"});
    INFO(recreated.err);
    REQUIRE(recreated.exit_code == 0);
    CHECK(contains(recreated.out, "25 created, 0 configured, 0 pruned, 1 unchanged"));
    CHECK(visible_objects(fresh) == visible_objects(fleet));
}

TEST_CASE("export holds only what the caller sees: a customer's user gets that customer's subtree", "[cli][export]")
{
    Fleet fleet;
    init_with_examples(fleet);
    auto dir = fleet.dir().path() / "alice";
    auto r = fleet({"--as", "alice", "export", "-d", dir.string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto [text, files] = tree(dir);
    CHECK(files == std::vector<std::string>{"acme-dev/tenant.yaml", "acme-prod/artifacts.yaml",
                                            "acme-prod/credentials.yaml", "acme-prod/devices.yaml",
                                            "acme-prod/groups.yaml", "acme-prod/rollouts.yaml",
                                            "acme-prod/tenant.yaml", "acme-staging/credentials.yaml",
                                            "acme-staging/devices.yaml", "acme-staging/tenant.yaml",
                                            "acme/tenant.yaml"});
    CHECK_FALSE(contains(text, "globex"));
    CHECK_FALSE(contains(text, "gw-eu"));
    CHECK_FALSE(contains(text, "grace"));
    // alice's export applies back as alice with no changes.
    auto back = fleet({"--as", "alice", "apply", "-f", dir.string(), "-R"});
    INFO(back.err);
    CHECK(back.exit_code == 0);
    CHECK(back.out == "0 created, 0 configured, 0 pruned, 14 unchanged\n");

    auto one = fleet.dir().path() / "one";
    REQUIRE(fleet({"--tenant", "acme-prod", "export", "-d", one.string()}).exit_code == 0);
    CHECK(tree(one).second == std::vector<std::string>{"acme-prod/artifacts.yaml", "acme-prod/credentials.yaml",
                                                       "acme-prod/devices.yaml", "acme-prod/groups.yaml",
                                                       "acme-prod/rollouts.yaml", "acme-prod/tenant.yaml"});
    auto hidden = fleet({"--as", "alice", "--tenant", "globex", "export", "-d", (fleet.dir().path() / "g").string()});
    CHECK(hidden.exit_code == 4);
    CHECK_FALSE(fs::exists(fleet.dir().path() / "g"));
}

TEST_CASE("export refuses a folder that is not empty unless --force, which replaces an earlier export",
          "[cli][export]")
{
    Fleet fleet;
    init_with_examples(fleet);
    TempDir dir;
    auto note = dir.write("notes.txt", "mine\n");
    auto stale = dir.write("gone-tenant/tenant.yaml", "stale\n");
    auto refused = fleet({"export", "-d", dir.path().string()});
    CHECK(refused.exit_code == 5);
    CHECK(contains(refused.err, "is not empty"));
    CHECK_FALSE(fs::exists(dir.path() / "acme"));

    auto forced = fleet({"export", "-d", dir.path().string(), "--force"});
    INFO(forced.err);
    REQUIRE(forced.exit_code == 0);
    CHECK(contains(forced.out, "; removed 1 stale file(s)"));
    CHECK(fs::exists(note));
    CHECK_FALSE(fs::exists(stale));
    CHECK_FALSE(fs::exists(dir.path() / "gone-tenant"));
    CHECK(fs::exists(dir.path() / "acme" / "tenant.yaml"));
}
