#include "core/resource/device_rows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <spanstream>
#include <thread>

#include "core/resource/csv_reader.hpp"
#include "core/resource/utf8.hpp"
#include "core/util/suggest.hpp"

namespace fleet::resource {

using nlohmann::json;

const std::vector<std::string>& csv_columns()
{
    static const std::vector<std::string> columns = {
        "name",           "tenant",    "deviceType",     "labels",       "ssh.host",     "ssh.port",
        "ssh.user",       "ssh.credential", "ssh.jump",   "http.url",   "http.credential", "http.profile", "identity.serial",
        "identity.mac",   "versionProbe",
    };
    return columns;
}

namespace {

/// "k=v;k2=v2" → sorted (key, value) pairs, a repeated key keeping its last value; empty keys and
/// missing '=' are errors.
bool parse_labels(const std::string& text, std::vector<std::pair<std::string, std::string>>& out, std::string& error)
{
    out.clear();
    std::size_t start = 0;
    while (start <= text.size()) {
        auto semi = text.find(';', start);
        std::string_view pair = std::string_view(text).substr(start, semi == std::string::npos ? std::string::npos
                                                                                              : semi - start);
        if (!pair.empty()) {
            auto eq = pair.find('=');
            if (eq == std::string_view::npos || eq == 0) {
                error = fmt::format("label \"{}\" is not key=value (labels are written k=v;k2=v2)", pair);
                return false;
            }
            out.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
        }
        if (semi == std::string::npos) break;
        start = semi + 1;
    }
    // Stable: of equal keys the last one written is last, and wins below.
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::size_t kept = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (i + 1 < out.size() && out[i + 1].first == out[i].first) continue;
        if (kept != i) out[kept] = std::move(out[i]);
        ++kept;
    }
    out.resize(kept);
    return true;
}

/// Writes a JSON object's members in the order given (already sorted by key), skipping empty values.
class ObjectWriter {
public:
    explicit ObjectWriter(std::string& out) : m_out(out) { m_out += '{'; }
    void string(std::string_view key, std::string_view value)
    {
        if (value.empty()) return;
        this->key(key);
        append_json_string(m_out, value);
    }
    void raw(std::string_view key, std::string_view json)
    {
        this->key(key);
        m_out += json;
    }
    void key(std::string_view key)
    {
        if (m_any) m_out += ',';
        m_any = true;
        append_json_string(m_out, key);
        m_out += ':';
    }
    void close() { m_out += '}'; }

private:
    std::string& m_out;
    bool m_any = false;
};

/// A port cell as a JSON number when it is an integer, else as the text written (which the row
/// rules reject); nothing when empty.
void write_port(ObjectWriter& object, const std::string& port)
{
    if (port.empty()) return;
    std::int64_t value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec == std::errc() && ptr == port.data() + port.size())
        object.raw("port", fmt::format("{}", value));
    else
        object.string("port", port);
}

} // namespace

bool DeviceRow::has_ssh() const
{
    return !cells[ssh_host].empty() || !cells[ssh_port].empty() || !cells[ssh_user].empty() ||
           !cells[ssh_credential].empty() || !cells[ssh_jump].empty();
}

bool DeviceRow::has_http() const
{
    return !cells[http_url].empty() || !cells[http_credential].empty() || !cells[http_profile].empty();
}

bool valid_utf8(std::string_view s) { return !invalid_utf8_at(s); }

