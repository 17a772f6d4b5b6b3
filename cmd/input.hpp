#pragma once
// Reading -f inputs for validate, diff, plan, apply and delete.

#include <string>
#include <vector>

#include "cmd/common.hpp"
#include "core/model/resource.hpp"
#include "core/input/loader.hpp"
#include "core/util/diagnostics.hpp"

namespace fleet::cli {

/// Reads every resource of the -f paths ("-" is stdin), reporting problems into diags; objects
/// that name no tenant get g's default tenant, and with --tenant an object naming another tenant is
/// an error. With bulk, CSV rows go there as text (see input::LoadRequest).
std::vector<model::Resource> read_resources(const std::vector<std::string>& paths, bool recursive,
                                            const Globals& g, util::Diagnostics& diags,
                                            bool devices_only = false,
                                            input::Format stdin_format = input::Format::automatic,
                                            resource::DeviceBatch* bulk = nullptr);

} // namespace fleet::cli
