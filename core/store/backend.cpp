#include "core/store/backend.hpp"

namespace fleet::store {

namespace {

util::Error no_artifacts()
{
    return util::Error{util::ErrorKind::runtime,
                       "this store keeps artifacts in files beside it, not in the store (Backend::holds_artifacts)"};
}

} // namespace

util::Result<bool> Backend::has_artifact(const std::string&, const std::string&) { return std::unexpected(no_artifacts()); }

util::Result<void> Backend::put_artifact(const std::string&, const std::string&,
                                         const std::function<util::Result<std::string_view>()>&)
{
    return std::unexpected(no_artifacts());
}

util::Result<void> Backend::read_artifact(const std::string&, const std::string&,
                                          const std::function<bool(std::string_view)>&)
{
    return std::unexpected(no_artifacts());
}

util::Result<std::vector<std::string>> Backend::artifacts(const std::string&) { return std::unexpected(no_artifacts()); }

namespace {

util::Error no_logins()
{
    return util::Error{util::ErrorKind::usage, "users are database logins of a PostgreSQL store; on a local store the "
                                               "caller is the OS user, and tenants' spec.members name OS users"};
}

} // namespace

util::Result<std::vector<std::string>> Backend::logins() { return std::unexpected(no_logins()); }

util::Result<bool> Backend::add_login(const std::string&, const std::optional<std::string>&)
{
    return std::unexpected(no_logins());
}

util::Result<void> Backend::remove_login(const std::string&, bool) { return std::unexpected(no_logins()); }

} // namespace fleet::store
