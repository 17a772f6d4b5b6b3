#include "core/rollout/progress.hpp"

#include <fmt/format.h>

#include "core/rollout/state.hpp"
#include "core/util/clock.hpp"

namespace fleet::rollout {

using nlohmann::json;
using util::ErrorKind;
using util::fail;
using util::Result;

int exit_code(Ending ending)
{
    switch (ending) {
    case Ending::completed: return 0;
    case Ending::completed_with_failures: return 1;
    case Ending::paused: return 0;
    case Ending::paused_by_threshold: return util::exit_code(ErrorKind::conflict);
    case Ending::aborted: return 1;
    case Ending::interrupted: return util::exit_code(ErrorKind::interrupted);
    }
    return 1;
}

Result<Progress> progress(store::Store& store, const std::string& tenant, const std::string& name)
{
    auto tx = store.begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto rollout = store.get(model::Kind::rollout, tenant, name);
    if (!rollout) return std::unexpected(rollout.error());
    if (!*rollout) return fail(ErrorKind::not_found, fmt::format("rollout/{} not found in tenant \"{}\"", name, tenant));
    auto run = store.rollout_run(tenant, name);
    if (!run) return std::unexpected(run.error());
    auto devices = store.rollout_devices(tenant, name);
    if (!devices) return std::unexpected(devices.error());
    const json& spec = (*rollout)->resource.spec;
    auto strategy = spec.value("strategy", json::object());
    auto phases = make_phases(strategy, eligible_count(*devices));
    auto p = summarize(*run ? &**run : nullptr, phases, *devices, true);
    auto outputs = store.device_outputs(tenant, "", "rollout/" + name);
    if (!outputs) return std::unexpected(outputs.error());
    p.outputs = std::move(*outputs);
    // The stored state says what the last runner decided; what is true now also depends on the
    // clock (notBefore, windows) and on whether a live runner holds the lease.
    auto state = current_state(store, **rollout, *run);
    if (!state) return std::unexpected(state.error());
    p.state = state->state;
    p.reason = state->reason;
    auto now = util::system_clock().unix_seconds();
    if (*run) p.runner = lease_holder(**run, now);
    std::map<std::string, std::size_t> counts;
    for (const auto& d : *devices) {
        if (!in_flight(d.state) || !lease_live(d.claim_owner, d.claim_expires, now)) continue;
        auto who = describe_owner(d.claim_owner);
        p.held_by[d.device] = who;
        ++counts[who];
    }
    p.runners.assign(counts.begin(), counts.end());
    return p;
}

} // namespace fleet::rollout
