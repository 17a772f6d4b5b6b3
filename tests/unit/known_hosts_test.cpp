// Host key checks for ssh:// git sources, against known_hosts files written and hashed by ssh-keygen.
#include <catch2/catch.hpp>

#include <sstream>

#include "core/gitsource/known_hosts.hpp"
#include "tests/support/process.hpp"

using fleet::gitsource::base64_decode;
using fleet::gitsource::check_known_hosts;
using fleet::gitsource::HostKeyVerdict;
using fleet::test::TempDir;

namespace {

/// A key made by ssh-keygen: the "type base64" part of its .pub file and its wire-format blob.
struct Key {
    std::string line;
    std::string blob;
};

Key make_key(const TempDir& dir, const std::string& name)
{
    auto path = (dir.path() / name).string();
    auto r = fleet::test::run_process("/usr/bin/ssh-keygen", {"-q", "-t", "ed25519", "-N", "", "-f", path});
    REQUIRE(r.exit_code == 0);
    std::istringstream pub(fleet::test::read_file(path + ".pub"));
    std::string type, base64;
    pub >> type >> base64;
    Key key{type + " " + base64, ""};
    REQUIRE(base64_decode(base64, key.blob));
    return key;
}

} // namespace

TEST_CASE("known_hosts: plain, port, pattern, negated, revoked and changed entries", "[unit][git]")
{
    TempDir dir;
    auto key = make_key(dir, "a");
    auto other = make_key(dir, "b");
    std::string file = "# comment\n\n"
                       "git.example.com " + key.line + "\n"
                       "[git.example.com]:2222 " + other.line + "\n"
                       "*.corp.example,!bad.corp.example " + key.line + "\n"
                       "changed.example " + other.line + "\n"
                       "@cert-authority *.example.com " + other.line + "\n";
    CHECK(check_known_hosts(file, "git.example.com", 22, key.blob) == HostKeyVerdict::match);
    CHECK(check_known_hosts(file, "GIT.example.com", 22, key.blob) == HostKeyVerdict::match);
    CHECK(check_known_hosts(file, "git.example.com", 2222, other.blob) == HostKeyVerdict::match);
    CHECK(check_known_hosts(file, "git.example.com", 2222, key.blob) == HostKeyVerdict::mismatch);
    CHECK(check_known_hosts(file, "git.example.com", 22, other.blob) == HostKeyVerdict::mismatch);
    CHECK(check_known_hosts(file, "build.corp.example", 22, key.blob) == HostKeyVerdict::match);
    CHECK(check_known_hosts(file, "bad.corp.example", 22, key.blob) == HostKeyVerdict::unknown);
    CHECK(check_known_hosts(file, "changed.example", 22, key.blob) == HostKeyVerdict::mismatch);
    CHECK(check_known_hosts(file, "elsewhere.example", 22, key.blob) == HostKeyVerdict::unknown);
    CHECK(check_known_hosts(file + "@revoked git.example.com " + key.line + "\n", "git.example.com", 22, key.blob) ==
          HostKeyVerdict::mismatch);
}

TEST_CASE("known_hosts: names hashed by ssh-keygen -H are matched", "[unit][git]")
{
    TempDir dir;
    auto key = make_key(dir, "a");
    auto path = dir.write("known_hosts", "git.example.com " + key.line + "\n[git.example.com]:2222 " + key.line + "\n");
    auto r = fleet::test::run_process("/usr/bin/ssh-keygen", {"-q", "-H", "-f", path.string()});
    REQUIRE(r.exit_code == 0);
    auto hashed = fleet::test::read_file(path);
    REQUIRE(hashed.starts_with("|1|"));
    REQUIRE(hashed.find("example") == std::string::npos);
    CHECK(check_known_hosts(hashed, "git.example.com", 22, key.blob) == HostKeyVerdict::match);
    CHECK(check_known_hosts(hashed, "git.example.com", 2222, key.blob) == HostKeyVerdict::match);
    CHECK(check_known_hosts(hashed, "git.example.org", 22, key.blob) == HostKeyVerdict::unknown);
}
