#include "core/query/jsonpath.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <variant>

namespace fleet::query {

using nlohmann::json;
using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

using Values = std::vector<const json*>;

/// How deeply filters and ranges may nest: far beyond any template a person writes, and well inside
/// the stack that parsing and rendering them recursively use.
constexpr int max_nesting = 32;

struct Path;

/// `[?(@.field op literal)]`, or `[?(@.field)]` (present and neither null nor false).
struct Filter {
    std::shared_ptr<Path> left;
    std::string op;  ///< empty: existence
    json literal;
};

/// One step of a path.
struct Step {
    enum class Type { child, wildcard, descend, indexes, names, filter } type;
    explicit Step(Type t) : type(t) {}
    std::string name;                                   ///< child; descend: the field ("" for `..*`)
    struct Slice { std::optional<long> start, end, step; bool is_slice = false; };
    std::vector<Slice> indexes;                         ///< `[0]`, `[1:3]`, `[0,2]`
    std::vector<std::vector<std::string>> names;        ///< `['a', 'b.c']`: each a path of fields
    Filter filter;
};

struct Path {
    bool from_root = false;  ///< `$`: the document, not the current value of a range
    std::vector<Step> steps;
};

/// "column 7": where in the template (or expression) a mistake is; the caller names the template.
std::string fmt_column(std::string_view, std::size_t pos) { return fmt::format("column {}", pos + 1); }

/// Parses one expression (the text between braces, or a filter's operand) from pos.
class PathParser {
public:
    /// depth: how many filters enclose this path (bounded: a filter holds a path that may hold a filter).
    PathParser(std::string_view text, std::size_t pos, int depth = 0) : m_text(text), m_pos(pos), m_depth(depth) {}

    Result<Path> parse(std::string_view stop_chars)
    {
        if (m_depth > max_nesting) return error("filters nested too deeply");
        Path path;
        skip_spaces();
        if (peek() == '$') path.from_root = true, ++m_pos;
        else if (peek() == '@') ++m_pos;
        while (m_pos < m_text.size() && stop_chars.find(m_text[m_pos]) == std::string_view::npos) {
            char c = m_text[m_pos];
            if (c == '.' && peek(1) == '.') {
                m_pos += 2;
                Step s{Step::Type::descend};
                if (peek() == '*') ++m_pos;
                else if (peek() != '[') {
                    auto name = field_name();
                    if (!name) return std::unexpected(name.error());
                    s.name = *name;
                }
                path.steps.push_back(std::move(s));
            } else if (c == '.') {
                ++m_pos;
                if (peek() == '*') {
                    ++m_pos;
                    path.steps.push_back(Step{Step::Type::wildcard});
                    continue;
                }
                auto name = field_name();
                if (!name) return std::unexpected(name.error());
                Step s{Step::Type::child};
                s.name = *name;
                path.steps.push_back(std::move(s));
            } else if (c == '[') {
                auto s = bracket();
                if (!s) return std::unexpected(s.error());
                path.steps.push_back(std::move(*s));
            } else if (c == ' ' || c == '\t') {
                skip_spaces();
                if (m_pos < m_text.size() && stop_chars.find(m_text[m_pos]) == std::string_view::npos)
                    return error("unexpected text after the expression");
            } else {
                return error(fmt::format("unexpected '{}' (a field needs a leading '.' or brackets)", c));
            }
        }
        return path;
    }

    std::size_t pos() const { return m_pos; }

private:
    std::string_view m_text;
    std::size_t m_pos;
    int m_depth;

    char peek(std::size_t ahead = 0) const { return m_pos + ahead < m_text.size() ? m_text[m_pos + ahead] : '\0'; }
    void skip_spaces()
    {
        while (peek() == ' ' || peek() == '\t') ++m_pos;
    }
    std::unexpected<util::Error> error(const std::string& what) const
    {
        return fail(ErrorKind::usage, fmt::format("{} at {}", what, fmt_column(m_text, m_pos)));
    }

