#pragma once
// The wall clock that time-based decisions read (schedules, soak, rates, lease expiry), behind an
// interface so that tests set the time instead of sleeping through it.

#include <chrono>
#include <cstdint>
#include <mutex>

namespace fleet::util {

class Clock {
public:
    using time_point = std::chrono::system_clock::time_point;
    virtual ~Clock() = default;
    virtual time_point now() const = 0;
    /// Whole seconds since the Unix epoch.
    std::int64_t unix_seconds() const
    {
        return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
    }
};

/// The system's clock.
const Clock& system_clock();

/// A clock that stands still until told to move (tests). Thread-safe.
class ManualClock final : public Clock {
public:
    explicit ManualClock(time_point start) : m_now(start) {}
    time_point now() const override
    {
        std::lock_guard lock(m_mutex);
        return m_now;
    }
    void advance(std::chrono::system_clock::duration by)
    {
        std::lock_guard lock(m_mutex);
        m_now += by;
    }

private:
    mutable std::mutex m_mutex;
    time_point m_now;
};

} // namespace fleet::util
