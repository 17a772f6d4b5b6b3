#pragma once
// kubectl's JSONPath templates (`-o jsonpath=…`, `-o custom-columns=…`, `--sort-by`), in the subset
// kubectl documents (kubernetes.io/docs/reference/kubectl/jsonpath/): text and {expressions},
// `@` and `$`, `.field` and `['field']` (a dot inside quotes separates fields unless escaped as
// `\.`), `..field`, `*`, `[n]`, `[start:end:step]`, unions `[a,b]`, filters `[?(@.f op literal)]`,
// `{range …}…{end}` and quoted string literals. Debian 12 packages no C++ JSONPath library.

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.hpp"

namespace fleet::query {

struct JsonPathNode;

/// A parsed template, ready to render any number of documents.
class JsonPath {
public:
    /// A template as kubectl's `-o jsonpath=` takes it: text with {expressions}.
    static util::Result<JsonPath> parse(std::string_view text);
    /// One expression as `custom-columns` and `--sort-by` take it: `.spec.x` or `{.spec.x}`.
    static util::Result<JsonPath> parse_expression(std::string_view text);

    /// The template's text for one document: each expression's results joined by a space; strings
    /// as they are, other values as compact JSON; a missing field prints nothing.
    std::string render(const nlohmann::json& document) const;
    /// The values the (single) expression selects in document, in document order.
    std::vector<const nlohmann::json*> values(const nlohmann::json& document) const;

    JsonPath(JsonPath&&) noexcept;
    JsonPath& operator=(JsonPath&&) noexcept;
    ~JsonPath();

private:
    JsonPath();
    std::vector<std::unique_ptr<JsonPathNode>> m_nodes;
};

/// A value as jsonpath prints it: a string as it is, anything else as compact JSON.
std::string jsonpath_text(const nlohmann::json& value);

/// kubectl's `-o custom-columns=HEADER:EXPR,…`: the columns of a table, each an expression.
struct CustomColumns {
    std::vector<std::string> headers;
    std::vector<JsonPath> paths;

    static util::Result<CustomColumns> parse(std::string_view spec);
    /// One row for an object: each column's values joined by ",", "<none>" when there is none.
    std::vector<std::string> row(const nlohmann::json& object) const;
};

/// Orders values as `--sort-by` does: missing first, then null, booleans, numbers (by value),
/// strings (by bytes), and arrays and objects by their JSON text.
bool sort_before(const nlohmann::json* a, const nlohmann::json* b);

} // namespace fleet::query
