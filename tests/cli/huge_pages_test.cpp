// Bulk commands re-execute themselves with glibc's huge-page tunable (cmd/huge_pages.hpp). The
// sanitizer build the tests use does it only when FLEETADM_HUGE_PAGES=1 asks, which these tests do.
#include <catch2/catch.hpp>

#include <fstream>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::run_process;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

bool kernel_allows_huge_pages()
{
    std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string text;
    return std::getline(mode, text) && !contains(text, "[never]");
}

constexpr const char* note = "heap on transparent huge pages";

} // namespace

TEST_CASE("a bulk command re-executes itself on huge pages and answers exactly as without", "[cli][huge-pages]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", fleet::test::examples_dir(), "-R"}).exit_code == 0);
    auto run = [&](std::vector<std::string> args, std::map<std::string, std::string> env) {
        args.insert(args.begin(), {"--state", fleet.location(), "-v"});
        env["HOME"] = fleet.dir().path().string();
        return run_process(FLEETADM_BIN, args, "", env);
    };
    auto on = run({"get", "devices", "-A", "-o", "json"}, {{"FLEETADM_HUGE_PAGES", "1"}});
    auto off = run({"get", "devices", "-A", "-o", "json"}, {{"FLEETADM_HUGE_PAGES", "0"}});
    INFO(on.err);
    REQUIRE(on.exit_code == 0);
    REQUIRE(off.exit_code == 0);
    CHECK(on.out == off.out);
    CHECK(contains(on.err, note) == kernel_allows_huge_pages());
    CHECK_FALSE(contains(off.err, note));

    // The user's own choice of the tunable stands; a command that reads little is not re-executed.
    auto chosen = run({"get", "devices", "-A"}, {{"FLEETADM_HUGE_PAGES", "1"}, {"GLIBC_TUNABLES", "glibc.malloc.hugetlb=0"}});
    CHECK(chosen.exit_code == 0);
    CHECK_FALSE(contains(chosen.err, note));
    auto tree = run({"tenant", "tree"}, {{"FLEETADM_HUGE_PAGES", "1"}});
    CHECK(tree.exit_code == 0);
    CHECK_FALSE(contains(tree.err, note));

    // Exit codes and errors pass through the re-execution unchanged.
    auto missing = run({"get", "devices", "no-such-device"}, {{"FLEETADM_HUGE_PAGES", "1"}});
    auto missing_off = run({"get", "devices", "no-such-device"}, {{"FLEETADM_HUGE_PAGES", "0"}});
    CHECK(missing.exit_code == missing_off.exit_code);
    CHECK(missing.exit_code != 0);
}