bool parse_jump(std::string_view text, std::vector<JumpCell>& hops, std::string& error)
{
    hops.clear();
    constexpr std::string_view form = "(bastions are written user@host:port, several separated by ',')";
    std::size_t start = 0;
    while (true) {
        auto comma = text.find(',', start);
        std::string_view hop = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        // "gw1, gw2" as people write lists: blanks around a bastion are not part of it.
        while (!hop.empty() && (hop.front() == ' ' || hop.front() == '\t')) hop.remove_prefix(1);
        while (!hop.empty() && (hop.back() == ' ' || hop.back() == '\t')) hop.remove_suffix(1);
        if (hop.empty()) {
            error = fmt::format("an empty bastion (a ',' at an end, or two in a row) {}", form);
            return false;
        }
        JumpCell cell;
        std::string_view rest = hop;
        if (hop.size() > 400) hop = hop.substr(0, 64);  // echoed in errors: a line, not a megabyte
        if (auto at = rest.find('@'); at != std::string_view::npos) {
            cell.user = rest.substr(0, at);
            rest = rest.substr(at + 1);
            if (cell.user.empty()) {
                error = fmt::format("bastion \"{}\" has an empty user before '@' {}", hop, form);
                return false;
            }
        }
        std::string_view after;
        if (rest.starts_with('[')) {  // [IPv6]:port
            auto close = rest.find(']');
            if (close == std::string_view::npos) {
                error = fmt::format("bastion \"{}\" has no ']' after its IPv6 address {}", hop, form);
                return false;
            }
            cell.host = rest.substr(1, close - 1);
            after = rest.substr(close + 1);
            if (!after.empty() && !after.starts_with(':')) {
                error = fmt::format("bastion \"{}\": expected ':' and a port after ']' {}", hop, form);
                return false;
            }
        } else {
            auto colon = rest.find(':');
            cell.host = rest.substr(0, colon);
            if (colon != std::string_view::npos) after = rest.substr(colon);
        }
        if (!after.empty()) {
            cell.port = after.substr(1);
            if (cell.port.empty()) {
                error = fmt::format("bastion \"{}\" has an empty port after ':' {}", hop, form);
                return false;
            }
        }
        if (cell.host.empty()) {
            error = fmt::format("bastion \"{}\" has no host {}", hop, form);
            return false;
        }
        hops.push_back(std::move(cell));
        if (comma == std::string_view::npos) return true;
        start = comma + 1;
    }
}

void append_json_string(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t plain = 0;  // start of the run not yet copied
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + plain, i - plain);
        plain = i + 1;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    out.append(s.data() + plain, s.size() - plain);
    out += '"';
}

std::string canonical_labels(const DeviceRow& row)
{
    std::string out;
    ObjectWriter labels(out);
    for (const auto& [key, value] : row.label_pairs) {
        labels.key(key);
        append_json_string(out, value);
    }
    labels.close();
    return out;
}

std::string canonical_spec(const DeviceRow& row)
{
    using C = DeviceRow::Column;
    std::string out;
    out.reserve(160);
    // Members in nlohmann's order: std::map sorts keys bytewise.
    ObjectWriter spec(out);
    spec.string("deviceType", row[C::device_type]);
    if (row.has_http()) {
        spec.key("http");
        ObjectWriter http(out);
        http.string("credential", row[C::http_credential]);
        http.string("profile", row[C::http_profile]);
        http.string("url", row[C::http_url]);
        http.close();
    }
    if (!row[C::identity_mac].empty() || !row[C::identity_serial].empty()) {
        spec.key("identity");
        ObjectWriter identity(out);
        identity.string("mac", row[C::identity_mac]);
        identity.string("serial", row[C::identity_serial]);
        identity.close();
    }
    if (row.has_ssh()) {
        spec.key("ssh");
        ObjectWriter ssh(out);
        ssh.string("credential", row[C::ssh_credential]);
        ssh.string("host", row[C::ssh_host]);
        if (const auto& jump = row[C::ssh_jump]; !jump.empty()) {
            std::vector<JumpCell> hops;
            std::string error;
            if (parse_jump(jump, hops, error)) {
                ssh.key("jump");
                out += '[';
                for (std::size_t i = 0; i < hops.size(); ++i) {
                    if (i) out += ',';
                    ObjectWriter hop(out);
                    hop.string("host", hops[i].host);
                    write_port(hop, hops[i].port);
                    hop.string("user", hops[i].user);
                    hop.close();
                }
                out += ']';
            } else {
                ssh.string("jump", jump);  // invalid: the row rules reject it
            }
        }
        write_port(ssh, row[C::ssh_port]);
        ssh.string("user", row[C::ssh_user]);
        ssh.close();
    }
    spec.string("versionProbe", row[C::version_probe]);
    spec.close();
    return out;
}

