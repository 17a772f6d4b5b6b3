#pragma once
// A stored object: a resource plus what fleetadm records about it, and its JSON/YAML form.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "core/model/resource.hpp"

namespace fleet::model {

/// A resource as kept in the store, with its origin and bookkeeping.
struct Object {
    Resource resource;
    Origin origin;
    std::int64_t generation = 0;
    std::string created_at;  ///< RFC 3339, UTC
    std::string updated_at;  ///< RFC 3339, UTC
};

/// The envelope `get -o json|yaml` prints: {apiVersion, kind, metadata, spec, status}.
/// The output applies back unchanged: metadata that fleetadm sets is ignored on input.
nlohmann::json to_json(Object object, nlohmann::json status);

/// The current time as RFC 3339 UTC with seconds ("2026-11-23T17:00:00Z").
std::string now_utc();

} // namespace fleet::model
