#pragma once
// `fleetadm runner`: a long-running service that executes every runnable rollout its caller may
// operate. It looks for rollouts that are running (queued by `rollout start`, run by other
// runners, or left by one that died) and joins up to max_rollouts of them through rollout::run,
// each on its own thread with its own store connection; devices are claimed one by one in the
// store, so any number of runners on any number of machines share a rollout. Its max_parallel
// slots are shared fairly between the tenants it works for (Slots). A stop request (SIGTERM) ends
// every run the way an interrupted `rollout run` ends: in-flight steps are ended on their devices
// and recorded, the claims are handed back, and another runner (or this one, restarted) goes on.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/rollout/runner.hpp"
#include "core/store/store.hpp"

namespace fleet::rollout {

/// One thing a runner did, for its log: names the runner, tenant, rollout and device.
struct ServiceEvent {
    std::string type;     ///< runner-started, took, released, device, phase, completed, paused, …, error, runner-stopped
    std::string tenant;
    std::string rollout;
    std::string device;
    std::string state;
    std::string phase;
    std::string message;
};

/// A rollout a runner may take now.
struct Runnable {
    std::string tenant;
    std::string name;
};

/// The rollouts the caller may operate that are running (queued, run by other runners, or left by
/// a dead one), tenants taking turns: every tenant's first rollout (in name order), then every
/// tenant's second, and so on. Runs its own read transaction.
util::Result<std::vector<Runnable>> runnable(store::Store& store);

/// How a runner service runs.
struct ServiceOptions {
    std::string name;                      ///< the runner's name in its log lines
    std::size_t max_rollouts = 4;          ///< rollouts run at once
    /// Devices at once over all the rollouts it runs: the runner's slots, shared fairly between
    /// tenants (Slots); each rollout also keeps to its own strategy.maxParallel.
    std::size_t max_parallel = 16;
    std::chrono::milliseconds poll{1000};  ///< how often the store is asked for runnable rollouts
    bool once = false;                     ///< stop when nothing is runnable and nothing runs (tests, cron)
    const std::atomic<bool>* stop = nullptr;  ///< set by SIGTERM/SIGINT: end the runs cleanly and return
    /// Opens a store connection for the caller; called once for the service and once per rollout run.
    std::function<util::Result<std::unique_ptr<store::Store>>()> open_store;
    /// Called from any thread, one call at a time.
    std::function<void(const ServiceEvent&)> log;
};

/// Runs until *stop is set (or, with once, until idle). Fails only when the store cannot be read at
/// all at the start; later store errors are logged and retried at the next poll.
util::Result<void> serve(const ServiceOptions& options);

} // namespace fleet::rollout
