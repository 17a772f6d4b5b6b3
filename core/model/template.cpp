#include "core/model/template.hpp"

#include <fmt/format.h>

#include <algorithm>

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

/// Calls on_text for literal parts and on_var for each variable name, in order.
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
            return util::fail(util::ErrorKind::usage, fmt::format("\"{{{{\" at offset {} is never closed", open));
        if (auto r = on_var(trim(text.substr(open + 2, close - open - 2))); !r) return r;
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

} // namespace

util::Result<void> check_template(std::string_view text)
{
    return walk(text, [](std::string_view) {}, check_name);
}

std::vector<std::string> template_problems(std::string_view text)
{
    std::vector<std::string> problems;
    auto r = walk(text, [](std::string_view) {}, [&](std::string_view name) -> util::Result<void> {
        if (auto c = check_name(name); !c) problems.push_back(c.error().message);
        return {};  // go on: every unknown variable is reported
    });
    if (!r) problems.push_back(r.error().message);
    return problems;
}

std::vector<std::string> template_settings(std::string_view text)
{
    std::vector<std::string> keys;
    auto r = walk(text, [](std::string_view) {}, [&](std::string_view name) -> util::Result<void> {
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
    std::string out;
    auto r = walk(
        text, [&](std::string_view literal) { out += literal; },
        [&](std::string_view name) -> util::Result<void> {
            if (auto c = check_name(name); !c) return c;
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
            std::string v = value ? *value : std::string();
            out += shell ? shell_quote(v) : v;
            return {};
        });
    if (!r) return std::unexpected(r.error());
    return out;
}

} // namespace fleet::model
