#pragma once
// The fields of a kind as its JSON Schema declares them: for `explain` and for checking the keys of
// `--field-selector`. `$ref`s are resolved (the referring field's description wins), and a path
// steps through arrays to their items and into the values of maps, as kubectl explain does.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/model/resource.hpp"
#include "core/util/error.hpp"

namespace fleet::schema {

/// One field: its name and its schema (resolved).
struct Field {
    std::string name;
    nlohmann::json schema;
    bool required = false;
};

/// The schema of the field at path in kind's schema (empty path: the kind itself). An unknown
/// segment is a usage error naming it, the kind and the fields that are there.
util::Result<nlohmann::json> field_schema(model::Kind kind, const std::vector<std::string>& path);

/// The fields a (resolved) schema declares, in the schema's order, those of oneOf/anyOf
/// alternatives included; arrays give their items' fields.
std::vector<Field> fields_of(model::Kind kind, const nlohmann::json& schema);

/// kubectl's type words: "string", "integer", "boolean", "object", "[]string", "map[string]string",
/// and "integer | string" for a choice.
std::string type_text(model::Kind kind, const nlohmann::json& schema);

/// "spec.ssh.host" as its segments; a dot escaped as `\.` stays in its segment.
std::vector<std::string> split_field_path(std::string_view path);

} // namespace fleet::schema
