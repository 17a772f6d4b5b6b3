#include "tests/support/netns.hpp"

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "tests/support/process.hpp"

namespace fleet::test {

namespace {

void ip(const std::vector<std::string>& args)
{
    auto r = run_process("/usr/sbin/ip", args);
    if (r.exit_code != 0) {
        std::string line;
        for (const auto& a : args) line += " " + a;
        throw std::runtime_error("ip" + line + ": " + r.err);
    }
}

} // namespace

bool can_make_namespaces() { return geteuid() == 0 && std::filesystem::exists("/usr/sbin/ip"); }

Network::Network()
{
    int pid = static_cast<int>(::getpid());
    m_prefix = "fa" + std::to_string(pid % 100000);
    m_subnet_base = pid % 200;  // 10.(20 + base).link.0/30 for each link
}

Network::~Network()
{
    for (const auto& n : m_namespaces) run_process("/usr/sbin/ip", {"netns", "del", n});
}

std::string Network::add_namespace(const std::string& name)
{
    std::string full = m_prefix + "-" + name;
    run_process("/usr/sbin/ip", {"netns", "del", full});  // left over by a killed run of the same pid
    ip({"netns", "add", full});
    m_namespaces.push_back(full);
    ip({"-n", full, "link", "set", "lo", "up"});
    return full;
}

std::pair<std::string, std::string> Network::link(const std::string& a, const std::string& b)
{
    int n = ++m_links;
    std::string end_a = m_prefix + "a" + std::to_string(n), end_b = m_prefix + "b" + std::to_string(n);
    std::string net = "10." + std::to_string(20 + m_subnet_base) + "." + std::to_string(n) + ".";
    // Made in the test's namespace, then both ends moved: nothing is left there.
    ip({"link", "add", end_a, "type", "veth", "peer", "name", end_b});
    ip({"link", "set", end_a, "netns", a});
    ip({"link", "set", end_b, "netns", b});
    auto in = [](const std::string& ns, std::vector<std::string> args) {
        args.insert(args.begin(), {"-n", ns});
        ip(args);
    };
    in(a, {"addr", "add", net + "1/30", "dev", end_a});
    in(b, {"addr", "add", net + "2/30", "dev", end_b});
    in(a, {"link", "set", end_a, "up"});
    in(b, {"link", "set", end_b, "up"});
    return {net + "1", net + "2"};
}

} // namespace fleet::test
