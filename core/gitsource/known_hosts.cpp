#include "core/gitsource/known_hosts.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <sstream>
#include <vector>

namespace fleet::gitsource {

namespace {

std::vector<std::string> split(std::string_view text, char sep)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        auto end = text.find(sep, start);
        parts.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return parts;
        start = end + 1;
    }
}

/// A hashed entry "|1|base64(salt)|base64(HMAC-SHA1(salt, name))".
bool hashed_match(const std::string& entry, const std::string& name)
{
    auto parts = split(entry, '|');
    std::string salt, hash;
    if (parts.size() != 4 || parts[1] != "1" || !base64_decode(parts[2], salt) || !base64_decode(parts[3], hash))
        return false;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()),
              reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest, &length))
        return false;
    return hash == std::string(reinterpret_cast<const char*>(digest), length);
}

/// OpenSSH's host pattern match: '*' and '?' are wildcards (not '[', which "[host]:port" uses), case-insensitive.
bool glob_match(std::string_view pattern, std::string_view name)
{
    if (pattern.empty()) return name.empty();
    if (pattern[0] == '*') {
        for (std::size_t skip = 0; skip <= name.size(); ++skip)
            if (glob_match(pattern.substr(1), name.substr(skip))) return true;
        return false;
    }
    if (name.empty()) return false;
    if (pattern[0] != '?' && std::tolower(static_cast<unsigned char>(pattern[0])) !=
                                 std::tolower(static_cast<unsigned char>(name[0])))
        return false;
    return glob_match(pattern.substr(1), name.substr(1));
}

/// Whether a comma-separated host list names host: a pattern match that no negated pattern undoes.
bool hosts_match(const std::string& list, const std::string& name)
{
    if (list.starts_with("|")) return hashed_match(list, name);
    bool matched = false;
    for (const auto& pattern : split(list, ',')) {
        bool negated = pattern.starts_with("!");
        std::string p = negated ? pattern.substr(1) : pattern;
        if (!glob_match(p, name)) continue;
        if (negated) return false;
        matched = true;
    }
    return matched;
}

} // namespace

bool base64_decode(std::string_view in, std::string& out)
{
    out.clear();
    unsigned value = 0;
    int bits = 0;
    for (char c : in) {
        int digit;
        if (c >= 'A' && c <= 'Z') digit = c - 'A';
        else if (c >= 'a' && c <= 'z') digit = c - 'a' + 26;
        else if (c >= '0' && c <= '9') digit = c - '0' + 52;
        else if (c == '+') digit = 62;
        else if (c == '/') digit = 63;
        else if (c == '=') break;
        else return false;
        value = (value << 6) | static_cast<unsigned>(digit);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((value >> bits) & 0xFF));
        }
    }
    return true;
}

HostKeyVerdict check_known_hosts(std::string_view text, const std::string& host, int port, std::string_view key_blob)
{
    std::string name = port == 22 ? host : "[" + host + "]:" + std::to_string(port);
    bool listed = false, matched = false, revoked_key = false;
    std::istringstream lines{std::string(text)};
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string first, hosts, type, key;
        fields >> first;
        if (first.empty() || first.starts_with("#")) continue;
        bool revoked = first == "@revoked";
        if (first == "@cert-authority") continue;
        if (first.starts_with("@")) {
            if (!revoked) continue;
            fields >> hosts;
        } else {
            hosts = first;
        }
        fields >> type >> key;
        if (!hosts_match(hosts, name)) continue;
        std::string blob;
        if (!base64_decode(key, blob)) continue;
        if (revoked) {
            revoked_key = revoked_key || blob == key_blob;
            continue;
        }
        listed = true;
        matched = matched || blob == key_blob;
    }
    if (matched && !revoked_key) return HostKeyVerdict::match;
    return listed || revoked_key ? HostKeyVerdict::mismatch : HostKeyVerdict::unknown;
}

} // namespace fleet::gitsource
