#pragma once
// A rollout's targets: what a run reads once (the rollout, its artifact, the tenant's effective
// policy), the template values of a device, and the freezing of the target list with phases at
// the first start (SPEC §8: later changes to the selector or group do not move a started rollout).

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/object.hpp"
#include "core/model/template.hpp"
#include "core/store/store.hpp"

namespace fleet::rollout {

/// What a rollout needs from the store, read once per run.
struct Loaded {
    model::Object rollout;
    model::Object artifact;
    model::Object tenant;
    nlohmann::json strategy;
    nlohmann::json windows;   ///< effective maintenance windows; empty: any time
    nlohmann::json settings;  ///< the tenant's effective settings, inherited ones included
    std::size_t tenant_cap = 0;  ///< updatePolicy.maxParallel (effective): devices of the tenant in flight at most; 0: none
};

/// Reads the rollout, its artifact and its tenant's effective policy (not_found naming the missing one).
util::Result<Loaded> load(store::Store& store, const std::string& tenant, const std::string& name);

/// The template values of one device ({{artifact.*}}, {{device.*}}, {{tenant.name}}, settings);
/// remote_path is what {{artifact.path}} stands for.
model::TemplateValues template_values(const Loaded& l, const model::Object& device, const std::string& remote_path);

/// The artifact's file name, which {{artifact.path}} ends in.
std::string artifact_file_name(const Loaded& l);

/// Checks that every template of the rollout renders for its tenant (before anything is pushed);
/// a usage error naming the field otherwise.
util::Result<void> check_templates(const Loaded& l);

/// Resolves the targets, sorts out the skipped ones (incompatible, up to date) and assigns phases:
/// the first start's work. Conflict when an eligible device is in another active rollout.
util::Result<std::vector<store::RolloutDevice>> freeze(store::Store& store, const Loaded& l);

inline const store::RolloutDevice& device_of(const store::RolloutDevice& d) { return d; }
inline const store::RolloutDevice& device_of(const std::pair<const std::string, store::RolloutDevice>& item)
{
    return item.second;
}

/// How many targets are not skipped (those have a phase).
template <class Devices>
std::size_t eligible_count(const Devices& devices)
{
    return static_cast<std::size_t>(
        std::count_if(devices.begin(), devices.end(), [](const auto& d) { return device_of(d).phase >= 0; }));
}

} // namespace fleet::rollout
