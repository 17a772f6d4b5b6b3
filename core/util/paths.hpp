#pragma once
// File system paths as users write them.

#include <string>

namespace fleet::util {

/// Expands a leading "~" or "~/" to $HOME; other paths are returned as they are.
std::string expand_home(const std::string& path);

} // namespace fleet::util
