#pragma once
// The arithmetic of a rollout's strategy and schedule: phase sizes, failure thresholds and
// maintenance windows. Pure functions of the spec and the clock, so they are tested directly.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
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

/// Parses RFC 3339 UTC "2026-12-01T02:00:00Z".
util::Result<std::chrono::system_clock::time_point> parse_utc(const std::string& text);

} // namespace fleet::rollout
