#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <sstream>

#include "core/resource/yaml_reader.hpp"
#include "core/resource/yaml_writer.hpp"

using fleet::resource::Document;
using fleet::resource::YamlReader;
using nlohmann::json;

namespace {

std::vector<Document> read_all(const std::string& text, fleet::util::Diagnostics& diags,
                               fleet::resource::YamlLimits limits = {})
{
    std::istringstream in(text);
    YamlReader reader(in, "t.yaml", limits);
    std::vector<Document> docs;
    while (auto d = reader.next(diags)) docs.push_back(std::move(*d));
    return docs;
}

} // namespace

TEST_CASE("plain scalars are typed by the YAML 1.2 core schema, quoted ones stay strings", "[yaml]")
{
    fleet::util::Diagnostics diags;
    auto docs = read_all("a: 1\nb: -7\nc: 2.5\nd: true\ne: ~\nf: \"1\"\ng: '02:00'\nh: 02:00\ni: yes\nj: 0x1f\n"
                         "k: !!str 12\nl: 1e3\n",
                         diags);
    REQUIRE_FALSE(diags.has_errors());
    REQUIRE(docs.size() == 1);
    const json& v = docs[0].value;
    CHECK(v["a"] == 1);
    CHECK(v["b"] == -7);
    CHECK(v["c"] == 2.5);
    CHECK(v["d"] == true);
    CHECK(v["e"].is_null());
    CHECK(v["f"] == "1");
    CHECK(v["g"] == "02:00");
    CHECK(v["h"] == "02:00");
    CHECK(v["i"] == "yes");  // YAML 1.1 booleans are plain strings in 1.2
    CHECK(v["j"] == 31);
    CHECK(v["k"] == "12");
    CHECK(v["l"] == 1000.0);
}

TEST_CASE("every node's line and column is recorded, for map entries at the key", "[yaml]")
{
    fleet::util::Diagnostics diags;
    auto docs = read_all("kind: Tenant\nspec:\n  members:\n    - user: bob\n      role: king\n", diags);
    REQUIRE(docs.size() == 1);
    auto where = docs[0].marks.locate("/spec/members/0/role");
    CHECK(where.line == 5);
    CHECK(where.column == 7);
    CHECK(docs[0].marks.locate("/spec/members/0").line == 4);
    // An unknown pointer falls back to its nearest known ancestor.
    CHECK(docs[0].marks.locate("/spec/nothing/here").line == 2);
}

TEST_CASE("multi-document streams are read one document at a time and empty documents skipped", "[yaml]")
{
    std::istringstream in("a: 1\n---\n---\nb: 2\n---\n# only a comment\n---\nc: 3\n");
    YamlReader reader(in, "t.yaml");
    fleet::util::Diagnostics diags;
    auto first = reader.next(diags);
    REQUIRE(first);
    CHECK(first->value == json{{"a", 1}});
    auto second = reader.next(diags);
    REQUIRE(second);
    CHECK(second->value == json{{"b", 2}});
    CHECK(second->marks.locate("/b").line == 4);
    auto third = reader.next(diags);
    REQUIRE(third);
    CHECK(third->value == json{{"c", 3}});
    CHECK_FALSE(reader.next(diags));
    CHECK_FALSE(diags.has_errors());
}

TEST_CASE("syntax errors name the file, line and column", "[yaml]")
{
    fleet::util::Diagnostics diags;
    read_all("a: 1\nb: [1, 2\nc: 3\n", diags);
    REQUIRE(diags.has_errors());
    CHECK(diags.items()[0].where.file == "t.yaml");
    CHECK(diags.items()[0].where.line >= 2);
}

TEST_CASE("duplicate keys are errors", "[yaml]")
{
    fleet::util::Diagnostics diags;
    auto docs = read_all("a: 1\nb: 2\na: 3\n", diags);
    CHECK(docs.empty());
    REQUIRE(diags.error_count() == 1);
    CHECK(diags.items()[0].message.find("duplicate key \"a\"") != std::string::npos);
    CHECK(diags.items()[0].where.line == 3);
}

TEST_CASE("aliases copy the anchored value; an alias bomb hits the node budget", "[yaml]")
{
    fleet::util::Diagnostics diags;
    auto docs = read_all("base: &b {x: 1}\ncopy: *b\n", diags);
    REQUIRE(docs.size() == 1);
    CHECK(docs[0].value["copy"] == json{{"x", 1}});

    std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    std::string prev = "a";
    for (char c = 'b'; c <= 'j'; ++c) {
        bomb += fmt::format("{}: &{} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n", c, c, prev, prev, prev, prev,
                            prev, prev, prev, prev, prev, prev);
        prev = std::string(1, c);
    }
    fleet::util::Diagnostics bomb_diags;
    auto exploded = read_all(bomb, bomb_diags);
    CHECK(exploded.empty());
    REQUIRE(bomb_diags.has_errors());
    CHECK(bomb_diags.items()[0].message.find("more than") != std::string::npos);
}

TEST_CASE("nesting deeper than the limit is rejected without crashing", "[yaml]")
{
    std::string deep(5000, '[');
    deep += std::string(5000, ']');
    fleet::util::Diagnostics diags;
    auto docs = read_all(deep, diags);
    CHECK(docs.empty());
    CHECK(diags.has_errors());
}

TEST_CASE("integers beyond 64 bits are errors, not silent wrap-arounds", "[yaml]")
{
    fleet::util::Diagnostics diags;
    read_all("n: 99999999999999999999999\n", diags);
    REQUIRE(diags.has_errors());
    CHECK(diags.items()[0].message.find("out of range") != std::string::npos);
}

TEST_CASE("written YAML reads back to the same values", "[yaml]")
{
    json value = {{"s", "true"}, {"n", "42"}, {"e", ""}, {"t", "02:00"}, {"x", "a: b"}, {"b", false},
                  {"i", 7},      {"f", 1.5},  {"z", nullptr}, {"l", {"1", 2, "null"}}, {"m", {{"k", "~"}}}};
    std::string text = fleet::resource::to_yaml(value);
    fleet::util::Diagnostics diags;
    auto docs = read_all(text, diags);
    REQUIRE(docs.size() == 1);
    CHECK(docs[0].value == value);
}
