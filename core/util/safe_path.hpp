#pragma once
// Paths built from names and from paths written in input: every one stays inside its folder.
//
// Names (tenants, artifacts, SHA-256 digests) come from files other people write; a name used as
// a path component must be exactly one component, never "/", ".", "..", empty or holding NUL,
// whatever the name rules upstream let through. These helpers are the one place that checks it.

#include <filesystem>
#include <string_view>

#include "core/util/error.hpp"

namespace fleet::util {

/// True when name can stand for one folder entry: not empty, not "." or "..", no '/' and no NUL.
bool valid_path_component(std::string_view name);

/// dir/name; a usage error naming what (e.g. "tenant") unless name is one valid path component.
Result<std::filesystem::path> child_path(const std::filesystem::path& dir, std::string_view name,
                                         std::string_view what);

/// dir/relative, lexically normalized; a usage error when relative is absolute, empty, holds NUL
/// or leaves dir through "..".
Result<std::filesystem::path> path_inside(const std::filesystem::path& dir, std::string_view relative);

/// True when path, after lexical normalization, is dir itself or below it (both absolute or both relative).
bool lexically_inside(const std::filesystem::path& dir, const std::filesystem::path& path);

} // namespace fleet::util
