#include "core/rollout/decide.hpp"

#include <fmt/format.h>

namespace fleet::rollout {

PhasePlan PhasePlan::make(const nlohmann::json& strategy, std::size_t eligible)
{
    PhasePlan plan;
    plan.phases = make_phases(strategy, eligible);
    for (std::size_t i = 0; i < plan.phases.size(); ++i) plan.allowed.push_back(allowed_failures(strategy, plan.size(i)));
    plan.abort_on_failure = strategy.value("onFailure", "pause") == "abort";
    return plan;
}

bool decision_due(const store::RolloutRun& run, const PhasePlan& plan, const Tally& t,
                  std::chrono::system_clock::time_point now)
{
    if (run.state != store::RunState::running) return false;
    if (plan.phases.empty()) return true;
    auto p = static_cast<std::size_t>(run.phase);
    if (run.phase < 0 || p >= plan.phases.size()) return false;
    if (t.failed > plan.allowed[p]) return true;
    if (!t.done) return false;
    if (!run.phase_done_at.empty())
        if (auto at = parse_utc(run.phase_done_at); at && now < *at + plan.phases[p].soak) return false;
    return true;
}

Decision decide(const store::RolloutRun& run, const PhasePlan& plan, const Tally& t,
                std::chrono::system_clock::time_point now)
{
    Decision d;
    if (run.state != store::RunState::running) return d;
    store::RolloutRun next = run;
    if (plan.phases.empty()) {  // nothing to install: every target was skipped
        next.state = store::RunState::completed;
        next.reason = "no device needed the artifact";
        d.audit_type = "rollout-completed";
        d.audit_summary = next.reason;
        d.run = std::move(next);
        return d;
    }
    auto p = static_cast<std::size_t>(run.phase);
    if (run.phase < 0 || p >= plan.phases.size()) return d;
    const Phase& phase = plan.phases[p];
    if (t.failed > plan.allowed[p]) {
        next.state = plan.abort_on_failure ? store::RunState::aborted : store::RunState::paused;
        next.reason = fmt::format("{} exceeded in phase {}: {} of {} device(s) failed (allowed {})", threshold_reason,
                                  phase.name, t.failed, plan.size(p), plan.allowed[p]);
        d.audit_type = plan.abort_on_failure ? "rollout-aborted" : "rollout-paused";
        d.audit_summary = next.reason;
        d.run = std::move(next);
        return d;
    }
    if (!t.done) return d;
    if (phase.soak.count() > 0) {
        if (next.phase_done_at.empty()) {
            next.phase_done_at = format_utc(now);
            d.event = Event{"soak", "", "", phase.name, fmt::format("soaking for {}s", phase.soak.count())};
            d.run = std::move(next);
            return d;
        }
        auto done_at = parse_utc(next.phase_done_at);
        if (done_at && now < *done_at + phase.soak) return d;
    }
    next.phase_done_at.clear();
    if (p + 1 >= plan.phases.size()) {
        next.state = store::RunState::completed;
        next.reason = t.failed_all ? fmt::format("{} device(s) failed", t.failed_all) : "";
        d.audit_type = "rollout-completed";
        d.audit_summary = fmt::format("completed; {}", next.reason.empty() ? "all devices succeeded" : next.reason);
        d.run = std::move(next);
        return d;
    }
    next.phase = static_cast<std::int64_t>(p + 1);
    if (phase.pause) {
        next.state = store::RunState::paused;
        next.reason = fmt::format("paused after phase {}; run `rollout resume` to go on", phase.name);
    } else {
        d.event = Event{"phase", "", "", phase.name, ""};
    }
    d.audit_type = "rollout-phase-done";
    d.audit_summary = fmt::format("phase {} done", phase.name);
    d.next_phase = true;
    d.run = std::move(next);
    return d;
}

} // namespace fleet::rollout
