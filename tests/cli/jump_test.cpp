// Devices behind bastions: each device's sshd sits in a network namespace of its own that the test
// process has no route to (proved by a failed connection first); only a bastion's sshd, in a
// namespace linked to both sides, can reach it. fleetadm goes through one bastion and through two,
// with libssh only, one bastion login for many devices.
#include <catch2/catch.hpp>


#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support/netns.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

using fleet::test::Fleet;
using fleet::test::Sshd;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// True when a TCP connection to address:port from inside netns succeeds within two seconds.
bool tcp_reachable(const std::string& netns, const std::string& address, int port)
{
    auto r = fleet::test::run_process("/usr/sbin/ip", {"netns", "exec", netns, "timeout", "2", "bash", "-c",
                                                       fmt::format("exec 3<>/dev/tcp/{}/{}", address, port)});
    return r.exit_code == 0;
}

std::size_t count(const std::string& text, const std::string& part)
{
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

/// The operator (where fleetadm runs) — b1 — b2 — d2, and b1 — d1: d1 is one bastion away, d2 two.
/// fleetadm runs in a namespace of its own because the test machine's default route may answer
/// for any address.
struct Site {
    fleet::test::Network net;
    std::string ns_op = net.add_namespace("op"), ns_b1 = net.add_namespace("b1"), ns_b2 = net.add_namespace("b2"), ns_d1 = net.add_namespace("d1"),
                ns_d2 = net.add_namespace("d2");
    std::pair<std::string, std::string> to_b1 = net.link(ns_op, ns_b1), b1_b2 = net.link(ns_b1, ns_b2),
                                        b1_d1 = net.link(ns_b1, ns_d1), b2_d2 = net.link(ns_b2, ns_d2);
    Sshd b1{Sshd::Options::in_namespace(ns_b1, to_b1.second)};
    Sshd b2{Sshd::Options::in_namespace(ns_b2, b1_b2.second)};
    Sshd d1{Sshd::Options::in_namespace(ns_d1, b1_d1.second)};
    Sshd d2{Sshd::Options::in_namespace(ns_d2, b2_d2.second)};
    Fleet fleet;
    fs::path known = fleet.dir().write("known_hosts", b1.known_hosts_line() + b2.known_hosts_line() +
                                                          d1.known_hosts_line() + d2.known_hosts_line());

    std::string credential(const std::string& tenant, const std::string& name, const Sshd& server) const
    {
        return fmt::format("---\napiVersion: fleetadm/v1\nkind: Credential\nmetadata: {{name: {}, tenant: {}}}\n"
                           "spec: {{type: ssh-key, privateKeyFile: {}, knownHostsFile: {}}}\n",
                           name, tenant, server.user_key().string(), known.string());
    }

    std::string hop(const Sshd& server, const std::string& credential) const
    {
        return fmt::format("{{host: \"{}\", port: {}, user: {}, credential: {}}}", server.address(), server.port(),
                           fleet::test::login_name(), credential);
    }

    /// A device of tenant site at server, behind the given hops.
    std::string device(const std::string& name, const std::string& labels, const Sshd& server,
                       const std::string& credential, const std::string& hops) const
    {
        return fmt::format("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: {}, tenant: site, labels: "
                           "{{{}}}}}\nspec:\n  deviceType: rpi4\n  versionProbe: \"echo 1.0.0\"\n  ssh: {{host: \"{}\", "
                           "port: {}, user: {}, credential: {}, jump: [{}]}}\n",
                           name, labels, server.address(), server.port(), fleet::test::login_name(), credential, hops);
    }

    Site()
    {
        fleet.run_in_namespace(ns_op);
        REQUIRE(fleet({"init"}).exit_code == 0);
        std::string docs = "---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: site}\nspec: {}\n"
                           "---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: other}\nspec: {}\n" +
                           credential("site", "b1-key", b1) + credential("site", "b2-key", b2) +
                           credential("site", "d1-key", d1) + credential("site", "d2-key", d2) +
                           credential("other", "b1-other", b1) +
                           device("one-hop", "hops: \"1\"", d1, "d1-key", hop(b1, "b1-key")) +
                           device("two-hops", "hops: \"2\"", d2, "d2-key", hop(b1, "b1-key") + ", " + hop(b2, "b2-key"));
        auto r = fleet({"apply", "-f", "-"}, docs);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }
};

} // namespace

