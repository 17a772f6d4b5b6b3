#pragma once
// Test support: a real PostgreSQL 15 server for this test process, started on first use and
// stopped at exit. Its data folder is copied from a cluster made once per machine by initdb
// (under a lock, so parallel test processes never race), it listens only on a Unix socket in
// its own temporary folder, runs as the `postgres` OS user when the tests run as root, and dies
// with the test process (a parent-death signal) if that is killed.

#include <string>

namespace fleet::test {

/// The login role that test databases belong to and their URLs connect as.
inline constexpr const char* postgres_login = "tester";

/// Creates a fresh, empty database owned by postgres_login on this process's server (starting
/// the server on first use, which must happen on the main thread) and returns its URL.
std::string postgres_database();

/// The URL of a database as the server's superuser, for tests that change what fleetadm may not.
std::string postgres_superuser_url(const std::string& database);

/// The URL of database with its socket folder and port, as user (no password: the server trusts it).
std::string postgres_url(const std::string& database, const std::string& user);

/// Runs one SQL statement as the superuser on database; fails the test when it fails.
void postgres_exec(const std::string& database, const std::string& sql);

/// How long starting the server took, in milliseconds (0 before it started).
long postgres_startup_ms();

} // namespace fleet::test