    /// A field name after '.': up to the next '.', '[', space or closing character; `\x` is x.
    Result<std::string> field_name()
    {
        std::string name;
        while (m_pos < m_text.size()) {
            char c = m_text[m_pos];
            if (c == '\\' && m_pos + 1 < m_text.size()) {
                name += m_text[m_pos + 1];
                m_pos += 2;
                continue;
            }
            if (c == '.' || c == '[' || c == ']' || c == '}' || c == '{' || c == ' ' || c == '\t' || c == ')' ||
                c == '=' || c == '!' || c == '<' || c == '>' || c == ',')
                break;
            name += c;
            ++m_pos;
        }
        if (name.empty()) return error("a field name is missing");
        return name;
    }

    /// A quoted string at m_pos ('…' or "…", with \-escapes); keep_dot_escapes leaves `\.` in
    /// place for the caller to split fields on the other dots.
    Result<std::string> quoted(bool keep_dot_escapes)
    {
        char quote = m_text[m_pos++];
        std::string out;
        while (m_pos < m_text.size() && m_text[m_pos] != quote) {
            char c = m_text[m_pos++];
            if (c == '\\' && m_pos < m_text.size()) {
                char e = m_text[m_pos++];
                switch (e) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case '.': out += keep_dot_escapes ? "\\." : "."; break;
                default: out += e; break;
                }
                continue;
            }
            out += c;
        }
        if (m_pos >= m_text.size()) return error("unterminated string");
        ++m_pos;
        return out;
    }

    Result<long> integer()
    {
        std::size_t start = m_pos;
        if (peek() == '-') ++m_pos;
        while (peek() >= '0' && peek() <= '9') ++m_pos;
        std::string digits(m_text.substr(start, m_pos - start));
        if (digits.empty() || digits == "-") return error("a number is expected");
        if (digits.size() > 18) return error("the number is too large");
        return std::stol(digits);
    }

