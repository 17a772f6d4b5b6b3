// JSONL device files: every line is checked for UTF-8 and depth before nlohmann parses it.
#include <catch2/catch.hpp>

#include <sstream>

#include "core/resource/device_rows.hpp"
#include "core/resource/utf8.hpp"

namespace {

struct Read {
    std::vector<fleet::resource::Document> docs;
    fleet::util::Diagnostics diags;
};

Read read_jsonl(const std::string& text)
{
    Read r;
    std::istringstream in(text);
    fleet::resource::read_device_jsonl(in, "d.jsonl", r.diags,
                                       [&](fleet::resource::Document&& d) { r.docs.push_back(std::move(d)); });
    return r;
}

} // namespace

TEST_CASE("a JSONL line nested deeper than the limit is refused before it is parsed", "[jsonl][hostile]")
{
    std::string deep = "{\"name\":\"d1\",\"x\":" + std::string(20'000, '[') + std::string(20'000, ']') + "}";
    auto r = read_jsonl("{\"name\":\"d0\"}\n" + deep + "\n");
    CHECK(r.docs.size() == 1);
    REQUIRE(r.diags.error_count() == 1);
    CHECK(r.diags.items()[0].str() == "d.jsonl:2:81: nesting deeper than 64 levels");

    // Brackets inside strings are text, not nesting.
    auto text = read_jsonl("{\"name\":\"d0\",\"labels\":{\"a\":\"" + std::string(100, '[') + "\\\"" + "\"}}\n");
    CHECK_FALSE(text.diags.has_errors());
    CHECK(text.docs.size() == 1);
}

TEST_CASE("a JSONL line that is not UTF-8 or not JSON is refused with its line and column", "[jsonl][hostile]")
{
    auto r = read_jsonl("{\"name\":\"d\xc3\xa9\"}\n{\"name\":\"d\xff\"}\n{\"name\": }\n");
    CHECK(r.docs.size() == 1);
    REQUIRE(r.diags.error_count() == 2);
    CHECK(r.diags.items()[0].str() == "d.jsonl:2:11: not UTF-8 text: invalid byte 0xff");
    CHECK(r.diags.items()[1].str() == "d.jsonl:3:10: invalid JSON");
}

TEST_CASE("a JSONL number beyond a double is refused with its line and column, not thrown", "[jsonl][hostile]")
{
    // Found by the fuzz run: nlohmann throws out_of_range, not parse_error, for 1e400.
    auto r = read_jsonl("{\"name\":\"d0\",\"spec\":{\"ssh\":{\"port\":22}}}\n{\"name\":\"d1\",\"x\":1e400}\n");
    CHECK(r.docs.size() == 1);
    REQUIRE(r.diags.error_count() == 1);
    CHECK(r.diags.items()[0].str() == "d.jsonl:2:18: a number is out of range");
}

TEST_CASE("the UTF-8 check refuses overlong forms, surrogates and truncated sequences", "[utf8]")
{
    using fleet::resource::invalid_utf8_at;
    CHECK_FALSE(invalid_utf8_at("plain ascii"));
    CHECK_FALSE(invalid_utf8_at("caf\xc3\xa9 \xf0\x9f\x9a\x80 \xf4\x8f\xbf\xbf"));  // é, an emoji, U+10FFFF
    CHECK(invalid_utf8_at("ab\xff") == 2u);
    CHECK(invalid_utf8_at("a\xc0\xaf") == 1u);              // overlong '/'
    CHECK(invalid_utf8_at("a\xe0\x80\xaf") == 1u);          // overlong, three bytes
    CHECK(invalid_utf8_at("\xed\xa0\x80") == 0u);            // U+D800, a surrogate
    CHECK(invalid_utf8_at("\xf4\x90\x80\x80") == 0u);        // above U+10FFFF
    CHECK(invalid_utf8_at("ok\xe2\x82") == 2u);              // cut short
    CHECK(invalid_utf8_at("\xc3\xa9\x80") == 2u);            // a stray continuation byte
    CHECK(fleet::resource::valid_utf8("caf\xc3\xa9"));
    CHECK_FALSE(fleet::resource::valid_utf8("caf\xc3"));
}
