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

TEST_CASE("aliases copy the anchored value: an alias bomb hits the node budget", "[yaml]")
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

TEST_CASE("a stray comma ends the stream with an error instead of reading empty documents for ever", "[yaml][hostile]")
{
    for (std::string text : {",", "{},", ",\n,\n", "--- ,\n", "a: 1\n--- ,"}) {
        INFO(text);
        fleet::util::Diagnostics diags;
        read_all(text, diags);  // returning at all is the point: this used to loop
        REQUIRE(diags.has_errors());
        CHECK(diags.items().back().where.line >= 1);
        CHECK(diags.items().back().where.column >= 1);
    }
    fleet::util::Diagnostics diags;
    read_all("{},", diags);
    REQUIRE(diags.error_count() == 1);
    CHECK(diags.items()[0].str() == "t.yaml:1:3: invalid YAML: unexpected ',' (outside [ ] or { }, a comma separates nothing)");
}

TEST_CASE("bytes that are not UTF-8 are refused with the line and column of the first one", "[yaml][hostile]")
{
    struct Case {
        std::string text;
        std::string expected;
    };
    for (const auto& c : {Case{"a: 1\nb: \"x\xff\"\n", "t.yaml:2:6: not UTF-8 text: invalid byte 0xff"},
                          Case{"a: \xc3\xa9\xc3\n", "t.yaml:1:5: not UTF-8 text: invalid byte 0xc3"},
                          Case{"a: \xc0\xafx\n", "t.yaml:1:4: not UTF-8 text: invalid byte 0xc0"},  // overlong '/'
                          Case{"a: \xed\xa0\x80\n", "t.yaml:1:4: not UTF-8 text: invalid byte 0xed"},  // a surrogate
                          Case{"a: x\xe2\x82", "t.yaml:1:5: not UTF-8 text: the file ends inside a multi-byte character"},
                          Case{"a: \"x\x01\"\n", "t.yaml:1:6: control character U+0001 is not allowed in the text (write it escaped)"},
                          Case{"# \xfe comment\na: 1\n", "t.yaml:1:3: not UTF-8 text: invalid byte 0xfe"}}) {
        INFO(c.text);
        fleet::util::Diagnostics diags;
        auto docs = read_all(c.text, diags);
        CHECK(docs.empty());
        REQUIRE(diags.error_count() == 1);
        CHECK(diags.items()[0].str() == c.expected);
    }
    fleet::util::Diagnostics diags;
    auto docs = read_all("\xef\xbb\xbf" "a: caf\xc3\xa9 \xf0\x9f\x9a\x80\tok\n", diags);  // BOM, é, an emoji, a tab
    INFO((diags.items().empty() ? std::string() : diags.items()[0].str()));
    REQUIRE_FALSE(diags.has_errors());
    REQUIRE(docs.size() == 1);
    CHECK(docs[0].value["a"] == "caf\xc3\xa9 \xf0\x9f\x9a\x80\tok");
}

TEST_CASE("a large leaf aliased many times hits the byte budget before it is copied", "[yaml][hostile]")
{
    std::string leaf(100'000, 'x');
    std::string bomb = "leaf: &l " + leaf + "\n";
    bomb += "a: &a [*l, *l, *l, *l, *l, *l, *l, *l, *l, *l]\n";
    bomb += "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n";
    bomb += "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
    bomb += "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    fleet::util::Diagnostics diags;
    fleet::resource::YamlLimits limits;
    limits.max_bytes = 4u << 20;
    auto docs = read_all(bomb, diags, limits);
    CHECK(docs.empty());
    REQUIRE(diags.error_count() == 1);
    CHECK(diags.items()[0].message == "document is larger than 4 MiB (aliases expanded)");
    CHECK(diags.items()[0].where.line == 3);  // the first alias of b, where a's copies pass 4 MiB

    fleet::util::Diagnostics fine;
    auto ok = read_all("leaf: &l " + leaf + "\na: [*l, *l, *l]\n", fine, limits);
    REQUIRE_FALSE(fine.has_errors());
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].value["a"][2].get<std::string>().size() == leaf.size());
}

TEST_CASE("positions count against the byte budget: long keys nested deep cannot multiply", "[yaml][hostile]")
{
    std::string key(1000, 'k');
    std::string text;
    for (int depth = 0; depth < 40; ++depth) text += std::string(depth * 2, ' ') + key + std::to_string(depth) + ":\n";
    for (int i = 0; i < 200; ++i) text += std::string(80, ' ') + "x" + std::to_string(i) + ": 1\n";
    fleet::util::Diagnostics diags;
    fleet::resource::YamlLimits limits;
    limits.max_bytes = 4u << 20;  // 200 leaves each with a 40 KB position key: 8 MB
    read_all(text, diags, limits);
    REQUIRE(diags.error_count() == 1);
    CHECK(diags.items()[0].message == "document is larger than 4 MiB (aliases expanded)");
}
