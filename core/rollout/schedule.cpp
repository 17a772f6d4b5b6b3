#include "core/rollout/schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "core/util/duration.hpp"

namespace fleet::rollout {

using nlohmann::json;

std::vector<Phase> make_phases(const json& strategy, std::size_t n)
{
    json phases = strategy.value("phases", json::array());
    if (phases.empty()) phases = json::array({json{{"percent", 100}}});
    std::vector<Phase> out;
    std::size_t done = 0;
    for (std::size_t i = 0; i < phases.size() && done < n; ++i) {
        const json& p = phases[i];
        std::size_t end = p.contains("count")
                              ? static_cast<std::size_t>(p["count"].get<std::int64_t>())
                              : (static_cast<std::size_t>(p["percent"].get<std::int64_t>()) * n + 99) / 100;
        end = std::clamp(end, done + 1, n);
        if (i + 1 == phases.size()) end = n;
        Phase phase;
        phase.name = p.value("name", fmt::format("phase-{}", i + 1));
        phase.end = end;
        phase.pause = p.value("pause", false);
        if (p.contains("soak"))
            if (auto soak = util::parse_duration(p["soak"].get<std::string>())) phase.soak = *soak;
        out.push_back(phase);
        done = end;
    }
    if (!out.empty()) out.back().end = n;
    return out;
}

std::size_t allowed_failures(const json& strategy, std::size_t devices)
{
    auto it = strategy.find("failureThreshold");
    if (it == strategy.end()) return 0;
    if (it->is_number_integer()) return static_cast<std::size_t>(it->get<std::int64_t>());
    auto text = it->get<std::string>();
    auto percent = static_cast<std::size_t>(std::strtoul(text.c_str(), nullptr, 10));
    return percent * devices / 100;
}

namespace {

/// Local broken-down time of t in a time zone. glibc reads the zone from TZ only, so the switch
/// is serialized and TZ restored; only the runner's thread asks.
std::tm local_time(std::chrono::system_clock::time_point t, const std::string& zone)
{
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    const char* old = std::getenv("TZ");
    std::string saved = old ? old : "";
    ::setenv("TZ", zone.empty() ? "UTC" : zone.c_str(), 1);
    ::tzset();
    std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::localtime_r(&secs, &tm);
    if (old)
        ::setenv("TZ", saved.c_str(), 1);
    else
        ::unsetenv("TZ");
    ::tzset();
    return tm;
}

int minutes_of(const std::string& hhmm) { return std::stoi(hhmm.substr(0, 2)) * 60 + std::stoi(hhmm.substr(3, 2)); }

constexpr const char* day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

bool opens_on(const json& window, int weekday)
{
    if (!window.contains("days")) return true;
    for (const auto& d : window["days"])
        if (d.get<std::string>() == day_names[weekday]) return true;
    return false;
}

} // namespace

bool inside_window(const json& windows, std::chrono::system_clock::time_point t)
{
    if (!windows.is_array() || windows.empty()) return true;
    for (const auto& w : windows) {
        std::tm tm = local_time(t, w.value("timezone", "UTC"));
        int now = tm.tm_hour * 60 + tm.tm_min;
        int start = minutes_of(w["start"].get<std::string>());
        int end = minutes_of(w["end"].get<std::string>());
        if (start < end) {
            if (opens_on(w, tm.tm_wday) && now >= start && now < end) return true;
        } else {
            // Crosses midnight: from start today until end tomorrow.
            if (opens_on(w, tm.tm_wday) && now >= start) return true;
            if (opens_on(w, (tm.tm_wday + 6) % 7) && now < end) return true;
        }
    }
    return false;
}

util::Result<std::chrono::system_clock::time_point> parse_utc(const std::string& text)
{
    std::tm tm{};
    if (text.size() != 20 || ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr)
        return util::fail(util::ErrorKind::usage, fmt::format("\"{}\" is not an RFC 3339 UTC time", text));
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

} // namespace fleet::rollout
