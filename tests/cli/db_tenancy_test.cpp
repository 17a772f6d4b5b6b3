// Tenancy enforced by PostgreSQL itself (SPEC §5, issue 14): a customer admin holding a database
// login and psql — here libpq directly — cannot read or change another tenant's rows, raise a limit,
// exceed one (also from two sessions at once), or rewrite or forge the audit log.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <libpq-fe.h>

#include <fstream>
#include <memory>

#include "tests/support/postgres.hpp"
#include "tests/support/process.hpp"

namespace {

/// One libpq session as a login.
class Session {
public:
    Session(const std::string& database, const std::string& login)
        : m_conn(PQconnectdb(fleet::test::postgres_url(database, login).c_str()), &PQfinish)
    {
        REQUIRE(PQstatus(m_conn.get()) == CONNECTION_OK);
    }
    /// The result of one statement: its rows (columns joined by tabs), or the SQLSTATE it failed with.
    struct Outcome {
        std::vector<std::string> rows;
        std::string sqlstate;  ///< empty: it succeeded
        std::string message;
        long affected = 0;
    };
    Outcome operator()(const std::string& sql) { return collect(PQexec(m_conn.get(), sql.c_str())); }
    /// Sends sql without waiting for it (it may block on another session's lock).
    void send(const std::string& sql) { REQUIRE(PQsendQuery(m_conn.get(), sql.c_str()) == 1); }
    /// Waits for what send() sent.
    Outcome wait()
    {
        Outcome last;
        while (PGresult* r = PQgetResult(m_conn.get())) last = collect(r);
        return last;
    }

private:
    static Outcome collect(PGresult* raw)
    {
        std::unique_ptr<PGresult, decltype(&PQclear)> r(raw, &PQclear);
        Outcome out;
        auto status = PQresultStatus(r.get());
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
            out.sqlstate = state ? state : "?";
            out.message = PQresultErrorMessage(r.get());
            return out;
        }
        const char* affected = PQcmdTuples(r.get());
        out.affected = affected && *affected ? std::stol(affected) : 0;
        for (int row = 0; row < PQntuples(r.get()); ++row) {
            std::string line;
            for (int col = 0; col < PQnfields(r.get()); ++col) {
                if (col) line += '\t';
                line += PQgetvalue(r.get(), row, col);
            }
            out.rows.push_back(std::move(line));
        }
        return out;
    }
    std::unique_ptr<PGconn, decltype(&PQfinish)> m_conn;
};

std::string tenant_doc(const std::string& name, const std::string& parent, int limit, const std::string& members)
{
    std::string doc = fmt::format("---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {{name: {}}}\nspec:\n", name);
    if (!parent.empty()) doc += "  parent: " + parent + "\n";
    doc += fmt::format("  deviceLimit: {}\n", limit);
    if (!members.empty()) doc += "  members: " + members + "\n";
    return doc;
}

std::string device_doc(const std::string& tenant, const std::string& name)
{
    return fmt::format("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: {}, tenant: {}}}\n"
                       "spec: {{deviceType: rpi4}}\n",
                       name, tenant);
}

