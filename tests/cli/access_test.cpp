// The access matrix: every command × role × target, run against the real binary and store.
// alice holds one role (or none) on tenant "acme"; the targets are acme itself, its child
// "acme-dev", its sibling "globex" and the provider above it. Expected outcomes follow
// SPEC §1 and §5: a role holds for the subtree, invisible tenants behave as nonexistent, and a
// tenant is managed by an admin of its parent.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "tests/support/process.hpp"

using fleet::test::Fleet;

namespace {

enum class Role { admin, operator_, viewer, none };
enum class Target { own, child, sibling, parent };

const char* role_name(Role r)
{
    switch (r) {
    case Role::admin: return "admin";
    case Role::operator_: return "operator";
    case Role::viewer: return "viewer";
    case Role::none: return "none";
    }
    return "";
}

std::string tenant_of(Target t)
{
    switch (t) {
    case Target::own: return "acme";
    case Target::child: return "acme-dev";
    case Target::sibling: return "globex";
    case Target::parent: return "provider";
    }
    return "";
}

std::string tenant_doc(const std::string& name, const std::string& parent, const std::string& members = "",
                       int limit = 100)
{
    std::string doc = fmt::format("---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {{name: {}}}\nspec:\n", name);
    if (!parent.empty()) doc += fmt::format("  parent: {}\n", parent);
    doc += fmt::format("  deviceLimit: {}\n", limit);
    if (!members.empty()) doc += "  members: " + members + "\n";
    return doc;
}

std::string objects_of(const std::string& tenant)
{
    return fmt::format("---\napiVersion: fleetadm/v1\nkind: Credential\nmetadata: {{name: {0}-cred, tenant: {0}}}\n"
                       "spec: {{type: ssh-agent}}\n"
                       "---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: {0}-d1, tenant: {0}}}\n"
                       "spec: {{deviceType: rpi4, ssh: {{host: h, credential: {0}-cred}}}}\n",
                       tenant);
}

/// The store for one role of alice on acme.
void build(const Fleet& fleet, Role role)
{
    auto me = fleet::test::run_process("/usr/bin/id", {"-un"}).out;
    me.pop_back();
    REQUIRE(fleet({"init"}).exit_code == 0);
    std::string members = role == Role::none ? "" : fmt::format("[{{user: alice, role: {}}}]", role_name(role));
    std::string all = tenant_doc("provider", "", fmt::format("[{{user: {}, role: admin}}]", me)) +
                      tenant_doc("acme", "provider", members) + tenant_doc("acme-dev", "acme") +
                      tenant_doc("globex", "provider", "[{user: gus, role: admin}]");
    for (const char* t : {"provider", "acme", "acme-dev", "globex"}) all += objects_of(t);
    auto r = fleet({"apply", "-f", "-"}, all);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    // On PostgreSQL alice is a database login of her own: the database's policies judge her too.
    if (fleet.on_postgres()) REQUIRE(fleet({"user", "add", "alice", "--no-password"}).exit_code == 0);
}

struct Command {
    const char* name;
    std::function<std::vector<std::string>(const std::string& tenant)> args;
    std::function<std::string(const std::string& tenant)> input;
    std::function<int(Role, Target)> expected;
};

bool visible(Role r, Target t) { return r != Role::none && (t == Target::own || t == Target::child); }

int read_rule(Role r, Target t) { return visible(r, t) ? 0 : 4; }

int write_by_name(Role r, Target t)
{
    if (!visible(r, t)) return 4;
    return r == Role::viewer ? 3 : 0;
}

int create_rule(Role r, Target t)
{
    if (!visible(r, t)) return 2;  // the tenant "does not exist" for this caller, exactly as a missing one
    return r == Role::viewer ? 3 : 0;
}

int tenant_update_rule(Role r, Target t)
{
    switch (t) {
    case Target::parent: return 4;   // the provider itself, invisible
    case Target::sibling: return 2;  // its parent (the provider) does not exist for alice
    case Target::own: return r == Role::none ? 2 : 3;  // nobody raises their own limit
    case Target::child: return r == Role::none ? 2 : r == Role::admin ? 0 : 3;
    }
    return -1;
}

std::vector<Command> commands()
{
    auto none = [](const std::string&) { return std::string(); };
    return {
        {"get tenant", [](const std::string& t) { return std::vector<std::string>{"get", "tenant", t}; }, none, read_rule},
        {"describe tenant", [](const std::string& t) { return std::vector<std::string>{"describe", "tenant", t}; },
         none, read_rule},
        {"get devices", [](const std::string& t) { return std::vector<std::string>{"get", "devices", "--tenant", t}; },
         none, read_rule},
        {"describe device",
         [](const std::string& t) { return std::vector<std::string>{"describe", "device", t + "-d1", "--tenant", t}; },
         none, read_rule},
        {"audit", [](const std::string& t) { return std::vector<std::string>{"audit", "--tenant", t}; }, none,
         read_rule},
        {"audit verify", [](const std::string& t) { return std::vector<std::string>{"audit", "verify", "--tenant", t}; },
         none, read_rule},
        {"get credentials",
         [](const std::string& t) { return std::vector<std::string>{"get", "creds", "--tenant", t, "-o", "yaml"}; }, none,
         read_rule},
        {"tenant tree", [](const std::string& t) { return std::vector<std::string>{"tenant", "tree", t}; }, none,
         read_rule},
        {"diff device", [](const std::string&) { return std::vector<std::string>{"diff", "-f", "-"}; },
         [](const std::string& t) {
             return fmt::format("apiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: new-3, tenant: {0}}}\n"
                                "spec: {{deviceType: rpi4}}\n",
                                t);
         },
         [](Role r, Target t) { return visible(r, t) ? 1 : 2; }},  // 1: a change to show; reading needs no write role
        {"apply device", [](const std::string&) { return std::vector<std::string>{"apply", "-f", "-"}; },
         [](const std::string& t) {
             return fmt::format("apiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: new-1, tenant: {0}}}\n"
                                "spec: {{deviceType: rpi4, ssh: {{host: h, credential: {0}-cred}}}}\n",
                                t);
         },
         create_rule},
        {"device enroll", [](const std::string&) { return std::vector<std::string>{"device", "enroll", "-f", "-"}; },
         [](const std::string& t) { return fmt::format("name,tenant,deviceType\nnew-2,{},rpi4\n", t); }, create_rule},
        {"device decommission",
         [](const std::string& t) {
             return std::vector<std::string>{"device", "decommission", t + "-d1", "--tenant", t};
         },
         none, write_by_name},
        {"delete device",
         [](const std::string& t) { return std::vector<std::string>{"delete", "device", t + "-d1", "--tenant", t}; },
         none, write_by_name},
        {"apply tenant limit", [](const std::string&) { return std::vector<std::string>{"apply", "-f", "-"}; },
         [](const std::string& t) {
             std::string parent = t == "acme-dev" ? "acme" : t == "provider" ? "" : "provider";
             return tenant_doc(t, parent, "", 5000);
         },
         tenant_update_rule},
    };
}

} // namespace

