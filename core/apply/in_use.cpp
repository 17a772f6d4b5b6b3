#include "core/apply/in_use.hpp"

#include <fmt/format.h>

namespace fleet::apply {

std::vector<CredentialReference> credential_references(const nlohmann::json& spec)
{
    std::vector<CredentialReference> refs;
    if (!spec.is_object()) return refs;
    for (const char* transport : {"ssh", "http"}) {
        auto endpoint = spec.find(transport);
        if (endpoint == spec.end() || !endpoint->is_object()) continue;
        if (auto c = endpoint->find("credential"); c != endpoint->end() && c->is_string())
            refs.push_back({transport, fmt::format("/spec/{}/credential", transport), fmt::format("spec.{}.credential", transport),
                            c->get<std::string>()});
        auto jump = endpoint->find("jump");
        if (jump == endpoint->end() || !jump->is_array()) continue;
        for (std::size_t i = 0; i < jump->size(); ++i)
            if (auto c = (*jump)[i].find("credential"); (*jump)[i].is_object() && c != (*jump)[i].end() && c->is_string())
                refs.push_back({transport, fmt::format("/spec/{}/jump/{}/credential", transport, i),
                                fmt::format("spec.{}.jump[{}].credential", transport, i), c->get<std::string>()});
    }
    return refs;
}

bool uses(const model::Resource& user, model::Kind kind, const std::string& name)
{
    const auto& spec = user.spec;
    switch (kind) {
    case model::Kind::credential:
        if (user.kind != model::Kind::device) return false;
        for (const auto& ref : credential_references(spec))
            if (ref.name == name) return true;
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
