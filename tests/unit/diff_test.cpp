#include <catch2/catch.hpp>

#include "core/apply/diff.hpp"

using fleet::apply::diff_json;
using fleet::apply::FieldChange;
using nlohmann::json;

TEST_CASE("field diffs name each changed, added and removed field", "[diff]")
{
    json before = {{"deviceLimit", 500}, {"displayName", "A"}, {"members", {{{"user", "a"}, {"role", "admin"}}}}};
    json after = {{"deviceLimit", 600}, {"members", {{{"user", "a"}, {"role", "viewer"}}}}, {"settings", {{"k", 1}}}};
    std::vector<FieldChange> changes;
    diff_json(before, after, "spec", changes);
    REQUIRE(changes.size() == 4);
    CHECK(changes[0].path == "spec.deviceLimit");
    CHECK(*changes[0].before == 500);
    CHECK(*changes[0].after == 600);
    CHECK(changes[1].path == "spec.displayName");
    CHECK_FALSE(changes[1].after);
    CHECK(changes[2].path == "spec.members[0].role");
    CHECK(changes[3].path == "spec.settings");
    CHECK_FALSE(changes[3].before);
}

TEST_CASE("lists of different length are compared whole: equal values give no changes", "[diff]")
{
    std::vector<FieldChange> changes;
    diff_json(json{{"d", {1, 2}}}, json{{"d", {1, 2, 3}}}, "spec", changes);
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].path == "spec.d");
    changes.clear();
    diff_json(json{{"a", {{"b", 1}}}}, json{{"a", {{"b", 1}}}}, "spec", changes);
    CHECK(changes.empty());
}
