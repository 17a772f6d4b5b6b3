#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "core/transport/transport.hpp"
#include "tests/support/process.hpp"

using namespace fleet;

TEST_CASE("append_tail keeps the last bytes only", "[transport]")
{
    std::string tail;
    transport::append_tail(tail, "abc", 3);
    CHECK(tail == "abc");
    std::string big(transport::tail_limit + 10, 'x');
    big.back() = 'z';
    transport::append_tail(tail, big.data(), big.size());
    CHECK(tail.size() == transport::tail_limit);
    CHECK(tail.back() == 'z');
    transport::append_tail(tail, "end", 3);
    CHECK(tail.size() == transport::tail_limit);
    CHECK(tail.ends_with("zend"));
}

TEST_CASE("read_secret reads a file or an environment variable, and names neither content", "[transport]")
{
    test::TempDir dir;
    auto key = dir.path() / "key";
    std::ofstream(key) << "SECRET-KEY-TEXT";
    model::Resource r;
    r.kind = model::Kind::credential;
    r.name = "acme-ssh";
    r.spec = {{"type", "ssh-key"}, {"privateKeyFile", key.string()}};
    auto cred = transport::credential_from(r);
    CHECK(cred.host_key_policy == "strict");
    auto secret = transport::read_secret(cred, cred.private_key_file);
    REQUIRE(secret);
    CHECK(*secret == "SECRET-KEY-TEXT");

    cred.private_key_file = (dir.path() / "missing").string();
    auto missing = transport::read_secret(cred, cred.private_key_file);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("acme-ssh") != std::string::npos);

    cred.from_env = "FLEETADM_TEST_SECRET_VAR";
    ::setenv("FLEETADM_TEST_SECRET_VAR", "TOKEN-IN-ENV", 1);
    CHECK(transport::read_secret(cred, "").value() == "TOKEN-IN-ENV");
    ::setenv("FLEETADM_TEST_SECRET_VAR", key.c_str(), 1);
    CHECK(transport::read_secret(cred, "").value() == "SECRET-KEY-TEXT");
    ::unsetenv("FLEETADM_TEST_SECRET_VAR");
    auto unset = transport::read_secret(cred, "");
    REQUIRE_FALSE(unset);
    CHECK(unset.error().message.find("FLEETADM_TEST_SECRET_VAR") != std::string::npos);
}
