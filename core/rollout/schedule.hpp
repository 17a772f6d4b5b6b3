#pragma once
// The arithmetic of a rollout's strategy and schedule: phase sizes, failure thresholds and
// maintenance windows. Pure functions of the spec and the clock, so they are tested directly.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/util/error.hpp"

namespace fleet::rollout {

/// One phase as the runner uses it.
struct Phase {
    std::string name;
    std::size_t end = 0;  ///< cumulative number of targets done by the end of this phase
    bool pause = false;
    std::chrono::seconds soak{0};
};

/// The phases of a strategy for n eligible targets. Shares are cumulative (count, or percent rounded
/// up); each phase takes at least one more device while targets remain, and the last phase always
/// ends at n, so a rollout finishes every target. Phases that would get no device are dropped.
std::vector<Phase> make_phases(const nlohmann::json& strategy, std::size_t n);

/// Failed devices a phase of `devices` devices tolerates: a count, or floor(percent × devices / 100).
std::size_t allowed_failures(const nlohmann::json& strategy, std::size_t devices);

/// True when t falls inside one of the windows (a JSON list as in Tenant.spec.updatePolicy.windows).
/// A window's days are the days it opens on, in its time zone (default UTC); an end before the
/// start crosses midnight. An empty list means no restriction.
bool inside_window(const nlohmann::json& windows, std::chrono::system_clock::time_point t);

/// When the next maintenance window opens: t itself when t is inside one; nullopt when none opens
/// within eight days.
std::optional<std::chrono::system_clock::time_point> next_window_open(const nlohmann::json& windows,
                                                                     std::chrono::system_clock::time_point t);

/// RFC 3339 UTC text of a time: "2026-12-01T02:00:00Z".
std::string format_utc(std::chrono::system_clock::time_point t);

/// When a rollout may start installs: its notBefore, and the effective maintenance windows.
struct Timing {
    std::optional<std::chrono::system_clock::time_point> not_before;
    nlohmann::json windows = nlohmann::json::array();  ///< empty: any time
};

/// A rollout's state as status reports it (SPEC §8), with the reason for people.
struct State {
    std::string state;  ///< not started | queued | waiting | running | paused | aborted | completed
    std::string reason;
};

/// The state that is true now: stored is the state its runs recorded (running, paused, aborted,
/// completed; empty when it never ran), leased whether a live runner holds its lease. A runnable
/// rollout is waiting before notBefore or outside its windows (the reason says until when),
/// running only while a runner holds it, and queued otherwise.
State reported_state(const std::string& stored, const std::string& reason, bool leased, const Timing& timing,
                     std::chrono::system_clock::time_point now);

/// Parses RFC 3339 UTC "2026-12-01T02:00:00Z".
util::Result<std::chrono::system_clock::time_point> parse_utc(const std::string& text);

} // namespace fleet::rollout
