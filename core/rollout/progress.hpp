#pragma once
// A rollout's progress and how a run ended: the events a runner reports, the counts per phase, the
// exit codes of SPEC §3, and the progress read from the store for `rollout status`.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/rollout/schedule.hpp"
#include "core/rollout/targets.hpp"
#include "core/store/store.hpp"

namespace fleet::rollout {

/// What the runner reports while it works, for the progress display and NDJSON events.
struct Event {
    std::string type;     ///< started, device, taken-over, lost, phase, soak, paused, aborted, completed, waiting, interrupted
    std::string device;
    std::string state;    ///< device: its new state
    std::string phase;
    std::string message;
};

/// Counts per phase, for progress and status.
struct PhaseProgress {
    std::string name;
    std::size_t devices = 0, succeeded = 0, failed = 0, in_flight = 0, pending = 0;
};

/// A snapshot of a rollout's progress.
struct Progress {
    std::string state;      ///< progress(): reported_state(); the runner's own events: the stored state
    std::string reason;
    std::size_t phase = 0;
    std::vector<PhaseProgress> phases;
    std::size_t skipped = 0;
    std::vector<store::RolloutDevice> devices;
    std::vector<store::DeviceOutput> outputs;  ///< each device's step outputs (progress() only), newest first
    std::string runner;     ///< progress(): whose lease says it runs ("runner NAME on HOST, pid P"); empty: nobody
    /// progress(): every runner with devices in flight on it, and how many (claims that are alive).
    std::vector<std::pair<std::string, std::size_t>> runners;
    std::map<std::string, std::string> held_by;  ///< progress(): device in flight → the runner working on it
};

/// The progress at the moment of an event, computed when asked for (a display that draws).
using Snapshot = std::function<Progress()>;

/// How a run ended.
enum class Ending { completed, completed_with_failures, paused, paused_by_threshold, aborted, interrupted };

/// The exit code of a run that ended so (SPEC §3: 0 all succeeded, 1 failed devices, 5 paused by threshold).
int exit_code(Ending ending);

/// The progress of a rollout, from the store.
util::Result<Progress> progress(store::Store& store, const std::string& tenant, const std::string& name);

/// How the reason of a pause by the failure threshold starts.
inline constexpr const char* threshold_reason = "failure threshold";

using store::DeviceState;
using store::RunState;
using store::in_flight;
using store::terminal;

/// Counts devices per phase; keeps the device list only when asked to.
template <class Devices>
Progress summarize(const store::RolloutRun* run, const std::vector<Phase>& phases, const Devices& devices, bool keep)
{
    Progress p;
    p.state = run ? store::state_name(run->state) : "not started";
    p.reason = run ? run->reason : "";
    p.phase = run ? static_cast<std::size_t>(run->phase) : 0;
    for (const auto& phase : phases) p.phases.push_back({phase.name, 0, 0, 0, 0, 0});
    for (const auto& item : devices) {
        const store::RolloutDevice& d = device_of(item);
        if (keep) p.devices.push_back(d);
        if (d.phase < 0 || static_cast<std::size_t>(d.phase) >= p.phases.size()) {
            ++p.skipped;
            continue;
        }
        auto& ph = p.phases[static_cast<std::size_t>(d.phase)];
        ++ph.devices;
        if (d.state == DeviceState::succeeded)
            ++ph.succeeded;
        else if (d.state == DeviceState::failed)
            ++ph.failed;
        else if (in_flight(d.state))
            ++ph.in_flight;
        else
            ++ph.pending;
    }
    return p;
}

/// The ending a stored, not running, rollout stands at.
template <class Devices>
Ending stored_ending(const store::RolloutRun& run, const Devices& devices)
{
    if (run.state == RunState::aborted) return Ending::aborted;
    if (run.state == RunState::paused)
        return run.reason.starts_with(threshold_reason) ? Ending::paused_by_threshold : Ending::paused;
    bool failed =
        std::any_of(devices.begin(), devices.end(), [](const auto& d) { return device_of(d).state == DeviceState::failed; });
    return failed ? Ending::completed_with_failures : Ending::completed;
}

} // namespace fleet::rollout
