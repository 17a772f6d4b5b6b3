#pragma once
// Shell completion scripts generated from the command tree (cmd/cli_model.hpp).

#include <optional>
#include <string>
#include <string_view>

#include "cmd/cli_model.hpp"

namespace fleet::cli {

/// The completion script of a shell ("bash", "zsh" or "fish") for the tree at root; nullopt for
/// another shell. Object names are completed at run time by `fleetadm __complete names KIND PREFIX`.
std::optional<std::string> completion_script(std::string_view shell, const CommandSpec& root);

} // namespace fleet::cli