/// A device row as a client would write it with psql.
std::string insert_device(const std::string& tenant, const std::string& name)
{
    return fmt::format("INSERT INTO objects (kind, tenant, name, labels, annotations, spec, generation, created_at, "
                       "updated_at) VALUES ('Device', '{}', '{}', '{{}}', '{{}}', '{{\"deviceType\":\"rpi4\"}}', 1, "
                       "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                       tenant, name);
}

/// A store on the test server made by the provider admin "padmin" (a login with CREATEROLE):
/// provider (limit 5) with acme (alice is admin, limit 10) and its child acme-dev, and globex
/// (gus is admin); one device in each of the four, and an audit entry for each.
struct SharedStore {
    std::string url = fleet::test::postgres_database("padmin");
    std::string db = fleet::test::postgres_database_name(url);
    fleet::test::TempDir home;

    fleet::test::RunResult fleetadm(const std::string& login, std::vector<std::string> args,
                                    const std::string& input = "") const
    {
        args.insert(args.begin(), {"--state", fleet::test::postgres_url(db, login)});
        return fleet::test::run_process(FLEETADM_BIN, args, input, {{"HOME", home.path().string()}});
    }

    SharedStore()
    {
        auto init = fleetadm("padmin", {"init"});
        INFO(init.err);
        REQUIRE(init.exit_code == 0);
        std::string all = tenant_doc("provider", "", 5, "[{user: padmin, role: admin}]") +
                          tenant_doc("acme", "provider", 10, "[{user: alice, role: admin}]") +
                          tenant_doc("acme-dev", "acme", 10, "") +
                          tenant_doc("globex", "provider", 10, "[{user: gus, role: admin}]");
        for (const char* t : {"provider", "acme", "acme-dev", "globex"}) all += device_doc(t, std::string(t) + "-d1");
        auto applied = fleetadm("padmin", {"apply", "-f", "-"}, all);
        INFO(applied.err);
        REQUIRE(applied.exit_code == 0);
        for (const char* login : {"alice", "gus"}) {
            auto added = fleetadm("padmin", {"user", "add", login, "--no-password"});
            INFO(added.err);
            REQUIRE(added.exit_code == 0);
        }
    }
};

} // namespace

TEST_CASE("PostgreSQL enforces tenancy: temporary tables of a login's own do not stand in for the store's tables",
          "[postgres][tenancy]")
{
    SharedStore store;
    Session alice(store.db, "alice");
    auto superuser = [&](const std::string& sql) { return fleet::test::postgres_query(store.db, sql); };
    // A login may create temporary tables (PUBLIC holds TEMPORARY on a database by default): these
    // claim the root of the tree for alice, readable by everyone, the store's functions included.
    for (const char* sql : {"CREATE TEMP TABLE tenant_tree (name TEXT, parent TEXT, device_limit BIGINT, devices BIGINT)",
                            "CREATE TEMP TABLE tenant_members (tenant TEXT, login TEXT, role SMALLINT)",
                            "INSERT INTO tenant_tree VALUES ('provider', NULL, NULL, 0)",
                            "INSERT INTO tenant_members VALUES ('provider', 'alice', 3)",
                            "GRANT ALL ON tenant_tree, tenant_members TO PUBLIC"}) {
        auto r = alice(sql);
        INFO(sql << ": " << r.message);
        REQUIRE(r.sqlstate.empty());
    }
    auto objects = alice("SELECT kind, tenant, name FROM objects ORDER BY kind, tenant, name");
    INFO(objects.message);
    CHECK(objects.rows == std::vector<std::string>{"Device\tacme\tacme-d1", "Device\tacme-dev\tacme-dev-d1",
                                                   "Tenant\t\tacme", "Tenant\t\tacme-dev"});
    CHECK(alice("SELECT count(*) FROM audit WHERE tenant NOT IN ('acme', 'acme-dev')").rows ==
          std::vector<std::string>{"0"});
    CHECK(alice(insert_device("globex", "planted")).sqlstate == "42501");
    CHECK(alice("UPDATE objects SET spec = '{}' WHERE tenant = 'globex'").affected == 0);
    CHECK(superuser("SELECT count(*) FROM objects WHERE kind = 'Device'").at(0) == "4");
    // Nor do they raise the provider's device limit (4 of 5 held): two more devices are refused.
    CHECK(alice("BEGIN").sqlstate.empty());
    CHECK(alice(insert_device("acme", "a2")).sqlstate.empty());
    CHECK(alice(insert_device("acme", "a3")).sqlstate.empty());
    CHECK(alice("COMMIT").sqlstate == "23514");
}

