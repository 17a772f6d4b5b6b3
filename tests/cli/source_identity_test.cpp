// A source's identity survives moving or re-cloning its files (SPEC §4): inside a git work tree
// it is the path relative to the top (with the origin's URL), `--source NAME` names it, and a
// store that recorded absolute paths is adopted by the first apply under the new identity.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::RunResult;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

void put(const fs::path& path, const std::string& content)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    REQUIRE(out.good());
}

std::string tenants(const std::vector<std::string>& names)
{
    std::string out;
    for (const auto& n : names)
        out += "---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: " + n + "}\n";
    return out;
}

/// Writes the fleet folder DIR/fleet with these tenants and an artifact whose file sits beside them.
void write_fleet(const fs::path& dir, const std::vector<std::string>& names)
{
    fs::create_directories(dir / "fleet");
    put(dir / "fleet" / "fw.bin", "firmware");
    put(dir / "fleet" / "tenants.yaml",
                                   tenants(names) +
                                       "---\napiVersion: fleetadm/v1\nkind: Artifact\nmetadata: {name: fw, tenant: " +
                                       names[0] + "}\nspec: {file: fw.bin, version: \"1.0\"}\n");
}

RunResult git(const fs::path& dir, std::vector<std::string> args)
{
    args.insert(args.begin(), {"-C", dir.string()});
    auto r = fleet::test::run_process("/usr/bin/git", args, "",
                                      {{"GIT_CONFIG_GLOBAL", "/dev/null"}, {"GIT_CONFIG_NOSYSTEM", "1"}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return r;
}

std::vector<std::string> tenant_names(const Fleet& fleet)
{
    auto r = fleet({"get", "tenants", "-o", "name"});
    REQUIRE(r.exit_code == 0);
    std::vector<std::string> names;
    std::string line;
    for (char c : r.out) {
        if (c != '\n') {
            line += c;
            continue;
        }
        names.push_back(line);
        line.clear();
    }
    return names;
}

} // namespace

TEST_CASE("a repository moved or cloned again is the same source: prune goes on, artifacts show no change, no "
          "password is kept",
          "[cli][source]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto first = fleet.dir().path() / "ci-1" / "repo";
    write_fleet(first, {"a", "b", "c"});
    git(first.parent_path(), {"init", "-q", "-b", "main", first.string()});
    git(first, {"remote", "add", "origin", "https://bot:s3cret-token@git.example.com/acme/fleet.git"});

    auto applied = fleet({"apply", "-f", (first / "fleet").string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    auto got = json::parse(fleet({"get", "tenant", "a", "-o", "json"}).out);
    CHECK(got["metadata"]["annotations"]["fleetadm.io/source"] ==
          "git:https://bot:***@git.example.com/acme/fleet.git#fleet");

    // The CI workspace of the next run: the same repository in another folder, one tenant fewer.
    auto second = fleet.dir().path() / "ci-2" / "repo";
    fs::create_directories(second.parent_path());
    fs::rename(first, second);
    write_fleet(second, {"a", "b"});
    auto diff = fleet({"diff", "-f", (second / "fleet").string(), "--prune"});
    INFO(diff.out << diff.err);
    CHECK(diff.exit_code == 1);
    CHECK(contains(diff.out, "tenant/c (prune)"));
    CHECK_FALSE(contains(diff.out, "artifact/fw"));  // same bytes from another path: no change
    auto pruned = fleet({"apply", "-f", (second / "fleet").string(), "--prune", "--confirm-prune"});
    INFO(pruned.out << pruned.err);
    CHECK(pruned.exit_code == 0);
    CHECK(tenant_names(fleet) == std::vector<std::string>{"tenant/a", "tenant/b", "tenant/provider"});
    CHECK(fleet({"diff", "-f", (second / "fleet").string(), "--prune"}).exit_code == 0);

    // The token of the origin's URL is nowhere in the store, nor in any file beside it.
    CHECK_FALSE(contains(fleet.store_text(), "s3cret-token"));
    for (const auto& entry : fs::directory_iterator(fleet.dir().path()))
        if (entry.is_regular_file())
            CHECK_FALSE(contains(fleet::test::read_file(entry.path()), "s3cret-token"));
}

TEST_CASE("a source named by --source NAME is the same wherever its files are, and a bad name is a usage error", "[cli][source]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto here = fleet.dir().path() / "here";
    write_fleet(here, {"a", "b"});
    REQUIRE(fleet({"apply", "-f", (here / "fleet").string(), "--source", "acme/prod"}).exit_code == 0);

    auto there = fleet.dir().path() / "there";
    write_fleet(there, {"a"});
    // Without the name the folder is another source: nothing of it to prune.
    auto other = fleet({"diff", "-f", (there / "fleet").string(), "--prune"});
    CHECK_FALSE(contains(other.out, "tenant/b (prune)"));
    auto named = fleet({"apply", "-f", (there / "fleet").string(), "--source", "acme/prod", "--prune",
                        "--confirm-prune"});
    INFO(named.out << named.err);
    CHECK(named.exit_code == 0);
    CHECK(contains(named.out, "tenant/b pruned"));
    CHECK(tenant_names(fleet) == std::vector<std::string>{"tenant/a", "tenant/provider"});

    for (const std::string& bad : std::vector<std::string>{"", "a b", "tab\tname", std::string(201, 'x'), "caf\xc3\xa9"}) {
        auto r = fleet({"apply", "-f", (there / "fleet").string(), "--source", bad});
        INFO(bad);
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "--source NAME"));
    }
}

TEST_CASE("a store that knows a work tree by its absolute path is adopted by the first apply: prune goes on",
          "[cli][source]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    // Applied before the folder was a git work tree: recorded under its absolute path, which is
    // what earlier versions recorded for every folder.
    auto repo = fleet.dir().path() / "repo";
    write_fleet(repo, {"a", "b"});
    REQUIRE(fleet({"apply", "-f", (repo / "fleet").string()}).exit_code == 0);
    auto before = json::parse(fleet({"get", "tenant", "a", "-o", "json"}).out);
    CHECK(contains(before["metadata"]["annotations"]["fleetadm.io/source"].get<std::string>(), "files:/"));

    git(repo.parent_path(), {"init", "-q", "-b", "main", repo.string()});
    write_fleet(repo, {"a"});
    auto plan = fleet({"plan", "-f", (repo / "fleet").string(), "--prune", "--confirm-prune"});
    INFO(plan.out << plan.err);
    CHECK(plan.exit_code == 1);
    CHECK(contains(plan.out, "tenant/b (prune)"));
    auto applied = fleet({"apply", "-f", (repo / "fleet").string(), "--prune", "--confirm-prune"});
    INFO(applied.out << applied.err);
    CHECK(applied.exit_code == 0);
    CHECK(tenant_names(fleet) == std::vector<std::string>{"tenant/a", "tenant/provider"});
    auto after = json::parse(fleet({"get", "tenant", "a", "-o", "json"}).out);
    CHECK(after["metadata"]["annotations"]["fleetadm.io/source"] == "worktree:fleet");
    // Adopted once: the old key is gone, and the next run changes nothing.
    CHECK(fleet({"diff", "-f", (repo / "fleet").string(), "--prune"}).exit_code == 0);
}
