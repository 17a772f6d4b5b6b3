// YAML → JSON with positions.
//
// yaml-cpp's Parser emits events for one document per HandleNextDocument call; the
// DocumentBuilder below turns those events into an nlohmann::json value while
// recording, for every node, the JSON pointer and the line/column where it was
// written (for a map entry: where its key is). Plain scalars are typed by the
// YAML 1.2 core schema (null, bool, int, float, else string); quoted and block
// scalars are always strings. Anchors are remembered per document and aliases
// copy the anchored value, counted against the node and byte budgets so that an
// alias bomb stops with an error, before the copy is made, instead of exhausting
// memory. The input passes through a UTF-8 filter that ends it at the first byte
// that is not text; the reader then reports that byte instead of what yaml-cpp saw.

#include "core/resource/yaml_reader.hpp"

#include "core/resource/utf8.hpp"

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

/// What a node costs in the byte budget besides its text (the JSON value and its container entry).
constexpr std::size_t node_bytes = 48;

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
    /// Where the document's first token is.
    const YAML::Mark& start() const { return m_start; }

    void OnDocumentStart(const YAML::Mark& mark) override { m_start = mark; }
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override
    {
        if (key_expected(mark, "null")) return;
        charge(1, node_bytes, mark);
        add(json(), mark, anchor, 1, node_bytes);
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
        const Anchored& anchored = it->second;
        // Charged before the copy is made: a copy over budget is never built.
        if (m_failed || !charge(anchored.nodes, anchored.bytes, mark)) {
            add(json(), mark, 0, 1, node_bytes);
            return;
        }
        add(anchored.value, mark, 0, anchored.nodes, anchored.bytes);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override
    {
        if (!m_stack.empty() && m_stack.back().value.is_object() && !m_stack.back().key) {
            // The key is taken even after an error, so that what follows is still read as its value
            // (and not as the next key, which would bury the first error under false ones).
            Frame& frame = m_stack.back();
            if (!m_failed && frame.value.contains(value)) error(mark, "duplicate key \"" + value + "\"");
            frame.key = value;
            frame.key_mark = mark;
            frame.bytes += value.size();
            charge(0, value.size(), mark);
            return;
        }
        std::size_t bytes = node_bytes + value.size();
        if (!charge(1, bytes, mark)) return add(json(), mark, anchor, 1, node_bytes);
        add(resolve(mark, tag, value), mark, anchor, 1, bytes);
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
        std::size_t bytes = node_bytes;  // of the value, as an alias copying it would charge
        YAML::Mark mark;                 // where the map or sequence starts
    };

    /// An anchored value kept for its aliases, with what a copy of it costs.
    struct Anchored {
        json value;
        std::size_t nodes = 1;
        std::size_t bytes = node_bytes;
    };

    /// Counts nodes and bytes against the document's budgets; false (reported once, at mark) when over.
    bool charge(std::size_t nodes, std::size_t bytes, const YAML::Mark& mark)
    {
        m_total_nodes += nodes;
        m_total_bytes += bytes;
        if (m_total_nodes > m_limits.max_nodes || m_total_bytes > m_limits.max_bytes) {
            if (!m_budget_reported) {
                m_budget_reported = true;
                error(mark, m_total_nodes > m_limits.max_nodes
                                ? fmt::format("document has more than {} nodes (aliases expanded)", m_limits.max_nodes)
                                : fmt::format("document is larger than {} MiB (aliases expanded)",
                                              m_limits.max_bytes >> 20));
            }
            return false;
        }
        return true;
    }

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
            m_stack.push_back(Frame{std::move(empty), "", 0, 1, std::string("\x01complex-key"), mark, node_bytes, mark});
            return;
        }
        charge(1, node_bytes, mark);
        if (static_cast<int>(m_stack.size()) >= m_limits.max_depth) {
            error(mark, fmt::format("nesting deeper than {} levels", m_limits.max_depth));
        }
        YAML::Mark where;
        std::string pointer = child_pointer(mark, where);
        add_mark(pointer, where, mark);
        m_stack.push_back(Frame{std::move(empty), std::move(pointer), anchor, 1, std::nullopt, {}, node_bytes, mark});
    }

    void close()
    {
        Frame frame = std::move(m_stack.back());
        m_stack.pop_back();
        if (frame.key && *frame.key == "\x01complex-key") return;
        attach(std::move(frame.value), frame.mark, frame.anchor, frame.nodes, frame.bytes);
    }

    /// Records where a node is; the pointer text counts against the byte budget, as it is kept per node.
    void add_mark(const std::string& pointer, const YAML::Mark& where, const YAML::Mark& mark)
    {
        if (!charge(0, pointer.size() + node_bytes, mark)) return;
        m_marks.add(pointer, where.line + 1, where.column + 1);
    }

    void add(json value, const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t nodes, std::size_t bytes)
    {
        YAML::Mark where;
        std::string pointer = child_pointer(mark, where);
        add_mark(pointer, where, mark);
        attach(std::move(value), mark, anchor, nodes, bytes);
    }

    void attach(json value, const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t nodes, std::size_t bytes)
    {
        if (m_failed) value = json();  // stop growing a document that is already rejected
        // The copy kept for aliases is memory too.
        if (anchor != 0) {
            if (!m_failed && charge(0, bytes, mark))
                m_anchors[anchor] = Anchored{value, nodes, bytes};
            else
                m_anchors[anchor] = Anchored{};
        }
        if (m_stack.empty()) {
            m_root = std::move(value);
            m_have_root = true;
            return;
        }
        Frame& parent = m_stack.back();
        parent.nodes += nodes;
        parent.bytes += bytes;
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
    std::unordered_map<YAML::anchor_t, Anchored> m_anchors;
    json m_root;
    YAML::Mark m_start;
    bool m_have_root = false;
    bool m_failed = false;
    bool m_budget_reported = false;
    std::size_t m_total_nodes = 0;
    std::size_t m_total_bytes = 0;
};

} // namespace

