#pragma once
// SHA-256 through OpenSSL.

#include <string>
#include <string_view>

namespace fleet::util {

/// An incremental SHA-256; reusable after digest(). Keeps OpenSSL's context and fetched algorithm,
/// whose implicit fetch on every one-shot call costs more than hashing a short text.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    /// Adds data to the hash.
    void update(std::string_view data);
    /// The raw 32-byte digest of everything added since the last digest(); starts over.
    std::string digest();

private:
    void* m_md;   // EVP_MD*
    void* m_ctx;  // EVP_MD_CTX*
};

/// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);

/// Lower-case hex of raw bytes.
std::string to_hex(std::string_view bytes);

} // namespace fleet::util
