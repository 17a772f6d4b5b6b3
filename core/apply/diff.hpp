#pragma once
// Field-level differences between two JSON values.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace fleet::apply {

/// One field that differs; before or after is empty when the field is added or removed.
struct FieldChange {
    std::string path;  ///< dotted field path, e.g. "spec.members[1].role"
    std::optional<nlohmann::json> before;
    std::optional<nlohmann::json> after;
};

/// Appends to out the fields that differ between before and after, below the path prefix.
/// Maps are compared key by key; lists of the same length item by item; other lists whole.
void diff_json(const nlohmann::json& before, const nlohmann::json& after, const std::string& prefix,
               std::vector<FieldChange>& out);

} // namespace fleet::apply
