// kubectl's JSONPath, checked against the examples of kubectl's own reference page
// (kubernetes.io/docs/reference/kubectl/jsonpath/), on that page's input document.
#include <catch2/catch.hpp>

#include "core/query/jsonpath.hpp"

using fleet::query::CustomColumns;
using fleet::query::JsonPath;
using nlohmann::json;

namespace {

const json& kubectl_input()
{
    static const json doc = json::parse(R"({
      "kind": "List",
      "items": [
        {"kind": "None",
         "metadata": {"name": "127.0.0.1", "labels": {"kubernetes.io/hostname": "127.0.0.1"}},
         "status": {"capacity": {"cpu": "4"}, "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.1"}]}},
        {"kind": "None",
         "metadata": {"name": "127.0.0.2"},
         "status": {"capacity": {"cpu": "8"},
                    "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.2"},
                                  {"type": "another", "address": "127.0.0.3"}]}}
      ],
      "users": [
        {"name": "myself", "user": {}},
        {"name": "e2e", "user": {"username": "admin", "password": "secret"}}
      ]
    })");
    return doc;
}

std::string render(const std::string& tmpl, const json& doc = kubectl_input())
{
    auto path = JsonPath::parse(tmpl);
    INFO(tmpl << ": " << (path ? "" : path.error().message));
    REQUIRE(path);
    return path->render(doc);
}

std::string error_of(const std::string& tmpl)
{
    auto path = JsonPath::parse(tmpl);
    REQUIRE_FALSE(path);
    CHECK(path.error().kind == fleet::util::ErrorKind::usage);
    return path.error().message;
}

} // namespace

TEST_CASE("jsonpath: every example of kubectl's reference table", "[jsonpath]")
{
    CHECK(render("kind is {.kind}") == "kind is List");
    CHECK(json::parse(render("{@}")) == kubectl_input());
    CHECK(render("{.kind}") == "List");
    CHECK(render("{['kind']}") == "List");
    CHECK(render("{['name\\.type']}", json{{"name.type", "dotted"}}) == "dotted");
    CHECK(render("{..name}") == "127.0.0.1 127.0.0.2 myself e2e");
    CHECK(render("{.items[*].metadata.name}") == "127.0.0.1 127.0.0.2");
    CHECK(render("{.users[0].name}") == "myself");
    CHECK(render("{.items[*]['metadata.name', 'status.capacity']}") ==
          R"(127.0.0.1 127.0.0.2 {"cpu":"4"} {"cpu":"8"})");
    CHECK(render(R"({.users[?(@.name=="e2e")].user.password})") == "secret");
    CHECK(render("{range .items[*]}[{.metadata.name}, {.status.capacity}] {end}") ==
          R"([127.0.0.1, {"cpu":"4"}] [127.0.0.2, {"cpu":"8"}] )");
    CHECK(render("{range .items[*]}{.metadata.name}{'\\t'}{end}") == "127.0.0.1\t127.0.0.2\t");
    CHECK(render("{.items[0].metadata.labels.kubernetes\\.io/hostname}") == "127.0.0.1");
}

TEST_CASE("jsonpath: the command-line examples of kubectl's page", "[jsonpath]")
{
    CHECK(render("{.items[0]}") == kubectl_input()["items"][0].dump());
    CHECK(render("{.items[0].metadata.name}") == "127.0.0.1");
    CHECK(render(R"({range .items[*]}{.metadata.name}{"\t"}{.status.capacity.cpu}{"\n"}{end})") ==
          "127.0.0.1\t4\n127.0.0.2\t8\n");
    // $ is the document, also inside a range.
    CHECK(render("{range .items[*]}{$.kind}:{.metadata.name} {end}") == "List:127.0.0.1 List:127.0.0.2 ");
}

