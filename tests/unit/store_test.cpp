#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "core/store/store.hpp"
#include "tests/support/postgres.hpp"
#include "tests/support/process.hpp"

using fleet::store::Store;
using fleet::store::TxMode;
using fleet::util::ErrorKind;

namespace {

/// A fresh SQLite store's location (conformance tests run once per backend: "… - Sqlite").
struct Sqlite {
    fleet::test::TempDir dir;
    std::string location() const { return (dir.path() / "s.db").string(); }
};

/// A fresh PostgreSQL store's location, on the test process's own server ("… - Postgres"); its login
/// is fleet::test::postgres_login, which is also the name tests open it as.
struct Postgres {
    std::string url = fleet::test::postgres_database();
    std::string location() const { return url; }
};

std::unique_ptr<Store> create(const std::string& location)
{
    auto store = Store::open(location, {"tester"}, {true, 1000});
    REQUIRE(store);
    auto tx = (*store)->begin(TxMode::write);
    REQUIRE(tx);
    REQUIRE((*store)->initialize("provider"));
    REQUIRE(tx->commit());
    return std::move(*store);
}

std::unique_ptr<Store> create(const fleet::test::TempDir& dir) { return create((dir.path() / "s.db").string()); }

void set_user_version(const std::string& path, int version)
{
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, ("PRAGMA user_version=" + std::to_string(version)).c_str(), nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    sqlite3_close(db);
}

fleet::model::Object tenant(const std::string& name)
{
    fleet::model::Object o;
    o.resource.name = name;
    o.resource.spec = {{"parent", "provider"}};
    o.generation = 1;
    o.created_at = o.updated_at = "2026-01-01T00:00:00Z";
    return o;
}

} // namespace

TEMPLATE_TEST_CASE("a new store holds the provider, with the caller as its admin", "[store]", Sqlite, Postgres)
{
    TestType backend;
    auto store = create(backend.location());
    auto tx = store->begin(TxMode::read);
    auto provider = store->get(fleet::model::Kind::tenant, "", "provider");
    REQUIRE(provider);
    REQUIRE(*provider);
    CHECK((*provider)->resource.spec["members"][0] == nlohmann::json{{"user", "tester"}, {"role", "admin"}});
    CHECK(*store->provider() == "provider");
}

TEMPLATE_TEST_CASE("initializing twice is a conflict", "[store]", Sqlite, Postgres)
{
    TestType backend;
    auto store = create(backend.location());
    auto tx = store->begin(TxMode::write);
    auto again = store->initialize("other");
    REQUIRE_FALSE(again);
    CHECK(again.error().kind == ErrorKind::conflict);
}

TEST_CASE("a store written by a newer fleetadm is refused: a missing one is explained", "[store]")
{
    fleet::test::TempDir dir;
    create(dir);
    auto path = (dir.path() / "s.db").string();
    set_user_version(path, 99);
    auto newer = Store::open(path, {"tester"});
    REQUIRE_FALSE(newer);
    CHECK(newer.error().message.find("newer fleetadm") != std::string::npos);

    auto missing = Store::open((dir.path() / "none.db").string(), {"tester"});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("fleetadm init") != std::string::npos);
}

TEST_CASE("an older store is migrated forward on open", "[store]")
{
    fleet::test::TempDir dir;
    auto path = (dir.path() / "old.db").string();
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);  // an empty file: schema version 0
        sqlite3_close(db);
    }
    auto store = Store::open(path, {"tester"});
    REQUIRE(store);
    auto tx = (*store)->begin(TxMode::read);
    CHECK((*store)->revision().value() == 0);
}

