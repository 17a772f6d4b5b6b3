#include "core/transport/endpoints.hpp"

#include <fmt/format.h>

namespace fleet::transport {

util::Result<Endpoints> device_endpoints(const model::Resource& device, const CredentialLookup& lookup)
{
    Endpoints e;
    const auto& spec = device.spec;
    auto missing = [&](const std::string& name) {
        return fmt::format("credential \"{}\" does not exist in tenant \"{}\"", name, device.tenant);
    };
    if (auto http = spec.find("http"); http != spec.end() && http->is_object()) {
        HttpEndpoint ep;
        ep.url = http->value("url", "");
        ep.profile = http->value("profile", "generic");
        if (auto name = http->value("credential", ""); !name.empty()) {
            auto found = lookup(name);
            if (!found) return std::unexpected(found.error());
            if (*found)
                ep.credential = std::move(**found);
            else
                e.http_problem = missing(name);
        }
        e.http = std::move(ep);
    }
    auto ssh = spec.find("ssh");
    if (ssh == spec.end() || !ssh->is_object()) return e;
    SshEndpoint ep;
    ep.device = device.name;
    ep.host = ssh->value("host", "");
    ep.port = ssh->value("port", 0);
    ep.user = ssh->value("user", "");
    if (auto name = ssh->value("credential", ""); !name.empty()) {
        auto found = lookup(name);
        if (!found) return std::unexpected(found.error());
        if (*found)
            ep.credential = std::move(**found);
        else
            e.ssh_problem = missing(name);
    }
    auto hops = jump_hops(*ssh, ep.credential, lookup);
    if (!hops && hops.error().kind != util::ErrorKind::not_found) return std::unexpected(hops.error());
    if (!hops && e.ssh_problem.empty()) e.ssh_problem = hops.error().message;
    if (hops) ep.jump = std::move(*hops);
    e.ssh = std::move(ep);
    return e;
}

} // namespace fleet::transport
