// Backend conformance: what Store and its callers rely on from every backend (each TEMPLATE_TEST_CASE
// runs once on SQLite and once on PostgreSQL), and PostgreSQL's own guarantees under concurrency
// from separate processes.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "core/store/store.hpp"
#include "tests/support/postgres.hpp"
#include "tests/support/process.hpp"

using fleet::model::Kind;
using fleet::store::Store;
using fleet::store::TxMode;
using fleet::util::ErrorKind;

namespace {

struct Sqlite {
    fleet::test::TempDir dir;
    std::string location() const { return (dir.path() / "s.db").string(); }
};

struct Postgres {
    std::string url = fleet::test::postgres_database();
    std::string location() const { return url; }
};

std::unique_ptr<Store> create(const std::string& location)
{
    auto store = Store::open(location, {"tester"}, {true, 2000});
    REQUIRE(store);
    auto tx = (*store)->begin(TxMode::write);
    REQUIRE(tx);
    REQUIRE((*store)->initialize("provider"));
    REQUIRE(tx->commit());
    return std::move(*store);
}

fleet::model::Object object(Kind kind, const std::string& tenant, const std::string& name)
{
    fleet::model::Object o;
    o.resource.kind = kind;
    o.resource.tenant = kind == Kind::tenant ? "" : tenant;
    o.resource.name = name;
    o.resource.spec = kind == Kind::tenant ? nlohmann::json{{"parent", tenant}} : nlohmann::json::object();
    o.generation = 1;
    o.created_at = o.updated_at = "2026-01-01T00:00:00Z";
    return o;
}

} // namespace

TEMPLATE_TEST_CASE("a scan's callback may read the store with the same query too and the scan still sees every "
                   "object",
                   "[store][backend]", Sqlite, Postgres)
{
    TestType backend;
    auto store = create(backend.location());
    {
        auto tx = store->begin(TxMode::write);
        for (const char* name : {"a", "b", "c"}) REQUIRE(store->put(object(Kind::tenant, "provider", name), "created", ""));
        REQUIRE(tx->commit());
    }
    auto tx = store->begin(TxMode::read);
    std::vector<std::string> seen;
    std::size_t inner_total = 0;
    auto scanned = store->scan(Kind::tenant, nullptr, [&](fleet::model::Object&& t) {
        seen.push_back(t.resource.name);
        auto all = store->list(Kind::tenant);  // the very query the outer scan is stepping through
        REQUIRE(all);
        inner_total += all->size();
        auto nested = store->scan(Kind::tenant, nullptr, [](fleet::model::Object&&) {});
        REQUIRE(nested);
        REQUIRE(store->get(Kind::tenant, "", "a").value());
    });
    REQUIRE(scanned);
    CHECK(seen == std::vector<std::string>{"a", "b", "c", "provider"});
    CHECK(inner_total == 16);
}

TEMPLATE_TEST_CASE("a read transaction refuses to write and stores nothing: writes after it work as before",
                   "[store][backend]", Sqlite, Postgres)
{
    TestType backend;
    auto store = create(backend.location());
    {
        auto tx = store->begin(TxMode::write);
        REQUIRE(store->put(object(Kind::tenant, "provider", "a"), "created", ""));  // its statements are cached now
        REQUIRE(tx->commit());
    }
    {
        auto tx = store->begin(TxMode::read);
        REQUIRE(tx);
        REQUIRE(store->get(Kind::tenant, "", "a").value());
        auto refused = store->put(object(Kind::tenant, "provider", "b"), "created", "");
        REQUIRE_FALSE(refused);
        CHECK(refused.error().kind == ErrorKind::runtime);
        // SQLite: "a read transaction may not write"; PostgreSQL: "... in a read-only transaction".
        CHECK_THAT(refused.error().message, Catch::Contains("read"));
    }
    {
        auto tx = store->begin(TxMode::read);
        CHECK_FALSE(store->get(Kind::tenant, "", "b").value());
    }
    auto tx = store->begin(TxMode::write);
    REQUIRE(store->put(object(Kind::tenant, "provider", "c"), "created", ""));
    REQUIRE(tx->commit());
    auto read = store->begin(TxMode::read);
    CHECK(store->get(Kind::tenant, "", "c").value());
    CHECK_FALSE(store->get(Kind::tenant, "", "b").value());
}

