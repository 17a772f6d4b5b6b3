#include "core/apply/settings_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/model/template.hpp"
#include "core/tenancy/inheritance.hpp"

namespace fleet::apply {

using nlohmann::json;

util::Result<void> check_rollout_settings(store::Store& store, const Plan& plan, util::Diagnostics& diags)
{
    bool any = std::any_of(plan.changes.begin(), plan.changes.end(), [](const Change& c) {
        return c.resource && c.op != Op::prune && c.resource->kind == model::Kind::rollout;
    });
    if (!any) return {};
    // Every tenant as the apply leaves it: stored (visible or not: settings are inherited from
    // ancestors the caller may not see), minus the pruned ones, with the input's versions on top.
    auto structure = store.tenant_structure();
    if (!structure) return std::unexpected(structure.error());
    std::map<std::string, const json*> specs;
    for (const auto& t : *structure) specs[t.resource.name] = &t.resource.spec;
    for (const auto& r : plan.pruned)
        if (r.kind == model::Kind::tenant) specs.erase(r.name);
    for (const auto& r : plan.desired)
        if (r.kind == model::Kind::tenant) specs[r.name] = &r.spec;
    auto spec_of = [&](const std::string& name) -> const json* {
        auto it = specs.find(name);
        return it == specs.end() ? nullptr : it->second;
    };

    std::size_t errors_before = diags.error_count();
    for (const auto& c : plan.changes) {
        if (!c.resource || c.op == Op::prune || c.resource->kind != model::Kind::rollout) continue;
        const auto& r = *c.resource;
        auto policy = tenancy::effective_policy(r.tenant, spec_of);
        for (const char* pointer : {"/spec/install/ssh/command", "/spec/install/ssh/uploadDir",
                                    "/spec/install/http/path", "/spec/verify/ssh/command", "/spec/verify/ssh/expect",
                                    "/spec/verify/http/path", "/spec/verify/http/expect"}) {
            auto text = r.spec.value(json::json_pointer(std::string(pointer).substr(5)), json());
            if (!text.is_string()) continue;
            std::string field = std::string(pointer).substr(1);
            std::replace(field.begin(), field.end(), '/', '.');
            for (const auto& key : model::template_settings(text.get<std::string>()))
                if (!policy.settings.contains(key))
                    diags.error(r.location(pointer), field,
                                fmt::format("{}: template variable \"tenant.settings.{}\": tenant \"{}\" has no "
                                            "setting \"{}\", neither its own nor inherited",
                                            r.ref(), key, r.tenant, key));
        }
    }
    if (diags.error_count() != errors_before) return util::fail(util::ErrorKind::usage, "invalid references");
    return {};
}

} // namespace fleet::apply
