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

} // namespace fleet::store