    Result<Step> bracket()
    {
        ++m_pos;  // '['
        skip_spaces();
        if (peek() == '*') {
            ++m_pos;
            skip_spaces();
            if (peek() != ']') return error("']' expected");
            ++m_pos;
            return Step{Step::Type::wildcard};
        }
        if (peek() == '?') {
            ++m_pos;
            if (peek() != '(') return error("'(' expected after '?'");
            ++m_pos;
            auto f = filter();
            if (!f) return std::unexpected(f.error());
            skip_spaces();
            if (peek() != ')') return error("')' expected to close the filter");
            ++m_pos;
            skip_spaces();
            if (peek() != ']') return error("']' expected");
            ++m_pos;
            Step s{Step::Type::filter};
            s.filter = std::move(*f);
            return s;
        }
        if (peek() == '\'' || peek() == '"') {
            Step s{Step::Type::names};
            for (;;) {
                skip_spaces();
                if (peek() != '\'' && peek() != '"') return error("a quoted field name is expected");
                auto name = quoted(true);
                if (!name) return std::unexpected(name.error());
                std::vector<std::string> fields{""};  // split on dots that were not escaped
                for (std::size_t i = 0; i < name->size(); ++i) {
                    if ((*name)[i] == '\\' && i + 1 < name->size() && (*name)[i + 1] == '.') fields.back() += '.', ++i;
                    else if ((*name)[i] == '.') fields.emplace_back();
                    else fields.back() += (*name)[i];
                }
                s.names.push_back(std::move(fields));
                skip_spaces();
                if (peek() == ',') {
                    ++m_pos;
                    continue;
                }
                if (peek() != ']') return error("']' expected");
                ++m_pos;
                return s;
            }
        }
        Step s{Step::Type::indexes};
        for (;;) {
            skip_spaces();
            Step::Slice slice;
            for (int part = 0; part < 3; ++part) {
                skip_spaces();
                if (peek() != ':' && peek() != ']' && peek() != ',') {
                    auto n = integer();
                    if (!n) return std::unexpected(n.error());
                    (part == 0 ? slice.start : part == 1 ? slice.end : slice.step) = *n;
                }
                skip_spaces();
                if (peek() != ':') break;
                slice.is_slice = true;
                ++m_pos;
            }
            if (!slice.is_slice && !slice.start) return error("an index, a slice, '*', a quoted name or a filter is expected");
            if (slice.step && *slice.step == 0) return error("a slice's step cannot be 0");
            s.indexes.push_back(slice);
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() != ']') return error("']' expected");
            ++m_pos;
            return s;
        }
    }

    Result<Filter> filter()
    {
        skip_spaces();
        if (peek() != '@' && peek() != '$') return error("a filter starts with @");
        PathParser left(m_text, m_pos, m_depth + 1);
        auto path = left.parse("=!<>)");
        if (!path) return std::unexpected(path.error());
        m_pos = left.pos();
        Filter f;
        f.left = std::make_shared<Path>(std::move(*path));
        skip_spaces();
        if (peek() == ')') return f;
        for (const char* op : {"==", "!=", "<=", ">=", "<", ">"})
            if (m_text.substr(m_pos).starts_with(op)) {
                f.op = op;
                m_pos += f.op.size();
                break;
            }
        if (f.op.empty()) return error("a comparison (==, !=, <, <=, >, >=) is expected");
        skip_spaces();
        if (peek() == '\'' || peek() == '"') {
            auto s = quoted(false);
            if (!s) return std::unexpected(s.error());
            f.literal = *s;
            return f;
        }
        std::size_t start = m_pos;
        while (m_pos < m_text.size() && m_text[m_pos] != ')' && m_text[m_pos] != ' ') ++m_pos;
        auto word = m_text.substr(start, m_pos - start);
        if (word == "true" || word == "false") f.literal = word == "true";
        else if (word == "null") f.literal = nullptr;
        else {
            f.literal = json::parse(word, nullptr, false);
            if (!f.literal.is_number()) return error(fmt::format("'{}' is not a number, a quoted string, true, false or null", word));
        }
        return f;
    }
};

// ---- evaluation ----------------------------------------------------------------------------------

Values evaluate(const Path& path, const json& root, const json& current);

void descendants(const json& v, Values& out)
{
    out.push_back(&v);
    if (v.is_object() || v.is_array())
        for (const auto& child : v) descendants(child, out);
}

