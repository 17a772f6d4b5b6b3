#pragma once
// Rendering objects for get and describe: aligned tables, JSON, YAML and kind/name lines.

#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cmd/common.hpp"
#include "core/model/object.hpp"
#include "core/query/jsonpath.hpp"

namespace fleet::cli {

/// A table with aligned columns, printed with two spaces between them.
class Table {
public:
    /// Starts a table with these column headers.
    explicit Table(std::vector<std::string> headers) : m_rows{std::move(headers)} {}
    /// Adds a row; it must have one cell per header.
    void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
    /// Prints the header (unless with_header is false) and rows.
    void print(std::ostream& out, bool with_header = true) const;
    /// Prints the header (unless with_header is false) and rows as CSV (RFC 4180 quoting).
    void print_csv(std::ostream& out, bool with_header = true) const;
    /// True when no row was added.
    bool empty() const { return m_rows.size() <= 1; }

private:
    std::vector<std::vector<std::string>> m_rows;
};

/// How get orders and heads its output (kubectl's --sort-by and --no-headers).
struct PrintOptions {
    const query::JsonPath* sort_by = nullptr;  ///< order by this expression's first value
    bool no_headers = false;                   ///< tables without their header line
};

/// Prints objects one at a time in the format of -o. JSON, YAML and names are streamed as they
/// come (unless sorted); a table is collected and aligned at the end.
class ObjectPrinter {
public:
    /// single: the caller asked for exactly one object by name, which prints without a List around it.
    ObjectPrinter(std::ostream& out, Format format, model::Kind kind, bool single, PrintOptions options = {});
    /// Prints (or collects) one object.
    void add(model::Object&& object, nlohmann::json&& status);
    /// Finishes the output; returns the number of objects printed.
    std::size_t finish();

private:
    void print(model::Object&& object, nlohmann::json&& status);

    std::ostream& m_out;
    Format m_format;
    model::Kind m_kind;
    bool m_single;
    PrintOptions m_options;
    std::size_t m_count = 0;
    Table m_table;
    struct Held {
        model::Object object;
        nlohmann::json status;
        std::optional<nlohmann::json> key;  ///< the sort key; none when the expression selects nothing
    };
    std::vector<Held> m_held;  ///< objects waiting to be sorted
};

/// A CSV field, quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& value);
/// "k=v,k2=v2" for a labels object, "<none>" when empty.
std::string labels_text(const nlohmann::json& labels);
/// A compact age such as "5m", "3h", "12d" since an RFC 3339 timestamp.
std::string age(const std::string& timestamp);

} // namespace fleet::cli
