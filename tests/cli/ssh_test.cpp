// Black-box tests of `exec` and `device check` against real sshd servers on loopback.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "tests/support/background.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

using fleet::test::Fleet;
using fleet::test::RunResult;
using fleet::test::Sshd;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

std::string credential(const std::string& tenant, const fs::path& key, const fs::path& known_hosts)
{
    return fmt::format("---\napiVersion: fleetadm/v1\nkind: Credential\nmetadata: {{name: key, tenant: {}}}\n"
                       "spec: {{type: ssh-key, privateKeyFile: {}, knownHostsFile: {}}}\n",
                       tenant, key.string(), known_hosts.string());
}

std::string device(const std::string& tenant, const std::string& name, const std::string& role, int port,
                   const std::string& probe = "")
{
    std::string doc = fmt::format("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: {}, tenant: {}, "
                                  "labels: {{role: {}}}}}\nspec:\n  deviceType: rpi4\n  ssh: {{host: 127.0.0.1, "
                                  "port: {}, user: {}, credential: key}}\n",
                                  name, tenant, role, port, fleet::test::login_name());
    if (!probe.empty()) doc += fmt::format("  versionProbe: \"{}\"\n", probe);
    return doc;
}

std::string tenant(const std::string& name, const std::string& members)
{
    return fmt::format("---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {{name: {}}}\nspec:\n  members: {}\n", name,
                       members);
}

/// Two tenants the caller runs on (acme: web-1, web-2; beta: db-1 on a closed port) and one,
/// hidden, that carol and bob cannot see. bob is a viewer of acme; carol an operator of acme and beta.
struct World {
    Fleet fleet;
    Sshd web1, web2, hidden;
    int closed = fleet::test::closed_port();

    World()
    {
        REQUIRE(fleet({"init"}).exit_code == 0);
        auto known = fleet.dir().write("known_hosts", web1.known_hosts_line() + web2.known_hosts_line() +
                                                          hidden.known_hosts_line());
        // web-1 and web-2 log in with web1's user key: web2 authorizes it too.
        fs::copy_file(web1.user_key().string() + ".pub", web2.dir() / "authorized_keys",
                      fs::copy_options::overwrite_existing);
        std::string docs = tenant("acme", "[{user: bob, role: viewer}, {user: carol, role: operator}]") +
                           tenant("beta", "[{user: carol, role: operator}]") + tenant("hidden", "[]") +
                           credential("acme", web1.user_key(), known) + credential("beta", web1.user_key(), known) +
                           credential("hidden", hidden.user_key(), known) +
                           device("acme", "web-1", "web", web1.port(), "echo 2.1.0") +
                           device("acme", "web-2", "web", web2.port(), "echo probe-failed >&2; exit 3") +
                           device("beta", "db-1", "db", closed) + device("hidden", "hid-1", "web", hidden.port());
        docs += "---\napiVersion: fleetadm/v1\nkind: DeviceGroup\nmetadata: {name: second, tenant: acme}\n"
                "spec: {devices: [web-2]}\n";
        auto r = fleet({"apply", "-f", "-"}, docs);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }

    /// The devices of the hidden tenant are out of every command here.
    RunResult run(std::vector<std::string> args, const std::string& as = "carol") const
    {
        args.insert(args.begin(), {"--as", as});
        return fleet(args);
    }
};

std::vector<nlohmann::json> ndjson(const std::string& text)
{
    std::vector<nlohmann::json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
}

} // namespace