/// -1 < 0 < 1 for a and b of comparable types; nullopt when they do not compare.
std::optional<int> compare(const json& a, const json& b)
{
    if (a.is_number() && b.is_number()) {
        double x = a.get<double>(), y = b.get<double>();
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.is_string() && b.is_string()) {
        int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (a.type() == b.type() && (a.is_boolean() || a.is_null())) return a == b ? 0 : (a < b ? -1 : 1);
    return std::nullopt;
}

bool passes(const Filter& f, const json& root, const json& item)
{
    auto left = evaluate(*f.left, root, item);
    if (f.op.empty())
        return std::any_of(left.begin(), left.end(), [](const json* v) { return !v->is_null() && *v != false; });
    for (const json* v : left) {
        auto c = compare(*v, f.literal);
        if (f.op == "!=") {
            if (!c || *c != 0) return true;
            continue;
        }
        if (!c) continue;
        if ((f.op == "==" && *c == 0) || (f.op == "<" && *c < 0) || (f.op == "<=" && *c <= 0) ||
            (f.op == ">" && *c > 0) || (f.op == ">=" && *c >= 0))
            return true;
    }
    return false;
}

void apply_indexes(const Step& s, const json& v, Values& out)
{
    if (!v.is_array()) return;
    long size = static_cast<long>(v.size());
    auto clamp = [size](long i) { return std::clamp(i < 0 ? i + size : i, 0L, size); };
    for (const auto& sl : s.indexes) {
        if (!sl.is_slice) {
            long i = *sl.start < 0 ? *sl.start + size : *sl.start;
            if (i >= 0 && i < size) out.push_back(&v[static_cast<std::size_t>(i)]);
            continue;
        }
        long step = sl.step.value_or(1);
        if (step > 0) {
            for (long i = sl.start ? clamp(*sl.start) : 0, end = sl.end ? clamp(*sl.end) : size; i < end; i += step)
                out.push_back(&v[static_cast<std::size_t>(i)]);
        } else {
            long start = sl.start ? std::min(clamp(*sl.start), size - 1) : size - 1;
            long end = sl.end ? clamp(*sl.end) : -1;
            for (long i = start; i > end; i += step) out.push_back(&v[static_cast<std::size_t>(i)]);
        }
    }
}

const json* field(const json& v, const std::vector<std::string>& fields)
{
    const json* at = &v;
    for (const auto& f : fields) {
        if (!at->is_object()) return nullptr;
        auto it = at->find(f);
        if (it == at->end()) return nullptr;
        at = &*it;
    }
    return at;
}

Values evaluate(const Path& path, const json& root, const json& current)
{
    Values now{path.from_root ? &root : &current};
    for (const auto& s : path.steps) {
        Values next;
        // A union gives each of its branches over every value in turn, as kubectl does:
        // `.items[*]['metadata.name', 'status.capacity']` lists every name, then every capacity.
        if (s.type == Step::Type::names) {
            for (const auto& fields : s.names)
                for (const json* v : now)
                    if (const json* f = field(*v, fields)) next.push_back(f);
            now = std::move(next);
            continue;
        }
        if (s.type == Step::Type::indexes && s.indexes.size() > 1) {
            for (const auto& branch : s.indexes) {
                Step one{Step::Type::indexes};
                one.indexes = {branch};
                for (const json* v : now) apply_indexes(one, *v, next);
            }
            now = std::move(next);
            continue;
        }
        for (const json* v : now) {
            switch (s.type) {
            case Step::Type::child:
                if (const json* f = field(*v, {s.name})) next.push_back(f);
                break;
            case Step::Type::wildcard:
                if (v->is_object() || v->is_array())
                    for (const auto& child : *v) next.push_back(&child);
                break;
            case Step::Type::descend: {
                Values all;
                descendants(*v, all);
                for (const json* d : all) {
                    if (s.name.empty()) {
                        if (d != v) next.push_back(d);
                    } else if (const json* f = field(*d, {s.name})) {
                        next.push_back(f);
                    }
                }
                break;
            }
            case Step::Type::indexes: apply_indexes(s, *v, next); break;
            case Step::Type::names: break;  // above
            case Step::Type::filter:
                if (v->is_array()) {
                    for (const auto& item : *v)
                        if (passes(s.filter, root, item)) next.push_back(&item);
                } else if (v->is_object() && passes(s.filter, root, *v)) {
                    next.push_back(v);
                }
                break;
            }
        }
        now = std::move(next);
    }
    return now;
}

} // namespace

// ---- templates -----------------------------------------------------------------------------------

/// One piece of a template: literal text, an expression to print, or a range with its body.
struct JsonPathNode {
    enum class Type { text, print, range } type;
    std::string text;
    Path path;
    std::vector<std::unique_ptr<JsonPathNode>> body;
};

