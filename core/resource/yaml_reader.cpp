// YAML → JSON with positions.
//
// yaml-cpp's Parser emits events for one document per HandleNextDocument call; the
// DocumentBuilder below turns those events into an nlohmann::json value while
// recording, for every node, the JSON pointer and the line/column where it was
// written (for a map entry: where its key is). Plain scalars are typed by the
// YAML 1.2 core schema (null, bool, int, float, else string); quoted and block
// scalars are always strings. Anchors are remembered per document and aliases
// copy the anchored value, counted against the node budget so that an alias bomb
// stops with an error instead of exhausting memory.

#include "core/resource/yaml_reader.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace fleet::resource {
namespace {

using nlohmann::json;

bool is_null_plain(const std::string& v)
{
    return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

std::optional<bool> bool_plain(const std::string& v)
{
    if (v == "true" || v == "True" || v == "TRUE") return true;
    if (v == "false" || v == "False" || v == "FALSE") return false;
    return std::nullopt;
}

bool all_of(std::string_view s, int (*pred)(int))
{
    if (s.empty()) return false;
    for (char c : s)
        if (!pred(static_cast<unsigned char>(c))) return false;
    return true;
}

/// An integer per the YAML 1.2 core schema; nullopt when v is not one, error text when out of range.
std::optional<json> int_plain(const std::string& v, std::string& error)
{
    std::string_view s = v;
    int base = 10;
    bool negative = false;
    if (s.starts_with("0x")) {
        base = 16;
        s.remove_prefix(2);
        if (!all_of(s, isxdigit)) return std::nullopt;
    } else if (s.starts_with("0o")) {
        base = 8;
        s.remove_prefix(2);
        if (!all_of(s, [](int c) { return int(c >= '0' && c <= '7'); })) return std::nullopt;
    } else {
        if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
            negative = s[0] == '-';
            s.remove_prefix(1);
        }
        if (!all_of(s, isdigit)) return std::nullopt;
    }
    std::uint64_t magnitude = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, base);
    if (ec != std::errc() || ptr != s.data() + s.size() ||
        magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        error = "integer out of range: " + v;
        return json();
    }
    auto value = static_cast<std::int64_t>(magnitude);
    return json(negative ? -value : value);
}

std::optional<json> float_plain(const std::string& v)
{
    if (v == ".inf" || v == ".Inf" || v == ".INF" || v == "+.inf")
        return json(std::numeric_limits<double>::infinity());
    if (v == "-.inf" || v == "-.Inf" || v == "-.INF") return json(-std::numeric_limits<double>::infinity());
    if (v == ".nan" || v == ".NaN" || v == ".NAN") return json(std::nan(""));
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    std::size_t i = 0, n = v.size();
    if (i < n && (v[i] == '-' || v[i] == '+')) ++i;
    std::size_t int_digits = 0, frac_digits = 0;
    while (i < n && std::isdigit(static_cast<unsigned char>(v[i]))) ++i, ++int_digits;
    if (i < n && v[i] == '.') {
        ++i;
        while (i < n && std::isdigit(static_cast<unsigned char>(v[i]))) ++i, ++frac_digits;
    }
    if (int_digits == 0 && frac_digits == 0) return std::nullopt;
    if (i < n && (v[i] == 'e' || v[i] == 'E')) {
        ++i;
        if (i < n && (v[i] == '-' || v[i] == '+')) ++i;
        std::size_t exp_digits = 0;
        while (i < n && std::isdigit(static_cast<unsigned char>(v[i]))) ++i, ++exp_digits;
        if (exp_digits == 0) return std::nullopt;
    }
    if (i != n) return std::nullopt;
    return json(std::strtod(v.c_str(), nullptr));
}

class DocumentBuilder : public YAML::EventHandler {
public:
    DocumentBuilder(const std::string& file, const YamlLimits& limits, util::Diagnostics& diags)
        : m_marks(file), m_limits(limits), m_diags(diags), m_file(file)
    {
    }

