#pragma once
// Running a rollout: move each target device through
// pending → transferring → installing → verifying → succeeded | failed, phase by phase,
// committing every transition so that a new runner continues where a dead one stopped.
//
// Several runners may work one rollout (SPEC §10): each claims devices in the store (a claim with
// an expiry that its heartbeat renews), so a device is worked on by one runner at a time; devices
// a dead runner held are taken over when their claim expires (at once when its process is known to
// be gone) and re-verified before any install. Threshold, soak, phase advance and completion are
// decided in a write transaction over the stored rows, once, by whichever runner gets there first.
//
// A runner is one thread that owns its store connection; device steps run in a Driver (the
// transports' worker threads) and report back through a queue. Control commands (pause,
// resume, abort, retry) only change the stored state; every runner reads it four times a second.
//
// The parts, each in its own file: targets (loading and freezing the targets), lease (the run,
// its lease and the heartbeat's write), step (building steps from a device's endpoints; the
// Driver), decide (threshold, soak, phases), progress (events, counts, exit codes), control
// (start, pause, resume, abort, retry), slots (a runner's parallel slots, fair between tenants).

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "core/rollout/control.hpp"
#include "core/rollout/progress.hpp"
#include "core/rollout/slots.hpp"
#include "core/rollout/step.hpp"
#include "core/rollout/tx.hpp"
#include "core/store/store.hpp"
#include "core/util/clock.hpp"

namespace fleet::rollout {

/// Options of `rollout run` (and of each rollout a `fleetadm runner` runs).
struct RunOptions {
    std::size_t max_parallel = 0;  ///< 0: the spec's maxParallel
    std::chrono::milliseconds tick{200};
    std::chrono::seconds lease{30};
    const std::atomic<bool>* interrupted = nullptr;  ///< set by a signal handler
    std::string runner_name;  ///< recorded with the lease, shown by `rollout status`; empty: `rollout run`
    /// The time that notBefore, windows, soak, maxPerMinute and the lease's expiry are judged by;
    /// null: the system clock. The loop's own pacing (tick, control checks) stays real time.
    const util::Clock* clock = nullptr;
    /// Told of every event; the snapshot computes the progress at that moment when called.
    std::function<void(const Event&, const Snapshot&)> observe;
    RunStats* stats = nullptr;  ///< filled in when given
    /// A runner's parallel slots, shared by every rollout it runs (fair between tenants); null: none
    /// beyond max_parallel.
    Slots* slots = nullptr;
};

/// Runs (or resumes) a rollout in the foreground until it completes, pauses, aborts or is interrupted.
util::Result<Ending> run(store::Store& store, const std::string& tenant, const std::string& name, Driver& driver,
                         const RunOptions& options);

} // namespace fleet::rollout