TEST_CASE("exec runs a command on the matching devices of two tenants and reports each", "[ssh][cli]")
{
    World w;
    auto r = w.run({"exec", "--all", "--", "echo", "hello", "from", "$(hostname)"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);  // db-1 is unreachable
    CHECK(contains(r.out, "DEVICE  TENANT  RESULT"));
    CHECK(contains(r.out, "OUTPUT"));
    std::istringstream lines(r.out);
    std::map<std::string, std::string> rows;
    // The table, up to the blank line before each device's output lines.
    for (std::string line; std::getline(lines, line) && !line.empty();) rows[line.substr(0, line.find(' '))] = line;
    REQUIRE(rows.size() == 4);
    CHECK(contains(r.out, "\nacme/web-1: ok, exit 0\n  stdout | hello from "));
    CHECK(contains(rows["web-1"], "acme"));
    CHECK(contains(rows["web-1"], " ok "));
    CHECK(contains(rows["web-1"], "hello from"));
    CHECK(contains(rows["web-2"], " ok "));
    CHECK(contains(rows["db-1"], "beta"));
    CHECK(contains(rows["db-1"], "unreachable"));
    CHECK(contains(rows["db-1"], fmt::format("127.0.0.1:{}", w.closed)));

    SECTION("-o json prints one object per device")
    {
        auto j = w.run({"-o", "json", "exec", "--all", "--", "echo out; echo err >&2"});
        CHECK(j.exit_code == 1);
        auto objects = ndjson(j.out);
        REQUIRE(objects.size() == 3);
        std::map<std::string, nlohmann::json> by_device;
        for (auto& o : objects) by_device[o["device"]] = o;
        CHECK(by_device["web-1"]["tenant"] == "acme");
        CHECK(by_device["web-1"]["result"] == "ok");
        CHECK(by_device["web-1"]["exit"] == 0);
        CHECK(by_device["web-1"]["stdout"] == "out\n");
        CHECK(by_device["web-1"]["stderr"] == "err\n");
        CHECK(by_device["web-1"]["elapsedMs"].is_number());
        CHECK(by_device["db-1"]["result"] == "unreachable");
        CHECK(by_device["db-1"]["exit"].is_null());
        CHECK(contains(by_device["db-1"]["message"], "db-1"));
    }
    SECTION("a selector, a tenant or a group narrows the devices; all succeeding is exit 0")
    {
        auto web = w.run({"-o", "json", "exec", "-l", "role=web", "--", "true"});
        CHECK(web.exit_code == 0);
        CHECK(ndjson(web.out).size() == 2);
        auto beta = w.run({"--tenant", "beta", "-o", "json", "exec", "--all", "--", "true"});
        CHECK(beta.exit_code == 1);
        REQUIRE(ndjson(beta.out).size() == 1);
        CHECK(ndjson(beta.out)[0]["device"] == "db-1");
        auto group = w.run({"-o", "json", "exec", "--group", "second", "--", "exit 3"});
        CHECK(group.exit_code == 1);
        REQUIRE(ndjson(group.out).size() == 1);
        CHECK(ndjson(group.out)[0]["device"] == "web-2");
        CHECK(ndjson(group.out)[0]["result"] == "remote");
        CHECK(ndjson(group.out)[0]["exit"] == 3);
    }
    SECTION("no matching device is exit 0 with a note")
    {
        auto none = w.run({"exec", "-l", "role=nothing", "--", "true"});
        CHECK(none.exit_code == 0);
        CHECK(none.out.empty());
        CHECK(contains(none.err, "No matching devices"));
    }
    SECTION("each tenant's audit log gets one entry with the results, never the command")
    {
        auto audit = w.fleet({"audit", "--action", "exec", "-A", "-o", "json"});
        INFO(audit.out);
        CHECK(audit.exit_code == 0);
        CHECK(contains(audit.out, "2 devices: 2 ok"));
        CHECK(contains(audit.out, "1 device: 1 unreachable"));
        CHECK_FALSE(contains(audit.out, "hello"));
        CHECK_FALSE(contains(audit.out, "hidden"));
        CHECK(contains(audit.out, "carol"));
    }
}

TEST_CASE("exec --copy uploads a file byte-exact before the command", "[ssh][cli]")
{
    World w;
    std::string content(300 * 1024, '\0');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 7919) % 251);
    auto local = w.fleet.dir().write("payload.bin", content);
    auto target = w.web1.dir() / "payload.bin";
    auto r = w.run({"exec", "-l", "role=web", "--group", "second", "--copy",
                    local.string() + ":" + w.web2.dir().string() + "/", "--", "wc -c <",
                    (w.web2.dir() / "payload.bin").string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, std::to_string(content.size())));
    CHECK(fleet::test::read_file(w.web2.dir() / "payload.bin") == content);

    SECTION("--copy alone is enough, and a missing local file is refused before anything runs")
    {
        auto copy = w.run({"exec", "-l", "role=web", "--copy", local.string() + ":" + target.string()});
        CHECK(copy.exit_code == 0);
        CHECK(fleet::test::read_file(target) == content);
        auto missing = w.run({"exec", "--all", "--copy", "/nonexistent/file:/tmp/x", "--", "true"});
        CHECK(missing.exit_code == 2);
        CHECK(contains(missing.err, "/nonexistent/file"));
        CHECK(w.run({"exec"}).exit_code == 2);
    }
}

