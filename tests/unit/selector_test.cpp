#include <catch2/catch.hpp>

#include "core/model/selector.hpp"

using fleet::model::Selector;
using nlohmann::json;

namespace {

bool match(const std::string& selector, const json& labels)
{
    auto s = Selector::parse(selector);
    REQUIRE(s);
    return s->matches(labels);
}

} // namespace

TEST_CASE("label selectors follow kubectl's grammar", "[selector]")
{
    json labels = {{"env", "prod"}, {"tier", "gold"}, {"region", "eu"}};
    CHECK(match("", labels));
    CHECK(match("env=prod", labels));
    CHECK(match("env==prod", labels));
    CHECK_FALSE(match("env=dev", labels));
    CHECK(match("env!=dev", labels));
    CHECK(match("missing!=x", labels));  // != matches objects without the label
    CHECK_FALSE(match("env!=prod", labels));
    CHECK(match("env in (dev, prod)", labels));
    CHECK_FALSE(match("env in (dev,staging)", labels));
    CHECK(match("env notin (dev,staging)", labels));
    CHECK(match("missing notin (a)", labels));
    CHECK_FALSE(match("env notin (prod)", labels));
    CHECK(match("tier", labels));
    CHECK_FALSE(match("missing", labels));
    CHECK(match("!missing", labels));
    CHECK_FALSE(match("!tier", labels));
    CHECK(match("env=prod,tier=gold, region in (eu)", labels));
    CHECK_FALSE(match("env=prod,tier=silver", labels));
    CHECK(match("fleetadm.io/role=x", {{"fleetadm.io/role", "x"}}));
}

TEST_CASE("malformed selectors are usage errors that say where", "[selector]")
{
    for (const char* bad : {"=x", "env in (a,b", "env=prod,,", "!", "env prod", "a in"}) {
        auto s = Selector::parse(bad);
        INFO(bad);
        REQUIRE_FALSE(s);
        CHECK(s.error().kind == fleet::util::ErrorKind::usage);
        CHECK(s.error().message.find("position") != std::string::npos);
    }
}