namespace {

void render_nodes(const std::vector<std::unique_ptr<JsonPathNode>>& nodes, const json& root, const json& current,
                  std::string& out)
{
    for (const auto& n : nodes) {
        switch (n->type) {
        case JsonPathNode::Type::text: out += n->text; break;
        case JsonPathNode::Type::print: {
            bool first = true;
            for (const json* v : evaluate(n->path, root, current)) {
                if (!first) out += ' ';
                out += jsonpath_text(*v);
                first = false;
            }
            break;
        }
        case JsonPathNode::Type::range:
            for (const json* v : evaluate(n->path, root, current)) render_nodes(n->body, root, *v, out);
            break;
        }
    }
}

/// The end of the expression that starts after the '{' at open: the matching '}', skipping quotes.
std::optional<std::size_t> closing_brace(std::string_view text, std::size_t open)
{
    char quote = 0;
    for (std::size_t i = open + 1; i < text.size(); ++i) {
        char c = text[i];
        if (quote) {
            if (c == '\\') ++i;
            else if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '\\') {
            ++i;
        } else if (c == '}') {
            return i;
        }
    }
    return std::nullopt;
}

std::string_view trimmed(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

} // namespace

JsonPath::JsonPath() = default;
JsonPath::JsonPath(JsonPath&&) noexcept = default;
JsonPath& JsonPath::operator=(JsonPath&&) noexcept = default;
JsonPath::~JsonPath() = default;

Result<JsonPath> JsonPath::parse(std::string_view text)
{
    JsonPath out;
    // The node lists being filled: the template's, then each open range's body.
    std::vector<std::vector<std::unique_ptr<JsonPathNode>>*> open{&out.m_nodes};
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t brace = text.find('{', pos);
        if (brace != pos) {
            auto n = std::make_unique<JsonPathNode>(JsonPathNode{JsonPathNode::Type::text, {}, {}, {}});
            n->text = std::string(text.substr(pos, brace == std::string_view::npos ? text.size() - pos : brace - pos));
            open.back()->push_back(std::move(n));
            if (brace == std::string_view::npos) break;
        }
        auto close = closing_brace(text, brace);
        if (!close) return fail(ErrorKind::usage, fmt::format("'{{' without its '}}' at {}", fmt_column(text, brace)));
        std::string_view inside = trimmed(text.substr(brace + 1, *close - brace - 1));
        std::size_t inside_at = static_cast<std::size_t>(inside.data() - text.data());
        pos = *close + 1;
        if (inside == "end") {
            if (open.size() == 1) return fail(ErrorKind::usage, fmt::format("{{end}} without a {{range}} at {}", fmt_column(text, brace)));
            open.pop_back();
            continue;
        }
        if (inside.empty()) return fail(ErrorKind::usage, fmt::format("an empty expression at {}", fmt_column(text, brace)));
        if (inside.front() == '"' || inside.front() == '\'') {  // a string literal: {"\t"}
            std::string value;
            char quote = inside.front();
            std::size_t i = 1;
            for (; i < inside.size() && inside[i] != quote; ++i) {
                if (inside[i] == '\\' && i + 1 < inside.size()) {
                    char e = inside[++i];
                    value += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
                } else {
                    value += inside[i];
                }
            }
            if (i + 1 != inside.size())
                return fail(ErrorKind::usage, fmt::format("a string literal must be the whole expression at {}", fmt_column(text, inside_at)));
            auto n = std::make_unique<JsonPathNode>(JsonPathNode{JsonPathNode::Type::text, {}, {}, {}});
            n->text = std::move(value);
            open.back()->push_back(std::move(n));
            continue;
        }
        bool range = inside.starts_with("range ") || inside.starts_with("range\t");
        std::size_t expr_at = inside_at + (range ? 6 : 0);
        PathParser parser(text.substr(0, *close), expr_at);
        auto path = parser.parse("");
        if (!path) return std::unexpected(path.error());
        auto n = std::make_unique<JsonPathNode>(
            JsonPathNode{range ? JsonPathNode::Type::range : JsonPathNode::Type::print, {}, std::move(*path), {}});
        auto* body = &n->body;
        open.back()->push_back(std::move(n));
        if (range) {
            if (open.size() > static_cast<std::size_t>(max_nesting))
                return fail(ErrorKind::usage, fmt::format("{{range}} nested too deeply at {}", fmt_column(text, brace)));
            open.push_back(body);
        }
    }
    if (open.size() > 1) return fail(ErrorKind::usage, "{range} without its {end}");
    return out;
}