TEST_CASE("exec refuses to fan out to everything unless told --all and takes device names and lists targets with --dry-run",
          "[ssh][cli]")
{
    World w;
    auto bare = w.run({"exec", "--", "touch", (w.web1.dir() / "ran").string()});
    CHECK(bare.exit_code == 2);
    CHECK(contains(bare.err, "name the devices (NAME..., -l SELECTOR or --group GROUP), or pass --all"));
    CHECK_FALSE(fs::exists(w.web1.dir() / "ran"));
    CHECK_FALSE(contains(w.web1.log() + w.web2.log(), "Connection from"));

    auto dry = w.run({"exec", "--all", "--dry-run", "-o", "json"});
    CHECK(dry.exit_code == 0);
    auto listed = nlohmann::json::parse(dry.out);
    std::set<std::string> names;
    for (const auto& t : listed) names.insert(t["device"].get<std::string>());
    CHECK(names == std::set<std::string>{"web-1", "web-2", "db-1"});  // carol's tenants only
    CHECK_FALSE(contains(w.web1.log() + w.web2.log(), "Connection from"));

    auto named = w.run({"-o", "json", "exec", "web-2", "--tenant", "acme", "--", "echo named"});
    INFO(named.out << named.err);
    auto results = ndjson(named.out);
    REQUIRE(results.size() == 1);
    CHECK(results[0]["device"] == "web-2");
    CHECK(results[0]["stdout"] == "named\n");
    auto typo = w.run({"exec", "web-9", "--tenant", "acme", "--", "true"});
    CHECK(typo.exit_code == 4);
    CHECK(contains(typo.err, "web-9"));
}

TEST_CASE("exec shows a live progress line on a terminal and none when stderr is piped", "[ssh][cli]")
{
    World w;
    // Two devices that answer and one whose port is closed; stderr on a terminal, stdout piped.
    auto shown = w.fleet.on_terminal({"--as", "carol", "exec", "--all", "--", "echo ran"});
    INFO(shown.err);
    CHECK(shown.exit_code == 1);
    CHECK(contains(shown.err, "\r\x1b[2Kexec ["));                            // redrawn in place
    CHECK(contains(shown.err, "3/3  ok 2  failed 1  left 0"));                 // the final state, kept
    CHECK(contains(shown.out, "DEVICE"));                                    // the table still goes to stdout
    CHECK_FALSE(contains(shown.out, "\x1b["));
    auto piped = w.run({"exec", "--all", "--", "echo ran"});
    CHECK(piped.exit_code == 1);
    CHECK_FALSE(contains(piped.err, "\x1b["));
    CHECK_FALSE(contains(piped.err, "exec ["));
    auto json = w.fleet.on_terminal({"--as", "carol", "-o", "json", "exec", "--all", "--", "echo ran"});
    CHECK_FALSE(contains(json.err, "exec ["));  // NDJSON callers get events, not a bar
    CHECK(ndjson(json.out).size() == 3);
}

TEST_CASE("exec needs operator on every device's tenant and never reaches invisible tenants", "[ssh][cli]")
{
    World w;
    SECTION("a viewer is refused before any device is reached")
    {
        auto r = w.run({"exec", "--all", "--", "touch", (w.web1.dir() / "ran").string()}, "bob");
        CHECK(r.exit_code == 3);
        CHECK(contains(r.err, "permission denied"));
        CHECK(r.out.empty());
        CHECK_FALSE(fs::exists(w.web1.dir() / "ran"));
        CHECK_FALSE(contains(w.web1.log(), "Connection from"));
    }
    SECTION("an operator of some tenants reaches only theirs, and nothing names the others")
    {
        auto r = w.run({"exec", "--all", "--", "true"});
        CHECK(contains(r.out, "web-1"));
        CHECK_FALSE(contains(r.out + r.err, "hid-1"));
        CHECK_FALSE(contains(r.out + r.err, "hidden"));
        CHECK_FALSE(contains(w.hidden.log(), "Connection from"));
        auto named = w.run({"--tenant", "hidden", "exec", "--all", "--", "true"});
        CHECK(named.exit_code == 4);
        CHECK_FALSE(contains(w.hidden.log(), "Connection from"));
    }
}