namespace {

/// One role's row of the matrix: every command on every target. A test case per role, so that
/// ctest runs the four in parallel.
void check_role(Role role)
{
    const std::vector<std::string> foreign = {"globex-d1", "globex-cred", "provider-d1", "provider-cred", "gus"};
    int runs = 0;
    {
        Fleet fleet;
        build(fleet, role);
        for (const auto& command : commands()) {
            for (Target target : {Target::own, Target::child, Target::sibling, Target::parent}) {
                std::string tenant = tenant_of(target);
                auto args = command.args(tenant);
                auto before = fleet.store_digest();
                auto r = fleet.as("alice", args, command.input(tenant));
                ++runs;
                int expected = command.expected(role, target);
                INFO(fmt::format("{} as {} on {} ({}): exit {}\n{}{}", command.name, role_name(role), tenant,
                                 fmt::join(args, " "), r.exit_code, r.out, r.err));
                CHECK(r.exit_code == expected);
                if (expected != 0) CHECK(fleet.store_digest() == before);
                // No name the caller did not type may appear: echoing "device/globex-d1 not found" back is fine.
                std::string typed = fmt::format("{}", fmt::join(args, " ")) + command.input(tenant);
                for (const auto& name : foreign) {
                    if (typed.find(name) != std::string::npos) continue;
                    CHECK(r.out.find(name) == std::string::npos);
                    CHECK(r.err.find(name) == std::string::npos);
                }
                if (expected == 0 && command.name == std::string("apply device")) {
                    // undo, as the provider admin, so that each case starts alike
                    REQUIRE(fleet({"delete", "device", "new-1", "--tenant", tenant}).exit_code == 0);
                }
                if (expected == 0 && command.name == std::string("device enroll"))
                    REQUIRE(fleet({"delete", "device", "new-2", "--tenant", tenant}).exit_code == 0);
                if (expected == 0 && (command.name == std::string("device decommission") ||
                                      command.name == std::string("delete device")))
                    REQUIRE(fleet({"apply", "-f", "-"}, objects_of(tenant)).exit_code == 0);
            }
        }
        // Lists show only the visible subtree, never a sibling's objects or the provider's.
        auto tree = fleet.as("alice", {"tenant", "tree"});
        auto tenants = fleet.as("alice", {"get", "tenants", "-o", "name"});
        auto devices = fleet.as("alice", {"get", "devices", "-A", "-o", "name"});
        auto audit = fleet.as("alice", {"audit", "-A"});
        if (role == Role::none) {
            CHECK(tree.exit_code == 4);
            CHECK(tenants.out.empty());
            CHECK(devices.out.empty());
        } else {
            CHECK(tree.exit_code == 0);
            CHECK(tree.out.find("acme-dev") != std::string::npos);
            CHECK(tenants.out == "tenant/acme\ntenant/acme-dev\n");
            CHECK(devices.out == "device/acme-d1\ndevice/acme-dev-d1\n");
        }
        for (const auto* r : {&tree, &tenants, &devices, &audit}) {
            CHECK(r->out.find("globex") == std::string::npos);
            CHECK(r->out.find("provider-d1") == std::string::npos);
        }
    }
    CHECK(runs == 14 * 4);
}

} // namespace

