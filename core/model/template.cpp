#include "core/model/template.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "core/model/resource.hpp"

namespace fleet::model {

namespace {

constexpr std::string_view settings_prefix = "tenant.settings.";

std::string_view trim(std::string_view s)
{
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

/// Calls on_text for literal parts and on_var(name, offset) for each variable, in order.
template <class Text, class Var>
util::Result<void> walk(std::string_view text, Text on_text, Var on_var)
{
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto open = text.find("{{", pos);
        if (open == std::string_view::npos) {
            on_text(text.substr(pos));
            break;
        }
        on_text(text.substr(pos, open - pos));
        auto close = text.find("}}", open + 2);
        if (close == std::string_view::npos)
            return util::fail(util::ErrorKind::usage, fmt::format("\"{{{{\" at character {} is never closed", open + 1));
        if (auto r = on_var(trim(text.substr(open + 2, close - open - 2)), open); !r) return r;
        pos = close + 2;
    }
    return {};
}

util::Result<void> check_name(std::string_view name)
{
    if (std::ranges::find(template_variables, name) != std::end(template_variables)) return {};
    if (name.starts_with(settings_prefix) && valid_setting_key(name.substr(settings_prefix.size()))) return {};
    return util::fail(util::ErrorKind::usage,
                      fmt::format("unknown template variable \"{}\"; known: {}, tenant.settings.KEY", name,
                                  fmt::join(template_variables, ", ")));
}

/// The first control character of text (other than tab, newline and carriage return when
/// allow_layout), or npos.
std::size_t find_control(std::string_view text, bool allow_layout)
{
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (allow_layout && (c == '\t' || c == '\n' || c == '\r')) continue;
        if (c < 0x20 || c == 0x7f) return i;
    }
    return std::string_view::npos;
}

/// Follows the quoting of a POSIX shell command while its literal text is read, far enough to tell
/// where a variable placed next would stand. Whatever it does not model as safe is refused: a
/// wrong guess may refuse a good command, never let a value become syntax.
class ShellContext {
public:
    /// Where a variable placed now stands.
    enum class Where { unquoted, double_quoted, refused };

    /// Reads literal command text.
    void feed(std::string_view text)
    {
        for (std::size_t i = 0; i < text.size(); ++i) {
            char c = text[i];
            char next = i + 1 < text.size() ? text[i + 1] : '\0';
            char after = i + 2 < text.size() ? text[i + 2] : '\0';
            Ctx top = m_stack.back();
            if (m_escaped) {
                m_escaped = false;
                m_last = 'x';
                continue;
            }
            if (m_comment) {
                if (c == '\n') m_comment = false;
                m_last = c;
                continue;
            }
            switch (top) {
            case Ctx::single: if (c == '\'') m_stack.pop_back(); break;
            case Ctx::ansi:
                if (c == '\\') m_escaped = true;
                else if (c == '\'') m_stack.pop_back();
                break;
            case Ctx::dquote:
                if (c == '\\') m_escaped = true;
                else if (c == '"') m_stack.pop_back();
                else if (c == '`') m_stack.push_back(Ctx::backtick);
                else if (c == '$') i += dollar(next, after);
                break;
            default:  // unquoted: top level, $( ), ( ), ` `, $(( )), ${ }
                if (c == '#' && word_start(m_last)) m_comment = true;
                else if (c == '\\') m_escaped = true;
                else if (c == '\'') m_stack.push_back(Ctx::single);
                else if (c == '"') m_stack.push_back(Ctx::dquote);
                else if (c == '`' && top == Ctx::backtick) m_stack.pop_back();
                else if (c == '`') m_stack.push_back(Ctx::backtick);
                else if (c == '$' && next == '\'') m_stack.push_back(Ctx::ansi), ++i;
                else if (c == '$' && next == '"') m_stack.push_back(Ctx::dquote), ++i;  // bash's $"…"
                else if (c == '$') i += dollar(next, after);
                else if (c == '(' && next == '(' && top != Ctx::arith) m_stack.push_back(Ctx::arith), ++i;
                else if (c == '(') m_stack.push_back(Ctx::paren);
                else if (c == ')' && (top == Ctx::paren || top == Ctx::subst)) m_stack.pop_back();
                else if (c == ')' && top == Ctx::arith && next == ')') m_stack.pop_back(), ++i;
                else if (c == '}' && top == Ctx::brace) m_stack.pop_back();
                break;
            }
            m_last = text[i];
        }
    }

    /// Where a variable placed now stands, with why when it is refused.
    std::pair<Where, std::string_view> here() const
    {
        if (m_escaped) return {Where::refused, "right after a backslash"};
        if (m_last == '$' && !m_comment) return {Where::refused, "right after '$'"};
        for (Ctx c : m_stack) {
            if (c == Ctx::arith) return {Where::refused, "inside shell arithmetic, which evaluates values as code"};
            if (c == Ctx::backtick) return {Where::refused, "inside backquotes; use $(...) instead"};
            if (c == Ctx::brace) return {Where::refused, "inside ${...}"};
        }
        switch (m_stack.back()) {
        case Ctx::single:
            return {Where::refused, "inside single quotes, where it would be literal text or break out of them; "
                                    "write it outside quotes or inside double quotes"};
        case Ctx::ansi: return {Where::refused, "inside $'...'"};
        case Ctx::dquote: return {Where::double_quoted, ""};
        default: return {Where::unquoted, ""};
        }
    }

private:
    enum class Ctx { top, dquote, single, ansi, backtick, subst, paren, arith, brace };