TEST_CASE("device check records reachability and the reported version", "[ssh][cli]")
{
    World w;
    std::string http = "---\napiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: web, tenant: acme}\n"
                "spec: {type: http-bearer, tokenFile: /nonexistent}\n---\napiVersion: fleetadm/v1\nkind: Device\n"
                "metadata: {name: http-1, tenant: acme}\nspec: {deviceType: rpi4, http: {url: \"http://127.0.0.1:9/\", "
                "credential: web}}\n";
    fleet::test::HttpDevice endpoint;
    http += fmt::format("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: http-2, tenant: acme}}\n"
                        "spec: {{deviceType: rpi4, http: {{url: \"http://127.0.0.1:{}\"}}}}\n",
                        endpoint.port());
    REQUIRE(w.fleet({"apply", "-f", "-"}, http).exit_code == 0);
    auto r = w.run({"device", "check"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "acme/web-1: reachable, version 2.1.0"));
    CHECK(contains(r.out, "acme/web-2: reachable; version probe failed"));
    CHECK(contains(r.out, "beta/db-1: unreachable"));
    CHECK(contains(r.out, "acme/http-1: credential: "));   // its token file is missing: never tried
    CHECK(contains(r.out, "acme/http-2: reachable"));      // an HTTP-only device answers a GET
    CHECK_FALSE(contains(r.out, "hid-1"));

    auto get = w.fleet({"get", "devices", "-o", "json"});
    auto items = nlohmann::json::parse(get.out)["items"];
    std::map<std::string, nlohmann::json> status;
    for (auto& item : items) status[item["metadata"]["name"]] = item["status"];
    CHECK(status["web-1"]["reportedVersion"] == "2.1.0");
    CHECK(status["web-1"]["reachable"] == true);
    CHECK(status["web-1"]["lastSeen"].is_string());
    CHECK(status["web-2"]["reachable"] == true);
    CHECK_FALSE(status["web-2"].contains("reportedVersion"));
    CHECK(status["db-1"]["reachable"] == false);
    CHECK_FALSE(status["db-1"].contains("lastSeen"));
    CHECK_FALSE(status["http-1"].contains("reachable"));
    CHECK(status["http-2"]["reachable"] == true);
    CHECK_FALSE(status["hid-1"].contains("reachable"));

    auto describe = w.fleet({"describe", "device", "web-1"});
    CHECK(contains(describe.out, "2.1.0"));
    auto audit = w.fleet({"audit", "--action", "check", "-A"});
    CHECK(contains(audit.out, "1 credential"));

    SECTION("named devices only, as JSON; a viewer may not check")
    {
        auto one = w.run({"-o", "json", "device", "check", "web-1"});
        CHECK(one.exit_code == 0);
        auto objects = ndjson(one.out);
        REQUIRE(objects.size() == 1);
        CHECK(objects[0]["version"] == "2.1.0");
        CHECK(objects[0]["reachable"] == true);
        CHECK(w.run({"device", "check", "web-1"}, "bob").exit_code == 3);
    }
}