bool plain_scalar_is_string(const std::string& text)
{
    if (is_null_plain(text) || bool_plain(text)) return false;
    std::string range_error;
    return !int_plain(text, range_error) && !float_plain(text);
}

YamlReader::YamlReader(std::istream& in, std::string file, YamlLimits limits)
    : m_file(std::move(file)), m_limits(limits), m_filter(std::make_unique<Utf8Filter>(in.rdbuf())),
      m_text(std::make_unique<std::istream>(m_filter.get()))
{
}

YamlReader::~YamlReader() = default;

std::optional<Document> YamlReader::next(util::Diagnostics& diags)
{
    while (!m_done) {
        // The document's own problems are kept apart: when the text turns out not to be UTF-8, the
        // document was cut at that byte and what yaml-cpp made of the rest means nothing.
        util::Diagnostics own;
        DocumentBuilder builder(m_file, m_limits, own);
        std::optional<YAML::Mark> syntax_error;
        std::string syntax_message;
        bool more = true;
        try {
            if (!m_parser) m_parser = std::make_unique<YAML::Parser>(*m_text);
            more = m_parser->HandleNextDocument(builder);
        } catch (const YAML::Exception& e) {
            syntax_error = e.mark;
            syntax_message = "invalid YAML: " + e.msg;
        }
        if (m_filter->failed()) {
            m_done = true;
            diags.error({m_file, m_filter->line(), m_filter->column()}, "", m_filter->message());
            return std::nullopt;
        }
        if (syntax_error) {
            m_done = true;
            diags.merge(own);
            diags.error({m_file, syntax_error->line + 1, syntax_error->column + 1}, "", syntax_message);
            return std::nullopt;
        }
        if (!more) {
            m_done = true;
            return std::nullopt;
        }
        // yaml-cpp reads a token it cannot start a node with (a ',' outside [ ] or { }) as an empty
        // document and leaves it in place: the next call would return the same document for ever.
        auto start = static_cast<std::size_t>(builder.start().pos);
        if (m_last_start && *m_last_start == start) {
            m_done = true;
            diags.error({m_file, builder.start().line + 1, builder.start().column + 1}, "",
                        "invalid YAML: unexpected ',' (outside [ ] or { }, a comma separates nothing)");
            return std::nullopt;
        }
        m_last_start = start;
        diags.merge(own);
        if (builder.failed() || builder.empty()) continue;
        return builder.take();
    }
    return std::nullopt;
}

} // namespace fleet::resource