TEMPLATE_TEST_CASE("read transactions cannot write: committed writes advance the revision and the audit chain",
                   "[store]", Sqlite, Postgres)
{
    TestType backend;
    auto store = create(backend.location());
    std::int64_t start = 0;
    {
        auto tx = store->begin(TxMode::read);
        start = store->revision().value();
        auto denied = store->put(tenant("ro"), "created", "");
        CHECK_FALSE(denied);
    }
    {
        auto tx = store->begin(TxMode::write);
        REQUIRE(store->put(tenant("a"), "created", ""));
        REQUIRE(store->put(tenant("b"), "created", ""));
        REQUIRE(tx->commit());
    }
    {
        auto tx = store->begin(TxMode::write);
        REQUIRE(store->put(tenant("rolled-back"), "created", ""));
        // destroyed without commit: rolled back
    }
    auto tx = store->begin(TxMode::read);
    CHECK(store->revision().value() == start + 1);
    CHECK_FALSE(*store->get(fleet::model::Kind::tenant, "", "rolled-back"));
    CHECK(*store->get(fleet::model::Kind::tenant, "", "a"));
    auto history = store->history(tenant("a"), 10);
    REQUIRE(history);
    REQUIRE(history->size() == 1);
    CHECK((*history)[0].actor == "tester");
    CHECK((*history)[0].hash.size() == 64);
}

TEMPLATE_TEST_CASE("a device status update changes the fields it sets and keeps the others: the revision stays",
                   "[store]", Sqlite, Postgres)
{
    TestType backend;
    auto store = create(backend.location());
    std::int64_t revision = 0;
    {
        auto tx = store->begin(TxMode::read);
        revision = store->revision().value();
    }
    auto update = [&](const fleet::store::StatusUpdate& u) {
        auto tx = store->begin(TxMode::write);
        REQUIRE(store->update_device_status("provider", "d1", u));
        REQUIRE(tx->commit());
        auto read = store->begin(TxMode::read);
        auto all = store->device_status(nullptr);
        REQUIRE(all);
        REQUIRE(all->contains({"provider", "d1"}));
        return all->at({"provider", "d1"});
    };
    // A first update: the fields not set get their defaults (reachable: never checked).
    fleet::store::StatusUpdate u;
    u.last_rollout = "up: failed";
    auto s = update(u);
    CHECK(s.last_rollout == "up: failed");
    CHECK(s.reported_version.empty());
    CHECK(s.last_seen.empty());
    CHECK_FALSE(s.reachable.has_value());
    // A check that reached it and read a version keeps the last rollout.
    u = {};
    u.reported_version = "2.1.0";
    u.last_seen = "2026-11-23T10:00:00Z";
    u.reachable = true;
    s = update(u);
    CHECK(s.reported_version == "2.1.0");
    CHECK(s.last_seen == "2026-11-23T10:00:00Z");
    CHECK(s.reachable == std::optional<bool>(true));
    CHECK(s.last_rollout == "up: failed");
    // Unreachable now: the version and when it was last seen stay.
    u = {};
    u.reachable = false;
    s = update(u);
    CHECK(s.reachable == std::optional<bool>(false));
    CHECK(s.reported_version == "2.1.0");
    CHECK(s.last_seen == "2026-11-23T10:00:00Z");
    CHECK(s.last_rollout == "up: failed");
    auto tx = store->begin(TxMode::read);
    CHECK(store->revision().value() == revision);
}

TEMPLATE_TEST_CASE("an audited event (exec, device check, a rollout's device) leaves the revision: saved plans stay "
                   "valid",
                   "[store]", Sqlite, Postgres)
{
    TestType backend;
    auto store = create(backend.location());
    std::string provider = "provider";
    auto entries = [&] { return std::get<1>(store->verify_audit(&provider).value().at(0)); };
    std::int64_t revision = 0;
    std::size_t before = 0;
    {
        auto tx = store->begin(TxMode::read);
        revision = store->revision().value();
        before = entries();
    }
    {
        auto tx = store->begin(TxMode::write);
        REQUIRE(store->record_event("provider", "exec", "device/d1", "ran uptime"));
        REQUIRE(store->record_event("provider", "rollout-device", "device/d1", "up: succeeded"));
        REQUIRE(tx->commit());
    }
    auto tx = store->begin(TxMode::read);
    CHECK(store->revision().value() == revision);
    CHECK(entries() == before + 2);
}