TEST_CASE("no key material in output, store or audit log", "[ssh][cli]")
{
    World w;
    std::string key = fleet::test::read_file(w.web1.user_key());
    // A line from the middle of the key's base64 body (the first ones are the same for every key).
    std::vector<std::string> lines;
    std::istringstream in(key);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    REQUIRE(lines.size() > 4);
    auto body = lines[lines.size() / 2];
    std::string seen;
    for (auto args : std::vector<std::vector<std::string>>{{"exec", "--all", "--", "true"},
                                                          {"device", "check"},
                                                          {"get", "credentials", "-o", "yaml"},
                                                          {"audit", "-A", "-o", "json"}}) {
        auto r = w.run(args);
        seen += r.out + r.err;
    }
    // A key the server refuses, and one that is not a key at all.
    w.fleet.dir().write("not-a-key", key.substr(0, key.size() / 2));
    auto broken = credential("acme", w.fleet.dir().path() / "not-a-key", w.fleet.dir().path() / "known_hosts");
    REQUIRE(w.fleet({"apply", "-f", "-"}, broken).exit_code == 0);
    auto r = w.run({"exec", "-l", "role=web", "--", "true"});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.out, "credential"));
    seen += r.out + r.err;
    CHECK_FALSE(contains(seen, body));
    CHECK_FALSE(contains(seen, "PRIVATE KEY"));
    CHECK_FALSE(contains(w.fleet.store_text(), body));
}

TEST_CASE("Ctrl-C stops exec: devices still running end cancelled, results are recorded, exit 130", "[ssh][cli]")
{
    World w;
    // web-1 answers at once; web-2 sleeps well past the interrupt.
    std::string command =
        fmt::format("if [ \"${{SSH_CONNECTION##* }}\" = {} ]; then echo quick; else sleep 60; fi", w.web1.port());
    fleet::test::BackgroundProcess exec(FLEETADM_BIN,
                                        {"--state", w.fleet.location(), "--as", "carol", "-o", "json", "exec",
                                         "-l", "role=web", "--", command},
                                        {{"HOME", w.fleet.dir().path().string()}});
    exec.wait_for_line("\"device\":\"web-1\"");
    auto interrupted_at = std::chrono::steady_clock::now();
    exec.kill(SIGINT);
    int code = exec.wait();
    auto took = std::chrono::steady_clock::now() - interrupted_at;
    auto out = exec.output();
    INFO(out);
    CHECK(code == 130);
    CHECK(took < std::chrono::seconds(10));
    std::map<std::string, nlohmann::json> by_device;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
        if (line.starts_with("{")) {
            auto o = nlohmann::json::parse(line);
            by_device[o["device"]] = o;
        }
    REQUIRE(by_device.size() == 2);
    CHECK(by_device["web-1"]["result"] == "ok");
    CHECK(by_device["web-1"]["stdout"] == "quick\n");
    CHECK(by_device["web-2"]["result"] == "cancelled");
    CHECK(contains(out, "interrupted: 1 of 2 devices cancelled"));
    auto audit = w.fleet({"audit", "--action", "exec", "-A", "-o", "json"});
    CHECK(contains(audit.out, "2 devices: 1 cancelled, 1 ok"));
}

TEST_CASE("Ctrl-C stops device check: a cancelled device's status is left as it was", "[ssh][cli]")
{
    World w;
    auto first = w.run({"device", "check", "web-1", "web-2"});
    REQUIRE(first.exit_code == 1);  // web-2's probe fails
    auto before = nlohmann::json::parse(w.run({"get", "device", "web-2", "--tenant", "acme", "-o", "json"}).out);
    // Now web-2's probe hangs; web-1's answers.
    auto hang = w.fleet({"apply", "-f", "-"},
                        device("acme", "web-2", "web", w.web2.port(), "sleep 60"));
    REQUIRE(hang.exit_code == 0);
    fleet::test::BackgroundProcess check(FLEETADM_BIN,
                                         {"--state", w.fleet.location(), "--as", "carol", "device", "check",
                                          "web-1", "web-2"},
                                         {{"HOME", w.fleet.dir().path().string()}});
    check.wait_for_line("acme/web-1: reachable, version 2.1.0");
    check.kill(SIGINT);
    CHECK(check.wait() == 130);
    auto out = check.output();
    INFO(out);
    CHECK(contains(out, "acme/web-2: cancelled"));
    CHECK(contains(out, "interrupted: 1 of 2 devices cancelled"));
    auto after = nlohmann::json::parse(w.run({"get", "device", "web-2", "--tenant", "acme", "-o", "json"}).out);
    CHECK(after["status"] == before["status"]);
    auto audit = w.fleet({"audit", "--action", "check", "-A", "-o", "json"});
    CHECK(contains(audit.out, "2 devices: 1 cancelled, 1 ok"));
}