TEST_CASE("access matrix: command x target, as a tenant admin", "[cli][access]") { check_role(Role::admin); }
TEST_CASE("access matrix: command x target, as an operator", "[cli][access]") { check_role(Role::operator_); }
TEST_CASE("access matrix: command x target, as a viewer", "[cli][access]") { check_role(Role::viewer); }
TEST_CASE("access matrix: command x target, with no role", "[cli][access]") { check_role(Role::none); }

TEST_CASE("only provider admins may act as someone else", "[cli][access]")
{
    Fleet fleet;
    build(fleet, Role::admin);
    CHECK(fleet({"--as", "alice", "get", "tenants"}).exit_code == 0);
    auto chained = fleet({"--as", "alice", "--as", "bob", "get", "tenants"});
    CHECK(chained.exit_code != 0);
    // alice is not a provider admin, so her context user cannot switch identity: emulate by
    // making a store where the OS user holds no provider role.
    Fleet other;
    REQUIRE(other({"init"}).exit_code == 0);
    // Nobody removes their own admin role on the provider (on a shared store the database would take
    // away their right to record the change): another provider admin must.
    auto self = other({"apply", "-f", "-"}, tenant_doc("provider", "", "[{user: someone-else, role: admin}]"));
    CHECK(self.exit_code == 3);
    CHECK(self.err.find("removes your own admin role on the provider tenant") != std::string::npos);
    other.sql("UPDATE objects SET spec = '{\"members\":[{\"role\":\"admin\",\"user\":\"someone-else\"}]}' "
              "WHERE kind = 'Tenant' AND name = 'provider'");
    auto denied = other({"--as", "alice", "get", "tenants"});
    CHECK(denied.exit_code == 3);
    CHECK(denied.err.find("only provider admins may act as another user") != std::string::npos);
}