    static bool word_start(char last)
    {
        return last == ' ' || last == '\t' || last == '\n' || last == ';' || last == '&' || last == '|' ||
               last == '(' || last == ')';
    }

    /// A '$' followed by next and after: opens $( ), $(( )) or ${ }; returns the characters consumed
    /// beyond the '$'.
    std::size_t dollar(char next, char after)
    {
        if (next == '(' && after == '(') return m_stack.push_back(Ctx::arith), 2;
        if (next == '(') return m_stack.push_back(Ctx::subst), 1;
        if (next == '{') return m_stack.push_back(Ctx::brace), 1;
        return 0;
    }

    std::vector<Ctx> m_stack{Ctx::top};
    bool m_escaped = false;
    bool m_comment = false;
    char m_last = ' ';
};

/// Checks the literal text of a template: no control characters apart from layout.
util::Result<void> check_literal(std::string_view text)
{
    if (auto at = find_control(text, true); at != std::string_view::npos)
        return util::fail(util::ErrorKind::usage,
                          fmt::format("control character 0x{:02x} at character {}", static_cast<unsigned char>(text[at]),
                                      at + 1));
    return {};
}

util::Result<void> placement(const ShellContext& shell, std::string_view name, std::size_t offset,
                             ShellContext::Where& where)
{
    auto [w, why] = shell.here();
    where = w;
    if (w != ShellContext::Where::refused) return {};
    return util::fail(util::ErrorKind::usage,
                      fmt::format("{{{{{}}}}} at character {} is {}: a substituted value must never become shell "
                                  "syntax",
                                  name, offset + 1, why));
}

} // namespace

util::Result<void> check_template(std::string_view text, bool shell)
{
    if (auto r = check_literal(text); !r) return r;
    ShellContext context;
    return walk(
        text, [&](std::string_view literal) { context.feed(literal); },
        [&](std::string_view name, std::size_t offset) -> util::Result<void> {
            if (auto r = check_name(name); !r) return r;
            ShellContext::Where where;
            if (shell) return placement(context, name, offset, where);
            return {};
        });
}

bool template_uses(std::string_view text, std::string_view name)
{
    bool used = false;
    (void)walk(
        text, [](std::string_view) {},
        [&](std::string_view var, std::size_t) -> util::Result<void> {
            used = used || var == name;
            return {};
        });
    return used;
}

std::vector<std::string> template_problems(std::string_view text)
{
    std::vector<std::string> problems;
    auto r = walk(text, [](std::string_view) {}, [&](std::string_view name, std::size_t) -> util::Result<void> {
        if (auto c = check_name(name); !c) problems.push_back(c.error().message);
        return {};  // go on: every unknown variable is reported
    });
    if (!r) problems.push_back(r.error().message);
    return problems;
}

std::vector<std::string> template_settings(std::string_view text)
{
    std::vector<std::string> keys;
    auto r = walk(text, [](std::string_view) {}, [&](std::string_view name, std::size_t) -> util::Result<void> {
        if (name.starts_with(settings_prefix)) keys.emplace_back(name.substr(settings_prefix.size()));
        return {};
    });
    if (!r) return {};
    return keys;
}

std::string shell_quote(std::string_view value)
{
    std::string out = "'";
    for (char c : value) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    out += '\'';
    return out;
}

util::Result<std::string> render_template(std::string_view text, const TemplateValues& values, bool shell)
{
    if (auto r = check_literal(text); !r) return std::unexpected(r.error());
    std::string prefix;                      // FLEET_V1='…' FLEET_V2='…'; (shell only)
    std::vector<std::string_view> defined;   // variable names, FLEET_V1 first
    std::string out;
    ShellContext context;
    auto r = walk(
        text,
        [&](std::string_view literal) {
            out += literal;
            if (shell) context.feed(literal);
        },
        [&](std::string_view name, std::size_t offset) -> util::Result<void> {
            if (auto c = check_name(name); !c) return c;
            ShellContext::Where where = ShellContext::Where::unquoted;
            if (shell)
                if (auto p = placement(context, name, offset, where); !p) return p;
            const std::string* value = nullptr;
            if (name.starts_with(settings_prefix)) {
                auto it = values.settings.find(name.substr(settings_prefix.size()));
                if (it == values.settings.end())
                    return util::fail(util::ErrorKind::usage,
                                      fmt::format("template variable \"{}\": the tenant has no such setting", name));
                value = &it->second;
            } else if (auto it = values.values.find(name); it != values.values.end()) {
                value = &it->second;
            }
            std::string_view v = value ? std::string_view(*value) : std::string_view();
            if (auto at = find_control(v, false); at != std::string_view::npos)
                return util::fail(util::ErrorKind::usage,
                                  fmt::format("template variable \"{}\": its value holds control character 0x{:02x}, "
                                              "which is refused so that no value can change a command",
                                              name, static_cast<unsigned char>(v[at])));
            if (!shell) {
                out += v;
                return {};
            }
            auto it = std::ranges::find(defined, name);
            std::size_t index = static_cast<std::size_t>(it - defined.begin()) + 1;
            if (it == defined.end()) {
                defined.push_back(name);
                prefix += fmt::format("FLEET_V{}={} ", index, shell_quote(v));
            }
            out += where == ShellContext::Where::double_quoted ? fmt::format("${{FLEET_V{}}}", index)
                                                               : fmt::format("\"${{FLEET_V{}}}\"", index);
            return {};
        });
    if (!r) return std::unexpected(r.error());
    if (prefix.empty()) return out;
    prefix.back() = ';';
    return prefix + " " + out;
}

} // namespace fleet::model
