#pragma once
// Deterministic mutation of seed inputs: input number i of a parser is a pure function of the
// corpus and i, so any failing input can be regenerated from its number alone (no saved state,
// and a crashed worker process can be restarted at the next number).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fleet::fuzz {

/// A small, fast, seedable random generator (SplitMix64): the same seed gives the same inputs on every machine.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : m_state(seed) {}
    /// The next 64 random bits.
    std::uint64_t next();
    /// A number in [0, bound); bound must be positive.
    std::size_t below(std::size_t bound) { return static_cast<std::size_t>(next() % bound); }
    /// True with probability 1/n.
    bool one_in(std::size_t n) { return below(n) == 0; }

private:
    std::uint64_t m_state;
};

/// Seeds and tokens that mutations draw from.
struct MutationSource {
    std::vector<std::string> seeds;       ///< must not be empty
    std::vector<std::string> dictionary;  ///< tokens of the format (",", "{", "&a", "*a", "---", ...)
};

/// Applies between one and eight random mutations to text: bit flips, byte insertion, deletion and
/// duplication, dictionary tokens, splices with another seed, long runs, deep nesting, invalid UTF-8.
void mutate(std::string& text, const MutationSource& source, Rng& rng);

/// Input number index of a run: a seed picked by index, mutated with a generator seeded by (salt, index).
/// Index 0..seeds-1 give the seeds themselves, unmutated, so every run starts by replaying the corpus.
std::string make_input(const MutationSource& source, std::uint64_t salt, std::uint64_t index);

/// Tokens that break many formats at once: YAML/JSON structure, anchors, quotes, long and odd bytes.
const std::vector<std::string>& common_tokens();

} // namespace fleet::fuzz
