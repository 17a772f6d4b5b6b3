#pragma once
// Test support: certificates made with the openssl CLI in a temporary directory (EC P-256 keys,
// valid for two days), for TLS servers and clients started by tests.

#include <string>

#include "tests/support/process.hpp"

namespace fleet::test {

class Pki {
public:
    /// dir/NAME for a file of this PKI (NAME.crt, NAME.key, ...).
    std::string path(const std::string& name) const;
    /// A self-signed CA: NAME.crt and NAME.key, subject CN=NAME.
    void make_ca(const std::string& name);
    /// NAME.crt and NAME.key for subject CN=cn, signed by the CA named ca, with the X.509 v3
    /// extensions in ext (e.g. "subjectAltName=DNS:localhost\n").
    void make_cert(const std::string& name, const std::string& ca, const std::string& cn, const std::string& ext);

private:
    TempDir m_dir;
};

} // namespace fleet::test
