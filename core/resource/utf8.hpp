#pragma once
// The one UTF-8 check of every input reader: whole strings, and a stream filter for YAML that stops at
// the first byte that is not UTF-8 text and says where it is.

#include <cstdint>
#include <optional>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

namespace fleet::resource {

/// Decodes UTF-8 one byte at a time, so that a sequence may span reads.
class Utf8Decoder {
public:
    /// What a byte did: completed a character, continued one, or broke the encoding.
    enum class Step { character, partial, invalid };
    /// Feeds one byte; after `character`, code_point() is the character completed.
    Step feed(unsigned char byte);
    /// True between the first and last byte of a multi-byte sequence.
    bool pending() const { return m_remaining > 0; }
    /// The last character completed.
    std::uint32_t code_point() const { return m_code_point; }

private:
    int m_remaining = 0;
    std::uint32_t m_code_point = 0;
    std::uint32_t m_min = 0;
};

/// Byte offset of the first byte of s that is not well-formed UTF-8 (overlong forms, surrogates and
/// values above U+10FFFF included), or nullopt when all of s is.
std::optional<std::size_t> invalid_utf8_at(std::string_view s);

/// 1-based column (in characters) of the byte at offset in one line of text.
int utf8_column(std::string_view line, std::size_t offset);

/// A stream buffer over another that passes only UTF-8 text: at the first malformed byte, or a control
/// character YAML forbids (C0 other than tab, LF, CR; DEL; C1 other than NEL), it reports end of input
/// and keeps where that byte is, so the reader can refuse the file with file:line:column.
class Utf8Filter : public std::streambuf {
public:
    /// Reads from source, which must outlive the filter.
    explicit Utf8Filter(std::streambuf* source);
    /// True once a byte was refused.
    bool failed() const { return m_error.has_value(); }
    /// 1-based line of the refused byte.
    int line() const { return m_error_line; }
    /// 1-based column (in characters) of the refused byte.
    int column() const { return m_error_column; }
    /// What was wrong with it.
    const std::string& message() const { return *m_error; }

protected:
    int_type underflow() override;

private:
    std::streambuf* m_source;
    std::vector<char> m_buffer;
    Utf8Decoder m_decoder;
    int m_line = 1;
    int m_column = 1;          // of the character being decoded
    unsigned char m_lead = 0;  // its first byte, named in the message
    bool m_eof = false;
    std::optional<std::string> m_error;
    int m_error_line = 0;
    int m_error_column = 0;
};

} // namespace fleet::resource
