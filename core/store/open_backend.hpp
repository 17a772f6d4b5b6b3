#pragma once
// The one place that picks a store backend from `--state` / FLEETADM_STATE: a PostgreSQL URL or a
// path to a SQLite file.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/store/backend.hpp"

namespace fleet::store {

/// Options for opening a store.
struct OpenOptions {
    bool create = false;          ///< create the store (init only)
    int lock_timeout_ms = 30000;  ///< how long a write transaction waits for another writer
};

/// True when state names a PostgreSQL database (a libpq URI: postgresql:// or postgres://), not a file.
bool is_postgres_url(std::string_view state);

/// The location a user may see for a store: a PostgreSQL URL reduced to user, host, port and
/// database (never a password or other connection option), a path unchanged.
std::string display_location(const std::string& state);

/// True when state is a PostgreSQL URL that carries a password (user:password@ or password=), which
/// must not be kept in a context: libpq reads passwords from ~/.pgpass, PGPASSWORD or a service file.
bool url_holds_password(const std::string& state);

/// The local folder for files kept alongside a store (a local store's artifact area, git cache): beside a SQLite file;
/// for a PostgreSQL store, which has no local file, fleetadm's XDG state folder.
std::filesystem::path local_state_dir(const std::string& state);

/// Opens the backend that state names: PostgreSQL for a URL, else the SQLite file at that path.
util::Result<std::unique_ptr<Backend>> open_backend(const std::string& state, const OpenOptions& options);

} // namespace fleet::store
