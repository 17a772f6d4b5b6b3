// A store that cannot be read says so: exit 6 with SQLite's cause, never "not found" or an empty
// answer (SPEC §3). Both cases break or lock the SQLite file itself: [sqlite] keeps them off the
// PostgreSQL run.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support/background.hpp"
#include "tests/support/process.hpp"

using fleet::test::Fleet;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

/// Breaks the overflow chain of the one large row in the store: the first overflow page (a page
/// that starts with a next-page number and then only 'x') gets a next page beyond the file's end,
/// which SQLite reports as a malformed database image when the row is read. Other rows stay readable.
void break_overflow_chain(const fs::path& db)
{
    std::string bytes = fleet::test::read_file(db);
    constexpr std::size_t page = 8192;  // the page size fleetadm creates stores with
    bool broken = false;
    for (std::size_t at = page; at + page <= bytes.size() && !broken; at += page) {
        bool next = bytes.compare(at, 4, std::string(4, '\0')) != 0;
        if (next && bytes.compare(at + 4, 256, std::string(256, 'x')) == 0) {
            bytes.replace(at, 4, "\x7f\xff\xff\xff");
            broken = true;
        }
    }
    REQUIRE(broken);
    std::ofstream(db, std::ios::binary | std::ios::trunc) << bytes;
}

} // namespace

TEST_CASE("a corrupt tenant row is a database failure (exit 6), not an empty list", "[cli][store][sqlite]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    std::string docs = "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: acme}\nspec: {settings: {pad: " +
                       std::string(20000, 'x') + "}}\n";
    for (const char* d : {"d1", "d2", "d3"})
        docs += std::string("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {name: ") + d +
                ", tenant: acme}\nspec: {deviceType: rpi4}\n";
    auto applied = fleet({"apply", "-f", fleet.dir().write("acme.yaml", docs).string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    REQUIRE(fleet({"get", "devices", "-A", "-o", "name"}).out == "device/d1\ndevice/d2\ndevice/d3\n");
    // The last connection folded the WAL into the file, which is patched now.
    REQUIRE_FALSE(fs::exists(fleet.state().string() + "-wal"));
    break_overflow_chain(fleet.state());

    // The roles are read from the tenants: reading them fails, and says why.
    auto listed = fleet({"get", "devices", "-A"});
    INFO(listed.out << listed.err);
    CHECK(listed.exit_code == 6);
    CHECK(contains(listed.err, "database disk image is malformed"));
    CHECK(listed.out.empty());
    auto audit = fleet({"audit", "-A"});
    CHECK(audit.exit_code == 6);
    CHECK(contains(audit.err, "malformed"));
}

TEST_CASE("a store locked by another process is a database failure (exit 6) naming the lock", "[cli][store][sqlite]")
{
    Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    // Another program holds the store's file lock exclusively (SQLite's EXCLUSIVE locking mode).
    fleet::test::BackgroundProcess holder(
        "python3",
        {"-c",
         "import sqlite3, sys, time\n"
         "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "db.execute('PRAGMA locking_mode=EXCLUSIVE')\n"
         "db.execute('BEGIN EXCLUSIVE')\n"
         "print('locked', flush=True)\n"
         "time.sleep(600)\n",
         fleet.state().string()});
    holder.wait_for_line("locked");
    auto digest = fleet.store_digest();
    // Waits for the busy timeout (30 s), then gives up.
    auto got = fleet({"get", "tenants"});
    INFO(got.out << got.err);
    CHECK(got.exit_code == 6);
    CHECK(contains(got.err, "database is locked"));
    CHECK(contains(got.err, fleet.state().string()));
    CHECK(fleet.store_digest() == digest);
}
