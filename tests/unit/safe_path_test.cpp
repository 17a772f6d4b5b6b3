// Paths built from names and from paths in input stay inside their folder (core/util/safe_path).
#include <catch2/catch.hpp>

#include "core/util/safe_path.hpp"

using namespace fleet;
namespace fs = std::filesystem;

TEST_CASE("a name becomes a path component only when it is exactly one", "[util][path]")
{
    using namespace std::string_view_literals;
    for (std::string_view bad : {""sv, "."sv, ".."sv, "a/b"sv, "/"sv, "../x"sv, "a\0b"sv}) {
        INFO(std::string(bad));
        CHECK_FALSE(util::valid_path_component(bad));
        auto p = util::child_path("/store/artifacts", bad, "tenant");
        REQUIRE_FALSE(p);
        CHECK(p.error().kind == util::ErrorKind::usage);
    }
    for (std::string_view good : {"acme", "globex-eu", "...", ".hidden", "a..b"}) {
        INFO(std::string(good));
        auto p = util::child_path("/store/artifacts", good, "tenant");
        REQUIRE(p);
        CHECK(p->parent_path() == "/store/artifacts");
    }
}

TEST_CASE("a relative path stays inside its folder or is refused", "[util][path]")
{
    CHECK(util::path_inside("/repo", "fw/a.bin").value() == "/repo/fw/a.bin");
    CHECK(util::path_inside("/repo", "fw/../b.bin").value() == "/repo/b.bin");
    using namespace std::string_view_literals;
    for (std::string_view bad : {""sv, "/etc/passwd"sv, ".."sv, "../x"sv, "fw/../../x"sv, "a\0b"sv}) {
        INFO(std::string(bad));
        CHECK_FALSE(util::path_inside("/repo", bad));
    }
    CHECK(util::lexically_inside("/a/b", "/a/b/c"));
    CHECK(util::lexically_inside("/a/b", "/a/b"));
    CHECK_FALSE(util::lexically_inside("/a/b", "/a/bc"));
    CHECK_FALSE(util::lexically_inside("/a/b", "/a/b/../c"));
    CHECK_FALSE(util::lexically_inside("/a/b", "a/b/c"));
}
