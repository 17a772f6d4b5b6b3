#pragma once
// Test support: sites behind gateways, made of Linux network namespaces joined by veth pairs
// (`ip netns`, `ip link`; needs root). A namespace forwards nothing, so a host two links away is
// unreachable except through a program in between: a bastion's sshd.

#include <string>
#include <vector>

namespace fleet::test {

/// True when this process may create network namespaces (root, with `ip` installed).
bool can_make_namespaces();

/// Namespaces and the links between them; all removed when the object dies.
class Network {
public:
    Network();
    ~Network();
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    /// Creates a namespace (loopback up) and returns its full name.
    std::string add_namespace(const std::string& name);
    /// Links two namespaces with a /30 and returns {address in a, address in b}.
    std::pair<std::string, std::string> link(const std::string& a, const std::string& b);

private:
    std::string m_prefix;  ///< unique per process: parallel tests do not collide
    int m_subnet_base = 0;
    int m_links = 0;
    std::vector<std::string> m_namespaces;
};

} // namespace fleet::test
