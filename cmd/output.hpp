#pragma once
// Rendering objects for `get`: aligned tables, JSON, YAML and kind/name lines.

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "cmd/common.hpp"
#include "core/model/object.hpp"

namespace fleet::cli {

/// An object with its computed status.
struct Shown {
    model::Object object;
    nlohmann::json status;
};

/// A table with aligned columns, printed with two spaces between them.
class Table {
public:
    /// Starts a table with these column headers.
    explicit Table(std::vector<std::string> headers) : m_rows{std::move(headers)} {}
    /// Adds a row; it must have one cell per header.
    void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
    /// Prints the header and rows.
    void print(std::ostream& out) const;

private:
    std::vector<std::vector<std::string>> m_rows;
};

/// Prints objects in the format of -o; single prints one object rather than a List.
void print_objects(std::ostream& out, Format format, model::Kind kind, const std::vector<Shown>& objects,
                   bool single);

/// "k=v,k2=v2" for a labels object.
std::string labels_text(const nlohmann::json& labels);
/// A compact age such as "5m", "3h", "12d" since an RFC 3339 timestamp.
std::string age(const std::string& timestamp);

} // namespace fleet::cli
