#pragma once
// A parsed input document: a JSON value plus the file position of each of its nodes.

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <unordered_map>

#include "core/util/diagnostics.hpp"

namespace fleet::resource {

/// Maps JSON pointers ("/spec/members/0/role") to where the node was written.
class SourceMap {
public:
    SourceMap() = default;
    /// A map for nodes of one file.
    explicit SourceMap(std::string file) : m_file(std::make_shared<const std::string>(std::move(file))) {}
    /// A map for nodes of one file whose name is shared with other maps (one per CSV row, say).
    explicit SourceMap(std::shared_ptr<const std::string> file) : m_file(std::move(file)) {}

    /// Records the position of a node; line and column are 1-based.
    void add(const std::string& pointer, int line, int column)
    {
        if (pointer.empty())
            m_root = {line, column};
        else
            m_marks[pointer] = {line, column};
    }
    /// Where the node at pointer was written; falls back to its nearest recorded ancestor.
    util::Location locate(std::string_view pointer) const;
    /// The file these positions are in.
    const std::string& file() const { return m_file ? *m_file : empty_name(); }
    /// Returns a copy whose pointers have prefix removed (for the items of a List document).
    SourceMap rebased(const std::string& prefix) const;

private:
    static const std::string& empty_name();
    std::shared_ptr<const std::string> m_file;
    std::pair<int, int> m_root{0, 0};  // the document itself: kept inline, as a CSV row has nothing else
    std::unordered_map<std::string, std::pair<int, int>> m_marks;
};

/// One YAML or JSON document read from an input, with the positions of its nodes.
struct Document {
    nlohmann::json value;
    SourceMap marks;

    /// Where the whole document starts.
    util::Location start() const { return marks.locate(""); }
};

/// Turns a JSON pointer into the dotted field path shown to users: "/spec/members/0/role" → "spec.members[0].role".
std::string field_path(std::string_view pointer);

/// Appends an escaped reference token to a JSON pointer.
std::string pointer_join(const std::string& pointer, std::string_view token);

} // namespace fleet::resource