TEST_CASE("a device the test cannot reach is reached through one bastion and through two", "[cli][ssh][netns]")
{
    if (!fleet::test::can_make_namespaces()) {
        WARN("skipped: network namespaces need root and ip(8)");
        return;
    }
    Site site;
    // No route from the operator's namespace but to b1: only the bastions are linked to the devices.
    REQUIRE(tcp_reachable(site.ns_op, site.b1.address(), site.b1.port()));
    REQUIRE_FALSE(tcp_reachable(site.ns_op, site.d1.address(), site.d1.port()));
    REQUIRE_FALSE(tcp_reachable(site.ns_op, site.d2.address(), site.d2.port()));
    REQUIRE_FALSE(tcp_reachable(site.ns_op, site.b2.address(), site.b2.port()));

    // exec --copy: the file arrives byte-exact through one and through two bastions.
    std::string payload(300 * 1024, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 7919) % 251);
    auto local = site.fleet.dir().write("payload.bin", payload);
    for (const auto* server : {&site.d1, &site.d2}) {
        std::string remote = (server->dir() / "payload.bin").string();
        std::string label = server == &site.d1 ? "hops=1" : "hops=2";
        auto r = site.fleet({"exec", "--tenant", "site", "-l", label, "-o", "json", "--copy", local.string() + ":" + remote,
                             "--", "sha256sum " + remote});
        INFO(r.out << r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(fleet::test::read_file(remote) == payload);
        CHECK(r.out.find("\"result\":\"ok\"") != std::string::npos);
    }

    // device check: both reachable, both report their version.
    auto check = site.fleet({"device", "check", "--tenant", "site", "-o", "json"});
    INFO(check.out << check.err);
    CHECK(check.exit_code == 0);
    CHECK(count(check.out, "\"reachable\":true") == 2);

    // A rollout through two bastions: upload, install and verify.
    std::string d2dir = site.d2.dir().string();
    auto artifact = site.fleet.dir().write("fw.bin", "firmware 2.0.0\n");
    auto rollout = site.fleet.dir().write("rollout.yaml", fmt::format(R"(apiVersion: fleetadm/v1
kind: Artifact
metadata: {{name: fw, tenant: site}}
spec: {{file: {}, version: "2.0.0", deviceTypes: [rpi4]}}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: up, tenant: site}}
spec:
  artifact: fw
  targets: {{selector: "hops=2"}}
  strategy: {{}}
  schedule: {{windows: none}}
  install:
    ssh:
      uploadDir: {}
      command: "cp {{{{artifact.path}}}} {}/installed.bin && printf %s {{{{artifact.version}}}} > {}/version"
  verify:
    ssh: {{command: "cat {}/version", expect: "{{{{artifact.version}}}}"}}
)",
                                                                      artifact.string(), d2dir, d2dir, d2dir, d2dir));
    auto applied = site.fleet({"apply", "-f", rollout.string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    auto run = site.fleet({"rollout", "run", "up", "--tenant", "site"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 0);
    CHECK(fleet::test::read_file(site.d2.dir() / "installed.bin") == "firmware 2.0.0\n");
    CHECK(fleet::test::read_file(site.d2.dir() / "version") == "2.0.0");

    // ProxyJump of ~/.ssh/config, for a device without spec.ssh.jump: the same tunnels, no ssh binary
    // (the bastion's login uses the device's credential, which d1 accepts too).
    fs::create_directories(site.fleet.dir().path() / ".ssh");
    site.fleet.dir().write(".ssh/config", fmt::format("Host via-config\n  HostName {}\n  Port {}\n  ProxyJump {}@{}:{}\n",
                                                      site.d1.address(), site.d1.port(), fleet::test::login_name(),
                                                      site.b1.address(), site.b1.port()));
    {
        std::ofstream authorized(site.d1.dir() / "authorized_keys", std::ios::app);
        authorized << fleet::test::read_file(site.b1.user_key().string() + ".pub");
    }
    auto configured = site.fleet({"apply", "-f", "-"},
                                 fmt::format("apiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: from-config, tenant: "
                                             "site, labels: {{hops: config}}}}\nspec: {{deviceType: rpi4, ssh: {{host: "
                                             "via-config, user: {}, credential: b1-key}}}}\n",
                                             fleet::test::login_name()));
    INFO(configured.err);
    REQUIRE(configured.exit_code == 0);
    auto via_config = site.fleet({"exec", "--tenant", "site", "-l", "hops=config", "--", "echo through-config"});
    INFO(via_config.out << via_config.err);
    CHECK(via_config.exit_code == 0);
    CHECK(contains(via_config.out, "through-config"));
}

TEST_CASE("a changed host key at a bastion fails naming it and nothing reaches the device and a bastion credential of "
          "another tenant is never used",
          "[cli][ssh][netns]")
{
    if (!fleet::test::can_make_namespaces()) {
        WARN("skipped: network namespaces need root and ip(8)");
        return;
    }
    Site site;
    // A device of site whose bastion login names a credential that only tenant other has.
    auto r = site.fleet({"apply", "-f", "-"}, site.device("borrower", "hops: borrowed", site.d1, "d1-key",
                                                          site.hop(site.b1, "b1-other")));
    INFO(r.err);
    // Refused at apply, as the device's own credential would be: the tenant has no such credential.
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "spec.ssh.jump[0].credential: device/borrower: credential \"b1-other\" does not exist in tenant \"site\""));
    // And a credential in use by a jump host cannot be deleted from under it.
    auto del = site.fleet({"delete", "credential", "b1-key", "--tenant", "site"});
    CHECK(del.exit_code == 5);
    CHECK(contains(del.err, "device/one-hop"));

    site.b1.change_host_key();
    auto exec = site.fleet({"exec", "--tenant", "site", "-l", "hops=1", "-o", "json", "--", "true"});
    INFO(exec.out << exec.err);
    CHECK(exec.exit_code == 1);
    auto result = nlohmann::json::parse(exec.out.substr(0, exec.out.find('\n')));
    CHECK(result["result"] == "host-key");
    CHECK(contains(result["message"].get<std::string>(), "host key of bastion " + site.b1.address()));
    // Nothing reached the device: its server never saw a connection.
    CHECK(count(site.d1.log(), "Connection from") == 0);
    CHECK(site.d1.accepted_logins() == 0);
}