TEST_CASE("PostgreSQL enforces tenancy: a customer admin with psql sees and changes only its subtree",
          "[postgres][tenancy]")
{
    SharedStore store;
    Session alice(store.db, "alice");
    auto superuser = [&](const std::string& sql) { return fleet::test::postgres_query(store.db, sql); };

    // SELECT, table by table: only acme's and acme-dev's rows.
    auto objects = alice("SELECT kind, tenant, name FROM objects ORDER BY kind, tenant, name");
    REQUIRE(objects.sqlstate.empty());
    CHECK(objects.rows == std::vector<std::string>{"Device\tacme\tacme-d1", "Device\tacme-dev\tacme-dev-d1",
                                                   "Tenant\t\tacme", "Tenant\t\tacme-dev"});
    for (const char* table : {"audit", "audit_heads", "device_status", "rollout_runs", "rollout_devices",
                              "device_outputs", "artifacts", "artifact_chunks"}) {
        auto foreign = alice(fmt::format("SELECT count(*) FROM {} WHERE tenant NOT IN ('acme', 'acme-dev')", table));
        INFO(table << ": " << foreign.message);
        REQUIRE(foreign.sqlstate.empty());
        CHECK(foreign.rows == std::vector<std::string>{"0"});
    }
    CHECK(alice("SELECT DISTINCT tenant FROM audit ORDER BY 1").rows == std::vector<std::string>{"acme", "acme-dev"});
    CHECK(superuser("SELECT count(DISTINCT tenant) FROM audit").at(0) == "4");
    // The tables the policies are computed from are not for logins at all.
    CHECK(alice("SELECT * FROM tenant_members").sqlstate == "42501");
    CHECK(alice("SELECT * FROM tenant_tree").sqlstate == "42501");

    // INSERT, UPDATE and DELETE of a sibling's rows: refused, or they touch nothing.
    CHECK(alice(insert_device("globex", "planted")).sqlstate == "42501");
    CHECK(alice(insert_device("provider", "planted")).sqlstate == "42501");
    auto before = fleet::test::postgres_dump(store.db);
    CHECK(alice("UPDATE objects SET spec = '{}' WHERE tenant = 'globex'").affected == 0);
    CHECK(alice("DELETE FROM objects WHERE tenant IN ('globex', 'provider')").affected == 0);
    CHECK(alice("UPDATE objects SET tenant = 'acme' WHERE tenant = 'globex'").affected == 0);
    CHECK(alice("UPDATE audit_heads SET hash = 'x'").sqlstate == "42501");
    // Its own rows it may change (it is admin of acme), but not move them into a sibling.
    CHECK(alice("UPDATE objects SET tenant = 'globex' WHERE name = 'acme-d1'").sqlstate == "42501");

    // Limits: nobody raises their own tenant's limit or an ancestor's (tenants are managed from above).
    CHECK(alice("UPDATE objects SET spec = '{\"parent\":\"provider\",\"deviceLimit\":1000}' WHERE kind = 'Tenant' AND "
                "name = 'acme'")
              .affected == 0);
    CHECK(alice("UPDATE objects SET spec = '{\"deviceLimit\":1000}' WHERE kind = 'Tenant' AND name = 'provider'")
              .affected == 0);
    CHECK(alice("INSERT INTO objects (kind, tenant, name, parent, labels, annotations, spec, generation, created_at, "
                "updated_at) VALUES ('Tenant', '', 'acme2', 'provider', '{}', '{}', '{\"parent\":\"provider\"}', 1, "
                "'x', 'x')")
              .sqlstate == "42501");
    // Nor becomes the provider, nor turns row-level security off.
    CHECK(alice("UPDATE meta SET value = 'acme' WHERE key = 'provider'").affected == 0);
    CHECK(alice("ALTER TABLE objects DISABLE ROW LEVEL SECURITY").sqlstate == "42501");
    CHECK(alice("DROP POLICY members_read ON objects").sqlstate == "42501");
    CHECK(alice("ALTER TABLE audit DISABLE TRIGGER USER").sqlstate == "42501");
    CHECK(fleet::test::postgres_dump(store.db) == before);

    // Devices past an ancestor's limit: provider holds 4 of 5; acme (limit 10) has room, the provider not.
    CHECK(alice("BEGIN").sqlstate.empty());
    CHECK(alice(insert_device("acme", "a2")).sqlstate.empty());
    CHECK(alice(insert_device("acme-dev", "a3")).sqlstate.empty());
    auto over = alice("COMMIT");
    INFO(over.message);
    CHECK(over.sqlstate == "23514");
    CHECK(over.message.find("the device limit of an ancestor tenant you cannot see would be exceeded") !=
          std::string::npos);
    CHECK(over.message.find("provider") == std::string::npos);
    CHECK(superuser("SELECT count(*) FROM objects WHERE kind = 'Device'").at(0) == "4");

    // Audit rows: no UPDATE, DELETE or TRUNCATE for any login.
    CHECK(alice("UPDATE audit SET summary = 'nothing happened' WHERE tenant = 'acme'").sqlstate == "42501");
    CHECK(alice("DELETE FROM audit WHERE tenant = 'acme'").sqlstate == "42501");
    CHECK(alice("TRUNCATE audit").sqlstate == "42501");
    Session padmin(store.db, "padmin");
    CHECK(padmin("DELETE FROM audit").sqlstate == "42501");
    CHECK(padmin("TRUNCATE audit").sqlstate == "42501");

    // An entry in another user's name is refused: alice may not blame gus (or padmin) for anything.
    auto entries = superuser("SELECT count(*) FROM audit").at(0);
    for (const char* actor : {"gus", "padmin", "alice ", ""}) {
        INFO(actor);
        auto blamed = alice(fmt::format("INSERT INTO audit (seq, at, actor, tenant, action, object, summary, prev_hash, "
                                        "hash) VALUES (1, '2026-01-01T00:00:00Z', '{}', 'acme', 'deleted', "
                                        "'device/acme-d1', 'blamed', '', '')",
                                        actor));
        CHECK(blamed.sqlstate == "42501");
        CHECK(blamed.message.find("only provider admins may act as another user") != std::string::npos);
    }
    CHECK(superuser("SELECT count(*) FROM audit").at(0) == entries);
    // A provider admin may (fleetadm's --as); the entry is linked as any other.
    REQUIRE(padmin("INSERT INTO audit (seq, at, actor, tenant, action, object, summary, prev_hash, hash) VALUES "
                   "(1, '2026-01-01T00:00:00Z', 'gus', 'globex', 'checked', 'device/globex-d1', 'as gus', '', '')")
                .sqlstate.empty());

    // A forged row (its own sequence number and hashes) is linked by the database instead.
    auto head = alice("SELECT seq, hash FROM audit WHERE tenant = 'acme' ORDER BY seq DESC LIMIT 1").rows.at(0);
    auto forged = alice("INSERT INTO audit (seq, at, actor, tenant, action, object, summary, prev_hash, hash) VALUES "
                        "(1, '2026-01-01T00:00:00Z', 'alice', 'acme', 'deleted', 'device/acme-d1', 'forged', 'f', 'f')");
    INFO(forged.message);
    REQUIRE(forged.sqlstate.empty());
    auto stored = superuser("SELECT seq, prev_hash, hash FROM audit WHERE summary = 'forged'").at(0);
    CHECK(stored.find("\tf\t") == std::string::npos);
    CHECK(stored.substr(stored.find('\t') + 1, 64) == head.substr(head.find('\t') + 1));
    CHECK(std::stol(stored.substr(0, stored.find('\t'))) > std::stol(head.substr(0, head.find('\t'))));
    auto verify = store.fleetadm("padmin", {"audit", "verify", "-A"});
    INFO(verify.out << verify.err);
    CHECK(verify.exit_code == 0);
}

