#include "core/apply/in_use.hpp"

#include <fmt/format.h>

namespace fleet::apply {

bool uses(const model::Resource& user, model::Kind kind, const std::string& name)
{
    const auto& spec = user.spec;
    switch (kind) {
    case model::Kind::credential:
        if (user.kind != model::Kind::device) return false;
        for (const char* transport : {"ssh", "http"})
            if (auto it = spec.find(transport); it != spec.end() && it->is_object() && it->value("credential", "") == name)
                return true;
        return false;
    case model::Kind::artifact:
        return user.kind == model::Kind::rollout && spec.value("artifact", "") == name;
    case model::Kind::device_group:
        if (user.kind != model::Kind::rollout) return false;
        if (auto targets = spec.find("targets"); targets != spec.end() && targets->is_object())
            return targets->value("group", "") == name;
        return false;
    default: return false;
    }
}

std::optional<model::Kind> user_kind(model::Kind kind)
{
    switch (kind) {
    case model::Kind::credential: return model::Kind::device;
    case model::Kind::artifact:
    case model::Kind::device_group: return model::Kind::rollout;
    default: return std::nullopt;
    }
}

std::string users_text(const std::vector<std::string>& refs, std::size_t shown)
{
    std::string out;
    std::size_t named = refs.size() > shown ? shown : refs.size();
    for (std::size_t i = 0; i < named; ++i) {
        if (i > 0) out += (i + 1 == named && refs.size() == named) ? " and " : ", ";
        out += refs[i];
    }
    if (refs.size() > named) out += fmt::format(" and {} more", refs.size() - named);
    return out;
}

} // namespace fleet::apply
