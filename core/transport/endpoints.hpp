#pragma once
// How a device is reached: its spec.ssh and spec.http turned into transport endpoints with their
// credentials (and each bastion's), looked up in the device's own tenant. The one mapping from a
// Device to what a transport job needs, used by `exec`, `device check` and rollouts alike.

#include <optional>
#include <string>

#include "core/model/resource.hpp"
#include "core/transport/ssh.hpp"
#include "core/transport/transport.hpp"

namespace fleet::transport {

/// A device's HTTP endpoint (spec.http).
struct HttpEndpoint {
    std::string url;                       ///< spec.http.url
    std::string profile = "generic";       ///< generic | swupdate
    std::optional<Credential> credential;  ///< spec.http.credential
};

/// A device's endpoints. An endpoint whose credential (or a bastion's) does not exist is kept with
/// a problem that says so, so that a job on it fails with Failure::credential and that message.
struct Endpoints {
    std::optional<SshEndpoint> ssh;    ///< none: the device has no spec.ssh
    std::string ssh_problem;           ///< why spec.ssh cannot be used; empty: usable
    std::optional<HttpEndpoint> http;  ///< none: the device has no spec.http
    std::string http_problem;          ///< why spec.http cannot be used; empty: usable
};

/// The endpoints of a device (a Device resource). lookup finds credentials by name; the caller
/// scopes it to the device's own tenant (SPEC §6: never another tenant's credential). lookup's
/// errors pass through; a credential it does not find is the endpoint's problem.
util::Result<Endpoints> device_endpoints(const model::Resource& device, const CredentialLookup& lookup);

} // namespace fleet::transport
