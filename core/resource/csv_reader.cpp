// A character-at-a-time CSV state machine. A field is quoted when it starts with '"';
// inside quotes, "" is a literal quote and newlines are part of the field. Records end at
// LF or CRLF outside quotes. Lines are counted as they are consumed so that a record
// reports the line it starts on, even after fields with embedded newlines.

#include "core/resource/csv_reader.hpp"

#include <fmt/format.h>

namespace fleet::resource {

CsvReader::CsvReader(std::istream& in, std::string file) : m_in(in), m_file(std::move(file)) {}

CsvReader::CsvReader(std::istream& in, std::string file, int first_line)
    : m_in(in), m_file(std::move(file)), m_line(first_line), m_started(true)
{
}

int CsvReader::get()
{
    // The stream buffer directly: istream::get's sentry per character costs more than the parse.
    int c = m_in.rdbuf()->sbumpc();
    if (c == '\n') ++m_line;
    return c;
}

std::optional<CsvRecord> CsvReader::next(util::Diagnostics& diags)
{
    CsvRecord record;
    if (!next(record, diags)) return std::nullopt;
    return record;
}

bool CsvReader::next(CsvRecord& record, util::Diagnostics& diags)
{
    if (m_done) return false;
    if (!m_started) {
        m_started = true;
        // A UTF-8 byte order mark, as spreadsheet programs write it.
        if (m_in.rdbuf()->sgetc() == 0xEF) {
            char bom[3];
            m_in.read(bom, 3);
            if (m_in.gcount() != 3 || bom[1] != '\xBB' || bom[2] != '\xBF') {
                diags.error({m_file, 1, 1}, "", "not UTF-8 text: invalid byte order mark");
                m_done = m_failed = true;
                return false;
            }
        }
    }
    // Fields are refilled in place: a row's strings keep their storage for the next row.
    std::size_t count = 0;
    auto field_at = [&](std::size_t i) -> std::string& {
        if (i == record.fields.size()) record.fields.emplace_back();
        return record.fields[i];
    };
    while (true) {
        record.line = m_line;
        count = 0;
        std::string* field = &field_at(0);
        field->clear();
        bool quoted = false, in_quotes = false, after_quote = false, any = false;
        auto fail = [&](const std::string& message) {
            diags.error({m_file, record.line, static_cast<int>(count) + 1}, "", message);
            m_done = m_failed = true;
            return false;
        };
        while (true) {
            int c = get();
            if (c == EOF) {
                if (in_quotes) return fail("unterminated quoted field");
                if (!any && count == 0 && record.fields[0].empty()) {
                    m_done = true;
                    return false;
                }
                record.fields.resize(count + 1);
                m_done = true;
                return true;
            }
            any = true;
            if (in_quotes) {
                if (c == '"') {
                    if (m_in.rdbuf()->sgetc() == '"') {
                        get();
                        *field += '"';
                    } else {
                        in_quotes = false;
                        after_quote = true;
                    }
                } else {
                    *field += static_cast<char>(c);
                }
            } else if (c == ',') {
                field = &field_at(++count);
                field->clear();
                quoted = after_quote = false;
            } else if (c == '\r' && m_in.rdbuf()->sgetc() == '\n') {
                continue;
            } else if (c == '\n') {
                break;
            } else if (c == '"' && field->empty() && !quoted) {
                quoted = in_quotes = true;
            } else if (after_quote) {
                return fail(fmt::format("unexpected character '{}' after a closing quote", static_cast<char>(c)));
            } else if (c == '"') {
                return fail("a quote inside an unquoted field (quote the whole field and double the quote)");
            } else {
                *field += static_cast<char>(c);
            }
            if (field->size() > max_field)
                return fail(fmt::format("field longer than {} KiB", max_field / 1024));
        }
        record.fields.resize(count + 1);
        if (count == 0 && record.fields[0].empty() && !quoted) continue;  // blank line
        return true;
    }
}

} // namespace fleet::resource
