#pragma once
// Durations as users write them: "30s", "10m", "2h", "1d", and combinations such as "1h30m".

#include <chrono>
#include <string_view>

#include "core/util/error.hpp"

namespace fleet::util {

/// Parses a duration; a usage error names what was wrong.
Result<std::chrono::seconds> parse_duration(std::string_view text);

/// RFC 3339 UTC ("2026-11-23T17:00:00Z") of now minus a duration.
std::string utc_ago(std::chrono::seconds ago);

} // namespace fleet::util