namespace {

/// The columns the header record names, in order; nullopt (with the problems in diags) when it is
/// missing or names unknown, repeated or no "name" column.
std::optional<std::vector<DeviceRow::Column>> read_header(CsvReader& reader, const std::string& file,
                                                          util::Diagnostics& diags)
{
    CsvRecord record;
    if (!reader.next(record, diags)) {
        if (!diags.has_errors()) diags.error({file, 1, 0}, "", "empty CSV file: expected a header row");
        return std::nullopt;
    }
    std::vector<DeviceRow::Column> columns;
    std::set<std::string> seen;
    const auto& known = csv_columns();
    std::size_t errors = diags.error_count();
    // A spreadsheet's export in a locale that writes ';' (or a tab) between fields: one column of it all.
    if (record.fields.size() == 1)
        for (char separator : {';', '\t'})
            if (record.fields[0].find(separator) != std::string::npos &&
                std::find(known.begin(), known.end(), record.fields[0].substr(0, record.fields[0].find(separator))) !=
                    known.end()) {
                diags.error({file, record.line, 0}, "",
                            fmt::format("the header is separated by '{}': fleetadm reads comma-separated CSV (RFC "
                                        "4180); export it with ',' between fields",
                                        separator == ';' ? ";" : "\\t"));
                return std::nullopt;
            }
    for (auto& column : record.fields) {
        // One pass each way: a header field of 60,000 spaces must not cost 60,000 erases.
        auto last = column.find_last_not_of(" \t");
        column.erase(last == std::string::npos ? 0 : last + 1);
        column.erase(0, column.find_first_not_of(" \t"));
        auto it = std::find(known.begin(), known.end(), column);
        if (it == known.end()) {
            std::string all;
            for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
            // A column name is at most a few dozen characters; echo no more than that of a long one.
            // The reader has checked the UTF-8, so the cut backs off to a character's first byte.
            std::size_t shown = 64;
            if (column.size() > shown)
                while (shown > 0 && (static_cast<unsigned char>(column[shown]) & 0xC0) == 0x80) --shown;
            std::string name = column.size() > shown ? column.substr(0, shown) + "…" : column;
            std::string hint = util::nearest(column, known);
            diags.error({file, record.line, 0}, name,
                        hint.empty() ? fmt::format("unknown column \"{}\" (known: {})", name, all)
                                     : fmt::format("unknown column \"{}\"; did you mean \"{}\"? (known: {})", name, hint, all));
        } else if (!seen.insert(column).second) {
            diags.error({file, record.line, 0}, column, fmt::format("column \"{}\" appears twice", column));
        }
        columns.push_back(static_cast<DeviceRow::Column>(it - known.begin()));
    }
    if (!seen.contains("name")) diags.error({file, record.line, 0}, "", "the header has no \"name\" column");
    if (diags.error_count() != errors) return std::nullopt;
    return columns;
}

/// The records after the header, each (cells placed by columns, labels parsed) given to sink.
void read_rows(CsvReader& reader, const std::vector<DeviceRow::Column>& columns, const std::string& file,
               util::Diagnostics& diags, const std::function<void(DeviceRow&)>& sink)
{
    CsvRecord record;
    DeviceRow row;
    while (reader.next(record, diags)) {
        if (record.fields.size() != columns.size()) {
            diags.error({file, record.line, 0}, "",
                        fmt::format("{} fields, but the header has {}", record.fields.size(), columns.size()));
            continue;
        }
        row.line = record.line;
        for (auto& cell : row.cells) cell.clear();
        for (std::size_t i = 0; i < columns.size(); ++i) std::swap(row.cells[columns[i]], record.fields[i]);
        std::string error;
        if (!parse_labels(row[DeviceRow::labels], row.label_pairs, error)) {
            diags.error({file, record.line, 0}, "labels", error);
            continue;
        }
        sink(row);
    }
}

/// Where a part of CSV text starts: its offset and line number.
struct PartStart {
    std::size_t offset;
    int line;
};

/// Up to parts starts in text[from, end), the first at from (line first_line), each later one just
/// after a newline that ends a record near an equal share of the text. A newline ends a record when
/// the quotes before it are even in number: in CSV the reader accepts, every quoted field holds an
/// even number of quote characters ("" escapes one), so a newline inside quotes follows an odd
/// count. Text the reader rejects fails in an earlier part, which drops the later ones.
std::vector<PartStart> part_starts(std::string_view text, std::size_t from, int first_line, std::size_t parts)
{
    std::vector<PartStart> starts{{from, first_line}};
    std::size_t quotes = 0, pos = from;
    int line = first_line;
    std::size_t share = (text.size() - from) / parts;
    for (std::size_t k = 1; k < parts; ++k) {
        std::size_t target = from + k * share;
        for (; pos < text.size(); ++pos) {
            char c = text[pos];
            if (c == '"') ++quotes;
            else if (c == '\n') {
                ++line;
                if (pos >= target && quotes % 2 == 0) break;
            }
        }
        if (pos >= text.size()) break;
        ++pos;
        if (pos >= text.size()) break;
        starts.push_back({pos, line});
    }
    return starts;
}

} // namespace