Result<JsonPath> JsonPath::parse_expression(std::string_view text)
{
    std::string_view expr = trimmed(text);
    if (expr.size() >= 2 && expr.front() == '{' && expr.back() == '}') expr = trimmed(expr.substr(1, expr.size() - 2));
    if (expr.empty()) return fail(ErrorKind::usage, "an empty expression");
    std::string full = "{";
    if (expr.front() != '.' && expr.front() != '[' && expr.front() != '$' && expr.front() != '@') full += '.';
    full += std::string(expr) + "}";
    auto path = parse(full);
    if (!path) return std::unexpected(path.error());
    if (path->m_nodes.size() != 1 || path->m_nodes[0]->type != JsonPathNode::Type::print)
        return fail(ErrorKind::usage, fmt::format("\"{}\" is not one JSONPath expression", text));
    return path;
}

std::string JsonPath::render(const json& document) const
{
    std::string out;
    render_nodes(m_nodes, document, document, out);
    return out;
}

std::vector<const json*> JsonPath::values(const json& document) const
{
    if (m_nodes.empty() || m_nodes[0]->type != JsonPathNode::Type::print) return {};
    return evaluate(m_nodes[0]->path, document, document);
}

std::string jsonpath_text(const json& value)
{
    return value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<CustomColumns> CustomColumns::parse(std::string_view spec)
{
    CustomColumns out;
    std::size_t pos = 0;
    while (pos <= spec.size()) {
        // A column ends at a comma outside brackets and quotes (`['a','b']` holds commas).
        std::size_t end = pos;
        int depth = 0;
        char quote = 0;
        for (; end < spec.size(); ++end) {
            char c = spec[end];
            if (quote) {
                if (c == '\\') ++end;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') quote = c;
            else if (c == '[' || c == '{' || c == '(') ++depth;
            else if (c == ']' || c == '}' || c == ')') --depth;
            else if (c == ',' && depth == 0) break;
        }
        std::string_view column = spec.substr(pos, end - pos);
        auto colon = column.find(':');
        if (colon == std::string_view::npos || colon == 0 || colon + 1 == column.size())
            return fail(ErrorKind::usage, fmt::format("custom-columns: \"{}\" is not HEADER:EXPRESSION (e.g. "
                                                      "NAME:.metadata.name,TYPE:.spec.deviceType)",
                                                      column));
        auto path = JsonPath::parse_expression(column.substr(colon + 1));
        if (!path) return fail(ErrorKind::usage, fmt::format("custom-columns: column {}: {}", column.substr(0, colon), path.error().message));
        out.headers.emplace_back(column.substr(0, colon));
        out.paths.push_back(std::move(*path));
        pos = end + 1;
    }
    return out;
}

std::vector<std::string> CustomColumns::row(const json& object) const
{
    std::vector<std::string> cells;
    for (const auto& p : paths) {
        std::string cell;
        for (const json* v : p.values(object)) cell += (cell.empty() ? "" : ",") + jsonpath_text(*v);
        cells.push_back(cell.empty() ? "<none>" : cell);
    }
    return cells;
}

bool sort_before(const json* a, const json* b)
{
    auto rank = [](const json* v) {
        if (!v) return 0;
        switch (v->type()) {
        case json::value_t::null: return 1;
        case json::value_t::boolean: return 2;
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float: return 3;
        case json::value_t::string: return 4;
        default: return 5;
        }
    };
    int ra = rank(a), rb = rank(b);
    if (ra != rb) return ra < rb;
    if (ra == 0 || ra == 1) return false;
    if (ra == 5) return a->dump() < b->dump();
    auto c = compare(*a, *b);
    return c && *c < 0;
}

} // namespace fleet::query
