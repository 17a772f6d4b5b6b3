// store migrate: a whole store copied to the other backend and back, nothing lost or changed.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/store/open_backend.hpp"
#include "core/util/sha256.hpp"
#include "tests/support/postgres.hpp"
#include "tests/support/process.hpp"

using fleet::test::Fleet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// A rollout that has run: its device is refused at once (port 1 on loopback), so the store holds a
/// run with its progress, a failed device, its output and status.
const char* lab_docs = R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: lab}
spec: {parent: provider, deviceLimit: 10}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {name: bench-1, tenant: lab, labels: {bench: "yes"}}
spec: {deviceType: rpi4, ssh: {host: 127.0.0.1, port: 1, user: root}}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: lab}
spec: {file: fw.bin, version: "1.0"}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: up, tenant: lab}
spec:
  artifact: fw
  targets: {selector: "bench=yes"}
  schedule: {windows: none}
  install:
    ssh: {command: "true"}
)";

/// What a user sees of a store, and what must survive a migration unchanged.
struct View {
    std::string exported;  ///< every exported file, by path
    std::string audit;     ///< every audit entry with its sequence number and hashes
    std::string rollout;   ///< rollout status, per device
    std::string devices;   ///< devices with their status
    std::string reapply;   ///< what applying the examples again would do (the detached device stays out)
};

} // namespace

TEST_CASE("store migrate copies a store to the other backend and back: export, audit chains and artifact bytes "
          "identical",
          "[cli][store][migrate]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto examples = fleet({"apply", "-f", fleet::test::examples_dir(), "-R"});
    INFO(examples.err);
    REQUIRE(examples.exit_code == 0);
    std::string firmware = std::string(3 << 20, 'F') + "tail";  // more than one chunk of the database's
    fleet.dir().write("fw.bin", firmware);
    REQUIRE(fleet({"apply", "-f", fleet.dir().write("lab.yaml", lab_docs).string()}).exit_code == 0);
    CHECK(fleet({"rollout", "run", "up", "--tenant", "lab"}).exit_code != 0);
    REQUIRE(fleet({"device", "move", "hvac-0002", "--to", "acme-staging", "--detach"}).exit_code == 0);

    auto at = [&](const std::string& location, std::vector<std::string> args) {
        args.insert(args.begin(), {"--state", location});
        return fleet::test::run_process(FLEETADM_BIN, args, "", {{"HOME", fleet.dir().path().string()}});
    };
    int exports = 0;
    auto view = [&](const std::string& location) {
        View v;
        auto dir = fleet.dir().path() / fmt::format("export-{}", exports++);
        auto r = at(location, {"export", "-d", dir.string()});
        INFO(r.err);
        CHECK(r.exit_code == 0);
        std::vector<fs::path> files;
        for (const auto& entry : fs::recursive_directory_iterator(dir))
            if (entry.is_regular_file()) files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) v.exported += fs::relative(f, dir).string() + "\n" + fleet::test::read_file(f);
        v.audit = at(location, {"audit", "-A", "-o", "json"}).out;
        v.rollout = at(location, {"rollout", "status", "up", "--tenant", "lab", "-o", "json"}).out;
        v.devices = at(location, {"get", "devices", "-A", "-o", "json"}).out;
        auto again = at(location, {"apply", "-f", fleet::test::examples_dir(), "-R", "--dry-run"});
        v.reapply = std::to_string(again.exit_code) + "\n" + again.out + again.err;
        return v;
    };
    auto original = view(fleet.location());
    REQUIRE(contains(original.audit, "\"hash\""));
    REQUIRE(contains(original.rollout, "failed"));
    auto digest = fleet.store_digest();

    // The other backend, then back to this one.
    const bool pg = fleet.on_postgres();
    std::string other = pg ? (fleet.dir().path() / "copy" / "state.db").string()
                           : fleet::test::postgres_database(fleet::test::os_login());
    std::string back = pg ? fleet::test::postgres_database(fleet::test::os_login())
                          : (fleet.dir().path() / "back" / "state.db").string();
    auto there = fleet({"store", "migrate", "--to", other});
    INFO(there.out << there.err);
    REQUIRE(there.exit_code == 0);
    CHECK(contains(there.out, "3 artifacts"));
    CHECK(fleet.store_digest() == digest);  // the original is only read
    auto home = at(other, {"store", "migrate", "--to", back});
    INFO(home.out << home.err);
    REQUIRE(home.exit_code == 0);

    for (const auto& copy : {other, back}) {
        INFO(copy);
        auto v = view(copy);
        CHECK(v.exported == original.exported);
        CHECK(v.audit == original.audit);
        CHECK(v.rollout == original.rollout);
        CHECK(v.devices == original.devices);
        CHECK(v.reapply == original.reapply);
        auto verify = at(copy, {"audit", "verify", "-A"});
        INFO(verify.out << verify.err);
        CHECK(verify.exit_code == 0);
    }

    // Artifact bytes, as each backend holds them.
    auto sha = fleet::util::sha256_hex(firmware);
    auto stored = [&](const std::string& location) -> std::string {
        if (fleet::store::is_postgres_url(location)) {
            auto db = fleet::test::postgres_database_name(location);
            auto hex = fleet::test::postgres_query(db, "SELECT sha256 FROM artifacts WHERE tenant = 'lab'");
            REQUIRE(hex.size() == 1);
            auto chunks = fleet::test::postgres_query(
                db, "SELECT count(*), sum(length(data)) FROM artifact_chunks WHERE sha256 = '" + sha + "'");
            CHECK(chunks.at(0) == "4\t" + std::to_string(firmware.size()));
            auto digest = fleet::test::postgres_query(
                db, "SELECT encode(sha256(string_agg(data, ''::bytea ORDER BY seq)), 'hex') FROM artifact_chunks "
                    "WHERE sha256 = '" + sha + "'");
            return digest.at(0);
        }
        return fleet::util::sha256_hex(
            fleet::test::read_file(fs::path(location).parent_path() / "artifacts" / "lab" / sha));
    };
    CHECK(stored(other) == sha);
    CHECK(stored(back) == sha);

    // Only into an empty store, and never into itself.
    auto full = fleet({"store", "migrate", "--to", other});
    CHECK(full.exit_code == 5);
    CHECK(contains(full.err, "not empty"));
    CHECK(fleet({"store", "migrate", "--to", fleet.location()}).exit_code == 2);
    CHECK(fleet.store_digest() == digest);
}