TEST_CASE("twenty devices behind one bastion cost one bastion login", "[cli][ssh][netns]")
{
    if (!fleet::test::can_make_namespaces()) {
        WARN("skipped: network namespaces need root and ip(8)");
        return;
    }
    Site site;
    // Enrolled from CSV: the ssh.jump column names the bastion, reached with the device's own
    // credential (which the bastion is made to accept too).
    {
        std::ofstream keys(site.b1.dir() / "authorized_keys", std::ios::app);
        keys << fleet::test::read_file(site.d1.user_key().string() + ".pub");
    }
    std::string csv = "name,tenant,deviceType,labels,ssh.host,ssh.port,ssh.user,ssh.credential,ssh.jump\n";
    for (int i = 1; i <= 20; ++i)
        csv += fmt::format("many-{:02},site,rpi4,crowd=yes,{},{},{},d1-key,{}@{}:{}\n", i, site.d1.address(),
                           site.d1.port(), fleet::test::login_name(), fleet::test::login_name(), site.b1.address(),
                           site.b1.port());
    auto enrolled = site.fleet({"device", "enroll", "-f", "-"}, csv);
    INFO(enrolled.err);
    REQUIRE(enrolled.exit_code == 0);
    auto stored = nlohmann::json::parse(site.fleet({"get", "device", "many-01", "--tenant", "site", "-o", "json"}).out);
    CHECK(stored["spec"]["ssh"]["jump"] ==
          nlohmann::json::array({{{"host", site.b1.address()}, {"port", site.b1.port()}, {"user", fleet::test::login_name()}}}));
    auto before = site.b1.accepted_logins();
    auto exec = site.fleet({"exec", "--tenant", "site", "-l", "crowd=yes", "--max-parallel", "20", "-o", "json", "--",
                            "echo reached"});
    INFO(exec.out << exec.err);
    CHECK(exec.exit_code == 0);
    CHECK(count(exec.out, "\"result\":\"ok\"") == 20);
    CHECK(site.b1.accepted_logins() - before == 1);
    CHECK(site.d1.accepted_logins() >= 20);
}
