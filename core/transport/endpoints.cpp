#include "core/transport/endpoints.hpp"

#include <fmt/format.h>

namespace fleet::transport {

util::Result<Endpoints> device_endpoints(const model::Resource& device, const CredentialLookup& lookup)
{
    Endpoints e;
    const auto& spec = device.spec;
    // The credential an endpoint names, if any: into when the lookup finds it, else problem says so.
    auto credential = [&](const nlohmann::json& endpoint, std::optional<Credential>& into,
                          std::string& problem) -> util::Result<void> {
        auto name = endpoint.value("credential", "");
        if (name.empty()) return {};
        auto found = lookup(name);
        if (!found) return std::unexpected(found.error());
        if (*found)
            into = std::move(**found);
        else
            problem = fmt::format("credential \"{}\" does not exist in tenant \"{}\"", name, device.tenant);
        return {};
    };
    if (auto http = spec.find("http"); http != spec.end() && http->is_object()) {
        HttpEndpoint ep;
        ep.url = http->value("url", "");
        ep.profile = http->value("profile", "generic");
        if (auto c = credential(*http, ep.credential, e.http_problem); !c) return std::unexpected(c.error());
        e.http = std::move(ep);
    }
    auto ssh = spec.find("ssh");
    if (ssh == spec.end() || !ssh->is_object()) return e;
    SshEndpoint ep;
    ep.device = device.name;
    ep.host = ssh->value("host", "");
    ep.port = ssh->value("port", 0);
    ep.user = ssh->value("user", "");
    if (auto c = credential(*ssh, ep.credential, e.ssh_problem); !c) return std::unexpected(c.error());
    auto hops = jump_hops(*ssh, ep.credential, lookup);
    if (!hops && hops.error().kind != util::ErrorKind::not_found) return std::unexpected(hops.error());
    if (!hops && e.ssh_problem.empty()) e.ssh_problem = hops.error().message;
    if (hops) ep.jump = std::move(*hops);
    e.ssh = std::move(ep);
    return e;
}

} // namespace fleet::transport
