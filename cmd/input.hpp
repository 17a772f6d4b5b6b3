#pragma once
// Reading -f inputs for validate, diff, plan, apply and delete.

#include <string>
#include <vector>

#include "core/model/resource.hpp"
#include "core/util/diagnostics.hpp"

namespace fleet::cli {

/// Reads every resource of the -f paths ("-" is stdin), reporting problems into diags.
std::vector<model::Resource> read_resources(const std::vector<std::string>& paths, bool recursive,
                                            util::Diagnostics& diags);

} // namespace fleet::cli
