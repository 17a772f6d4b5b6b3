#pragma once
// The JSON Schemas of schemas/, compiled into the binary.

#include <string_view>
#include <vector>

namespace fleet::schema {

/// One schema file: its stem ("tenant") and its JSON text.
struct EmbeddedSchema {
    std::string_view stem;
    std::string_view text;
};

/// Every schema of schemas/*.schema.json, generated at build time.
const std::vector<EmbeddedSchema>& embedded_schemas();

} // namespace fleet::schema
