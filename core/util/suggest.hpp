#pragma once
// "Did you mean …?": the nearest of a set of known words to a mistyped one.

#include <string>
#include <string_view>
#include <vector>

namespace fleet::util {

/// Edit distance between a and b: insertions, deletions, substitutions, and swaps of two neighbours.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate nearest to word, ignoring case, when it is a near miss (at most two edits, or one
/// word a prefix of the other of at least three characters); empty when none is.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);

} // namespace fleet::util
