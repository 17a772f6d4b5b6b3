#pragma once
// SHA-256 through OpenSSL.

#include <string>
#include <string_view>

namespace fleet::util {

/// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);

} // namespace fleet::util
