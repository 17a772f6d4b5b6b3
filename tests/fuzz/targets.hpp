#pragma once
// The parsers under fuzzing, each behind the public entry point the program calls, with the
// checks the next step of the program relies on (what load accepts, the store can serialize).

#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/driver.hpp"

namespace fleet::fuzz {

/// One parser: its corpus folder under tests/fuzz/corpus, its extra tokens and its entry point.
struct Target {
    std::string name;
    std::vector<std::string> dictionary;
    Verdict (*run)(std::string_view input);
};

/// Every parser: yaml, json, jsonl, csv, plan, config, selector, template.
const std::vector<Target>& targets();

/// The target of that name; throws when there is none.
const Target& target(std::string_view name);

} // namespace fleet::fuzz
