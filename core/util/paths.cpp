#include "core/util/paths.hpp"

#include <cstdlib>

namespace fleet::util {

std::string expand_home(const std::string& path)
{
    if (path == "~" || path.starts_with("~/")) {
        const char* home = std::getenv("HOME");
        return std::string(home ? home : "") + path.substr(1);
    }
    return path;
}

} // namespace fleet::util
