#include "core/apply/artifacts.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "core/util/files.hpp"
#include "core/util/paths.hpp"
#include "core/util/safe_path.hpp"
#include "core/util/sha256.hpp"

namespace fleet::apply {

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
        while (!chunk.empty()) {
            ssize_t n = ::write(out, chunk.data(), chunk.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                write_failed = true;
                return false;
            }
            chunk.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    };
    if (source.content) {
        std::string_view all(*source.content);
        for (std::size_t at = 0; at < all.size() && !write_failed; at += 1 << 16) sink(all.substr(at, 1 << 16));
    } else if (source.file.empty()) {
        return fail(ErrorKind::usage, "the artifact's file comes from its git commit, which this run did not read; "
                                      "apply the git source again with --git");
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
    if (!valid_sha256(sha256))
        return fail(ErrorKind::usage, fmt::format("\"{}\" is not a SHA-256 (64 lower-case hex digits)",
                                                  sha256.substr(0, 80)));
    return util::child_path(tenant_dir, sha256, "artifact");
}

util::Result<std::string> store_artifact(const std::string& dir, const ArtifactSource& source,
                                         const std::string& sha256, ArtifactCopies& copies)
{
    if (dir.empty()) return fail(ErrorKind::usage, "the tenant's name cannot be a folder name");  // see Store::artifact_dir
    auto target = artifact_path(dir, sha256);
    if (!target) return std::unexpected(target.error());
    auto max_size = util::max_artifact_size();
    if (!max_size) return std::unexpected(max_size.error());
    if (holds(*target, sha256, *max_size)) return target->string();
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
    return target->string();
}

} // namespace fleet::apply
