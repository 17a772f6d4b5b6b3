#pragma once
// Bounds the length of every string a schema pattern will see, before valijson sees it: valijson 1.0
// matches `pattern` and `patternProperties` with std::regex, which recurses once per character and
// overflows the stack on a long enough string (about 13,000 bytes under ASan).

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/resource/document.hpp"
#include "core/util/diagnostics.hpp"

namespace fleet::schema {

/// The length (in characters) a patterned string without its own maxLength may have; also the
/// longest maxLength a patterned string may declare (a unit test holds the schemas to it). Four bytes
/// per character keep the longest string std::regex sees near 4 KiB, a third of what overflows.
inline constexpr std::size_t max_pattern_length = 1024;

/// A string too long for the pattern that governs it.
struct LongString {
    std::string pointer;  ///< JSON pointer of the value, or of the member whose key is too long
    bool key = false;     ///< the member's key is too long (patternProperties, propertyNames)
};

/// Reports, at its position, every string of doc (value or object key) that a `pattern`,
/// `patternProperties` or `propertyNames` pattern of schema would match and that is longer than the
/// schema's maxLength (max_pattern_length when none), as "field: longer than N characters"; returns them.
/// None of them may be handed to valijson.
std::vector<LongString> check_pattern_lengths(const nlohmann::json& schema, const resource::Document& doc,
                                              util::Diagnostics& diags);

} // namespace fleet::schema
