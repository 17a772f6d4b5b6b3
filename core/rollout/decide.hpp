#pragma once
// The decisions over a rollout's stored rows (SPEC §8): failure threshold, soak, phase advance,
// pause after a phase, completion. Pure functions of the run, the phases, a tally of the targets
// and the clock; the runner applies a decision in a write transaction, once, whichever runner
// gets there first (SPEC §10).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rollout/progress.hpp"
#include "core/rollout/schedule.hpp"
#include "core/store/store.hpp"

namespace fleet::rollout {

/// The phases of a rollout and the failures each tolerates.
struct PhasePlan {
    std::vector<Phase> phases;
    std::vector<std::size_t> allowed;  ///< failed devices each phase tolerates
    bool abort_on_failure = false;     ///< strategy.onFailure: abort (else pause)

    /// The plan of a strategy for eligible targets.
    static PhasePlan make(const nlohmann::json& strategy, std::size_t eligible);
    /// How many devices phase p has.
    std::size_t size(std::size_t p) const { return phases[p].end - (p == 0 ? 0 : phases[p - 1].end); }
    /// The name of phase p; empty when there is none (a skipped device's -1).
    std::string name(std::int64_t p) const
    {
        return p >= 0 && static_cast<std::size_t>(p) < phases.size() ? phases[static_cast<std::size_t>(p)].name
                                                                        : std::string();
    }
};

/// Over a rollout's targets: the failed devices of one phase and of all phases, and whether every
/// device of that phase and of the phases before it has ended.
struct Tally {
    std::size_t failed = 0, failed_all = 0;
    bool done = true;
};

template <class Devices>
Tally tally(const Devices& devices, std::int64_t phase)
{
    Tally t;
    for (const auto& item : devices) {
        const store::RolloutDevice& d = device_of(item);
        if (d.state == store::DeviceState::failed) {
            ++t.failed_all;
            if (d.phase == phase) ++t.failed;
        }
        if (d.phase >= 0 && d.phase <= phase && !terminal(d.state)) t.done = false;
    }
    return t;
}

/// What the stored state calls for.
struct Decision {
    std::optional<store::RolloutRun> run;  ///< the run to store (updated_at not set); none: nothing changes
    std::string audit_type;                ///< the audit entry recorded with it; empty: none
    std::string audit_summary;
    std::optional<Event> event;            ///< what the runner reports besides a new state
    bool next_phase = false;               ///< the run moved to the next phase: its devices may be claimed
};

/// True when a decision may be due for a running rollout, judged from what a runner last saw (a
/// cheap look-ahead; decide() over the stored rows is the judgement).
bool decision_due(const store::RolloutRun& run, const PhasePlan& plan, const Tally& t,
                  std::chrono::system_clock::time_point now);

/// The decision for a running rollout at its stored phase: paused or aborted past the failure
/// threshold, soak started or awaited, the next phase (paused after it when the phase says so), or
/// completed. Nothing for a rollout that is not running.
Decision decide(const store::RolloutRun& run, const PhasePlan& plan, const Tally& t,
                std::chrono::system_clock::time_point now);

} // namespace fleet::rollout
