#pragma once
// Checking an SSH server's host key against OpenSSH known_hosts files. libgit2 1.5 accepts any
// host key unless the caller checks it, so git sources over ssh:// check it here.

#include <string>
#include <string_view>

namespace fleet::gitsource {

/// What a known_hosts file says about a host's key.
enum class HostKeyVerdict {
    match,     ///< the host is listed with this key
    mismatch,  ///< the host is listed, but never with this key
    unknown,   ///< the host is not listed
};

/// Looks host (and port, written "[host]:port" when not 22) up in the text of a known_hosts file,
/// plain or hashed ("|1|salt|hash") names and `*`/`?` patterns, and compares key_blob (the key in
/// SSH wire format, as base64-encoded in the file). `@revoked` keys never match; `@cert-authority`
/// lines are skipped.
HostKeyVerdict check_known_hosts(std::string_view text, const std::string& host, int port, std::string_view key_blob);

/// Decodes standard base64; returns false on a character outside the alphabet.
bool base64_decode(std::string_view in, std::string& out);

} // namespace fleet::gitsource
