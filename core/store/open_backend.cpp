#include "core/store/open_backend.hpp"

#include <cstdlib>

#include "core/store/pg_backend.hpp"
#include "core/store/sqlite_backend.hpp"

namespace fleet::store {

bool is_postgres_url(std::string_view state)
{
    return state.starts_with("postgresql://") || state.starts_with("postgres://");
}

std::filesystem::path local_state_dir(const std::string& state)
{
    if (!is_postgres_url(state)) return std::filesystem::absolute(state).parent_path();
    if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "fleetadm";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home && *home ? home : ".") / ".local/state/fleetadm";
}

util::Result<std::unique_ptr<Backend>> open_backend(const std::string& state, const OpenOptions& options)
{
    if (is_postgres_url(state)) {
        auto pg = PgBackend::open(state, options.create, options.lock_timeout_ms);
        if (!pg) return std::unexpected(pg.error());
        return std::unique_ptr<Backend>(std::move(*pg));
    }
    auto sqlite = SqliteBackend::open(state, options.create, options.lock_timeout_ms);
    if (!sqlite) return std::unexpected(sqlite.error());
    return std::unique_ptr<Backend>(std::move(*sqlite));
}

} // namespace fleet::store
