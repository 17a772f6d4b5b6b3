#include "core/apply/rollout_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/model/selector.hpp"
#include "core/rollout/state.hpp"

namespace fleet::apply {

using nlohmann::json;

namespace {

/// True when the rollout would reach this device over HTTP with the generic profile but has no
/// install step for it: what the runner would otherwise skip as "incompatible".
bool lacks_http_install(const json& rollout_spec, const json& device_spec)
{
    if (!rollout::pick_transport(rollout_spec, device_spec).first.empty()) return false;
    // No install step reaches it: refused here when its generic HTTP endpoint is the reason.
    auto wanted = rollout_spec.value("transport", "auto");
    return (wanted == "auto" || wanted == "http") && device_spec.contains("http") &&
           device_spec["http"].value("profile", "generic") == "generic" &&
           !rollout_spec.value("install", json::object()).contains("http");
}

} // namespace

util::Result<void> check_rollout_installs(store::Store& store, const Plan& plan, util::Diagnostics& diags)
{
    std::vector<const model::Resource*> rollouts;
    for (const auto& c : plan.changes)
        if (c.resource && (c.op == Op::create || c.op == Op::configure) && c.resource->kind == model::Kind::rollout)
            rollouts.push_back(c.resource);
    if (rollouts.empty()) return {};

    std::size_t errors_before = diags.error_count();
    for (const model::Resource* r : rollouts) {
        // The tenant's devices and groups as the apply leaves them: stored, minus pruned, with
        // the input's versions on top. Keyed by name.
        std::map<std::string, json> devices, groups;  // name → {labels, spec}
        for (auto kind : {model::Kind::device, model::Kind::device_group}) {
            auto& into = kind == model::Kind::device ? devices : groups;
            auto scan = store.scan(kind, &r->tenant, [&](model::Object&& o) {
                into[o.resource.name] = {{"labels", o.resource.labels}, {"spec", std::move(o.resource.spec)}};
            });
            if (!scan) return std::unexpected(scan.error());
            for (const auto& p : plan.pruned)
                if (p.kind == kind && p.tenant == r->tenant) into.erase(p.name);
            for (const auto& d : plan.desired)
                if (d.kind == kind && d.tenant == r->tenant) into[d.name] = {{"labels", d.labels}, {"spec", d.spec}};
        }

        const json targets = r->spec.value("targets", json::object());
        std::set<std::string> members;
        auto add_matching = [&](const std::string& text) -> util::Result<void> {
            auto selector = model::Selector::parse(text);
            if (!selector) return std::unexpected(selector.error());
            for (const auto& [name, d] : devices)
                if (selector->matches(d["labels"])) members.insert(name);
            return {};
        };
        if (targets.contains("selector")) {
            if (auto m = add_matching(targets["selector"].get<std::string>()); !m) return m;
        } else if (targets.contains("group")) {
            auto g = groups.find(targets["group"].get<std::string>());
            if (g == groups.end()) continue;  // a missing group is reported by the reference checks
            const json& gspec = g->second["spec"];
            if (gspec.contains("selector")) {
                if (auto m = add_matching(gspec["selector"].get<std::string>()); !m) return m;
            } else {
                for (const auto& name : gspec.value("devices", json::array()))
                    if (devices.count(name.get<std::string>())) members.insert(name.get<std::string>());
            }
        }

        std::vector<std::string> refused;
        for (const auto& name : members)
            if (lacks_http_install(r->spec, devices[name]["spec"])) refused.push_back("device/" + name);
        if (refused.empty()) continue;
        std::string listed = fmt::format("{}", fmt::join(refused.begin(), refused.begin() + std::min<std::size_t>(refused.size(), 5), ", "));
        if (refused.size() > 5) listed += fmt::format(" and {} more", refused.size() - 5);
        diags.error(r->location("/spec/install"), "spec.install.http",
                    fmt::format("{}: {} target device(s) are reached over HTTP with the generic profile, which needs "
                                "the rollout's install.http step: {} (add spec.install.http, or give the devices "
                                "the swupdate profile)",
                                r->ref(), refused.size(), listed));
    }
    if (diags.error_count() != errors_before) return util::fail(util::ErrorKind::usage, "invalid rollouts");
    return {};
}

} // namespace fleet::apply
