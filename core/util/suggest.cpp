#include "core/util/suggest.hpp"

#include <algorithm>
#include <cctype>

namespace fleet::util {

std::size_t edit_distance(std::string_view a, std::string_view b)
{
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

std::string nearest(std::string_view word, const std::vector<std::string>& candidates)
{
    if (word.empty() || word.size() > 64) return "";  // nobody mistypes 64 characters
    auto lower = [](std::string_view s) {
        std::string out(s);
        for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return out;
    };
    std::string w = lower(word), best;
    std::size_t best_distance = 3;
    for (const auto& candidate : candidates) {
        std::string c = lower(candidate);
        std::size_t d = edit_distance(w, c);
        if (std::min(w.size(), c.size()) >= 3 && (w.starts_with(c) || c.starts_with(w))) d = std::min<std::size_t>(d, 1);
        if (d < best_distance) best_distance = d, best = candidate;
    }
    return best;
}

} // namespace fleet::util
