#include "core/util/sha256.hpp"

#include <openssl/evp.h>

namespace fleet::util {

Sha256::Sha256() : m_md(EVP_MD_fetch(nullptr, "SHA256", nullptr)), m_ctx(EVP_MD_CTX_new())
{
    EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(m_ctx), static_cast<EVP_MD*>(m_md), nullptr);
}

Sha256::~Sha256()
{
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(m_ctx));
    EVP_MD_free(static_cast<EVP_MD*>(m_md));
}

void Sha256::update(std::string_view data) { EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(m_ctx), data.data(), data.size()); }

std::string Sha256::digest()
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    auto* ctx = static_cast<EVP_MD_CTX*>(m_ctx);
    EVP_DigestFinal_ex(ctx, out, &length);
    EVP_DigestInit_ex(ctx, static_cast<EVP_MD*>(m_md), nullptr);
    return std::string(reinterpret_cast<const char*>(out), length);
}

std::string to_hex(std::string_view bytes)
{
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += hex[c >> 4];
        out += hex[c & 0xf];
    }
    return out;
}

std::string sha256_hex(std::string_view data)
{
    thread_local Sha256 hasher;
    hasher.update(data);
    return to_hex(hasher.digest());
}

} // namespace fleet::util
