#pragma once
// Named contexts in ~/.config/fleetadm/config.yaml: which store, tenant and user a command uses.

#include <optional>
#include <string>
#include <vector>

#include "core/util/error.hpp"

namespace fleet::config {

/// One named context; empty fields are not set.
struct Context {
    std::string name;
    std::string state;
    std::string tenant;
    std::string user;
};

/// The whole configuration file.
struct Config {
    std::string current;  ///< current-context
    std::vector<Context> contexts;

    /// The context of that name, or null.
    const Context* find(const std::string& name) const;
};

/// $XDG_CONFIG_HOME/fleetadm/config.yaml, else ~/.config/fleetadm/config.yaml.
std::string default_path();

/// Reads the file; a missing file is an empty configuration, a malformed one a usage error naming the line.
util::Result<Config> load(const std::string& path);

/// Writes the file atomically (a temporary file renamed over it), creating its directory.
util::Result<void> save(const std::string& path, const Config& config);

} // namespace fleet::config
