#include "core/tenancy/inheritance.hpp"

#include <set>

namespace fleet::tenancy {

using nlohmann::json;

json Policy::settings_json() const
{
    json out = json::object();
    for (const auto& [key, v] : settings) out[key] = v.value;
    return out;
}

json Policy::windows_json() const { return windows ? windows->value : json::array(); }

Policy effective_policy(const std::string& tenant, const SpecOf& spec_of)
{
    Policy policy;
    std::set<std::string> seen;  // a cycle (refused on apply) must not loop here
    for (std::string at = tenant; !at.empty() && seen.insert(at).second;) {
        const json* spec = spec_of(at);
        if (!spec) break;
        if (auto s = spec->find("settings"); s != spec->end() && s->is_object())
            for (const auto& [key, value] : s->items()) policy.settings.try_emplace(key, Inherited{value, at});
        if (!policy.windows)
            if (auto p = spec->find("updatePolicy"); p != spec->end() && p->is_object())
                if (auto w = p->find("windows"); w != p->end() && w->is_array()) policy.windows = Inherited{*w, at};
        if (!policy.max_parallel)
            if (auto p = spec->find("updatePolicy"); p != spec->end() && p->is_object())
                if (auto m = p->find("maxParallel"); m != p->end() && m->is_number_integer())
                    policy.max_parallel = Inherited{*m, at};
        at = spec->value("parent", "");
    }
    return policy;
}

Policy effective_policy(const std::string& tenant, const std::vector<model::Object>& tenants)
{
    std::map<std::string, const json*> specs;
    for (const auto& t : tenants) specs[t.resource.name] = &t.resource.spec;
    return effective_policy(tenant, [&](const std::string& name) -> const json* {
        auto it = specs.find(name);
        return it == specs.end() ? nullptr : it->second;
    });
}

} // namespace fleet::tenancy
