#include "cmd/output.hpp"

#include <fmt/format.h>

#include <algorithm>
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

std::vector<std::string> headers_for(model::Kind kind, bool wide)
{
    std::vector<std::string> h;
    switch (kind) {
    case model::Kind::tenant:
        h = {"NAME", "PARENT", "DEVICES", "MEMBERS", "AGE"};
        if (wide) h.insert(h.end(), {"DISPLAY NAME", "LABELS", "SOURCE"});
        break;
    case model::Kind::device:
        h = {"TENANT", "NAME", "TYPE", "VERSION", "REACHABLE", "LAST SEEN", "AGE"};
        if (wide) h.insert(h.end(), {"SSH", "HTTP", "LABELS"});
        break;
    case model::Kind::device_group:
        h = {"TENANT", "NAME", "KIND", "DEVICES", "SELECTOR", "AGE"};
        if (wide) h.push_back("LABELS");
        break;
    case model::Kind::credential:
        h = {"TENANT", "NAME", "TYPE", "SECRET FROM", "AGE"};
        if (wide) h.push_back("LABELS");
        break;
    case model::Kind::artifact:
        h = {"TENANT", "NAME", "VERSION", "DEVICE TYPES", "SHA256", "AGE"};
        if (wide) h.insert(h.end(), {"FILE", "LABELS"});
        break;
    case model::Kind::rollout:
        h = {"TENANT", "NAME", "ARTIFACT", "STATE", "SUCCEEDED", "FAILED", "AGE"};
        if (wide) h.insert(h.end(), {"TARGETS", "RUNNER", "LABELS"});
        break;
    default:
        h = {"TENANT", "NAME", "AGE"};
        if (wide) h.push_back("LABELS");
        break;
    }
    return h;
}

std::string or_none(const std::string& s) { return s.empty() ? "<none>" : s; }

std::vector<std::string> row_for(const model::Object& o, const json& status, bool wide)
{
    const auto& r = o.resource;
    const auto& spec = r.spec;
    std::vector<std::string> row;
    switch (r.kind) {
    case model::Kind::tenant: {
        auto limit = spec.find("deviceLimit");
        std::string usage = std::to_string(status.value("devices", 0)) + "/" +
                            (limit == spec.end() ? std::string("-") : limit->dump());
        row = {r.name, spec.value("parent", "<none>"), usage,
               std::to_string(spec.value("members", json::array()).size()), age(o.created_at)};
        if (wide) row.insert(row.end(), {spec.value("displayName", ""), labels_text(r.labels), or_none(o.origin.file)});
        break;
    }
    case model::Kind::device: {
        std::string reachable = status.contains("reachable") ? (status["reachable"].get<bool>() ? "yes" : "no") : "-";
        row = {r.tenant, r.name, spec.value("deviceType", ""), status.value("reportedVersion", "-"), reachable,
               status.contains("lastSeen") ? age(status["lastSeen"].get<std::string>()) : "-", age(o.created_at)};
        if (wide) {
            std::string ssh = "-", http = "-";
            if (spec.contains("ssh")) {
                const auto& e = spec["ssh"];
                ssh = (e.contains("user") ? e["user"].get<std::string>() + "@" : "") + e["host"].get<std::string>() +
                      (e.contains("port") ? ":" + e["port"].dump() : "");
            }
            if (spec.contains("http")) http = spec["http"]["url"].get<std::string>();
            row.insert(row.end(), {ssh, http, labels_text(r.labels)});
        }
        break;
    }
    case model::Kind::device_group:
        row = {r.tenant, r.name, spec.contains("selector") ? "dynamic" : "static",
               std::to_string(status.value("devices", 0)), spec.value("selector", "-"), age(o.created_at)};
        if (wide) row.push_back(labels_text(r.labels));
        break;
    case model::Kind::credential: {
        std::string from = spec.contains("fromEnv") ? "env:" + spec["fromEnv"].get<std::string>() : "-";
        for (const char* f : {"privateKeyFile", "tokenFile", "passwordFile", "keyFile"})
            if (spec.contains(f)) from = spec[f].get<std::string>();
        if (spec.value("type", "") == "ssh-agent") from = "ssh-agent";
        row = {r.tenant, r.name, spec.value("type", ""), from, age(o.created_at)};
        if (wide) row.push_back(labels_text(r.labels));
        break;
    }
    case model::Kind::artifact: {
        std::string types;
        for (const auto& t : spec.value("deviceTypes", json::array())) types += (types.empty() ? "" : ",") + t.get<std::string>();
        row = {r.tenant, r.name, spec.value("version", ""), types.empty() ? "*" : types,
               spec.value("sha256", "").substr(0, 12), age(o.created_at)};
        if (wide) row.insert(row.end(), {spec.value("file", ""), labels_text(r.labels)});
        break;
    }
    case model::Kind::rollout: {
        bool started = status.value("state", "not started") != "not started";
        auto count = [&](const char* key) { return started ? std::to_string(status.value(key, 0)) : std::string("-"); };
        row = {r.tenant, r.name, spec.value("artifact", ""), status.value("state", "not started"),
               started ? count("succeeded") + "/" + count("targets") : "-", count("failed"), age(o.created_at)};
        if (wide) {
            const auto& t = spec["targets"];
            row.insert(row.end(), {t.contains("group") ? "group " + t["group"].get<std::string>()
                                                       : t.value("selector", ""),
                                   status.value("runner", "-"), labels_text(r.labels)});
        }
        break;
    }
    default:
        row = {r.tenant, r.name, age(o.created_at)};
        if (wide) row.push_back(labels_text(r.labels));
        break;
    }
    return row;
}

} // namespace

