#include "core/util/diagnostics.hpp"

#include <fmt/format.h>

namespace fleet::util {

std::string Location::str() const
{
    if (line <= 0) return file;
    if (column <= 0) return fmt::format("{}:{}", file, line);
    return fmt::format("{}:{}:{}", file, line, column);
}

std::string Diagnostic::str() const
{
    std::string out = where.str();
    if (!out.empty()) out += ": ";
    if (!field.empty()) out += field + ": ";
    out += message;
    return out;
}

void Diagnostics::error(Location where, std::string field, std::string message)
{
    m_items.push_back({std::move(where), std::move(field), std::move(message), false});
    ++m_errors;
}

void Diagnostics::warn(Location where, std::string field, std::string message)
{
    m_items.push_back({std::move(where), std::move(field), std::move(message), true});
}

void Diagnostics::merge(const Diagnostics& other)
{
    m_items.insert(m_items.end(), other.m_items.begin(), other.m_items.end());
    m_errors += other.m_errors;
}

} // namespace fleet::util