TEST_CASE("contexts choose the store, tenant and user", "[cli][config]")
{
    Fleet fleet;
    build(fleet, Role::operator_);
    auto set = fleet({"config", "set-context", "acme-ops", "--state", fleet.location(), "--tenant", "acme",
                      "--user", "alice"});
    CHECK(set.exit_code == 0);
    CHECK(fleet({"config", "use-context", "acme-ops"}).exit_code == 0);
    auto contexts = fleet({"config", "get-contexts"});
    CHECK(contexts.out.find("*        acme-ops") != std::string::npos);
    // Through the context: tenant acme, as alice.
    auto devices = fleet::test::run_process(FLEETADM_BIN, {"get", "devices", "-o", "name"}, "",
                                            {{"HOME", fleet.dir().path().string()}});
    CHECK(devices.out == "device/acme-d1\n");
    auto tenants = fleet::test::run_process(FLEETADM_BIN, {"get", "tenants", "-o", "name", "-A"}, "",
                                            {{"HOME", fleet.dir().path().string()}});
    CHECK(tenants.out == "tenant/acme\ntenant/acme-dev\n");
    CHECK(fleet({"config", "use-context", "nope"}).exit_code == 4);
    CHECK(fleet({"--context", "nope", "get", "tenants"}).exit_code == 4);
    fleet.dir().write(".config/fleetadm/config.yaml", "contexts: [{name: x, colour: red}]\n");
    auto broken = fleet({"get", "tenants"});
    CHECK(broken.exit_code == 2);
    CHECK(broken.err.find("config.yaml:1:22: unknown field \"colour\"") != std::string::npos);
    // A context never keeps a database password: libpq has its own places for it.
    fleet.dir().write(".config/fleetadm/config.yaml", "contexts: []\n");
    for (const char* url : {"postgresql://alice:hunter2@db.example/fleet", "postgres://db.example/fleet?password=hunter2"}) {
        auto kept = fleet({"config", "set-context", "shared", "--state", url});
        INFO(kept.err);
        CHECK(kept.exit_code == 2);
        CHECK(kept.err.find("keeps no password") != std::string::npos);
        CHECK(kept.err.find("hunter2") == std::string::npos);
    }
    CHECK(fleet::test::read_file(fleet.dir().path() / ".config/fleetadm/config.yaml") == "contexts: []\n");
}

TEST_CASE("a planted secret never reaches the store, the audit log, output, logs or errors", "[cli][secrets]")
{
    Fleet fleet;
    build(fleet, Role::admin);
    const std::string key_secret = "PRIVATE-KEY-SECRET-4b1d";
    const std::string env_secret = "ENV-TOKEN-SECRET-9c2e";
    fleet.dir().write("keys/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + key_secret + "\n-----END OPENSSH PRIVATE KEY-----\n");
    auto creds = fleet.dir().write("keys/creds.yaml",
                                   "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: key, tenant: acme}\n"
                                   "spec: {type: ssh-key, privateKeyFile: id_ed25519}\n---\n"
                                   "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: token, tenant: acme}\n"
                                   "spec: {type: http-bearer, fromEnv: FLEET_TEST_TOKEN}\n");
    std::map<std::string, std::string> env{{"HOME", fleet.dir().path().string()}, {"FLEET_TEST_TOKEN", env_secret}};
    auto run = [&](std::vector<std::string> args, const std::string& input = "") {
        args.insert(args.begin(), {"--state", fleet.location(), "-v"});
        return fleet::test::run_process(FLEETADM_BIN, args, input, env);
    };
    std::string everything;
    for (auto args : std::vector<std::vector<std::string>>{
             {"validate", "-f", creds.string()},
             {"apply", "-f", creds.string()},
             {"get", "creds", "-A", "-o", "json"},
             {"get", "creds", "-A", "-o", "yaml"},
             {"get", "creds", "-A", "-o", "wide"},
             {"describe", "cred", "key", "--tenant", "acme"},
             {"describe", "cred", "token", "--tenant", "acme", "-o", "json"},
             {"audit", "-A", "-o", "json"},
             {"audit", "-A", "-o", "csv"},
             {"diff", "-f", creds.string()},
             {"plan", "-f", creds.string(), "-o", "json"},
         }) {
        auto r = run(args);
        INFO(fmt::format("{}", fmt::join(args, " ")) << "\n" << r.err);
        CHECK(r.exit_code == 0);
        everything += r.out + r.err;
    }
    // Errors that involve the credentials: a wrong type, a device using the wrong kind of credential.
    everything += run({"apply", "-f", "-"}, "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: key, tenant: acme}\n"
                                            "spec: {type: tls-client, privateKeyFile: id_ed25519}\n").err;
    everything += run({"apply", "-f", "-"}, "apiVersion: fleetadm/v1\nkind: Device\nmetadata: {name: d, tenant: acme}\n"
                                            "spec: {deviceType: x, ssh: {host: h, credential: token}}\n").err;
    CHECK(everything.find("id_ed25519") != std::string::npos);  // the reference is shown...
    CHECK(everything.find(key_secret) == std::string::npos);    // ...never what it refers to
    CHECK(everything.find(env_secret) == std::string::npos);
    std::string store = fleet.store_text();
    CHECK(store.find(key_secret) == std::string::npos);
    CHECK(store.find(env_secret) == std::string::npos);
}