TEMPLATE_TEST_CASE("get_many returns the named objects that exist in the tenant, and only those",
                   "[store][backend]", Sqlite, Postgres)
{
    TestType backend;
    auto store = create(backend.location());
    {
        auto tx = store->begin(TxMode::write);
        REQUIRE(store->put(object(Kind::tenant, "provider", "acme"), "created", ""));
        for (const char* name : {"d1", "d2", "d3"}) REQUIRE(store->put(object(Kind::device, "provider", name), "created", ""));
        REQUIRE(store->put(object(Kind::device, "acme", "d4"), "created", ""));
        REQUIRE(tx->commit());
    }
    auto tx = store->begin(TxMode::read);
    auto found = store->get_many(Kind::device, "provider", {"d3", "d1", "missing", "d4", "d'1\"{,}"});
    REQUIRE(found);
    std::vector<std::string> names;
    for (const auto& o : *found) names.push_back(o.resource.tenant + "/" + o.resource.name);
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"provider/d1", "provider/d3"});
    CHECK(store->get_many(Kind::device, "provider", {}).value().empty());
    CHECK(store->get_many(Kind::device, "acme", {"d4"}).value().size() == 1);
}

TEMPLATE_TEST_CASE("deleting a device removes its status: moving one takes its status along: every audit chain "
                   "verifies",
                   "[store][backend]", Sqlite, Postgres)
{
    TestType backend;
    auto store = create(backend.location());
    fleet::store::StatusUpdate seen;
    seen.reported_version = "1.0";
    {
        auto tx = store->begin(TxMode::write);
        REQUIRE(store->put(object(Kind::tenant, "provider", "acme"), "created", ""));
        REQUIRE(store->put(object(Kind::device, "provider", "d1"), "created", ""));
        REQUIRE(store->put(object(Kind::device, "provider", "d2"), "created", ""));
        REQUIRE(store->update_device_status("provider", "d1", seen));
        REQUIRE(store->update_device_status("provider", "d2", seen));
        REQUIRE(tx->commit());
    }
    {
        auto tx = store->begin(TxMode::write);
        REQUIRE(store->move_device(object(Kind::device, "provider", "d1"), "acme"));
        REQUIRE(store->remove(object(Kind::device, "provider", "d2"), "deleted"));
        REQUIRE(tx->commit());
    }
    auto tx = store->begin(TxMode::read);
    auto status = store->device_status(nullptr).value();
    CHECK(status.size() == 1);
    CHECK(status.contains({"acme", "d1"}));
    CHECK_FALSE(store->get(Kind::device, "provider", "d2").value());
    auto verified = store->verify_audit(nullptr).value();
    REQUIRE(verified.size() == 2);
    for (const auto& [tenant, count, broken] : verified) {
        INFO(tenant);
        CHECK_FALSE(broken);
        // provider: init, d1 and d2 created, d1 moved out, d2 deleted; acme: its creation, d1 moved in
        CHECK(count == (tenant == "provider" ? 5u : 2u));
    }
}

