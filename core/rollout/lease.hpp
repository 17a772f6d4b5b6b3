#pragma once
// A rollout's run and its lease (SPEC §8, §10): the first start freezes the targets and stores the
// run; a runner then holds the run's lease (who works on it, for `rollout status`) and claims on
// the devices it works on, renewed by its heartbeat and given back when it stops.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/rollout/progress.hpp"
#include "core/rollout/targets.hpp"
#include "core/store/store.hpp"
#include "core/util/clock.hpp"

namespace fleet::rollout {

/// A new owner for a lease and claims: "host pid token", then " name" for a named runner; the
/// token tells two runs of one process apart.
std::string new_lease_owner(const std::string& runner_name);

/// What begin() found or made: the rollout, its run and its target devices.
struct Begun {
    Loaded loaded;
    store::RolloutRun run;
    std::vector<store::RolloutDevice> devices;
    bool created = false;            ///< this call froze the targets and stored the run
    std::optional<Ending> already;   ///< the run is not running (paused, aborted, completed)
};

/// Starts a rollout (freezes its targets and stores its run, state running) unless it was started
/// before; then, when owner is set and the run is running, takes the run's lease unless a live
/// runner holds it (then the caller joins that runner: devices are claimed one by one). One write
/// transaction, so two runners never both freeze the targets. An empty owner queues the rollout.
util::Result<Begun> begin(store::Store& store, const std::string& tenant, const std::string& name,
                          const std::string& owner, std::chrono::seconds lease, const util::Clock& clock);

/// The heartbeat's write: renews owner's claims on the rollout's devices (when it holds any) and
/// the run's lease, which owner takes when it is free. Until expires (Unix seconds).
util::Result<void> renew(store::Store& store, const std::string& tenant, const std::string& name,
                         const std::string& owner, bool holds_devices, std::int64_t expires, std::int64_t now);

/// Gives the run's lease back if owner holds it, so that `rollout status` says at once that
/// nobody runs it.
util::Result<void> release(store::Store& store, const std::string& tenant, const std::string& name,
                           const std::string& owner);

} // namespace fleet::rollout
