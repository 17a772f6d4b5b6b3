#pragma once
// Problems found in input files, collected over a whole phase and reported together.

#include <string>
#include <vector>

namespace fleet::util {

/// A position in an input file; line and column are 1-based, 0 when unknown.
struct Location {
    std::string file;
    int line = 0;
    int column = 0;

    /// "file:line:column", or less when parts are unknown.
    std::string str() const;
};

/// One problem in the input, with where it is and which field it concerns.
struct Diagnostic {
    Location where;
    std::string field;    ///< dotted field path, e.g. "spec.members[0].role"; may be empty
    std::string message;
    bool warning = false;

    /// "file:line:col: field: message".
    std::string str() const;
};

/// Problems of one phase; the phase stops at its checkpoint when any is an error.
class Diagnostics {
public:
    /// Records an error.
    void error(Location where, std::string field, std::string message);
    /// Records a warning, which does not stop the phase.
    void warn(Location where, std::string field, std::string message);
    /// True when at least one error was recorded.
    bool has_errors() const { return m_errors > 0; }
    /// Number of errors recorded.
    std::size_t error_count() const { return m_errors; }
    /// All problems, in the order they were found.
    const std::vector<Diagnostic>& items() const { return m_items; }
    /// Appends another collection.
    void merge(const Diagnostics& other);

private:
    std::vector<Diagnostic> m_items;
    std::size_t m_errors = 0;
};

} // namespace fleet::util