TEST_CASE("PostgreSQL: a serial or MAC held in a tenant the login cannot see is a conflict that names neither",
          "[postgres][tenancy][identity]")
{
    SharedStore store;
    auto identity = [](const std::string& tenant, const std::string& name, const std::string& serial,
                       const std::string& mac) {
        return fmt::format("---\napiVersion: fleetadm/v1\nkind: Device\nmetadata: {{name: {}, tenant: {}}}\n"
                           "spec: {{deviceType: rpi4, identity: {{serial: {}, mac: \"{}\"}}}}\n",
                           name, tenant, serial, mac);
    };
    auto held = store.fleetadm("gus", {"apply", "-f", "-"}, identity("globex", "globex-d1", "SN-G", "AA:00:00:00:00:01"));
    INFO(held.err);
    REQUIRE(held.exit_code == 0);
    auto devices = [&] {
        return fleet::test::postgres_query(store.db, "SELECT tenant, name, spec FROM objects WHERE kind = 'Device' "
                                                     "ORDER BY tenant, name");
    };
    auto before = devices();

    // alice's login cannot read globex's rows, yet the database tells her the serial (or the MAC, in
    // another case) is taken, and by nobody she may know of.
    for (const auto& [serial, mac] : {std::pair<std::string, std::string>{"SN-G", "AA:00:00:00:00:09"},
                                      {"SN-9", "aa:00:00:00:00:01"}}) {
        auto taken = store.fleetadm("alice", {"apply", "-f", "-"}, identity("acme", "acme-d1", serial, mac));
        INFO(taken.err);
        CHECK(taken.exit_code == 5);
        CHECK(taken.err.find("belongs to a device in another tenant") != std::string::npos);
        CHECK(taken.err.find("globex") == std::string::npos);
        CHECK(devices() == before);
    }
    // A free one is hers; then gus cannot take it either.
    auto free = store.fleetadm("alice", {"apply", "-f", "-"}, identity("acme", "acme-d1", "SN-A", "aa:00:00:00:00:02"));
    INFO(free.err);
    REQUIRE(free.exit_code == 0);
    auto theirs = store.fleetadm("gus", {"apply", "-f", "-"}, identity("globex", "globex-d1", "SN-A", "aa:00:00:00:00:01"));
    CHECK(theirs.exit_code == 5);
    CHECK(theirs.err.find("identity.serial \"SN-A\" belongs to a device in another tenant") != std::string::npos);
    CHECK(theirs.err.find("acme") == std::string::npos);
    // The provider's admin sees who holds it.
    auto provider = store.fleetadm("padmin", {"apply", "-f", "-"}, identity("globex", "globex-d1", "SN-A", "aa:00:00:00:00:01"));
    CHECK(provider.exit_code == 5);
    CHECK(provider.err.find("belongs to device/acme-d1 in tenant \"acme\"") != std::string::npos);
    before = devices();

    // The database holds identities unique itself: alice with psql cannot write one of globex's,
    // neither as a new device nor into her own, and the MAC in another case is the same MAC.
    Session alice(store.db, "alice");
    auto spec = [](const std::string& serial, const std::string& mac) {
        return fmt::format("{{\"deviceType\":\"rpi4\",\"identity\":{{\"serial\":\"{}\",\"mac\":\"{}\"}}}}", serial, mac);
    };
    for (const auto& sql :
         {fmt::format("INSERT INTO objects (kind, tenant, name, labels, annotations, spec, generation, created_at, "
                      "updated_at) VALUES ('Device', 'acme-dev', 'copy', '{{}}', '{{}}', '{}', 1, "
                      "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                      spec("SN-G", "aa:00:00:00:00:07")),
          fmt::format("UPDATE objects SET spec = '{}' WHERE kind = 'Device' AND name = 'acme-d1'",
                      spec("SN-9", "AA:00:00:00:00:01"))}) {
        auto refused = alice(sql);
        INFO(sql << "\n" << refused.message);
        CHECK(refused.sqlstate == "23505");
        CHECK(devices() == before);
    }
    // Checked at commit: one transaction may swap two devices' identities.
    Session padmin(store.db, "padmin");
    REQUIRE(padmin("BEGIN").sqlstate.empty());
    REQUIRE(padmin(fmt::format("UPDATE objects SET spec = '{}' WHERE kind = 'Device' AND name = 'acme-d1'",
                               spec("SN-G", "aa:00:00:00:00:01")))
                .sqlstate.empty());
    REQUIRE(padmin(fmt::format("UPDATE objects SET spec = '{}' WHERE kind = 'Device' AND name = 'globex-d1'",
                               spec("SN-A", "aa:00:00:00:00:02")))
                .sqlstate.empty());
    auto swapped = padmin("COMMIT");
    INFO(swapped.message);
    CHECK(swapped.sqlstate.empty());
    CHECK(fleet::test::postgres_query(store.db, "SELECT name, identity_serial FROM objects WHERE identity_serial IS NOT "
                                                "NULL ORDER BY name") ==
          std::vector<std::string>{"acme-d1\tSN-G", "globex-d1\tSN-A"});
}

TEST_CASE("PostgreSQL: a psql write of objects advances the store revision: a plan saved before it is stale",
          "[postgres][tenancy][plan]")
{
    SharedStore store;
    auto revision = [&] {
        return fleet::test::postgres_query(store.db, "SELECT value FROM meta WHERE key = 'revision'").at(0);
    };
    auto plan_file = (store.home.path() / "plan.json").string();
    auto planned = store.fleetadm("alice", {"plan", "-f", "-", "--out", plan_file},
                                  "apiVersion: fleetadm/v1\nkind: Device\nmetadata: {name: acme-d2, tenant: acme}\n"
                                  "spec: {deviceType: rpi4}\n");
    INFO(planned.err);
    REQUIRE(planned.exit_code == 1);  // changes found
    auto at_plan = revision();

    // Statements that change no row leave it; one that changes a row advances it, once per transaction.
    Session alice(store.db, "alice");
    REQUIRE(alice("UPDATE objects SET labels = '{\"x\":\"1\"}' WHERE name = 'no-such-device'").sqlstate.empty());
    REQUIRE(alice("DELETE FROM objects WHERE name = 'no-such-device'").sqlstate.empty());
    CHECK(revision() == at_plan);
    REQUIRE(alice("BEGIN").sqlstate.empty());
    REQUIRE(alice("UPDATE objects SET labels = '{\"x\":\"1\"}' WHERE name = 'acme-d1'").sqlstate.empty());
    REQUIRE(alice("UPDATE objects SET labels = '{\"x\":\"2\"}' WHERE name = 'acme-d1'").sqlstate.empty());
    REQUIRE(alice("COMMIT").sqlstate.empty());
    CHECK(std::stol(revision()) == std::stol(at_plan) + 1);

    auto stale = store.fleetadm("alice", {"apply", plan_file});
    CHECK(stale.exit_code == 5);
    CHECK(stale.err.find("the saved plan is stale") != std::string::npos);
    CHECK(fleet::test::postgres_query(store.db, "SELECT count(*) FROM objects WHERE name = 'acme-d2'").at(0) == "0");

    // fleetadm's own commit advances it by one as well (its trigger and its commit share the step).
    auto applied = store.fleetadm("alice", {"apply", "-f", "-"},
                                  "apiVersion: fleetadm/v1\nkind: Device\nmetadata: {name: acme-d2, tenant: acme}\n"
                                  "spec: {deviceType: rpi4}\n");
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    CHECK(std::stol(revision()) == std::stol(at_plan) + 2);
}

TEST_CASE("PostgreSQL enforces device limits across concurrent sessions of two logins", "[postgres][tenancy]")
{
    SharedStore store;
    // provider holds 4 of 5: alice (acme) and gus (globex) each add one, at the same time.
    Session alice(store.db, "alice");
    Session gus(store.db, "gus");
    REQUIRE(alice("BEGIN").sqlstate.empty());
    REQUIRE(alice(insert_device("acme", "a2")).sqlstate.empty());
    REQUIRE(gus("BEGIN").sqlstate.empty());
    gus.send(insert_device("globex", "g2"));  // waits for alice's count of the provider
    REQUIRE(alice("COMMIT").sqlstate.empty());
    auto inserted = gus.wait();
    auto committed = inserted.sqlstate.empty() ? gus("COMMIT") : inserted;
    INFO(committed.message);
    CHECK(committed.sqlstate == "23514");
    CHECK(fleet::test::postgres_query(store.db, "SELECT count(*) FROM objects WHERE kind = 'Device'").at(0) == "5");

    // fleetadm itself says so with its exit code for a limit (5), whichever login writes.
    auto apply = store.fleetadm("gus", {"apply", "-f", "-"}, device_doc("globex", "g3"));
    INFO(apply.err);
    CHECK(apply.exit_code == 5);
    CHECK(apply.err.find("device limit of an ancestor tenant you cannot see") != std::string::npos);
    // As the provider admin, who sees it, the same limit is named.
    auto named = store.fleetadm("padmin", {"apply", "-f", "-"}, device_doc("globex", "g3"));
    CHECK(named.exit_code == 5);
    CHECK(named.err.find("tenant \"provider\": device limit 5 would be exceeded") != std::string::npos);
}

TEST_CASE("fleetadm user add|remove|list manage the store's logins", "[postgres][tenancy]")
{
    SharedStore store;
    auto list = store.fleetadm("padmin", {"user", "list", "-o", "json"});
    INFO(list.err);
    REQUIRE(list.exit_code == 0);
    CHECK(nlohmann::json::parse(list.out) == nlohmann::json::array({"alice", "gus", "padmin"}));
    // A login that is not a user of the store is told so, and how to become one.
    fleet::test::postgres_exec(store.db, "CREATE ROLE carol LOGIN");
    auto stranger = store.fleetadm("carol", {"get", "tenants"});
    CHECK(stranger.exit_code == 3);
    CHECK(stranger.err.find("fleetadm user add carol") != std::string::npos);
    // Only a provider admin adds users, and the password comes from a file, hashed before it is sent.
    fleet::test::TempDir dir;
    auto secret = dir.path() / "pw";
    std::ofstream(secret) << "s3cret-Pa55word\n";
    CHECK(store.fleetadm("alice", {"user", "add", "dave", "--password-file", secret.string()}).exit_code == 3);
    auto added = store.fleetadm("padmin", {"user", "add", "dave", "--password-file", secret.string()});
    INFO(added.err);
    REQUIRE(added.exit_code == 0);
    auto hash = fleet::test::postgres_query("postgres", "SELECT rolpassword FROM pg_authid WHERE rolname = 'dave'");
    CHECK(hash.at(0).rfind("SCRAM-SHA-256$", 0) == 0);
    CHECK(fleet::test::postgres_dump(store.db).find("s3cret") == std::string::npos);
    // dave may connect, but sees nothing until a tenant names him.
    auto empty = store.fleetadm("dave", {"get", "devices", "-A", "-o", "name"});
    CHECK(empty.exit_code == 0);
    CHECK(empty.out.empty());
    auto removed = store.fleetadm("padmin", {"user", "remove", "dave", "--drop-login"});
    INFO(removed.err);
    CHECK(removed.exit_code == 0);
    CHECK(fleet::test::postgres_query("postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'dave'").at(0) == "0");
    CHECK(store.fleetadm("padmin", {"user", "remove", "nobody"}).exit_code == 4);
    // On a local store there are no logins to manage.
    fleet::test::TempDir local;
    auto file = (local.path() / "state.db").string();
    REQUIRE(fleet::test::run_process(FLEETADM_BIN, {"--state", file, "init"}).exit_code == 0);
    auto refused = fleet::test::run_process(FLEETADM_BIN, {"--state", file, "user", "list"});
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("PostgreSQL") != std::string::npos);
}
