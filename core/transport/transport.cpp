#include "core/transport/transport.hpp"

#include "core/util/paths.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fleet::transport {

namespace fs = std::filesystem;

const char* failure_name(Failure failure)
{
    switch (failure) {
    case Failure::none: return "ok";
    case Failure::unreachable: return "unreachable";
    case Failure::host_key: return "host-key";
    case Failure::auth: return "auth";
    case Failure::transfer: return "transfer";
    case Failure::timeout: return "timeout";
    case Failure::remote: return "remote";
    case Failure::credential: return "credential";
    case Failure::cancelled: return "cancelled";
    }
    return "unknown";
}

void append_tail(std::string& tail, const char* data, std::size_t size)
{
    if (size >= tail_limit) {
        tail.assign(data + size - tail_limit, tail_limit);
        return;
    }
    tail.append(data, size);
    if (tail.size() > tail_limit) tail.erase(0, tail.size() - tail_limit);
}

Outcome failed(Failure failure, std::string message)
{
    Outcome outcome;
    outcome.failure = failure;
    outcome.message = std::move(message);
    return outcome;
}

Credential credential_from(const model::Resource& credential)
{
    Credential c;
    c.name = credential.name;
    const auto& spec = credential.spec;
    auto field = [&](const char* key) -> std::string {
        auto it = spec.find(key);
        return it != spec.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    c.type = field("type");
    c.private_key_file = field("privateKeyFile");
    c.token_file = field("tokenFile");
    c.username = field("username");
    c.password_file = field("passwordFile");
    c.cert_file = field("certFile");
    c.key_file = field("keyFile");
    c.ca_file = field("caFile");
    c.from_env = field("fromEnv");
    c.known_hosts_file = field("knownHostsFile");
    if (auto policy = field("hostKeyPolicy"); !policy.empty()) c.host_key_policy = policy;
    return c;
}

util::Result<std::string> read_secret(const Credential& credential, const std::string& path)
{
    std::string file = util::expand_home(path);
    if (!credential.from_env.empty()) {
        const char* value = std::getenv(credential.from_env.c_str());
        if (value == nullptr || *value == '\0')
            return util::fail(util::ErrorKind::runtime,
                              fmt::format("credential {}: environment variable {} is not set", credential.name,
                                          credential.from_env));
        std::error_code ec;
        if (!fs::is_regular_file(value, ec)) return std::string(value);
        file = value;
    }
    if (file.empty())
        return util::fail(util::ErrorKind::runtime,
                          fmt::format("credential {}: no file or environment variable names the secret",
                                      credential.name));
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return util::fail(util::ErrorKind::runtime,
                          fmt::format("credential {}: cannot read {}", credential.name, file));
    std::ostringstream data;
    data << in.rdbuf();
    return data.str();
}

} // namespace fleet::transport
