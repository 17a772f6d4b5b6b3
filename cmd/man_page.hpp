#pragma once
// Man pages generated from the command tree (cmd/cli_model.hpp) and the prose of cmd/help_text.cpp:
// fleetadm(1), and one page per top-level command (fleetadm-device(1) covers its subcommands,
// as git-remote(1) does).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cmd/cli_model.hpp"

namespace fleet::cli {

/// Every page as (file name, roff source): "fleetadm.1", "fleetadm-apply.1", ...
std::vector<std::pair<std::string, std::string>> man_pages(const CommandSpec& root, std::string_view version);

} // namespace fleet::cli
