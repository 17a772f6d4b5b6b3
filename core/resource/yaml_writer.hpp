#pragma once
// Writes JSON values as YAML that YamlReader reads back to the same values.

#include <nlohmann/json.hpp>

#include <string>

namespace fleet::resource {

/// One YAML document (without the leading "---") for value; strings that would read back
/// as another type ("true", "42", "") are quoted.
std::string to_yaml(const nlohmann::json& value);

} // namespace fleet::resource
