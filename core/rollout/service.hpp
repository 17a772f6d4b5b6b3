#pragma once
// `fleetadm runner`: a long-running service that executes every runnable rollout its caller may
// operate. It looks for rollouts that are running (queued by `rollout start`, or left by a runner
// that died) and whose lease is free, takes each lease through rollout::run (one write
// transaction decides which runner gets it), and runs up to max_rollouts of them at once, each on
// its own thread with its own store connection. A stop request (SIGTERM) ends every run the way
// an interrupted `rollout run` ends: in-flight steps are ended on their devices and recorded, the
// leases are handed back, and another runner (or this one, restarted) resumes them.

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

/// The rollouts the caller may operate that are running (queued, or left by a dead runner) and
/// whose lease is free or expired, in (tenant, name) order. Runs its own read transaction.
util::Result<std::vector<Runnable>> runnable(store::Store& store);

/// How a runner service runs.
struct ServiceOptions {
    std::string name;                      ///< the runner's name in its log lines
    std::size_t max_rollouts = 4;          ///< rollouts run at once
    std::size_t max_parallel = 0;          ///< devices at once per rollout; 0: each rollout's maxParallel
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
