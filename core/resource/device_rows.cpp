#include "core/resource/device_rows.hpp"

#include <fmt/format.h>

#include <charconv>
#include <functional>
#include <set>

#include "core/resource/csv_reader.hpp"

namespace fleet::resource {

using nlohmann::json;

const std::vector<std::string>& csv_columns()
{
    static const std::vector<std::string> columns = {
        "name",           "tenant",    "deviceType",     "labels",       "ssh.host",     "ssh.port",
        "ssh.user",       "ssh.credential", "http.url",   "http.credential", "http.profile", "identity.serial",
        "identity.mac",   "versionProbe",
    };
    return columns;
}

namespace {

/// Where a column's value goes in the Device document, as a JSON pointer: "ssh.port" → "/spec/ssh/port".
std::string column_pointer(const std::string& column)
{
    std::string pointer = column == "name" || column == "tenant" || column == "labels" ? "/metadata/" : "/spec/";
    for (char c : column) pointer.push_back(c == '.' ? '/' : c);
    return pointer;
}

/// "k=v;k2=v2" → {"k": "v", "k2": "v2"}; empty keys and missing '=' are errors.
bool parse_labels(const std::string& text, json& out, std::string& error)
{
    out = json::object();
    std::size_t start = 0;
    while (start <= text.size()) {
        auto semi = text.find(';', start);
        std::string pair = text.substr(start, semi == std::string::npos ? std::string::npos : semi - start);
        if (!pair.empty()) {
            auto eq = pair.find('=');
            if (eq == std::string::npos || eq == 0) {
                error = fmt::format("label \"{}\" is not key=value (labels are written k=v;k2=v2)", pair);
                return false;
            }
            out[pair.substr(0, eq)] = pair.substr(eq + 1);
        }
        if (semi == std::string::npos) break;
        start = semi + 1;
    }
    return true;
}

} // namespace

void read_device_csv(std::istream& in, const std::string& file, util::Diagnostics& diags,
                     const std::function<void(Document&&)>& sink)
{
    CsvReader reader(in, file);
    auto shared_name = std::make_shared<const std::string>(file);
    auto header = reader.next(diags);
    if (!header) {
        if (!diags.has_errors()) diags.error({file, 1, 0}, "", "empty CSV file: expected a header row");
        return;
    }
    std::vector<json::json_pointer> pointers;
    enum class Cell { text, labels, port };
    std::vector<Cell> cells;
    std::set<std::string> seen;
    const auto& known = csv_columns();
    for (auto& column : header->fields) {
        while (!column.empty() && (column.back() == ' ' || column.back() == '\t')) column.pop_back();
        while (!column.empty() && (column.front() == ' ' || column.front() == '\t')) column.erase(0, 1);
        if (std::find(known.begin(), known.end(), column) == known.end()) {
            std::string all;
            for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
            diags.error({file, header->line, 0}, column, fmt::format("unknown column \"{}\" (known: {})", column, all));
        } else if (!seen.insert(column).second) {
            diags.error({file, header->line, 0}, column, fmt::format("column \"{}\" appears twice", column));
        }
        pointers.emplace_back(column_pointer(column));
        cells.push_back(column == "labels" ? Cell::labels : column == "ssh.port" ? Cell::port : Cell::text);
    }
    if (!seen.contains("name")) diags.error({file, header->line, 0}, "", "the header has no \"name\" column");
    if (diags.has_errors()) return;

    while (auto record = reader.next(diags)) {
        if (record->fields.size() != pointers.size()) {
            diags.error({file, record->line, 0}, "",
                        fmt::format("{} fields, but the header has {}", record->fields.size(), pointers.size()));
            continue;
        }
        json doc = {{"apiVersion", "fleetadm/v1"}, {"kind", "Device"}, {"metadata", json::object()}};
        SourceMap marks(shared_name);
        marks.add("", record->line, 0);
        bool ok = true;
        for (std::size_t i = 0; i < pointers.size(); ++i) {
            const std::string& value = record->fields[i];
            if (value.empty()) continue;
            json cell = value;
            if (cells[i] == Cell::labels) {
                std::string error;
                if (!parse_labels(value, cell, error)) {
                    diags.error({file, record->line, 0}, "labels", error);
                    ok = false;
                    continue;
                }
            } else if (cells[i] == Cell::port) {
                std::int64_t port = 0;
                auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
                if (ec == std::errc() && ptr == value.data() + value.size()) cell = port;  // else: schema says string
            }
            doc[pointers[i]] = std::move(cell);
        }
        if (ok) sink(Document{std::move(doc), std::move(marks)});
    }
}

void read_device_jsonl(std::istream& in, const std::string& file, util::Diagnostics& diags,
                       const std::function<void(Document&&)>& sink)
{
    std::string line;
    int number = 0;
    auto shared_name = std::make_shared<const std::string>(file);
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        json doc = json::parse(line, nullptr, false);
        if (doc.is_discarded()) {
            diags.error({file, number, 0}, "", "invalid JSON");
            continue;
        }
        if (doc.is_object() && !doc.contains("kind")) doc["kind"] = "Device";
        if (doc.is_object() && !doc.contains("apiVersion")) doc["apiVersion"] = "fleetadm/v1";
        SourceMap marks(shared_name);
        marks.add("", number, 0);
        sink(Document{std::move(doc), std::move(marks)});
    }
}

} // namespace fleet::resource