TEMPLATE_TEST_CASE("bulk device writes keep every byte of their texts, in batches, and chain their audit entries",
                   "[store][backend]", Sqlite, Postgres)
{
    TestType backend;
    auto store = create(backend.location());
    // More than one batch (2,048), and texts with what COPY's text format escapes: backslashes,
    // tabs and newlines as JSON writes them, quotes and non-ASCII.
    const std::string labels = R"({"note":"tab\there, line\nbreak, back\\slash \"q\" \u00e9t\u00e9 ✓"})";
    std::vector<std::string> names, specs;
    for (int i = 0; i < 2100; ++i) {
        names.push_back("d" + std::to_string(i));
        specs.push_back(R"({"deviceType":"rpi4","identity":{"serial":"S)" + std::to_string(i) + R"("}})");
    }
    std::vector<fleet::store::DeviceWrite> writes;
    for (int i = 0; i < 2100; ++i)
        writes.push_back({"provider", names[i], labels, specs[i], "/tmp/devices.csv", i + 2, 1,
                          "2026-01-01T00:00:00Z", "created", ""});
    {
        auto tx = store->begin(TxMode::write);
        REQUIRE(store->put_devices(writes, "files:/tmp/devices.csv", "", "2026-01-01T00:00:00Z"));
        REQUIRE(tx->commit());
    }
    auto tx = store->begin(TxMode::read);
    auto contents = store->contents(Kind::device, "provider").value();
    REQUIRE(contents.size() == 2100);
    for (const auto& [name, content] : contents) {
        INFO(name);
        CHECK(content.same(labels, "{}", specs[std::stoi(name.substr(1))]));
    }
    auto d7 = store->get(Kind::device, "provider", "d7").value();
    REQUIRE(d7);
    CHECK(d7->resource.labels["note"] == "tab\there, line\nbreak, back\\slash \"q\" \u00e9t\u00e9 ✓");
    CHECK(d7->origin.file == "/tmp/devices.csv:9");
    auto verified = store->verify_audit(nullptr).value();
    REQUIRE(verified.size() == 1);
    CHECK(std::get<1>(verified[0]) == 2101u);  // init and the 2,100 devices
    CHECK_FALSE(std::get<2>(verified[0]));
}

TEST_CASE("PostgreSQL: the caller is the database login and init makes that login the provider's admin",
          "[store][backend][postgres]")
{
    Postgres backend;
    auto store = Store::open(backend.location(), {"os-user"}, {true, 2000});
    REQUIRE(store);
    CHECK((*store)->caller().user == fleet::test::postgres_login);
    auto tx = (*store)->begin(TxMode::write);
    REQUIRE((*store)->initialize("provider"));
    REQUIRE(tx->commit());
    auto read = (*store)->begin(TxMode::read);
    auto provider = (*store)->get(Kind::tenant, "", "provider").value();
    REQUIRE(provider);
    CHECK(provider->resource.spec["members"][0] ==
          nlohmann::json{{"user", fleet::test::postgres_login}, {"role", "admin"}});
}

TEST_CASE("PostgreSQL: two processes writing at once serialize: their audit entries form one unbroken chain",
          "[store][backend][postgres]")
{
    Postgres backend;
    create(backend.location());
    constexpr int per_process = 25;
    int go[2];
    REQUIRE(pipe(go) == 0);
    std::vector<pid_t> children;
    for (int c = 0; c < 2; ++c) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            // A separate process with its own connection; no Catch2 here, only an exit status.
            close(go[1]);
            char byte;
            if (read(go[0], &byte, 1) != 0) _exit(3);  // released when the parent closes the pipe
            auto store = Store::open(backend.location(), {"tester"}, {false, 20000});
            if (!store) _exit(2);
            for (int i = 0; i < per_process; ++i) {
                auto tx = (*store)->begin(TxMode::write);
                if (!tx) _exit(4);
                if (!(*store)->record_event("provider", "checked", "device/d" + std::to_string(c), std::to_string(i)))
                    _exit(5);
                if (!tx->commit()) _exit(6);
            }
            _exit(0);
        }
        children.push_back(pid);
    }
    close(go[0]);
    close(go[1]);  // both start now
    for (pid_t pid : children) {
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    auto store = Store::open(backend.location(), {"tester"}, {false, 2000}).value();
    auto tx = store->begin(TxMode::read);
    auto verified = store->verify_audit(nullptr).value();
    REQUIRE(verified.size() == 1);
    CHECK(std::get<1>(verified[0]) == 1 + 2 * per_process);
    CHECK_FALSE(std::get<2>(verified[0]));
    std::int64_t expected = 1;
    REQUIRE(store->audit(nullptr, {}, [&](fleet::store::AuditEntry&& e) { CHECK(e.seq == expected++); }));
}

