#pragma once
// Validates documents against the JSON Schema of their kind (valijson).

#include <memory>
#include <optional>
#include <string>

#include "core/model/resource.hpp"
#include "core/resource/document.hpp"
#include "core/util/diagnostics.hpp"

namespace fleet::schema {

/// Holds the parsed schema of every kind; parsing happens once, on first use of a kind.
class Validator {
public:
    Validator();
    ~Validator();
    Validator(const Validator&) = delete;
    Validator& operator=(const Validator&) = delete;

    /// Checks doc against its kind's schema; reports every violation with file:line:column
    /// and field path into diags and returns the kind when the document is valid.
    std::optional<model::Kind> validate(const resource::Document& doc, util::Diagnostics& diags);

    /// The JSON text of a kind's schema, for `fleetadm schema` and editors.
    static std::optional<std::string_view> schema_text(model::Kind kind);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace fleet::schema
