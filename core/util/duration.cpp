#include "core/util/duration.hpp"

#include <fmt/format.h>

#include <ctime>

namespace fleet::util {

Result<std::chrono::seconds> parse_duration(std::string_view text)
{
    auto bad = [&] {
        return fail(ErrorKind::usage,
                    fmt::format("invalid duration \"{}\": write a number and a unit, e.g. 30s, 10m, 2h, 1d, 1h30m", text));
    };
    if (text.empty()) return bad();
    long long total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        long long n = 0;
        std::size_t digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            n = n * 10 + (text[i++] - '0');
            if (++digits > 9) return bad();
        }
        if (digits == 0 || i >= text.size()) return bad();
        switch (text[i++]) {
        case 's': total += n; break;
        case 'm': total += n * 60; break;
        case 'h': total += n * 3600; break;
        case 'd': total += n * 86400; break;
        default: return bad();
        }
    }
    return std::chrono::seconds(total);
}

std::string utc_ago(std::chrono::seconds ago)
{
    std::time_t t = std::time(nullptr) - static_cast<std::time_t>(ago.count());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace fleet::util
