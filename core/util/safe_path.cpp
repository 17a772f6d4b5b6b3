#include "core/util/safe_path.hpp"

#include <fmt/format.h>

namespace fleet::util {

namespace fs = std::filesystem;

bool valid_path_component(std::string_view name)
{
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
           name.find('\0') == std::string_view::npos;
}

Result<fs::path> child_path(const fs::path& dir, std::string_view name, std::string_view what)
{
    if (!valid_path_component(name))
        return fail(ErrorKind::usage,
                    fmt::format("{} name \"{}\" cannot be used as a file name: it must not be empty, \".\" or \"..\", "
                                "nor hold '/' or NUL",
                                what, std::string(name.substr(0, name.find('\0')))));
    return dir / fs::path(std::string(name));
}

bool lexically_inside(const fs::path& dir, const fs::path& path)
{
    auto base = dir.lexically_normal();
    auto full = path.lexically_normal();
    auto rel = full.lexically_relative(base);
    if (rel.empty()) return false;
    if (rel == ".") return true;
    auto first = *rel.begin();
    return first != ".." && !rel.is_absolute();
}

Result<fs::path> path_inside(const fs::path& dir, std::string_view relative)
{
    std::string text(relative.substr(0, relative.find('\0')));
    if (relative.empty() || relative.find('\0') != std::string_view::npos)
        return fail(ErrorKind::usage, fmt::format("path \"{}\" is empty or holds NUL", text));
    fs::path rel(text);
    if (rel.is_absolute()) return fail(ErrorKind::usage, fmt::format("path \"{}\" is absolute", text));
    auto full = (dir / rel).lexically_normal();
    if (!lexically_inside(dir, full))
        return fail(ErrorKind::usage, fmt::format("path \"{}\" leaves its folder", text));
    return full;
}

} // namespace fleet::util
