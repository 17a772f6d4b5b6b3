#include "core/resource/document.hpp"

#include <cctype>

namespace fleet::resource {

const std::string& SourceMap::empty_name()
{
    static const std::string empty;
    return empty;
}

util::Location SourceMap::locate(std::string_view pointer) const
{
    std::string key(pointer);
    while (!key.empty()) {
        if (auto it = m_marks.find(key); it != m_marks.end())
            return {file(), it->second.first, it->second.second};
        key.erase(key.rfind('/'));
    }
    return {file(), m_root.first, m_root.second};
}

SourceMap SourceMap::rebased(const std::string& prefix) const
{
    SourceMap out(m_file);
    for (const auto& [pointer, mark] : m_marks) {
        if (pointer == prefix)
            out.m_root = mark;
        else if (pointer.size() > prefix.size() && pointer.compare(0, prefix.size(), prefix) == 0 &&
                 pointer[prefix.size()] == '/')
            out.m_marks[pointer.substr(prefix.size())] = mark;
    }
    return out;
}

namespace {

std::string unescape_token(std::string_view token)
{
    std::string out;
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '~' && i + 1 < token.size()) {
            out += token[i + 1] == '1' ? '/' : '~';
            ++i;
        } else {
            out += token[i];
        }
    }
    return out;
}

bool is_index(std::string_view token)
{
    if (token.empty()) return false;
    for (char c : token)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

} // namespace

std::string field_path(std::string_view pointer)
{
    std::string out;
    std::size_t pos = 0;
    while (pos < pointer.size()) {
        std::size_t next = pointer.find('/', pos + 1);
        std::string_view token = pointer.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1);
        if (is_index(token)) {
            out += '[';
            out += token;
            out += ']';
        } else {
            if (!out.empty()) out += '.';
            out += unescape_token(token);
        }
        if (next == std::string_view::npos) break;
        pos = next;
    }
    return out;
}

std::string pointer_join(const std::string& pointer, std::string_view token)
{
    std::string out = pointer;
    out += '/';
    for (char c : token) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

} // namespace fleet::resource
