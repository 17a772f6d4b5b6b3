#include "core/util/clock.hpp"

namespace fleet::util {

namespace {

class SystemClock final : public Clock {
public:
    time_point now() const override { return std::chrono::system_clock::now(); }
};

} // namespace

const Clock& system_clock()
{
    static const SystemClock clock;
    return clock;
}

} // namespace fleet::util
