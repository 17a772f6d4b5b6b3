#include "core/store/artifacts.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "core/store/store.hpp"
#include "core/util/files.hpp"
#include "core/util/paths.hpp"
#include "core/util/safe_path.hpp"
#include "core/util/sha256.hpp"

namespace fleet::store {

namespace fs = std::filesystem;
using util::ErrorKind;
using util::fail;

ArtifactCopies::~ArtifactCopies()
{
    for (const auto& file : m_files) {
        std::error_code ec;
        fs::remove(file, ec);
    }
}

namespace {

bool valid_sha256(const std::string& sha256)
{
    return sha256.size() == 64 &&
           std::all_of(sha256.begin(), sha256.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// A usage error unless sha256 is 64 lower-case hex digits.
util::Result<void> check_sha256(const std::string& sha256)
{
    if (valid_sha256(sha256)) return {};
    return fail(ErrorKind::usage, fmt::format("\"{}\" is not a SHA-256 (64 lower-case hex digits)", sha256.substr(0, 80)));
}

/// Writes all of chunk to fd (retrying after signals); false when the write fails.
bool write_all(int fd, std::string_view chunk)
{
    while (!chunk.empty()) {
        ssize_t n = ::write(fd, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        chunk.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

/// The error for an artifact whose bytes are in a git commit this run did not read.
util::Error bytes_not_read()
{
    return util::Error{ErrorKind::usage, "the artifact's file comes from its git commit, which this run did not read; "
                                         "apply the git source again with --git"};
}

/// True when target is a regular file (not a link) whose content hashes to sha256.
bool holds(const fs::path& target, const std::string& sha256, std::uint64_t max_size)
{
    auto file = util::open_regular(target.string(), max_size, util::Links::refuse);
    if (!file) return false;
    util::Sha256 hash;
    auto read = util::read_chunks(file->fd.get(), max_size, [&](std::string_view chunk) {
        hash.update(chunk);
        return true;
    });
    return read && util::to_hex(hash.digest()) == sha256;
}

/// Writes source's bytes to fd, hashing them; returns the hex SHA-256 of what was written.
util::Result<std::string> copy_into(int out, const ArtifactSource& source, std::uint64_t max_size)
{
    util::Sha256 hash;
    bool write_failed = false;
    auto sink = [&](std::string_view chunk) {
        hash.update(chunk);
        if (!write_all(out, chunk)) write_failed = true;
        return !write_failed;
    };
    if (source.content) {
        std::string_view all(*source.content);
        for (std::size_t at = 0; at < all.size() && !write_failed; at += 1 << 16) sink(all.substr(at, 1 << 16));
    } else if (source.file.empty()) {
        return std::unexpected(bytes_not_read());
    } else {
        std::string path = util::expand_home(source.file);
        auto in = util::open_regular(path, max_size);
        if (!in) return std::unexpected(in.error());
        auto read = util::read_chunks(in->fd.get(), max_size, sink);
        if (!read) return fail(read.error().kind, fmt::format("cannot copy artifact file {}: {}", path, read.error().message));
    }
    if (write_failed) return fail(ErrorKind::runtime, "cannot write the artifact area");
    return util::to_hex(hash.digest());
}

} // namespace

util::Result<fs::path> artifact_path(const fs::path& tenant_dir, const std::string& sha256)
{
    if (auto valid = check_sha256(sha256); !valid) return std::unexpected(valid.error());
    return util::child_path(tenant_dir, sha256, "artifact");
}

namespace {

/// Copies source into dir as dir/SHA256 unless a regular file with that content is there already.
util::Result<void> store_in_area(const std::string& dir, const ArtifactSource& source, const std::string& sha256,
                                 ArtifactCopies& copies)
{
    if (dir.empty()) return fail(ErrorKind::usage, "the tenant's name cannot be a folder name");  // see Store::artifact_dir
    auto target = artifact_path(dir, sha256);
    if (!target) return std::unexpected(target.error());
    auto max_size = util::max_artifact_size();
    if (!max_size) return std::unexpected(max_size.error());
    if (holds(*target, sha256, *max_size)) return {};
    if (auto made = util::make_private_dirs(dir); !made) return std::unexpected(made.error());
    util::make_owner_only(fs::path(dir).parent_path());  // areas made before files were owner-only
    util::make_owner_only(dir);

    fs::path temp = fs::path(dir) / fmt::format(".{}.{}.tmp", sha256, ::getpid());
    std::error_code ec;
    fs::remove(temp, ec);  // left by a killed run of this process id
    auto out = util::create_private_file(temp);
    if (!out) return std::unexpected(out.error());
    auto actual = copy_into(out->get(), source, *max_size);
    if (actual && ::fsync(out->get()) != 0) actual = fail(ErrorKind::runtime, "cannot write the artifact area");
    *out = util::Fd();
    if (!actual) {
        fs::remove(temp, ec);
        return std::unexpected(actual.error());
    }
    if (*actual != sha256) {
        fs::remove(temp, ec);
        return fail(ErrorKind::conflict,
                    fmt::format("artifact file {} changed while it was applied (SHA-256 {} instead of {})",
                                util::expand_home(source.file), *actual, sha256));
    }
    // rename replaces a link or a wrong file at the target itself, never what a link points to.
    fs::rename(temp, *target, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(temp, ignored);
        return fail(ErrorKind::runtime, fmt::format("cannot store artifact {}: {}", sha256, ec.message()));
    }
    copies.add(*target);
    return {};
}

/// Streams source into the database as tenant's artifact, hashing it; a mismatch fails, and the
/// caller's transaction then takes the rows back.
util::Result<void> store_in_database(Store& store, const std::string& tenant, const ArtifactSource& source,
                                     const std::string& sha256, std::uint64_t max_size)
{
    util::Sha256 hash;
    std::string path;
    util::Fd in;
    std::string_view content;
    if (source.content) {
        content = *source.content;
    } else if (source.file.empty()) {
        return std::unexpected(bytes_not_read());
    } else {
        path = util::expand_home(source.file);
        auto file = util::open_regular(path, max_size);
        if (!file) return std::unexpected(file.error());
        in = std::move(file->fd);
    }
    std::string buffer(source.content ? 0 : std::size_t{1} << 20, '\0');
    std::uint64_t total = 0;
    auto next = [&]() -> util::Result<std::string_view> {
        std::string_view chunk;
        if (source.content) {
            chunk = content.substr(0, std::size_t{1} << 20);
            content.remove_prefix(chunk.size());
        } else {
            ssize_t n;
            do n = ::read(in.get(), buffer.data(), buffer.size());
            while (n < 0 && errno == EINTR);
            if (n < 0) return fail(ErrorKind::runtime, fmt::format("cannot read artifact file {}", path));
            chunk = std::string_view(buffer.data(), static_cast<std::size_t>(n));
        }
        total += chunk.size();
        if (total > max_size)
            return fail(ErrorKind::usage, fmt::format("artifact file {} is larger than {} bytes (FLEETADM_MAX_ARTIFACT_SIZE)",
                                                      path, max_size));
        hash.update(chunk);
        return chunk;
    };
    if (auto r = store.put_artifact(tenant, sha256, next); !r) return r;
    if (auto actual = util::to_hex(hash.digest()); actual != sha256)
        return fail(ErrorKind::conflict,
                    fmt::format("artifact file {} changed while it was applied (SHA-256 {} instead of {})",
                                path.empty() ? "(from the git commit)" : path, actual, sha256));
    return {};
}

} // namespace

util::Result<void> store_artifact(Store& store, const std::string& tenant, const ArtifactSource& source,
                                  const std::string& sha256, ArtifactCopies& copies)
{
    if (auto valid = check_sha256(sha256); !valid) return valid;
    if (!store.holds_artifacts()) return store_in_area(store.artifact_dir(tenant), source, sha256, copies);
    auto max_size = util::max_artifact_size();
    if (!max_size) return std::unexpected(max_size.error());
    auto stored = store.has_artifact(tenant, sha256);
    if (!stored) return std::unexpected(stored.error());
    if (*stored) return {};  // verified when it is read
    return store_in_database(store, tenant, source, sha256, *max_size);
}

std::filesystem::path artifact_cache_dir()
{
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "fleetadm/artifacts";
    const char* home = std::getenv("HOME");
    return fs::path(home && *home ? home : ".") / ".cache/fleetadm/artifacts";
}

util::Result<std::string> local_artifact(Store& store, const std::string& tenant, const std::string& sha256)
{
    if (!store.holds_artifacts()) {
        auto area = store.artifact_dir(tenant);  // "" for a tenant name that cannot be a folder
        if (area.empty()) return fail(ErrorKind::usage, "the tenant's name cannot be a folder name");
        auto file = artifact_path(area, sha256);
        if (!file) return std::unexpected(file.error());
        if (auto r = store.permit(Action::read, tenant); !r) return std::unexpected(r.error());
        return file->string();  // the transport refuses a link and checks the bytes while it uploads
    }
    auto dir = artifact_cache_dir();
    auto target = artifact_path(dir, sha256);
    if (!target) return std::unexpected(target.error());
    if (auto r = store.permit(Action::read, tenant); !r) return std::unexpected(r.error());
    auto max_size = util::max_artifact_size();
    if (!max_size) return std::unexpected(max_size.error());
    if (holds(*target, sha256, *max_size)) return target->string();
    if (auto made = util::make_private_dirs(dir); !made) return std::unexpected(made.error());
    util::make_owner_only(dir);
    fs::path temp = dir / fmt::format(".{}.{}.tmp", sha256, ::getpid());
    std::error_code ec;
    fs::remove(temp, ec);  // left by a killed run of this process id
    auto out = util::create_private_file(temp);
    if (!out) return std::unexpected(out.error());
    util::Sha256 hash;
    bool write_failed = false;
    auto read = store.read_artifact(tenant, sha256, [&](std::string_view chunk) {
        hash.update(chunk);
        if (!write_all(out->get(), chunk)) write_failed = true;
        return !write_failed;
    });
    if (read && !write_failed && ::fsync(out->get()) != 0) write_failed = true;
    *out = util::Fd();
    auto abandon = [&](util::Error e) -> util::Result<std::string> {
        fs::remove(temp, ec);
        return std::unexpected(std::move(e));
    };
    if (!read) return abandon(read.error());
    if (write_failed)
        return abandon(util::Error{ErrorKind::runtime, fmt::format("cannot write the artifact cache {}", dir.string())});
    if (auto actual = util::to_hex(hash.digest()); actual != sha256)
        return abandon(util::Error{ErrorKind::runtime,
                                   fmt::format("stored artifact {} of tenant \"{}\" has SHA-256 {}, not {}: it "
                                               "was changed in the store; not installed",
                                               sha256, tenant, actual, sha256)});
    fs::rename(temp, *target, ec);
    if (ec) return abandon(util::Error{ErrorKind::runtime, fmt::format("cannot fill the artifact cache: {}", ec.message())});
    return target->string();
}

util::Result<std::vector<std::string>> stored_artifacts(Store& store, const std::string& tenant)
{
    if (store.holds_artifacts()) return store.artifacts(tenant);
    if (auto r = store.permit(Action::read, tenant); !r) return std::unexpected(r.error());
    std::vector<std::string> out;
    auto area = store.artifact_dir(tenant);
    std::error_code ec;
    if (area.empty() || !fs::is_directory(area, ec)) return out;
    for (const auto& entry : fs::directory_iterator(area, ec)) {
        auto name = entry.path().filename().string();
        if (valid_sha256(name) && entry.is_regular_file(ec) && !entry.is_symlink(ec)) out.push_back(name);
    }
    if (ec) return fail(ErrorKind::runtime, fmt::format("cannot list the artifact area {}: {}", area, ec.message()));
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace fleet::store