void Table::print(std::ostream& out, bool with_header) const
{
    std::vector<std::size_t> widths;
    for (const auto& row : m_rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (widths.size() <= i) widths.push_back(0);
            widths[i] = std::max(widths[i], display_width(row[i]));
        }
    for (std::size_t r = with_header ? 0 : 1; r < m_rows.size(); ++r) {
        const auto& row = m_rows[r];
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - display_width(row[i]) + 2, ' ');
        }
        out << line << "\n";
    }
}

void Table::print_csv(std::ostream& out, bool with_header) const
{
    for (std::size_t r = with_header ? 0 : 1; r < m_rows.size(); ++r) {
        const auto& row = m_rows[r];
        for (std::size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << csv_field(row[i]);
        out << "\n";
    }
}

std::string csv_field(const std::string& value)
{
    if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
    std::string out = "\"";
    for (char c : value) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
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

ObjectPrinter::ObjectPrinter(std::ostream& out, Format format, model::Kind kind, bool single, PrintOptions options)
    : m_out(out), m_format(format), m_kind(kind), m_single(single), m_options(options),
      m_table(headers_for(kind, format == Format::wide || format == Format::csv))
{
    if (m_format == Format::json && !m_single) m_out << R"({"apiVersion":"fleetadm/v1","kind":"List","items":[)";
}

void ObjectPrinter::add(model::Object&& object, json&& status)
{
    if (!m_options.sort_by) return print(std::move(object), std::move(status));
    json document = model::to_json(object, status);
    auto values = m_options.sort_by->values(document);
    std::optional<json> key;
    if (!values.empty()) key = *values.front();
    m_held.push_back(Held{std::move(object), std::move(status), std::move(key)});
}

void ObjectPrinter::print(model::Object&& object, json&& status)
{
    switch (m_format) {
    case Format::json:
        if (m_single)
            m_out << model::to_json(std::move(object), std::move(status)).dump(2) << "\n";
        else
            m_out << (m_count ? ",\n" : "\n") << model::to_json(std::move(object), std::move(status)).dump();
        break;
    case Format::yaml:
        if (m_count || !m_single) m_out << "---\n";
        m_out << resource::to_yaml(model::to_json(std::move(object), std::move(status)));
        break;
    case Format::name: m_out << object.resource.ref() << "\n"; break;
    case Format::table:
    case Format::wide:
    case Format::csv: m_table.add(row_for(object, status, m_format != Format::table)); break;
    case Format::jsonpath:
    case Format::custom_columns: break;  // rendered from -o json by the caller (app.cpp)
    }
    ++m_count;
}

std::size_t ObjectPrinter::finish()
{
    std::stable_sort(m_held.begin(), m_held.end(), [](const Held& a, const Held& b) {
        return query::sort_before(a.key ? &*a.key : nullptr, b.key ? &*b.key : nullptr);
    });
    for (auto& h : m_held) print(std::move(h.object), std::move(h.status));
    m_held.clear();
    if (m_format == Format::json && !m_single) m_out << (m_count ? "\n" : "") << "]}\n";
    if ((m_format == Format::table || m_format == Format::wide) && !m_table.empty())
        m_table.print(m_out, !m_options.no_headers);
    if (m_format == Format::csv) m_table.print_csv(m_out, !m_options.no_headers);
    return m_count;
}

} // namespace fleet::cli
