// Runners sharing their slots between tenants (SPEC §10): the real binary, a real HTTP device on
// loopback that takes a while to install, and the store of each backend.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <signal.h>

#include <chrono>

#include "tests/support/background.hpp"
#include "tests/support/process.hpp"

using namespace fleet;
using nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string rollout_doc(const std::string& tenant)
{
    return fmt::format(R"(---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {{name: fw, tenant: {0}}}
spec: {{file: fw.bin, version: "3.0"}}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: up, tenant: {0}}}
spec:
  artifact: fw
  targets: {{selector: "fleet=yes"}}
  strategy: {{maxParallel: 16}}
  schedule: {{windows: none}}
  install: {{http: {{method: PUT, path: /slow/60}}}}
)",
                       tenant);
}

std::size_t succeeded(const test::Fleet& fleet, const std::string& tenant)
{
    auto r = fleet({"rollout", "status", "up", "--tenant", tenant, "-o", "json"});
    REQUIRE(r.exit_code == 0);
    std::size_t n = 0;
    auto status = json::parse(r.out);
    for (const auto& phase : status["phases"]) n += phase["succeeded"].get<std::size_t>();
    return n;
}

} // namespace

TEST_CASE("a runner shares its slots between tenants: a 5-device rollout finishes while a 400-device one is far "
          "from done",
          "[rollout][runner][http][cli][fairness]")
{
    test::HttpDevice endpoint;
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", std::string(1024, 'F'));
    auto docs = "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: big}\n---\napiVersion: fleetadm/v1\n"
                "kind: Tenant\nmetadata: {name: small}\n" +
                rollout_doc("big") + rollout_doc("small");
    auto applied = fleet({"apply", "-f", fleet.dir().write("fleet.yaml", docs).string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    std::string csv = "name,tenant,deviceType,labels,http.url\n";
    auto url = fmt::format("http://127.0.0.1:{}", endpoint.port());
    for (int i = 1; i <= 400; ++i) csv += fmt::format("b{:03},big,gw,fleet=yes,{}\n", i, url);
    for (int i = 1; i <= 5; ++i) csv += fmt::format("s{},small,gw,fleet=yes,{}\n", i, url);
    auto enrolled = fleet({"device", "enroll", "-f", "-"}, csv);
    INFO(enrolled.err);
    REQUIRE(enrolled.exit_code == 0);

    test::BackgroundProcess runner(FLEETADM_BIN, {"--state", fleet.location(), "runner", "--name", "fair",
                                                  "--max-parallel", "4"},
                                   {{"HOME", fleet.dir().path().string()}});
    runner.wait_for_line("runner/fair runner-started");
    REQUIRE(fleet({"rollout", "start", "up", "--tenant", "big"}).exit_code == 0);
    runner.wait_for_line("tenant/big rollout/up device/b008 succeeded", std::chrono::seconds(60));
    // The big tenant holds every slot now; the small one starts a moment later.
    REQUIRE(fleet({"rollout", "start", "up", "--tenant", "small"}).exit_code == 0);
    runner.wait_for_line("tenant/small rollout/up released completed", std::chrono::seconds(60));
    auto big_done = succeeded(fleet, "big");
    INFO("big tenant's devices succeeded when the small one completed: " << big_done);
    CHECK(succeeded(fleet, "small") == 5);
    CHECK(big_done < 200);  // far from done: without sharing, the small one would wait for all 400
    runner.wait_for_line("tenant/big rollout/up released completed", std::chrono::seconds(180));
    CHECK(succeeded(fleet, "big") == 400);
    runner.kill(SIGTERM);
    CHECK(runner.wait() == 0);
    CHECK(contains(runner.output(), "runner/fair runner-stopped"));
}
