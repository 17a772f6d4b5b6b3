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

/// Runs body with TZ set to a time zone. glibc reads the zone from TZ only, so the switch is
/// serialized and TZ restored.
template <class Body>
auto in_zone(const std::string& zone, Body body)
{
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    const char* old = std::getenv("TZ");
    std::string saved = old ? old : "";
    ::setenv("TZ", zone.empty() ? "UTC" : zone.c_str(), 1);
    ::tzset();
    auto result = body();
    if (old)
        ::setenv("TZ", saved.c_str(), 1);
    else
        ::unsetenv("TZ");
    ::tzset();
    return result;
}

/// Local broken-down time of t in a time zone.
std::tm local_time(std::chrono::system_clock::time_point t, const std::string& zone)
{
    return in_zone(zone, [&] {
        std::time_t secs = std::chrono::system_clock::to_time_t(t);
        std::tm tm{};
        ::localtime_r(&secs, &tm);
        return tm;
    });
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

std::optional<std::chrono::system_clock::time_point> next_window_open(const json& windows,
                                                                     std::chrono::system_clock::time_point t)
{
    if (inside_window(windows, t)) return t;
    std::optional<std::chrono::system_clock::time_point> next;
    for (const auto& w : windows) {
        std::string zone = w.value("timezone", "UTC");
        int start = minutes_of(w["start"].get<std::string>());
        std::tm now = local_time(t, zone);
        // The window's start on each of the next eight local days; mktime normalizes the day
        // overflow and, with tm_isdst -1, daylight saving time.
        for (int day = 0; day <= 8; ++day) {
            auto opens = in_zone(zone, [&] {
                std::tm tm{};
                tm.tm_year = now.tm_year;
                tm.tm_mon = now.tm_mon;
                tm.tm_mday = now.tm_mday + day;
                tm.tm_hour = start / 60;
                tm.tm_min = start % 60;
                tm.tm_isdst = -1;
                std::time_t secs = ::mktime(&tm);
                return std::pair(std::chrono::system_clock::from_time_t(secs), tm.tm_wday);
            });
            if (opens.first <= t || !opens_on(w, opens.second)) continue;
            if (!next || opens.first < *next) next = opens.first;
            break;
        }
    }
    return next;
}

std::string format_utc(std::chrono::system_clock::time_point t)
{
    std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

State reported_state(const std::string& stored, const std::string& reason, bool leased, const Timing& timing,
                     std::chrono::system_clock::time_point now)
{
    if (stored.empty()) return {"not started", ""};
    if (stored != "running") return {stored, reason};
    // Runnable: whether anything happens depends on the schedule and on a runner.
    if (timing.not_before && now < *timing.not_before)
        return {"waiting", "notBefore " + format_utc(*timing.not_before)};
    if (!inside_window(timing.windows, now)) {
        auto opens = next_window_open(timing.windows, now);
        return {"waiting", opens ? "the next maintenance window opens at " + format_utc(*opens)
                                 : std::string("no maintenance window opens in the next week")};
    }
    if (leased) return {"running", reason};
    return {"queued", "no runner holds it; `fleetadm rollout run` continues it"};
}

util::Result<std::chrono::system_clock::time_point> parse_utc(const std::string& text)
{
    std::tm tm{};
    if (text.size() != 20 || ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr)
        return util::fail(util::ErrorKind::usage, fmt::format("\"{}\" is not an RFC 3339 UTC time", text));
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

} // namespace fleet::rollout
