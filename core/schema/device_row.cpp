#include "core/schema/device_row.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

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
    RowChecker(const util::Location& where, util::Diagnostics& diags) : m_where(where), m_diags(diags) {}

    bool ok() const { return m_ok; }

    void error(const std::string& pointer, const std::string& message)
    {
        m_ok = false;
        m_diags.error(m_where, resource::field_path(pointer), message);
    }

    /// A string field: present (when required), UTF-8, within length, passing rule.
    void string(const std::string& value, const char* pointer, bool required, std::size_t max,
                bool (*rule)(std::string_view), const char* rule_text)
    {
        if (value.empty()) {
            std::string_view p(pointer);
            if (required) error(pointer, fmt::format("required field \"{}\" is missing", p.substr(p.rfind('/') + 1)));
            return;
        }
        text(value, pointer, max, rule, rule_text);
    }

    void text(const std::string& value, const std::string& pointer, std::size_t max, bool (*rule)(std::string_view),
              const char* rule_text)
    {
        if (!resource::valid_utf8(value)) return error(pointer, "not valid UTF-8 text");
        if (value.size() > max) return error(pointer, fmt::format("must be at most {} characters long", max));
        if (rule && !rule(value)) error(pointer, fmt::format("\"{}\" {}", value, rule_text));
    }

    /// A port cell: empty, or an integer from 1 to 65535.
    void port(const std::string& value, const std::string& pointer)
    {
        if (value.empty()) return;
        std::int64_t number = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (ec != std::errc() || ptr != value.data() + value.size())
            error(pointer, fmt::format("expected integer, got {}",
                                       nlohmann::json(value).dump(-1, ' ', false, json::error_handler_t::replace)));
        else if (number < 1 || number > 65535)
            error(pointer, fmt::format("must be between 1 and 65535, got {}", number));
    }

private:
    const util::Location& m_where;
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

bool validate_device_row(const resource::DeviceRow& row, const util::Location& where, util::Diagnostics& diags)
{
    using C = resource::DeviceRow::Column;
    RowChecker c(where, diags);
    c.string(row[C::name], "/metadata/name", true, 63, name_rule, name_text);
    c.string(row[C::tenant], "/metadata/tenant", false, 63, name_rule, name_text);
    for (const auto& [key, value] : row.label_pairs) {
        std::string pointer = resource::pointer_join("/metadata/labels", key);
        if (!model::valid_label_key(key))
            c.error(pointer, fmt::format("invalid label key \"{}\": an optional DNS-subdomain prefix and '/', then up "
                                         "to 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
                                         "or digit",
                                         key));
        else
            c.text(value, pointer, 63, label_value_rule,
                   "is not a valid label value: letters, digits, '-', '_' and '.', starting and ending with a "
                   "letter or digit");
    }
    c.string(row[C::device_type], "/spec/deviceType", true, 128, device_type_rule,
             "is not a valid device type: letters, digits, '.', '_', '+' and '-', starting with a letter or digit");
    c.string(row[C::identity_serial], "/spec/identity/serial", false, 128, nullptr, "");
    c.string(row[C::identity_mac], "/spec/identity/mac", false, 17, mac_rule, "is not a MAC address (aa:bb:cc:dd:ee:ff)");
    if (row.has_ssh()) {
        c.string(row[C::ssh_host], "/spec/ssh/host", true, 253, host_rule, "is not a host name or address");
        c.string(row[C::ssh_user], "/spec/ssh/user", false, 64, user_rule, "is not a valid user name");
        c.string(row[C::ssh_credential], "/spec/ssh/credential", false, 63, name_rule, name_text);
        c.port(row[C::ssh_port], "/spec/ssh/port");
        if (const auto& jump = row[C::ssh_jump]; !jump.empty()) {
            std::vector<resource::JumpCell> hops;
            std::string error;
            if (!resource::valid_utf8(jump)) {
                c.error("/spec/ssh/jump", "not valid UTF-8 text");
            } else if (!resource::parse_jump(jump, hops, error)) {
                c.error("/spec/ssh/jump", error);
            } else if (hops.size() > 8) {
                c.error("/spec/ssh/jump", fmt::format("at most 8 bastions, got {}", hops.size()));
            } else {
                for (std::size_t i = 0; i < hops.size(); ++i) {
                    std::string at = fmt::format("/spec/ssh/jump/{}", i);
                    c.text(hops[i].host, at + "/host", 253, host_rule, "is not a host name or address");
                    if (!hops[i].user.empty()) c.text(hops[i].user, at + "/user", 64, user_rule, "is not a valid user name");
                    c.port(hops[i].port, at + "/port");
                }
            }
        }
    }
    if (row.has_http()) {
        c.string(row[C::http_url], "/spec/http/url", true, 1024, url_rule, "is not an http:// or https:// URL");
        c.string(row[C::http_credential], "/spec/http/credential", false, 63, name_rule, name_text);
        c.string(row[C::http_profile], "/spec/http/profile", false, 16, profile_rule, "is not one of: generic, swupdate");
    }
    c.string(row[C::version_probe], "/spec/versionProbe", false, 4096, nullptr, "");
    return c.ok();
}

} // namespace fleet::schema
