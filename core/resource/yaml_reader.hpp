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

/// Limits that keep hostile documents from exhausting memory or stack.
struct YamlLimits {
    int max_depth = 64;                ///< deepest nesting of maps and sequences
    std::size_t max_nodes = 1'000'000; ///< nodes per document, aliases expanded
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
    std::optional<Document> next(util::Diagnostics& diags);

private:
    std::istream& m_in;
    std::string m_file;
    YamlLimits m_limits;
    std::unique_ptr<YAML::Parser> m_parser;
    bool m_done = false;
};

/// True when text, written as a plain (unquoted) YAML scalar, reads back as a string.
bool plain_scalar_is_string(const std::string& text);

} // namespace fleet::resource
