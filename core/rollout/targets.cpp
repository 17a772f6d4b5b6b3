#include "core/rollout/targets.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "core/model/selector.hpp"
#include "core/query/query.hpp"
#include "core/rollout/schedule.hpp"
#include "core/rollout/state.hpp"
#include "core/tenancy/inheritance.hpp"

namespace fleet::rollout {

using nlohmann::json;
using store::RolloutDevice;
using util::ErrorKind;
using util::fail;
using util::Result;

Result<Loaded> load(store::Store& store, const std::string& tenant, const std::string& name)
{
    Loaded l;
    auto rollout = store.get(model::Kind::rollout, tenant, name);
    if (!rollout) return std::unexpected(rollout.error());
    if (!*rollout) return fail(ErrorKind::not_found, fmt::format("rollout/{} not found in tenant \"{}\"", name, tenant));
    l.rollout = std::move(**rollout);
    const json& spec = l.rollout.resource.spec;
    auto artifact_name = spec["artifact"].get<std::string>();
    auto artifact = store.get(model::Kind::artifact, tenant, artifact_name);
    if (!artifact) return std::unexpected(artifact.error());
    if (!*artifact)
        return fail(ErrorKind::not_found,
                    fmt::format("rollout/{}: artifact \"{}\" not found in tenant \"{}\"", name, artifact_name, tenant));
    l.artifact = std::move(**artifact);
    auto owner = store.get(model::Kind::tenant, "", tenant);
    if (!owner) return std::unexpected(owner.error());
    if (!*owner) return fail(ErrorKind::not_found, fmt::format("tenant/{} not found", tenant));
    l.tenant = std::move(**owner);
    l.strategy = spec.value("strategy", json::object());
    // Inherited from ancestors the caller may not see: the values apply to this tenant.
    auto structure = store.tenant_structure();
    if (!structure) return std::unexpected(structure.error());
    auto policy = tenancy::effective_policy(tenant, *structure);
    l.windows = rollout_windows(spec, policy);
    l.settings = policy.settings_json();
    if (policy.max_parallel) l.tenant_cap = policy.max_parallel->value.get<std::size_t>();
    return l;
}

/// Template values shared by every device of the rollout, and the per-device ones.
model::TemplateValues template_values(const Loaded& l, const model::Object& device, const std::string& remote_path)
{
    model::TemplateValues v;
    const auto& a = l.artifact.resource;
    v.values["artifact.path"] = remote_path;
    v.values["artifact.name"] = a.name;
    v.values["artifact.version"] = a.spec.value("version", "");
    v.values["artifact.sha256"] = a.spec.value("sha256", "");
    v.values["device.name"] = device.resource.name;
    v.values["device.type"] = device.resource.spec.value("deviceType", "");
    v.values["tenant.name"] = l.tenant.resource.name;
    for (const auto& [key, value] : l.settings.items())
        v.settings[key] = value.is_string() ? value.get<std::string>() : value.dump();
    return v;
}

std::string artifact_file_name(const Loaded& l)
{
    return std::filesystem::path(l.artifact.resource.spec.value("file", "")).filename().string();
}

Result<void> check_templates(const Loaded& l)
{
    const json& spec = l.rollout.resource.spec;
    model::Object probe;
    // The file name stands for {{artifact.path}}, so that a control character in it is found here.
    auto values = template_values(l, probe, artifact_file_name(l));
    for (const char* p : {"/install/ssh/command", "/install/ssh/uploadDir", "/install/http/path", "/verify/ssh/command",
                          "/verify/ssh/expect", "/verify/http/path", "/verify/http/expect"}) {
        auto text = spec.value(json::json_pointer(p), json());
        if (!text.is_string()) continue;
        bool shell = std::string_view(p).ends_with("/command");
        if (auto r = model::render_template(text.get<std::string>(), values, shell); !r) {
            std::string field = std::string("spec") + p;
            std::replace(field.begin(), field.end(), '/', '.');
            return fail(ErrorKind::usage,
                        fmt::format("rollout/{}: {}: {}", l.rollout.resource.name, field, r.error().message));
        }
    }
    return {};
}

Result<std::vector<RolloutDevice>> freeze(store::Store& store, const Loaded& l)
{
    const auto& r = l.rollout.resource;
    const json& targets = r.spec["targets"];
    std::vector<model::Object> devices;
    if (targets.contains("group")) {
        auto group = store.get(model::Kind::device_group, r.tenant, targets["group"].get<std::string>());
        if (!group) return std::unexpected(group.error());
        if (!*group)
            return fail(ErrorKind::not_found, fmt::format("rollout/{}: group \"{}\" not found", r.name,
                                                          targets["group"].get<std::string>()));
        auto members = query::group_members(store, **group);
        if (!members) return std::unexpected(members.error());
        for (const auto& name : *members) {
            auto d = store.get(model::Kind::device, r.tenant, name);
            if (!d) return std::unexpected(d.error());
            if (*d) devices.push_back(std::move(**d));
        }
    } else {
        auto selector = model::Selector::parse(targets["selector"].get<std::string>());
        if (!selector) return std::unexpected(selector.error());
        auto scan = store.scan(model::Kind::device, &r.tenant, [&](model::Object&& d) {
            if (selector->matches(d.resource.labels)) devices.push_back(std::move(d));
        });
        if (!scan) return std::unexpected(scan.error());
    }
    std::sort(devices.begin(), devices.end(),
              [](const auto& a, const auto& b) { return a.resource.name < b.resource.name; });

    auto status = store.device_status(&r.tenant);
    if (!status) return std::unexpected(status.error());
    const auto& artifact = l.artifact.resource.spec;
    auto version = artifact.value("version", "");
    json types = artifact.value("deviceTypes", json::array());
    bool force = r.spec.value("force", false);
    std::string now = model::now_utc();

    std::vector<RolloutDevice> out;
    std::vector<std::size_t> eligible;
    std::vector<std::string> busy;
    for (const auto& d : devices) {
        RolloutDevice row{r.tenant, r.name, d.resource.name, -1, store::DeviceState::skipped, "", 0, now, "", 0};
        auto type = d.resource.spec.value("deviceType", "");
        auto [transport, why] = pick_transport(r.spec, d.resource.spec);
        auto st = status->find({r.tenant, d.resource.name});
        if (!types.empty() && std::find(types.begin(), types.end(), json(type)) == types.end()) {
            row.reason = fmt::format("incompatible: device type {} is not one of the artifact's", type);
        } else if (transport.empty()) {
            row.reason = "incompatible: " + why;
        } else if (!force && st != status->end() && st->second.reported_version == version) {
            row.reason = "up-to-date: already at " + version;
        } else {
            auto others = store.active_rollouts_of(r.tenant, d.resource.name);
            if (!others) return std::unexpected(others.error());
            for (const auto& other : *others)
                if (other != r.name) busy.push_back(fmt::format("device/{} (in rollout/{})", d.resource.name, other));
            row.state = store::DeviceState::pending;
            eligible.push_back(out.size());
        }
        out.push_back(std::move(row));
    }
    if (!busy.empty())
        return fail(ErrorKind::conflict,
                    fmt::format("rollout/{}: {} device(s) are in another active rollout: {}", r.name, busy.size(),
                                fmt::join(busy, ", ")));
    auto phases = make_phases(l.strategy, eligible.size());
    std::size_t p = 0;
    for (std::size_t i = 0; i < eligible.size(); ++i) {
        while (i >= phases[p].end) ++p;
        out[eligible[i]].phase = static_cast<std::int64_t>(p);
    }
    return out;
}

} // namespace fleet::rollout
