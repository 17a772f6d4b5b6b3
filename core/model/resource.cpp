#include "core/model/resource.hpp"

#include <array>
#include <cctype>

namespace fleet::model {
namespace {

struct KindInfo {
    Kind kind;
    std::string_view name;
    std::string_view singular;
    std::string_view plural;
    std::string_view short_form;
};

constexpr std::array<KindInfo, 6> kinds{{
    {Kind::tenant, "Tenant", "tenant", "tenants", "tenant"},
    {Kind::device, "Device", "device", "devices", "dev"},
    {Kind::device_group, "DeviceGroup", "devicegroup", "devicegroups", "group"},
    {Kind::credential, "Credential", "credential", "credentials", "cred"},
    {Kind::artifact, "Artifact", "artifact", "artifacts", "artifact"},
    {Kind::rollout, "Rollout", "rollout", "rollouts", "rollout"},
}};

const KindInfo& info(Kind kind)
{
    for (const auto& k : kinds)
        if (k.kind == kind) return k;
    return kinds[0];
}

} // namespace

std::string_view kind_name(Kind kind) { return info(kind).name; }
std::string_view kind_short(Kind kind) { return info(kind).singular; }

std::optional<Kind> parse_kind(std::string_view text)
{
    std::string lower;
    for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& k : kinds) {
        if (text == k.name || lower == k.singular || lower == k.plural || lower == k.short_form) return k.kind;
        if (k.kind == Kind::device_group && lower == "groups") return k.kind;
        if (lower == std::string(k.short_form) + "s") return k.kind;  // "creds", "devs"
    }
    return std::nullopt;
}

std::vector<std::string> kind_spellings()
{
    std::vector<std::string> out;
    for (const auto& k : kinds) {
        out.emplace_back(k.singular);
        out.emplace_back(k.plural);
        if (k.short_form != k.singular) out.emplace_back(k.short_form);
        if (k.kind == Kind::device_group) out.emplace_back("groups");
    }
    return out;
}

std::string Resource::ref() const { return std::string(kind_short(kind)) + "/" + name; }

bool valid_name(std::string_view name)
{
    if (name.empty() || name.size() > 63) return false;
    auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!ok(name.front()) || !ok(name.back())) return false;
    for (char c : name)
        if (!ok(c) && c != '-') return false;
    return true;
}

namespace {

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

} // namespace

bool valid_label_key(std::string_view key)
{
    std::string_view name = key;
    if (auto slash = key.find('/'); slash != std::string_view::npos) {
        std::string_view prefix = key.substr(0, slash);
        name = key.substr(slash + 1);
        if (prefix.empty() || prefix.size() > 253) return false;
        auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
        if (!lower_alnum(prefix.front()) || !lower_alnum(prefix.back())) return false;
        for (char c : prefix)
            if (!lower_alnum(c) && c != '-' && c != '.') return false;
    }
    if (name.empty() || name.size() > 63 || !alnum(name.front()) || !alnum(name.back())) return false;
    for (char c : name)
        if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

bool valid_setting_key(std::string_view key)
{
    if (key.empty() || key.size() > 128) return false;
    if (!std::isalpha(static_cast<unsigned char>(key.front())) && key.front() != '_') return false;
    for (char c : key)
        if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

} // namespace fleet::model
