#pragma once
// Saved plans (`plan --out FILE`, `apply FILE`). A plan file is input like any -f file, written by
// whoever could write that file: it is read with the YAML reader's limits (JSON is YAML; depth, size
// and UTF-8 are bounded there), its envelope is checked field by field, its digest must match its
// content, and every object is validated again by input::load exactly as a -f document is.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "core/apply/plan.hpp"
#include "core/util/diagnostics.hpp"

namespace fleet::apply {

/// A saved plan read back: what to apply, and what the plan was made against and showed.
struct SavedPlan {
    Request request;
    std::int64_t revision = 0;  ///< the store revision the plan was made at
    nlohmann::json changes;     ///< the changes it showed; apply refuses when it would make others
};

/// The text `plan --out` writes: the plan's objects as documents, its changes, and its digest.
std::string saved_plan_text(const Plan& plan);

/// The digest a saved plan carries: SHA-256 of its canonical JSON without the "digest" member.
std::string saved_plan_digest(nlohmann::json body);

/// Reads and re-validates a saved plan. Problems in the file go to diags (file:line:column: field:
/// message) and make it a usage error; nothing is written anywhere.
util::Result<SavedPlan> read_saved_plan(const std::string& path, util::Diagnostics& diags);

} // namespace fleet::apply
