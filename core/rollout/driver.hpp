#pragma once
// The Driver that carries out rollout steps over the real transports: SSH steps on an SshPool,
// HTTP steps on an HttpClient, each with bounded parallelism.

#include <memory>

#include "core/rollout/runner.hpp"

namespace fleet::rollout {

/// A driver over SSH and HTTP with at most max_parallel operations per transport at once.
std::unique_ptr<Driver> make_transport_driver(std::size_t max_parallel);

} // namespace fleet::rollout
