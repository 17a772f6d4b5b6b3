// Black-box tests of SPEC §4's "in use means in use" and "immutable once started": an object that
// others use cannot be deleted or pruned by any path (exit 5, naming its users, writing nothing), and a
// started rollout's artifact and targets cannot change.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "tests/support/process.hpp"

using fleet::test::Fleet;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

const std::string tenants = R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: acme}
---
apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: acme-dev}
spec: {parent: acme}
)";

const std::string credential = R"(apiVersion: fleetadm/v1
kind: Credential
metadata: {name: acme-ssh, tenant: acme}
spec: {type: ssh-agent}
)";

std::string devices(int count)
{
    std::string out;
    for (int i = 1; i <= count; ++i)
        out += fmt::format("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: hvac-{:04d}, tenant: acme}}\n"
                           "spec: {{deviceType: rpi4, ssh: {{host: 10.0.0.{}, credential: acme-ssh}}}}\n",
                           i, i);
    return out;
}

const std::string artifact_and_group = R"(apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: acme}
spec: {file: fw.bin, version: "2.0.0", deviceTypes: [rpi4]}
---
apiVersion: fleetadm/v1
kind: DeviceGroup
metadata: {name: lobby, tenant: acme}
spec: {selector: "room=lobby"}
)";

std::string rollout(const std::string& targets, const std::string& artifact = "fw", const std::string& phases = "100")
{
    return fmt::format(R"(apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: up, tenant: acme}}
spec:
  artifact: {}
  targets: {}
  strategy: {{phases: [{{percent: {}}}]}}
  schedule: {{windows: none}}
)",
                       artifact, targets, phases);
}

} // namespace

TEST_CASE("a credential used by devices cannot be deleted by any path", "[cli][in-use]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto creds = fleet.dir().write("creds.yaml", credential);
    auto devs = fleet.dir().write("devices.yaml", devices(4));
    REQUIRE(fleet({"apply", "-f", "-"}, tenants).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", creds.string()}).exit_code == 0);
    auto applied = fleet({"apply", "-f", devs.string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);

    auto before = fleet.store_digest();
    const std::string users = "device/hvac-0001, device/hvac-0002, device/hvac-0003 and device/hvac-0004";
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--tenant", "acme", "delete", "credential", "acme-ssh"},
             {"--tenant", "acme", "delete", "cred", "acme-ssh", "--cascade"},
             {"delete", "-f", creds.string()},
         }) {
        auto r = fleet(args);
        INFO(args[args.size() - 2] + " " + args.back());
        CHECK(r.exit_code == 5);
        CHECK(contains(r.err, "credential/acme-ssh in tenant \"acme\" is in use by " + users));
        CHECK(fleet.store_digest() == before);
    }
    // Pruning it away from its own source is refused the same way.
    fleet.dir().write("creds.yaml", R"(apiVersion: fleetadm/v1
kind: Credential
metadata: {name: other, tenant: acme}
spec: {type: ssh-agent}
)");
    auto prune = fleet({"apply", "-f", creds.string(), "--prune", "--confirm-prune"});
    CHECK(prune.exit_code == 5);
    CHECK(contains(prune.err, "credential/acme-ssh cannot be pruned: " + users + " in tenant \"acme\" use it"));
    CHECK(fleet.store_digest() == before);

    // Deleted together with its users, it goes.
    fleet.dir().write("creds.yaml", credential);
    auto both = fleet({"delete", "-f", creds.string(), "-f", devs.string()});
    INFO(both.err);
    CHECK(both.exit_code == 0);
    CHECK(contains(both.out, "credential/acme-ssh deleted"));
}

