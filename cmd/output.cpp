#include "cmd/output.hpp"

#include <fmt/format.h>

#include <ctime>

#include "core/resource/yaml_writer.hpp"

namespace fleet::cli {

using nlohmann::json;

namespace {

/// Width on a terminal: code points, so that tree-drawing characters count as one column.
std::size_t display_width(const std::string& s)
{
    std::size_t width = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++width;
    return width;
}

} // namespace

void Table::print(std::ostream& out) const
{
    std::vector<std::size_t> widths;
    for (const auto& row : m_rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (widths.size() <= i) widths.push_back(0);
            widths[i] = std::max(widths[i], display_width(row[i]));
        }
    for (const auto& row : m_rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - display_width(row[i]) + 2, ' ');
        }
        out << line << "\n";
    }
}

std::string labels_text(const json& labels)
{
    std::string out;
    for (const auto& [k, v] : labels.items()) out += (out.empty() ? "" : ",") + k + "=" + v.get<std::string>();
    return out.empty() ? "<none>" : out;
}

std::string age(const std::string& timestamp)
{
    std::tm tm{};
    if (!strptime(timestamp.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return "<unknown>";
    auto seconds = static_cast<long long>(std::difftime(std::time(nullptr), timegm(&tm)));
    if (seconds < 0) seconds = 0;
    if (seconds < 120) return fmt::format("{}s", seconds);
    if (seconds < 2 * 3600) return fmt::format("{}m", seconds / 60);
    if (seconds < 2 * 86400) return fmt::format("{}h", seconds / 3600);
    return fmt::format("{}d", seconds / 86400);
}

namespace {

std::string usage_text(const Shown& s)
{
    auto limit = s.object.resource.spec.find("deviceLimit");
    std::string used = std::to_string(s.status.value("devices", 0));
    return used + "/" + (limit == s.object.resource.spec.end() ? std::string("-") : limit->dump());
}

void print_tenant_table(std::ostream& out, const std::vector<Shown>& objects, bool wide)
{
    std::vector<std::string> headers{"NAME", "PARENT", "DEVICES", "MEMBERS", "AGE"};
    if (wide) headers.insert(headers.end(), {"DISPLAY NAME", "LABELS", "SOURCE"});
    Table table(headers);
    for (const auto& s : objects) {
        const auto& r = s.object.resource;
        std::vector<std::string> row{r.name, r.spec.value("parent", "<none>"), usage_text(s),
                                     std::to_string(r.spec.value("members", json::array()).size()),
                                     age(s.object.created_at)};
        if (wide) {
            row.push_back(r.spec.value("displayName", ""));
            row.push_back(labels_text(r.labels));
            row.push_back(s.object.origin.file.empty() ? "<none>" : s.object.origin.file);
        }
        table.add(std::move(row));
    }
    table.print(out);
}

void print_generic_table(std::ostream& out, const std::vector<Shown>& objects, bool wide)
{
    std::vector<std::string> headers{"TENANT", "NAME", "AGE"};
    if (wide) headers.push_back("LABELS");
    Table table(headers);
    for (const auto& s : objects) {
        std::vector<std::string> row{s.object.resource.tenant, s.object.resource.name, age(s.object.created_at)};
        if (wide) row.push_back(labels_text(s.object.resource.labels));
        table.add(std::move(row));
    }
    table.print(out);
}

} // namespace

void print_objects(std::ostream& out, Format format, model::Kind kind, const std::vector<Shown>& objects, bool single)
{
    switch (format) {
    case Format::json: {
        if (single && objects.size() == 1) {
            out << model::to_json(objects[0].object, objects[0].status).dump(2) << "\n";
            break;
        }
        json items = json::array();
        for (const auto& s : objects) items.push_back(model::to_json(s.object, s.status));
        out << json{{"apiVersion", model::api_version}, {"kind", "List"}, {"items", items}}.dump(2) << "\n";
        break;
    }
    case Format::yaml:
        for (std::size_t i = 0; i < objects.size(); ++i) {
            if (i > 0 || !single) out << "---\n";
            out << resource::to_yaml(model::to_json(objects[i].object, objects[i].status));
        }
        break;
    case Format::name:
        for (const auto& s : objects) out << s.object.resource.ref() << "\n";
        break;
    case Format::table:
    case Format::wide:
        if (objects.empty()) break;
        if (kind == model::Kind::tenant)
            print_tenant_table(out, objects, format == Format::wide);
        else
            print_generic_table(out, objects, format == Format::wide);
        break;
    }
}

} // namespace fleet::cli