    bool failed() const { return m_failed; }
    bool empty() const { return !m_have_root || m_root.is_null(); }
    Document take() { return Document{std::move(m_root), std::move(m_marks)}; }

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override
    {
        if (key_expected(mark, "null")) return;
        add(json(), mark, anchor, 1);
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override
    {
        auto it = m_anchors.find(anchor);
        if (it == m_anchors.end()) {
            error(mark, "unknown alias");
            return;
        }
        if (!m_stack.empty() && m_stack.back().value.is_object() && !m_stack.back().key) {
            error(mark, "an alias cannot be used as a map key");
            return;
        }
        add(it->second.first, mark, 0, it->second.second);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override
    {
        if (!m_stack.empty() && m_stack.back().value.is_object() && !m_stack.back().key) {
            if (m_failed) return;
            Frame& frame = m_stack.back();
            if (frame.value.contains(value)) {
                error(mark, "duplicate key \"" + value + "\"");
                return;
            }
            frame.key = value;
            frame.key_mark = mark;
            return;
        }
        add(resolve(mark, tag, value), mark, anchor, 1);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override
    {
        open(json::array(), mark, anchor);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override
    {
        open(json::object(), mark, anchor);
    }
    void OnMapEnd() override { close(); }

private:
    struct Frame {
        json value;
        std::string pointer;
        YAML::anchor_t anchor = 0;
        std::size_t nodes = 1;
        std::optional<std::string> key;  // set between a map key and its value
        YAML::Mark key_mark;
    };

    bool key_expected(const YAML::Mark& mark, const char* what)
    {
        if (!m_stack.empty() && m_stack.back().value.is_object() && !m_stack.back().key) {
            error(mark, fmt::format("a {} cannot be used as a map key", what));
            return true;
        }
        return false;
    }

    json resolve(const YAML::Mark& mark, const std::string& tag, const std::string& value)
    {
        if (tag == "!" || tag == "tag:yaml.org,2002:str") return json(value);
        if (tag == "?") {
            if (is_null_plain(value)) return json();
            if (auto b = bool_plain(value)) return json(*b);
            std::string range_error;
            if (auto i = int_plain(value, range_error)) {
                if (!range_error.empty()) error(mark, range_error);
                return *i;
            }
            if (auto f = float_plain(value)) return *f;
            return json(value);
        }
        if (tag == "tag:yaml.org,2002:int") {
            std::string range_error;
            auto i = int_plain(value, range_error);
            if (!i || !range_error.empty()) error(mark, "not an integer: " + value);
            return i ? *i : json();
        }
        if (tag == "tag:yaml.org,2002:float") {
            auto f = float_plain(value);
            if (!f) error(mark, "not a number: " + value);
            return f ? *f : json();
        }
        if (tag == "tag:yaml.org,2002:bool") {
            auto b = bool_plain(value);
            if (!b) error(mark, "not a boolean: " + value);
            return b ? json(*b) : json();
        }
        if (tag == "tag:yaml.org,2002:null") return json();
        error(mark, "unsupported tag " + tag);
        return json(value);
    }

    std::string child_pointer(const YAML::Mark& mark, YAML::Mark& where)
    {
        where = mark;
        if (m_stack.empty()) return "";
        Frame& parent = m_stack.back();
        if (parent.value.is_array()) return pointer_join(parent.pointer, std::to_string(parent.value.size()));
        where = parent.key_mark;
        return pointer_join(parent.pointer, *parent.key);
    }

    void open(json empty, const YAML::Mark& mark, YAML::anchor_t anchor)
    {
        if (key_expected(mark, "map or sequence")) {
            // Keep the stack balanced so that the matching end event pops this frame.
            m_stack.push_back(Frame{std::move(empty), "", 0, 1, std::string("\x01complex-key"), mark});
            return;
        }
        if (static_cast<int>(m_stack.size()) >= m_limits.max_depth) {
            error(mark, fmt::format("nesting deeper than {} levels", m_limits.max_depth));
        }
        YAML::Mark where;
        std::string pointer = child_pointer(mark, where);
        m_marks.add(pointer, where.line + 1, where.column + 1);
        m_stack.push_back(Frame{std::move(empty), std::move(pointer), anchor, 1, std::nullopt, {}});
    }

    void close()
    {
        Frame frame = std::move(m_stack.back());
        m_stack.pop_back();
        if (frame.key && *frame.key == "\x01complex-key") return;
        attach(std::move(frame.value), frame.anchor, frame.nodes);
    }

    void add(json value, const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t nodes)
    {
        YAML::Mark where;
        std::string pointer = child_pointer(mark, where);
        m_marks.add(pointer, where.line + 1, where.column + 1);
        attach(std::move(value), anchor, nodes);
    }

    void attach(json value, YAML::anchor_t anchor, std::size_t nodes)
    {
        m_total_nodes += nodes;
        if (m_total_nodes > m_limits.max_nodes && !m_node_limit_reported) {
            m_node_limit_reported = true;
            error(YAML::Mark{}, fmt::format("document has more than {} nodes (aliases expanded)", m_limits.max_nodes));
        }
        if (m_failed) value = json();  // stop growing a document that is already rejected
        if (anchor != 0) m_anchors[anchor] = {value, nodes};
        if (m_stack.empty()) {
            m_root = std::move(value);
            m_have_root = true;
            return;
        }
        Frame& parent = m_stack.back();
        parent.nodes += nodes;
        if (parent.value.is_array()) {
            parent.value.push_back(std::move(value));
        } else if (parent.key) {
            if (*parent.key != "\x01complex-key") parent.value[*parent.key] = std::move(value);
            parent.key.reset();
        }
    }

    void error(const YAML::Mark& mark, std::string message)
    {
        m_failed = true;
        m_diags.error({m_file, mark.line >= 0 ? mark.line + 1 : 0, mark.column >= 0 ? mark.column + 1 : 0}, "",
                      std::move(message));
    }

    SourceMap m_marks;
    const YamlLimits& m_limits;
    util::Diagnostics& m_diags;
    const std::string& m_file;
    std::vector<Frame> m_stack;
    std::unordered_map<YAML::anchor_t, std::pair<json, std::size_t>> m_anchors;
    json m_root;
    bool m_have_root = false;
    bool m_failed = false;
    bool m_node_limit_reported = false;
    std::size_t m_total_nodes = 0;
};

} // namespace

bool plain_scalar_is_string(const std::string& text)
{
    if (is_null_plain(text) || bool_plain(text)) return false;
    std::string range_error;
    return !int_plain(text, range_error) && !float_plain(text);
}

YamlReader::YamlReader(std::istream& in, std::string file, YamlLimits limits)
    : m_in(in), m_file(std::move(file)), m_limits(limits)
{
}

YamlReader::~YamlReader() = default;

std::optional<Document> YamlReader::next(util::Diagnostics& diags)
{
    while (!m_done) {
        DocumentBuilder builder(m_file, m_limits, diags);
        try {
            if (!m_parser) m_parser = std::make_unique<YAML::Parser>(m_in);
            if (!m_parser->HandleNextDocument(builder)) {
                m_done = true;
                return std::nullopt;
            }
        } catch (const YAML::Exception& e) {
            m_done = true;
            diags.error({m_file, e.mark.line + 1, e.mark.column + 1}, "", "invalid YAML: " + e.msg);
            return std::nullopt;
        }
        if (builder.failed() || builder.empty()) continue;
        return builder.take();
    }
    return std::nullopt;
}

} // namespace fleet::resource
