#pragma once
// Test support: a real PostgreSQL 15 server for this test process, started on first use and
// stopped at exit. Its data folder is copied from a cluster made once per machine by initdb
// (under a lock, so parallel test processes never race), it listens only on a Unix socket in
// its own temporary folder, runs as the `postgres` OS user when the tests run as root, and dies
// with the test process (a parent-death signal) if that is killed.

#include <string>
#include <vector>

namespace fleet::test {

/// The login role that test databases belong to and their URLs connect as.
inline constexpr const char* postgres_login = "tester";

/// Creates a fresh, empty database owned by postgres_login on this process's server (starting
/// the server on first use, which must happen on the main thread) and returns its URL.
std::string postgres_database();

/// Creates a fresh, empty database owned by the login owner (made on first use; no password) and
/// returns its URL as that login. CLI tests use the OS user's name, as libpq does by default, so that
/// the caller fleetadm sees is the same on both backends.
std::string postgres_database(const std::string& owner);

/// The database name in a URL made by postgres_database.
std::string postgres_database_name(const std::string& url);

/// Every row of every table of database as text, tables in name order and rows sorted: what a test
/// compares to prove that nothing was written, or searches for a secret.
std::string postgres_dump(const std::string& database);

/// Runs SQL as the superuser on database and returns the last statement's rows, columns joined by
/// tabs; throws when it fails.
std::vector<std::string> postgres_query(const std::string& database, const std::string& sql);

/// The URL of a database as the server's superuser, for tests that change what fleetadm may not.
std::string postgres_superuser_url(const std::string& database);

/// The URL of database with its socket folder and port, as user (no password: the server trusts it).
std::string postgres_url(const std::string& database, const std::string& user);

/// Runs one SQL statement as the superuser on database; fails the test when it fails.
void postgres_exec(const std::string& database, const std::string& sql);

/// How long starting the server took, in milliseconds (0 before it started).
long postgres_startup_ms();

} // namespace fleet::test
