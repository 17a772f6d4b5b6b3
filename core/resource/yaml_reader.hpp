#pragma once
// Streaming reader of multi-document YAML: one document is built at a time, never the whole file.

#include <istream>
#include <memory>
#include <optional>
#include <string>

#include "core/resource/document.hpp"
#include "core/util/diagnostics.hpp"

namespace YAML {
class Parser;
}

namespace fleet::resource {

class Utf8Filter;

/// Limits that keep hostile documents from exhausting memory or stack.
struct YamlLimits {
    int max_depth = 64;                ///< deepest nesting of maps and sequences
    std::size_t max_nodes = 1'000'000; ///< nodes per document, aliases expanded
    /// Estimated memory per document, aliases expanded: keys, scalars, positions and copies kept for
    /// anchors, plus a fixed cost per node. A node budget alone lets one large aliased leaf grow.
    std::size_t max_bytes = 64u << 20;
};

/// Reads YAML documents from a stream one at a time and resolves scalars per the YAML 1.2 core schema.
class YamlReader {
public:
    /// Reads from in; file names the input in diagnostics.
    YamlReader(std::istream& in, std::string file, YamlLimits limits = {});
    ~YamlReader();
    YamlReader(const YamlReader&) = delete;
    YamlReader& operator=(const YamlReader&) = delete;

    /// The next non-empty document, or nullopt at the end of the stream or after a syntax error.
    /// Problems are added to diags; a syntax error ends the stream, a bad document is skipped.
    /// Text that is not UTF-8 (or holds a control character YAML forbids) is a syntax error at its position.
    std::optional<Document> next(util::Diagnostics& diags);

private:
    std::string m_file;
    YamlLimits m_limits;
    std::unique_ptr<Utf8Filter> m_filter;  // between the caller's stream and yaml-cpp
    std::unique_ptr<std::istream> m_text;  // reads m_filter
    std::unique_ptr<YAML::Parser> m_parser;
    bool m_done = false;
    std::optional<std::size_t> m_last_start;  // where the previous document started, to see a parser stuck in place
};

/// True when text, written as a plain (unquoted) YAML scalar, reads back as a string.
bool plain_scalar_is_string(const std::string& text);

} // namespace fleet::resource
