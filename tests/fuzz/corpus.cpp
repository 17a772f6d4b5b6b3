#include "tests/fuzz/corpus.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fleet::fuzz {

namespace {

namespace fs = std::filesystem;

const fs::path fuzz_dir = fs::path(FLEETADM_SOURCE_DIR) / "tests" / "fuzz";

std::string read_all(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string unescape(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        char c = text[++i];
        if (c == 'n') out += '\n';
        else if (c == 't') out += '\t';
        else if (c == 'r') out += '\r';
        else if (c == 's') out += ' ';  // a space that survives the end of a line
        else if (c == 'x' && i + 2 < text.size() + 1) {
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else out += c;
    }
    return out;
}

} // namespace

std::string expand_generated(std::string_view text)
{
    std::string out;
    std::istringstream lines{std::string(text)};
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        auto space = line.find(' ');
        if (space == std::string::npos) throw std::invalid_argument("bad .gen line: " + line);
        std::size_t count = std::stoul(line.substr(0, space));
        std::string unit = unescape(std::string_view(line).substr(space + 1));
        for (std::size_t i = 0; i < count; ++i) out += unit;
    }
    return out;
}

std::vector<Seed> load_corpus(std::string_view parser)
{
    std::vector<Seed> seeds;
    for (const auto& entry : fs::directory_iterator(fuzz_dir / "corpus" / parser)) {
        if (!entry.is_regular_file()) continue;
        std::string content = read_all(entry.path());
        if (entry.path().extension() == ".gen") content = expand_generated(content);
        seeds.push_back({std::string(parser) + "/" + entry.path().filename().string(), std::move(content)});
    }
    std::sort(seeds.begin(), seeds.end(), [](const Seed& a, const Seed& b) { return a.name < b.name; });
    if (seeds.empty()) throw std::runtime_error("empty corpus for " + std::string(parser));
    return seeds;
}

KnownFailures::KnownFailures()
{
    std::istringstream lines(read_all(fuzz_dir / "known_failures.txt"));
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        auto space = line.find_first_of(" \t");
        std::string key = line.substr(0, space);
        std::string reason = space == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t", space));
        m_entries.emplace_back(key, reason);
    }
}

bool KnownFailures::contains(std::string_view key) const
{
    return std::any_of(m_entries.begin(), m_entries.end(), [&](const auto& e) { return e.first == key; });
}

std::string KnownFailures::reason(std::string_view key) const
{
    for (const auto& [k, r] : m_entries)
        if (k == key) return r;
    return "";
}

std::string KnownFailures::match(std::string_view parser, std::string_view kind, std::string_view detail) const
{
    std::string prefix = std::string(parser) + ":" + std::string(kind);
    for (const auto& [key, reason] : m_entries) {
        if (key == prefix) return key;
        if (key.starts_with(prefix + ":") && detail.find(std::string_view(key).substr(prefix.size() + 1)) != std::string_view::npos)
            return key;
    }
    return "";
}

std::uint64_t env_number(const char* name, std::uint64_t fallback)
{
    const char* value = std::getenv(name);
    if (!value || !*value) return fallback;
    char* end = nullptr;
    auto n = std::strtoull(value, &end, 10);
    return *end ? fallback : n;
}

} // namespace fleet::fuzz
