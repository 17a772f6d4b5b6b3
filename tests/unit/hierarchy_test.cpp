#include <catch2/catch.hpp>

#include "core/tenancy/hierarchy.hpp"

using fleet::tenancy::Hierarchy;
using fleet::tenancy::Link;

namespace {

std::map<std::string, Link> chain(int levels)
{
    std::map<std::string, Link> links{{"p", {"", {}}}};
    std::string parent = "p";
    for (int i = 2; i <= levels; ++i) {
        std::string name = "t" + std::to_string(i);
        links[name] = {parent, {"f.yaml", i, 1}};
        parent = name;
    }
    return links;
}

} // namespace

TEST_CASE("tenants nest up to 8 levels including the provider", "[tenancy]")
{
    fleet::util::Diagnostics ok;
    Hierarchy(chain(8), "p").check(ok);
    CHECK_FALSE(ok.has_errors());

    fleet::util::Diagnostics deep;
    Hierarchy(chain(9), "p").check(deep);
    REQUIRE(deep.error_count() == 1);
    CHECK(deep.items()[0].message.find("9 levels") != std::string::npos);
    CHECK(deep.items()[0].where.line == 9);
}

TEST_CASE("cycles and dangling parents are reported on each tenant involved", "[tenancy]")
{
    std::map<std::string, Link> links{{"p", {"", {}}}, {"a", {"b", {"f", 1, 1}}}, {"b", {"a", {"f", 2, 1}}},
                                      {"c", {"ghost", {"f", 3, 1}}}};
    fleet::util::Diagnostics diags;
    Hierarchy(links, "p").check(diags);
    REQUIRE(diags.error_count() == 3);
    std::string all;
    for (const auto& d : diags.items()) all += d.message + "\n";
    CHECK(all.find("a → b → a is a cycle") != std::string::npos);
    CHECK(all.find("b → a → b is a cycle") != std::string::npos);
    CHECK(all.find("\"ghost\" does not exist") != std::string::npos);
}

TEST_CASE("usage counts every device of a subtree against each ancestor", "[tenancy]")
{
    std::map<std::string, Link> links{{"p", {"", {}}}, {"a", {"p", {}}}, {"a1", {"a", {}}}, {"b", {"p", {}}}};
    Hierarchy tree(links, "p");
    auto usage = tree.subtree_usage({{"a1", 3}, {"a", 2}, {"b", 5}});
    CHECK(usage["a1"] == 3);
    CHECK(usage["a"] == 5);
    CHECK(usage["b"] == 5);
    CHECK(usage["p"] == 10);
    CHECK(tree.ancestors("a1") == std::vector<std::string>{"a", "p"});
    CHECK(tree.subtree("a") == std::vector<std::string>{"a", "a1"});
}
