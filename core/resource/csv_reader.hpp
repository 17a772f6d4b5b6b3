#pragma once
// Streaming reader of RFC 4180 CSV: quoted fields, embedded newlines, CRLF, a UTF-8 BOM.

#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "core/util/diagnostics.hpp"

namespace fleet::resource {

/// One record and the line it starts on.
struct CsvRecord {
    std::vector<std::string> fields;
    int line = 0;
};

/// Reads records one at a time; blank lines are skipped.
class CsvReader {
public:
    /// Largest field accepted; longer ones are an error rather than unbounded memory.
    static constexpr std::size_t max_field = 64 * 1024;

    CsvReader(std::istream& in, std::string file);
    /// A reader of a part of a file that starts at a record boundary on line first_line (no byte order mark).
    CsvReader(std::istream& in, std::string file, int first_line);

    /// The next record, or nullopt at the end of input or after a malformed record (reported into diags,
    /// which ends the file: after a broken quote nothing that follows can be trusted).
    std::optional<CsvRecord> next(util::Diagnostics& diags);
    /// As next(), reading into record so that its strings' storage is reused; false where next() gives nullopt.
    bool next(CsvRecord& record, util::Diagnostics& diags);
    /// True after a malformed record ended the input.
    bool failed() const { return m_failed; }
    /// The line the next record starts on.
    int line() const { return m_line; }

private:
    int get();
    std::istream& m_in;
    std::string m_file;
    int m_line = 1;
    bool m_started = false;
    bool m_done = false;
    bool m_failed = false;
};

} // namespace fleet::resource
