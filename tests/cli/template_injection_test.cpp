// Template injection: a tenant's settings and an artifact's file name reach a real device's install
// command only as inert arguments, and templates that cannot be made safe are refused up front.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

using namespace fleet;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// The hostile values of issue 18, exactly as found.
const std::string in_double_quotes = "$(touch PWNED)";
const std::string in_single_quotes = "; touch PWNED #";
const std::string artifact_name = "$(touch${IFS}X)";

/// A tenant `site` with hostile settings, one device d1 on a real sshd whose folder holds argv.sh,
/// a script that logs each of its arguments as <arg> on its own line.
struct InjectionSite {
    test::Sshd sshd;
    test::Fleet fleet;
    fs::path devdir;
    fs::path upload;

    InjectionSite()
    {
        devdir = sshd.dir() / "device";
        upload = devdir / "up-d1";  // uploadDir is templated: {{device.name}} picks it
        fs::create_directories(upload);
        auto logger = devdir / "argv.sh";
        std::ofstream(logger) << "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done >> \"$(dirname \"$0\")/argv.log\"\n";
        fs::permissions(logger, fs::perms::owner_all);
        REQUIRE(fleet({"init"}).exit_code == 0);
        auto known = fleet.dir().write("known_hosts", sshd.known_hosts_line() + "\n");
        fleet.dir().write(artifact_name, std::string(4096, 'F'));
        auto file = fleet.dir().write("site.yaml", fmt::format(R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {{name: site}}
spec:
  settings:
    x: '{}'
    y: '{}'
---
apiVersion: fleetadm/v1
kind: Credential
metadata: {{name: key, tenant: site}}
spec: {{type: ssh-key, privateKeyFile: {}, knownHostsFile: {}}}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {{name: fw, tenant: site}}
spec: {{file: '{}', version: "2.0.0", deviceTypes: [rpi4]}}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {{name: d1, tenant: site, labels: {{role: dev}}}}
spec: {{deviceType: rpi4, ssh: {{host: 127.0.0.1, port: {}, user: {}, credential: key}}}}
)",
                                                               in_double_quotes, in_single_quotes, sshd.user_key().string(),
                                                               known.string(), artifact_name, sshd.port(),
                                                               test::login_name()));
        auto applied = fleet({"apply", "-f", file.string()});
        INFO(applied.err);
        REQUIRE(applied.exit_code == 0);
    }

    /// Writes rollout `up` with this install command (YAML single-quoted) and applies it.
    test::RunResult rollout(const std::string& command, const std::string& verify = "")
    {
        auto file = fleet.dir().write("rollout.yaml", fmt::format(R"(apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: up, tenant: site}}
spec:
  artifact: fw
  targets: {{selector: "role=dev"}}
  schedule: {{windows: none}}
  install:
    ssh:
      uploadDir: '{}/up-{{{{device.name}}}}'
      command: '{}'
{})",
                                                                  devdir.string(), command, verify));
        return fleet({"apply", "-f", file.string()});
    }

    /// Files a successful injection would have made, wherever the command could have run.
    std::vector<fs::path> planted() const
    {
        std::vector<fs::path> found;
        const char* home = std::getenv("HOME");
        for (const fs::path& dir : {devdir, upload, fleet.dir().path(), fs::current_path(),
                                    fs::path(home ? home : "/nonexistent")})
            for (const char* name : {"PWNED", "X"})
                if (fs::exists(dir / name)) found.push_back(dir / name);
        return found;
    }
};

} // namespace

TEST_CASE("hostile settings and artifact names reach a real device's command as inert arguments",
          "[cli][template][ssh]")
{
    InjectionSite site;
    REQUIRE(site.planted().empty());
    std::string d = site.devdir.string();
    // Unquoted, inside double quotes, glued to other text; the artifact path twice.
    auto applied = site.rollout(
        fmt::format("cd {0} && {0}/argv.sh {{{{artifact.path}}}} \"x={{{{tenant.settings.x}}}}\" "
                    "{{{{tenant.settings.y}}}} --name={{{{device.name}}}} && test -s {{{{artifact.path}}}}",
                    d),
        fmt::format("  verify:\n    ssh: {{command: 'cat {}/argv.log', expect: 'x={{{{tenant.settings.x}}}}'}}\n", d));
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);

    auto run = site.fleet({"rollout", "run", "up"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 0);
    // Each value is exactly one argument, byte for byte; the artifact landed in the rendered uploadDir.
    auto path = (site.upload / artifact_name).string();
    CHECK(test::read_file(site.devdir / "argv.log") ==
          fmt::format("<{}>\n<x={}>\n<{}>\n<--name=d1>\n", path, in_double_quotes, in_single_quotes));
    CHECK(fs::file_size(path) == 4096);
    CHECK(site.planted().empty());
    auto status = site.fleet({"rollout", "status", "up", "-o", "json"});
    CHECK(contains(status.out, "\"succeeded\""));
}

TEST_CASE("a template inside single quotes is refused by validate and apply with file:line:column",
          "[cli][template]")
{
    InjectionSite site;
    auto before = site.fleet.store_digest();
    for (const char* command : {"echo ''{{tenant.settings.y}}''", "echo `echo {{tenant.settings.x}}`"}) {
        auto refused = site.rollout(command);
        INFO(refused.err);
        CHECK(refused.exit_code == 2);
        CHECK(contains(refused.err, "rollout.yaml:11:"));
        CHECK(contains(refused.err, "spec.install.ssh.command: "));
        CHECK(contains(refused.err, "a substituted value must never become shell syntax"));
        auto validated = site.fleet({"validate", "-f", (site.fleet.dir().path() / "rollout.yaml").string()});
        CHECK(validated.exit_code == 2);
    }
    auto single = site.rollout("echo ''{{tenant.settings.y}}''");
    CHECK(contains(single.err, "{{tenant.settings.y}} at character 7 is inside single quotes"));
    // uploadDir cannot be made from the path it decides.
    auto file = site.fleet.dir().write("circular.yaml", R"(apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: up, tenant: site}
spec:
  artifact: fw
  targets: {selector: "role=dev"}
  install: {ssh: {uploadDir: "/tmp/{{artifact.path}}", command: "true"}}
)");
    auto circular = site.fleet({"apply", "-f", file.string()});
    CHECK(circular.exit_code == 2);
    CHECK(contains(circular.err, "circular.yaml:7:"));
    CHECK(contains(circular.err, "uploadDir cannot use {{artifact.path}}"));
    CHECK(site.fleet.store_digest() == before);
}

TEST_CASE("a control character in a substituted value stops the rollout before any device is reached",
          "[cli][template][ssh]")
{
    InjectionSite site;
    auto tenant = site.fleet.dir().write("nul.yaml", "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: site}\n"
                                                     "spec: {settings: {x: \"a\\0b; touch PWNED\"}}\n");
    auto applied = site.fleet({"apply", "-f", tenant.string()});
    INFO(applied.err);
    if (applied.exit_code != 0) {
        // Refused when read: the value can never reach a command.
        CHECK(applied.exit_code == 2);
        return;
    }
    REQUIRE(site.rollout(fmt::format("{}/argv.sh {{{{tenant.settings.x}}}}", site.devdir.string())).exit_code == 0);
    auto run = site.fleet({"rollout", "run", "up"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 2);
    CHECK(contains(run.err, "tenant.settings.x"));
    CHECK(contains(run.err, "control character 0x00"));
    CHECK_FALSE(fs::exists(site.devdir / "argv.log"));
    CHECK_FALSE(fs::exists(site.upload / artifact_name));
    CHECK(site.planted().empty());
}