TEST_CASE("an artifact or group used by a rollout, or a tenant with objects or children, is in use",
          "[cli][in-use]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", std::string(1024, 'F'));
    auto file = fleet.dir().write("acme.yaml", tenants + "---\n" + artifact_and_group + "---\n" +
                                                   rollout("{group: lobby}"));
    auto applied = fleet({"apply", "-f", file.string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);

    auto before = fleet.store_digest();
    auto artifact = fleet({"--tenant", "acme", "delete", "artifact", "fw"});
    CHECK(artifact.exit_code == 5);
    CHECK(contains(artifact.err, "artifact/fw in tenant \"acme\" is in use by rollout/up"));
    auto group = fleet({"--tenant", "acme", "delete", "group", "lobby", "--cascade"});
    CHECK(group.exit_code == 5);
    CHECK(contains(group.err, "devicegroup/lobby in tenant \"acme\" is in use by rollout/up"));
    auto tenant = fleet({"delete", "tenant", "acme"});
    CHECK(tenant.exit_code == 5);
    CHECK(contains(tenant.err, "tenant \"acme\" is not empty (1 child tenant(s), 3 object(s)): in use by "
                               "tenant/acme-dev, rollout/up, artifact/fw and devicegroup/lobby; delete those first"));
    CHECK(fleet.store_digest() == before);

    // With its users gone, each may go.
    CHECK(fleet({"--tenant", "acme", "delete", "rollout", "up"}).exit_code == 0);
    CHECK(fleet({"--tenant", "acme", "delete", "artifact", "fw"}).exit_code == 0);
    auto cascade = fleet({"delete", "tenant", "acme", "--cascade"});
    INFO(cascade.err);
    CHECK(cascade.exit_code == 0);
    CHECK(contains(cascade.out, "devicegroup/lobby deleted"));
}

TEST_CASE("a started rollout's artifact and targets are immutable: its strategy may change", "[cli][in-use][rollout]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", std::string(1024, 'F'));
    fleet.dir().write("fw2.bin", std::string(1024, 'G'));
    auto base = tenants + "---\n" + artifact_and_group +
                "---\napiVersion: fleetadm/v1\nkind: Artifact\nmetadata: {name: fw2, tenant: acme}\n"
                "spec: {file: fw2.bin, version: \"2.1.0\", deviceTypes: [rpi4]}\n---\n";
    auto file = fleet.dir().write("acme.yaml", base + rollout("{selector: \"room=attic\"}"));
    REQUIRE(fleet({"apply", "-f", file.string()}).exit_code == 0);

    // Before it starts, anything may change.
    fleet.dir().write("acme.yaml", base + rollout("{selector: \"room=none\"}"));
    REQUIRE(fleet({"apply", "-f", file.string()}).exit_code == 0);
    auto run = fleet({"--tenant", "acme", "rollout", "run", "up"});
    INFO(run.out + run.err);
    REQUIRE(run.exit_code == 0);

    auto before = fleet.store_digest();
    auto targets = fleet.dir().write("acme.yaml", base + rollout("{group: lobby}"));
    auto r = fleet({"apply", "-f", targets.string()});
    CHECK(r.exit_code == 5);
    CHECK(contains(r.err, "rollout/up in tenant \"acme\": spec.targets cannot change once the rollout has started"));
    CHECK(contains(r.err, "make a new rollout"));
    CHECK(fleet.store_digest() == before);

    fleet.dir().write("acme.yaml", base + rollout("{selector: \"room=none\"}", "fw2"));
    auto artifact = fleet({"apply", "-f", file.string()});
    CHECK(artifact.exit_code == 5);
    CHECK(contains(artifact.err, "rollout/up in tenant \"acme\": spec.artifact cannot change once the rollout has "
                                 "started"));
    CHECK(fleet.store_digest() == before);

    fleet.dir().write("acme.yaml", base + rollout("{selector: \"room=none\"}", "fw", "50"));
    auto strategy = fleet({"apply", "-f", file.string()});
    INFO(strategy.err);
    CHECK(strategy.exit_code == 0);
    CHECK(contains(strategy.out, "rollout/up configured"));
}
