#include "core/schema/device_row.hpp"

#include <fmt/format.h>

#include <cctype>

#include "core/model/resource.hpp"

namespace fleet::schema {

using nlohmann::json;

namespace {

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool chars_in(std::string_view s, std::string_view extra)
{
    for (char c : s)
        if (!alnum(c) && extra.find(c) == std::string_view::npos) return false;
    return true;
}

class RowChecker {
public:
    RowChecker(const resource::Document& doc, util::Diagnostics& diags) : m_doc(doc), m_diags(diags) {}

    bool ok() const { return m_ok; }

    void error(const std::string& pointer, const std::string& message)
    {
        m_ok = false;
        m_diags.error(m_doc.marks.locate(pointer), resource::field_path(pointer), message);
    }

    /// The value at a pointer of plain keys ("/spec/ssh/port"), or null; no allocation on the way.
    const json* at(std::string_view pointer)
    {
        const json* node = &m_doc.value;
        std::size_t pos = 0;
        while (pos < pointer.size()) {
            std::size_t next = pointer.find('/', pos + 1);
            auto key = pointer.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1);
            if (!node->is_object()) return nullptr;
            auto it = node->find(key);
            if (it == node->end()) return nullptr;
            node = &*it;
            if (next == std::string_view::npos) break;
            pos = next;
        }
        return node;
    }

    /// A string field: present (when required), a string, within length, passing rule.
    void string(const std::string& pointer, bool required, std::size_t max, bool (*rule)(std::string_view),
                const char* rule_text)
    {
        const json* v = at(pointer);
        if (!v) {
            if (required) error(pointer, fmt::format("required field \"{}\" is missing", pointer.substr(pointer.rfind('/') + 1)));
            return;
        }
        if (!v->is_string()) return error(pointer, fmt::format("expected string, got {}", v->dump()));
        const auto& s = v->get_ref<const std::string&>();
        if (s.size() > max) return error(pointer, fmt::format("must be at most {} characters long", max));
        if (rule && !rule(s)) error(pointer, fmt::format("\"{}\" {}", s, rule_text));
    }

private:
    const resource::Document& m_doc;
    util::Diagnostics& m_diags;
    bool m_ok = true;
};

bool name_rule(std::string_view s) { return model::valid_name(s); }
bool device_type_rule(std::string_view s) { return !s.empty() && alnum(s[0]) && chars_in(s, "._+-"); }
bool host_rule(std::string_view s) { return !s.empty() && chars_in(s, "._:[]-"); }
bool user_rule(std::string_view s)
{
    return !s.empty() && (alnum(s[0]) || s[0] == '_') && s.size() <= 64 && chars_in(s, "._-");
}
bool url_rule(std::string_view s)
{
    if (!s.starts_with("http://") && !s.starts_with("https://")) return false;
    auto rest = s.substr(s.find("://") + 3);
    if (rest.empty()) return false;
    for (char c : s)
        if (std::isspace(static_cast<unsigned char>(c))) return false;
    return true;
}
bool mac_rule(std::string_view s)
{
    if (s.size() != 17) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (i % 3 == 2 ? s[i] != ':' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    return true;
}
bool label_value_rule(std::string_view s)
{
    return s.empty() || (alnum(s.front()) && alnum(s.back()) && chars_in(s, "-_."));
}
bool profile_rule(std::string_view s) { return s == "generic" || s == "swupdate"; }

constexpr const char* name_text = "is not a valid name: use lower-case letters, digits and '-', at most 63 "
                                  "characters, starting and ending with a letter or digit";

} // namespace

bool validate_device_row(const resource::Document& doc, util::Diagnostics& diags)
{
    RowChecker c(doc, diags);
    c.string("/metadata/name", true, 63, name_rule, name_text);
    c.string("/metadata/tenant", false, 63, name_rule, name_text);
    if (const json* labels = c.at("/metadata/labels"))
        for (const auto& [key, value] : labels->items())
            c.string(resource::pointer_join("/metadata/labels", key), false, 63, label_value_rule,
                     "is not a valid label value: letters, digits, '-', '_' and '.', starting and ending with a "
                     "letter or digit");
    c.string("/spec/deviceType", true, 128, device_type_rule,
             "is not a valid device type: letters, digits, '.', '_', '+' and '-', starting with a letter or digit");
    c.string("/spec/identity/serial", false, 128, nullptr, "");
    c.string("/spec/identity/mac", false, 17, mac_rule, "is not a MAC address (aa:bb:cc:dd:ee:ff)");
    if (c.at("/spec/ssh")) {
        c.string("/spec/ssh/host", true, 253, host_rule, "is not a host name or address");
        c.string("/spec/ssh/user", false, 64, user_rule, "is not a valid user name");
        c.string("/spec/ssh/credential", false, 63, name_rule, name_text);
        if (const json* port = c.at("/spec/ssh/port")) {
            if (!port->is_number_integer())
                c.error("/spec/ssh/port", fmt::format("expected integer, got {}", port->dump()));
            else if (port->get<std::int64_t>() < 1 || port->get<std::int64_t>() > 65535)
                c.error("/spec/ssh/port", fmt::format("must be between 1 and 65535, got {}", port->dump()));
        }
    }
    if (c.at("/spec/http")) {
        c.string("/spec/http/url", true, 2048, url_rule, "is not an http:// or https:// URL");
        c.string("/spec/http/credential", false, 63, name_rule, name_text);
        c.string("/spec/http/profile", false, 16, profile_rule, "is not one of: generic, swupdate");
    }
    c.string("/spec/versionProbe", false, 4096, nullptr, "");
    return c.ok();
}

} // namespace fleet::schema
