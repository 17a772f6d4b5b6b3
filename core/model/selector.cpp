// A small recursive-descent parser for kubectl's label selector grammar:
//   selector    := requirement ( "," requirement )*
//   requirement := "!" key | key | key ("=" | "==" | "!=") value | key ("in" | "notin") "(" values ")"
// Keys and values are label tokens ([A-Za-z0-9._/-]); whitespace around tokens is ignored.

#include "core/model/selector.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace fleet::model {
namespace {

bool token_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
}

class Parser {
public:
    explicit Parser(std::string_view text) : m_text(text) {}

    void skip_space()
    {
        while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos]))) ++m_pos;
    }
    bool at_end()
    {
        skip_space();
        return m_pos >= m_text.size();
    }
    bool consume(std::string_view s)
    {
        skip_space();
        if (m_text.substr(m_pos, s.size()) != s) return false;
        m_pos += s.size();
        return true;
    }
    std::string token()
    {
        skip_space();
        std::size_t start = m_pos;
        while (m_pos < m_text.size() && token_char(m_text[m_pos])) ++m_pos;
        return std::string(m_text.substr(start, m_pos - start));
    }
    /// A keyword ("in", "notin") followed by "(".
    bool keyword(std::string_view word)
    {
        skip_space();
        std::size_t save = m_pos;
        if (token() == word && consume("(")) return true;
        m_pos = save;
        return false;
    }
    util::Error error(std::string_view what) const
    {
        return {util::ErrorKind::usage,
                fmt::format("invalid label selector \"{}\": {} at position {}", m_text, what, m_pos + 1)};
    }

private:
    std::string_view m_text;
    std::size_t m_pos = 0;
};

} // namespace

util::Result<Selector> Selector::parse(std::string_view text)
{
    Selector selector;
    Parser p(text);
    if (p.at_end()) return selector;
    while (true) {
        Requirement req;
        if (p.consume("!")) {
            req.key = p.token();
            req.op = Op::not_exists;
            if (req.key.empty()) return std::unexpected(p.error("expected a label key after '!'"));
        } else {
            req.key = p.token();
            if (req.key.empty()) return std::unexpected(p.error("expected a label key"));
            if (p.consume("==") || p.consume("=")) {
                req.op = Op::equals;
                req.values = {p.token()};
            } else if (p.consume("!=")) {
                req.op = Op::not_equals;
                req.values = {p.token()};
            } else if (p.keyword("notin")) {
                req.op = Op::not_in;
            } else if (p.keyword("in")) {
                req.op = Op::in;
            } else {
                req.op = Op::exists;
            }
            if (req.op == Op::in || req.op == Op::not_in) {
                do {
                    req.values.push_back(p.token());
                } while (p.consume(","));
                if (!p.consume(")")) return std::unexpected(p.error("expected ')'"));
            }
        }
        selector.m_requirements.push_back(std::move(req));
        if (p.at_end()) break;
        if (!p.consume(",")) return std::unexpected(p.error("expected ','"));
    }
    return selector;
}

bool Selector::matches(const nlohmann::json& labels) const
{
    for (const auto& r : m_requirements) {
        auto it = labels.find(r.key);
        bool has = it != labels.end() && it->is_string();
        std::string value = has ? it->get<std::string>() : std::string();
        bool listed = has && std::find(r.values.begin(), r.values.end(), value) != r.values.end();
        switch (r.op) {
        case Op::equals:
            if (!has || value != r.values[0]) return false;
            break;
        case Op::not_equals:
            if (has && value == r.values[0]) return false;
            break;
        case Op::in:
            if (!listed) return false;
            break;
        case Op::not_in:
            if (listed) return false;
            break;
        case Op::exists:
            if (!has) return false;
            break;
        case Op::not_exists:
            if (has) return false;
            break;
        }
    }
    return true;
}

} // namespace fleet::model