TEST_CASE("jsonpath: subscripts and slices and unions and recursion and filters", "[jsonpath]")
{
    json doc = {{"a", {0, 1, 2, 3, 4, 5}}, {"o", {{"x", 1}, {"y", true}}}};
    CHECK(render("{.a[1:3]}", doc) == "1 2");
    CHECK(render("{.a[-2:]}", doc) == "4 5");
    CHECK(render("{.a[::2]}", doc) == "0 2 4");
    CHECK(render("{.a[::-1]}", doc) == "5 4 3 2 1 0");
    CHECK(render("{.a[-1]}", doc) == "5");
    CHECK(render("{.a[0,5]}", doc) == "0 5");
    CHECK(render("{.a[9]}", doc).empty());  // out of range: nothing, as a missing field
    CHECK(render("{.o.*}", doc) == "1 true");
    CHECK(render("{.missing.field}", doc).empty());
    CHECK(render("{..address}") == "127.0.0.1 127.0.0.2 127.0.0.3");
    CHECK(render(R"({.items[*].status.addresses[?(@.type!="LegacyHostIP")].address})") == "127.0.0.3");
    CHECK(render(R"({.items[?(@.status.capacity.cpu=="8")].metadata.name})") == "127.0.0.2");
    CHECK(render("{.users[?(@.user.password)].name}") == "e2e");
    json numbers = {{"items", {{{"n", 1}}, {{"n", 5}}, {{"n", 10}}}}};
    CHECK(render("{.items[?(@.n>=5)].n}", numbers) == "5 10");
    CHECK(render("{.items[?(@.n<5)].n}", numbers) == "1");
    CHECK(render(R"({range .items[*]}{.n}{"\n"}{end})", numbers) == "1\n5\n10\n");
}

TEST_CASE("jsonpath: a malformed template is a usage error naming the column", "[jsonpath]")
{
    CHECK(error_of("{.items[0}").find("column") != std::string::npos);
    CHECK(error_of("{.kind").find("'{' without its '}'") != std::string::npos);
    CHECK(error_of("{range .items[*]}{.x}").find("{range} without its {end}") != std::string::npos);
    CHECK(error_of("{end}").find("{end} without a {range}") != std::string::npos);
    CHECK(error_of("{kind}").find("leading '.'") != std::string::npos);
    CHECK(error_of("{.a[?(@.b=~x)]}").find("column") != std::string::npos);
    CHECK(error_of("{.a[1:2:0]}").find("step") != std::string::npos);
    CHECK(error_of("{'unterminated}").find("column") != std::string::npos);
    CHECK_FALSE(JsonPath::parse("{}"));
    // Nesting is bounded (parsing and rendering recurse), far beyond what a person writes.
    std::string ranges, filters = "{.a";
    for (int i = 0; i < 10000; ++i) ranges += "{range @}";
    CHECK(error_of(ranges).find("nested too deeply") != std::string::npos);
    for (int i = 0; i < 10000; ++i) filters += "[?(@.a";
    filters += "}";
    CHECK(error_of(filters).find("nested too deeply") != std::string::npos);
}

TEST_CASE("custom-columns: kubectl's spec with relaxed expressions and <none> and joined values", "[jsonpath]")
{
    auto columns = CustomColumns::parse("NAME:.metadata.name,CPU:status.capacity.cpu,ADDRESSES:{.status.addresses[*].address},X:.nope");
    REQUIRE(columns);
    CHECK(columns->headers == std::vector<std::string>{"NAME", "CPU", "ADDRESSES", "X"});
    const auto& items = kubectl_input()["items"];
    CHECK(columns->row(items[0]) == std::vector<std::string>{"127.0.0.1", "4", "127.0.0.1", "<none>"});
    CHECK(columns->row(items[1]) == std::vector<std::string>{"127.0.0.2", "8", "127.0.0.2,127.0.0.3", "<none>"});
    auto with_union = CustomColumns::parse("BOTH:.status['capacity','addresses']");
    REQUIRE(with_union);
    CHECK(with_union->headers.size() == 1);
    CHECK_FALSE(CustomColumns::parse("NAME"));
    CHECK_FALSE(CustomColumns::parse("NAME:"));
    CHECK_FALSE(CustomColumns::parse("NAME:.a[,B:.b"));
}

TEST_CASE("sort-by order: missing then null then booleans then numbers by value then strings", "[jsonpath]")
{
    json ten = 10, two = 2, a = "a", b = "b", t = true, n = nullptr;
    CHECK(fleet::query::sort_before(nullptr, &n));
    CHECK(fleet::query::sort_before(&n, &t));
    CHECK(fleet::query::sort_before(&t, &two));
    CHECK(fleet::query::sort_before(&two, &ten));
    CHECK_FALSE(fleet::query::sort_before(&ten, &two));
    CHECK(fleet::query::sort_before(&ten, &a));
    CHECK(fleet::query::sort_before(&a, &b));
    CHECK_FALSE(fleet::query::sort_before(&a, &a));
}