void read_device_csv(std::istream& in, const std::string& file, util::Diagnostics& diags,
                     const std::function<void(DeviceRow&)>& sink)
{
    CsvReader reader(in, file);
    auto columns = read_header(reader, file, diags);
    if (!columns) return;
    read_rows(reader, *columns, file, diags, sink);
}

std::size_t read_device_csv_parts(std::string_view text, const std::string& file, std::size_t parts,
                                  std::vector<util::Diagnostics>& diags,
                                  const std::function<void(std::size_t, DeviceRow&, util::Diagnostics&)>& sink)
{
    diags.assign(1, {});
    std::ispanstream whole(std::span<const char>(text.data(), text.size()));
    CsvReader header_reader(whole, file);
    auto columns = read_header(header_reader, file, diags[0]);
    if (!columns) return 1;
    auto header_end = whole.tellg();
    std::size_t from = header_end < 0 ? text.size() : static_cast<std::size_t>(header_end);
    auto starts = part_starts(text, from, header_reader.line(), std::max<std::size_t>(parts, 1));
    diags.resize(starts.size());
    std::vector<char> failed(starts.size(), 0);
    auto read_part = [&](std::size_t k) {
        std::size_t end = k + 1 < starts.size() ? starts[k + 1].offset : text.size();
        std::ispanstream in(std::span<const char>(text.data() + starts[k].offset, end - starts[k].offset));
        CsvReader reader(in, file, starts[k].line);
        read_rows(reader, *columns, file, diags[k], [&](DeviceRow& row) { sink(k, row, diags[k]); });
        failed[k] = reader.failed();
    };
    std::vector<std::jthread> threads;
    for (std::size_t k = 1; k < starts.size(); ++k) threads.emplace_back(read_part, k);
    read_part(0);
    threads.clear();  // joins
    for (std::size_t k = 0; k < starts.size(); ++k)
        if (failed[k]) return k + 1;
    return starts.size();
}

namespace {

/// Where a JSON text nests deeper than max_depth (byte offset), found without parsing it: nlohmann's
/// parser would build the tree, and its serializer and the schema validator recurse per level.
std::optional<std::size_t> too_deep_at(std::string_view text, int max_depth)
{
    int depth = 0;
    bool in_string = false, escaped = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) return i;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return std::nullopt;
}

} // namespace

void read_device_jsonl(std::istream& in, const std::string& file, util::Diagnostics& diags,
                       const std::function<void(Document&&)>& sink)
{
    std::string line;
    int number = 0;
    auto shared_name = std::make_shared<const std::string>(file);
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (number == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // a byte order mark
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        if (auto bad = invalid_utf8_at(line)) {
            diags.error({file, number, utf8_column(line, *bad)}, "",
                        fmt::format("not UTF-8 text: invalid byte 0x{:02x}", static_cast<unsigned char>(line[*bad])));
            continue;
        }
        if (auto deep = too_deep_at(line, max_json_depth)) {
            diags.error({file, number, utf8_column(line, *deep)}, "",
                        fmt::format("nesting deeper than {} levels", max_json_depth));
            continue;
        }
        json doc;
        try {
            doc = json::parse(line);
        } catch (const json::parse_error& e) {
            // e.byte is 1-based and points just past the byte that broke the parse.
            std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
            diags.error({file, number, utf8_column(line, at)}, "", "invalid JSON");
            continue;
        } catch (const json::out_of_range& e) {
            // A number beyond a double (1e400): nlohmann names its text ('1e400'), not where it is.
            std::string what = e.what();
            auto open = what.find('\'');
            auto close = open == std::string::npos ? open : what.find('\'', open + 1);
            std::size_t at = close == std::string::npos ? std::string::npos
                                                         : line.find(what.substr(open + 1, close - open - 1));
            diags.error({file, number, utf8_column(line, at == std::string::npos ? 0 : at)}, "",
                        "a number is out of range");
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
