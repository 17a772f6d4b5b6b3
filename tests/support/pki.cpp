#include "tests/support/pki.hpp"

#include <catch2/catch.hpp>

#include <vector>

namespace fleet::test {

namespace {

void openssl(const std::vector<std::string>& args)
{
    auto r = run_process("/usr/bin/openssl", args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
}

} // namespace

std::string Pki::path(const std::string& name) const { return (m_dir.path() / name).string(); }

void Pki::make_ca(const std::string& name)
{
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             path(name + ".key"), "-out", path(name + ".crt"), "-days", "2", "-subj", "/CN=" + name});
}

void Pki::make_cert(const std::string& name, const std::string& ca, const std::string& cn, const std::string& ext)
{
    m_dir.write(name + ".ext", ext);
    openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             path(name + ".key"), "-out", path(name + ".csr"), "-subj", "/CN=" + cn});
    openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".crt"), "-CAkey", path(ca + ".key"),
             "-CAcreateserial", "-out", path(name + ".crt"), "-days", "2", "-extfile", path(name + ".ext")});
}

} // namespace fleet::test
