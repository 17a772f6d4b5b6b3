#pragma once
// The artifact area of the store: each tenant's update files, named by their SHA-256.

#include <string>

#include "core/util/error.hpp"

namespace fleet::apply {

/// Copies file into dir as dir/SHA256 unless it is there already, hashing while copying; the
/// copy goes to a temporary name first and is renamed only when its SHA-256 is the expected one,
/// so the area never holds a partial or wrong file. Returns the path in the area.
util::Result<std::string> store_artifact(const std::string& dir, const std::string& file, const std::string& sha256);

} // namespace fleet::apply
