#pragma once
// The seed corpus in tests/fuzz/corpus/<parser>/ and the list of inputs known to fail today.
// A seed file is used byte for byte, except NAME.gen files: those hold lines "COUNT TEXT" (TEXT with
// C escapes \n \t \r \\ \xHH), the seed being each TEXT repeated COUNT times, so that a 30,000-character
// string or a 20,000-deep nesting stays a few bytes in the repository.

#include <string>
#include <string_view>
#include <vector>

namespace fleet::fuzz {

/// One seed file.
struct Seed {
    std::string name;     ///< "yaml/issue18-comma-only.yaml"
    std::string content;
};

/// The seeds of one parser, sorted by file name.
std::vector<Seed> load_corpus(std::string_view parser);

/// Expands the text of a .gen file.
std::string expand_generated(std::string_view text);

/// Entries of tests/fuzz/known_failures.txt: "yaml/issue18-comma-only.yaml" (a seed), "yaml:hang" or
/// "yaml:crash:std::regex" (failures of a parser's mutation run of that kind, whose detail contains the
/// text after the second colon), "cli/plan-tenant-escapes" (a CLI case) — each tolerated (reported, not
/// failed) until the fix for it is merged.
class KnownFailures {
public:
    KnownFailures();
    /// True when key is listed.
    bool contains(std::string_view key) const;
    /// The reason given for key, or "" when it is not listed.
    std::string reason(std::string_view key) const;
    /// The entry that tolerates a failure of kind in parser's mutation run with that detail, or "".
    std::string match(std::string_view parser, std::string_view kind, std::string_view detail) const;

private:
    std::vector<std::pair<std::string, std::string>> m_entries;
};

/// The environment variable name as a number, or fallback when it is unset or not a number.
std::uint64_t env_number(const char* name, std::uint64_t fallback);

} // namespace fleet::fuzz