TEST_CASE("PostgreSQL: two inits racing: one creates the store and the other says it is already initialized (exit 5)",
          "[store][backend][postgres]")
{
    Postgres backend;
    fleet::test::RunResult results[2];
    std::thread first([&] { results[0] = fleet::test::run_process(FLEETADM_BIN, {"--state", backend.url, "init"}); });
    std::thread second([&] { results[1] = fleet::test::run_process(FLEETADM_BIN, {"--state", backend.url, "init"}); });
    first.join();
    second.join();
    auto& won = results[0].exit_code == 0 ? results[0] : results[1];
    auto& lost = results[0].exit_code == 0 ? results[1] : results[0];
    CHECK(won.exit_code == 0);
    CHECK(won.out.find("with provider tenant \"provider\" (admin: tester)") != std::string::npos);
    INFO(lost.err);
    CHECK(lost.exit_code == 5);
    CHECK(lost.err.find("already initialized") != std::string::npos);
    auto tenants = fleet::test::run_process(FLEETADM_BIN, {"--state", backend.url, "get", "tenants", "-o", "name"});
    CHECK(tenants.exit_code == 0);
    CHECK(tenants.out == "tenant/provider\n");
}

TEST_CASE("PostgreSQL: a store written by a newer fleetadm is refused: a database without a store is explained",
          "[store][backend][postgres]")
{
    Postgres backend;
    auto empty = Store::open(backend.location(), {"tester"});
    REQUIRE_FALSE(empty);
    CHECK(empty.error().message.find("fleetadm init") != std::string::npos);
    create(backend.location());
    fleet::test::postgres_exec(fleet::test::postgres_database_name(backend.url), "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    auto newer = Store::open(backend.location(), {"tester"});
    REQUIRE_FALSE(newer);
    CHECK(newer.error().kind == ErrorKind::runtime);
    CHECK(newer.error().message.find("newer fleetadm") != std::string::npos);
    auto cli = fleet::test::run_process(FLEETADM_BIN, {"--state", backend.url, "get", "tenants"});
    CHECK(cli.exit_code == 6);
    CHECK(cli.err.find("schema version 99") != std::string::npos);
}

TEST_CASE("PostgreSQL: devices sharing an identity stop the migration to version 11, named, and once fixed it goes on",
          "[store][backend][postgres]")
{
    Postgres backend;
    create(backend.location());
    auto db = fleet::test::postgres_database_name(backend.url);
    // Version 10 as it was: identities indexed, not unique; then two devices written with psql share
    // a serial and two a MAC (in different cases).
    fleet::test::postgres_exec(
        db, "DROP FUNCTION fleet_identity_holders(text[], text[]); DROP FUNCTION fleet_audit_actors() CASCADE; "
            "DROP FUNCTION fleet_objects_written() CASCADE; DROP FUNCTION fleet_advance_revision(); "
            "ALTER TABLE objects DROP CONSTRAINT "
            "one_device_per_serial, DROP CONSTRAINT one_device_per_mac; CREATE INDEX objects_by_serial ON "
            "objects(identity_serial) WHERE identity_serial IS NOT NULL; CREATE INDEX objects_by_mac ON "
            "objects(identity_mac) WHERE identity_mac IS NOT NULL; UPDATE meta SET value = '10' WHERE key = "
            "'schema_version'");
    std::string rows;
    for (auto [name, serial, mac] : {std::tuple{"d1", "SN-1", "AA:00:00:00:00:01"}, std::tuple{"d2", "SN-1", "AA:00:00:00:00:02"},
                                     std::tuple{"d3", "SN-3", "aa:00:00:00:00:02"}})
        rows += fmt::format("{}('Device', 'provider', '{}', '{{}}', '{{}}', '{{\"deviceType\":\"rpi4\",\"identity\":"
                            "{{\"serial\":\"{}\",\"mac\":\"{}\"}}}}', 1, '2026-01-01T00:00:00Z', "
                            "'2026-01-01T00:00:00Z')",
                            rows.empty() ? "" : ", ", name, serial, mac);
    fleet::test::postgres_exec(db, "INSERT INTO objects (kind, tenant, name, labels, annotations, spec, generation, "
                                   "created_at, updated_at) VALUES " + rows);

    auto stopped = Store::open(backend.location(), {"tester"});
    REQUIRE_FALSE(stopped);
    INFO(stopped.error().message);
    CHECK(stopped.error().kind == ErrorKind::conflict);
    CHECK(stopped.error().message.find("identity.mac \"aa:00:00:00:00:02\" of device/d2 in tenant \"provider\" and "
                                       "device/d3 in tenant \"provider\"") != std::string::npos);
    CHECK(stopped.error().message.find("identity.serial \"SN-1\" of device/d1 in tenant \"provider\" and device/d2")
          != std::string::npos);
    CHECK(fleet::test::postgres_query(db, "SELECT value FROM meta WHERE key = 'schema_version'").at(0) == "10");

    fleet::test::postgres_exec(db, "DELETE FROM objects WHERE name = 'd2'");
    auto migrated = Store::open(backend.location(), {"tester"});
    INFO((migrated ? std::string() : migrated.error().message));
    REQUIRE(migrated);
    CHECK(fleet::test::postgres_query(db, "SELECT value FROM meta WHERE key = 'schema_version'").at(0) == "11");
    CHECK(fleet::test::postgres_query(db, "SELECT conname FROM pg_constraint WHERE conname LIKE 'one\\_device\\_%' "
                                          "AND condeferrable AND condeferred ORDER BY 1") ==
          std::vector<std::string>{"one_device_per_mac", "one_device_per_serial"});
}

TEST_CASE("PostgreSQL: a connection error names the host and the database and never the password: exit 6",
          "[store][backend][postgres]")
{
    Postgres backend;  // starts the server: the database below is missing, the server is there
    std::string url = fleet::test::postgres_url("no_such_db", "tester:s3cr3t-pw");
    std::string socket_dir = url.substr(url.find("host=") + 5, url.find("&port") - url.find("host=") - 5);
    for (std::vector<std::string> args : {std::vector<std::string>{"--state", url, "get", "tenants"},
                                          std::vector<std::string>{"-v", "--state", url, "init"}}) {
        auto r = fleet::test::run_process(FLEETADM_BIN, args);
        INFO(r.err);
        CHECK(r.exit_code == 6);
        CHECK(r.err.find("database \"no_such_db\"") != std::string::npos);
        CHECK(r.err.find(socket_dir) != std::string::npos);
        CHECK(r.err.find("s3cr3t") == std::string::npos);
        CHECK(r.out.find("s3cr3t") == std::string::npos);
    }
    auto env = fleet::test::run_process(FLEETADM_BIN, {"get", "tenants"}, "", {{"FLEETADM_STATE", url}});
    CHECK(env.exit_code == 6);
    CHECK(env.err.find("s3cr3t") == std::string::npos);
}

TEST_CASE("PostgreSQL: artifacts stream in and out in chunks, roll back with their transaction, and a version-5 "
          "store gains the tables when opened",
          "[store][backend][postgres][artifact]")
{
    Postgres backend;
    auto store = create(backend.location());
    const auto db = fleet::test::postgres_database_name(backend.url);
    const std::string sha(64, 'a');  // the backend stores what it is given; hashing is the caller's
    std::string bytes;
    for (int i = 0; bytes.size() < (5u << 20) / 2; ++i) bytes += std::to_string(i) + std::string(1, '\0');
    auto pieces = [&](std::size_t piece) {
        return [&bytes, piece, at = std::size_t{0}]() mutable -> fleet::util::Result<std::string_view> {
            auto chunk = std::string_view(bytes).substr(at, piece);
            at += chunk.size();
            return chunk;
        };
    };
    auto read_back = [&](Store& s) {
        std::string out;
        std::size_t largest = 0;
        auto r = s.read_artifact("provider", sha, [&](std::string_view chunk) {
            out.append(chunk);
            largest = std::max(largest, chunk.size());
            return true;
        });
        REQUIRE(r);
        CHECK(largest <= std::size_t{1} << 20);
        return out;
    };

    // Rolled back: nothing stays.
    {
        auto tx = store->begin(TxMode::write);
        REQUIRE(tx);
        REQUIRE(store->put_artifact("provider", sha, pieces(7777)));
    }
    CHECK(store->has_artifact("provider", sha) == false);
    auto missing = store->read_artifact("provider", sha, [](std::string_view) { return true; });
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);

    // Committed, from pieces of any size: read back whole, in chunks of at most 1 MiB.
    {
        auto tx = store->begin(TxMode::write);
        REQUIRE(tx);
        REQUIRE(store->put_artifact("provider", sha, pieces(300000)));
        REQUIRE(tx->commit());
    }
    CHECK(read_back(*store) == bytes);
    CHECK(fleet::test::postgres_query(db, "SELECT count(*) FROM artifact_chunks").at(0) == "3");
    CHECK(store->artifacts("provider") == std::vector<std::string>{sha});
    // Without a write transaction there is no write.
    CHECK_FALSE(store->put_artifact("provider", sha, pieces(100)));

    // A store of schema version 5 (before artifacts moved into the database, and before the database
    // enforced tenancy: tables of the login, no policies) is migrated when opened.
    store.reset();
    std::string undo_7;
    for (const char* table : {"meta", "sources", "objects", "device_status", "audit", "audit_heads", "rollout_runs",
                              "rollout_devices", "device_outputs"})
        undo_7 += fmt::format("ALTER TABLE {0} OWNER TO tester; ALTER TABLE {0} NO FORCE ROW LEVEL SECURITY; "
                              "ALTER TABLE {0} DISABLE ROW LEVEL SECURITY; ",
                              table);
    undo_7 += "DO $$ DECLARE p record; BEGIN FOR p IN SELECT policyname, tablename FROM pg_policies LOOP EXECUTE "
              "format('DROP POLICY %I ON %I', p.policyname, p.tablename); END LOOP; END $$; ";
    undo_7 += fmt::format("DROP OWNED BY {0}_owner CASCADE; DROP INDEX audit_by_tenant, objects_by_tenant; "
                          "ALTER TABLE objects DROP CONSTRAINT one_device_per_serial, DROP CONSTRAINT one_device_per_mac; "
                          "UPDATE meta SET value = '5' WHERE key = 'schema_version'",
                          db);
    fleet::test::postgres_exec(db, undo_7);
    auto reopened = Store::open(backend.location(), {"tester"});
    INFO((reopened ? std::string() : reopened.error().message));
    REQUIRE(reopened);
    CHECK(fleet::test::postgres_query(db, "SELECT value FROM meta WHERE key = 'schema_version'").at(0) == "11");  // migrated all the way
    // Version 10: no store function searches a login's temporary tables first.
    CHECK(fleet::test::postgres_query(db, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'fleet\\_%' AND "
                                          "array_to_string(proconfig, ',') NOT LIKE '%pg_temp%'")
              .at(0) == "0");
    CHECK(fleet::test::postgres_query(db, "SELECT tableowner FROM pg_tables WHERE tablename = 'objects'").at(0) ==
          db + "_owner");
    CHECK((*reopened)->has_artifact("provider", sha) == false);
    {
        auto tx = (*reopened)->begin(TxMode::write);
        REQUIRE(tx);
        REQUIRE((*reopened)->put_artifact("provider", sha, pieces(1 << 20)));
        REQUIRE(tx->commit());
    }
    CHECK(read_back(**reopened) == bytes);
}
