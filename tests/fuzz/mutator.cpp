#include "tests/fuzz/mutator.hpp"

#include <algorithm>

namespace fleet::fuzz {

namespace {

// Mutated inputs stay below this size, so one input can never cost more than a few milliseconds
// of copying; the long runs and deep nesting below still reach 40,000 bytes.
constexpr std::size_t max_input = 256 * 1024;

std::size_t position(const std::string& text, Rng& rng) { return rng.below(text.size() + 1); }

std::string long_run(Rng& rng)
{
    static const char* units[] = {"a", "a-", "[", "{", "- ", "  ", "\\", "\"", "'", "&", ".", "0", "\xc3\xa9"};
    std::size_t count = rng.one_in(4) ? 30'000 : 1 + rng.below(300);
    std::string unit = units[rng.below(std::size(units))];
    std::string out;
    out.reserve(unit.size() * count);
    for (std::size_t i = 0; i < count; ++i) out += unit;
    return out;
}

std::string deep_nesting(Rng& rng)
{
    static const std::pair<const char*, const char*> pairs[] = {{"[", "]"}, {"{\"a\":", "}"}, {"{a: ", "}"}, {"- ", ""}};
    auto [open, close] = pairs[rng.below(std::size(pairs))];
    std::size_t depth = rng.one_in(3) ? 20'000 : 1 + rng.below(100);
    std::string out;
    for (std::size_t i = 0; i < depth; ++i) out += open;
    out += "1";
    for (std::size_t i = 0; i < depth; ++i) out += close;
    return out;
}

std::string invalid_utf8(Rng& rng)
{
    static const std::string_view bytes[] = {"\xff",         "\xfe",         "\xc3", "\xc0\xaf", "\xed\xa0\x80",
                                             "\xf4\x90\x80\x80", "\x80",         {"\0", 1}};
    return std::string(bytes[rng.below(std::size(bytes))]);
}

void mutate_once(std::string& text, const MutationSource& source, Rng& rng)
{
    switch (rng.below(11)) {
    case 0:  // flip one bit
        if (!text.empty()) text[rng.below(text.size())] ^= static_cast<char>(1u << rng.below(8));
        break;
    case 1:  // insert a random byte
        text.insert(position(text, rng), 1, static_cast<char>(rng.below(256)));
        break;
    case 2:  // delete a range
        if (!text.empty()) {
            std::size_t at = rng.below(text.size());
            text.erase(at, 1 + rng.below(std::min<std::size_t>(text.size() - at, 16)));
        }
        break;
    case 3:  // duplicate a range
        if (!text.empty()) {
            std::size_t at = rng.below(text.size());
            std::string piece = text.substr(at, 1 + rng.below(64));
            text.insert(position(text, rng), piece);
        }
        break;
    case 4:
    case 5:  // a dictionary token, twice as likely as the rest: tokens reach deep into a grammar
        if (!source.dictionary.empty() || !common_tokens().empty()) {
            bool own = !source.dictionary.empty() && !rng.one_in(3);
            const auto& tokens = own ? source.dictionary : common_tokens();
            const std::string& token = tokens[rng.below(tokens.size())];
            if (rng.one_in(3) && !text.empty()) {  // overwrite rather than insert
                std::size_t at = rng.below(text.size());
                text.replace(at, std::min(token.size(), text.size() - at), token);
            } else {
                text.insert(position(text, rng), token);
            }
        }
        break;
    case 6: {  // splice: the head of this input with the tail of another seed
        const std::string& other = source.seeds[rng.below(source.seeds.size())];
        std::size_t cut = position(text, rng);
        std::size_t from = rng.below(other.size() + 1);
        text = text.substr(0, cut) + other.substr(from);
        break;
    }
    case 7:  // a long run of one unit (std::regex recursion, field caps)
        if (rng.one_in(4)) text.insert(position(text, rng), long_run(rng));
        else text.insert(position(text, rng), std::string(1 + rng.below(8), text.empty() ? 'a' : text[rng.below(text.size())]));
        break;
    case 8:  // deep nesting (stack depth of parsers, serializers and copies)
        if (rng.one_in(4)) text.insert(position(text, rng), deep_nesting(rng));
        else text.insert(position(text, rng), std::string(1 + rng.below(8), "[{"[rng.below(2)]));
        break;
    case 9:  // invalid UTF-8 and NUL
        text.insert(position(text, rng), invalid_utf8(rng));
        break;
    default:  // swap two lines: keeps tokens intact while breaking structure
        if (auto first = text.find('\n', rng.below(text.size() + 1)); first != std::string::npos) {
            auto second = text.find('\n', first + 1);
            if (second != std::string::npos) {
                std::string line = text.substr(first + 1, second - first);
                text.erase(first + 1, line.size());
                text.insert(position(text, rng), line);
            }
        }
        break;
    }
    if (text.size() > max_input) text.resize(max_input);
}

} // namespace

std::uint64_t Rng::next()
{
    std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void mutate(std::string& text, const MutationSource& source, Rng& rng)
{
    std::size_t count = 1 + rng.below(rng.one_in(4) ? 8 : 3);
    for (std::size_t i = 0; i < count; ++i) mutate_once(text, source, rng);
}

std::string make_input(const MutationSource& source, std::uint64_t salt, std::uint64_t index)
{
    if (index < source.seeds.size()) return source.seeds[index];
    Rng rng(salt * 0x100000001b3ull ^ index);
    std::string text = source.seeds[rng.below(source.seeds.size())];
    mutate(text, source, rng);
    return text;
}

const std::vector<std::string>& common_tokens()
{
    static const std::vector<std::string> tokens{
        ",", "{", "}", "[", "]", "{},", ",,", ":", ": ", "- ", "&a ", "*a", "&a [*a, *a, *a, *a]", "---\n", "...\n",
        "? ", "!", "!!str ", "!!binary ", "|", ">", "#", "\"", "'", "\\", "\\u0000", "\\ud800", "%YAML 1.2\n", "<<: *a\n",
        "\n", "\r\n", "\r", "\t", std::string(1, '\0'), "\xef\xbb\xbf", "\xff", "null", "true", "~", "-1", "1e999", "0x7fffffffffffffff",
        "99999999999999999999", "-0", ".nan", "{{", "}}", "$(", "`", ";", "|", "/", "..", "../", "/.", "%", "@"};
    return tokens;
}

} // namespace fleet::fuzz
