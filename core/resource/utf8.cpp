// UTF-8 per RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.

#include "core/resource/utf8.hpp"

#include <fmt/format.h>

namespace fleet::resource {

Utf8Decoder::Step Utf8Decoder::feed(unsigned char byte)
{
    if (m_remaining > 0) {
        if ((byte & 0xC0) != 0x80) {
            m_remaining = 0;
            return Step::invalid;
        }
        m_code_point = (m_code_point << 6) | (byte & 0x3F);
        if (--m_remaining > 0) return Step::partial;
        if (m_code_point < m_min || m_code_point > 0x10FFFF || (m_code_point >= 0xD800 && m_code_point <= 0xDFFF))
            return Step::invalid;
        return Step::character;
    }
    if (byte < 0x80) {
        m_code_point = byte;
        return Step::character;
    }
    if ((byte & 0xE0) == 0xC0) m_remaining = 1, m_min = 0x80, m_code_point = byte & 0x1F;
    else if ((byte & 0xF0) == 0xE0) m_remaining = 2, m_min = 0x800, m_code_point = byte & 0x0F;
    else if ((byte & 0xF8) == 0xF0) m_remaining = 3, m_min = 0x10000, m_code_point = byte & 0x07;
    else return Step::invalid;
    return Step::partial;
}

std::optional<std::size_t> invalid_utf8_at(std::string_view s)
{
    Utf8Decoder decoder;
    std::size_t start = 0;  // first byte of the character being decoded
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto step = decoder.feed(static_cast<unsigned char>(s[i]));
        if (step == Utf8Decoder::Step::invalid) return start;
        if (step == Utf8Decoder::Step::character) start = i + 1;
    }
    if (decoder.pending()) return start;
    return std::nullopt;
}

int utf8_column(std::string_view line, std::size_t offset)
{
    int column = 1;
    for (std::size_t i = 0; i < offset && i < line.size(); ++i)
        if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++column;
    return column;
}

namespace {

/// Characters YAML does not allow written as they are (c-printable's complement).
bool forbidden_in_yaml(std::uint32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r' || c == 0x85) return false;
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xFFFE || c == 0xFFFF;
}

} // namespace

Utf8Filter::Utf8Filter(std::streambuf* source) : m_source(source), m_buffer(1 << 16) {}

Utf8Filter::int_type Utf8Filter::underflow()
{
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (m_eof || m_error) return traits_type::eof();
    auto n = m_source->sgetn(m_buffer.data(), static_cast<std::streamsize>(m_buffer.size()));
    if (n <= 0) {
        m_eof = true;
        if (m_decoder.pending()) {
            m_error = "not UTF-8 text: the file ends inside a multi-byte character";
            m_error_line = m_line;
            m_error_column = m_column;
        }
        return traits_type::eof();
    }
    auto count = static_cast<std::size_t>(n);
    for (std::size_t i = 0; i < count; ++i) {
        auto byte = static_cast<unsigned char>(m_buffer[i]);
        if (!m_decoder.pending()) m_lead = byte;
        auto step = m_decoder.feed(byte);
        if (step == Utf8Decoder::Step::partial) continue;
        if (step == Utf8Decoder::Step::invalid || forbidden_in_yaml(m_decoder.code_point())) {
            m_error = step == Utf8Decoder::Step::invalid
                          ? fmt::format("not UTF-8 text: invalid byte 0x{:02x}", m_lead)
                          : fmt::format("control character U+{:04X} is not allowed in the text (write it escaped)",
                                        m_decoder.code_point());
            m_error_line = m_line;
            m_error_column = m_column;
            count = i;
            break;
        }
        if (byte == '\n') {
            ++m_line;
            m_column = 1;
        } else {
            ++m_column;
        }
    }
    setg(m_buffer.data(), m_buffer.data(), m_buffer.data() + count);
    if (count == 0) return traits_type::eof();
    return traits_type::to_int_type(*gptr());
}

} // namespace fleet::resource
