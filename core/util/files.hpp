#pragma once
// Files fleetadm reads from paths others chose, and files it creates for its owner only.
//
// An input path may name a FIFO, a device or a file that never ends; reading it must neither
// block nor run for ever, so files are opened without blocking, checked to be regular files and
// read up to a size cap. Files fleetadm creates (store, artifacts, caches, config) are readable
// by their owner only: folders 0700 and files 0600 whatever the umask (SPEC §5).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "core/util/error.hpp"

namespace fleet::util {

/// An open file descriptor, closed when the object dies.
class Fd {
public:
    Fd() = default;
    /// Takes ownership of fd (-1: none).
    explicit Fd(int fd) : m_fd(fd) {}
    ~Fd();
    Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    /// The descriptor, -1 when none.
    int get() const { return m_fd; }
    /// Gives the descriptor up without closing it (another owner, e.g. a FILE, took it).
    int release() { return std::exchange(m_fd, -1); }

private:
    int m_fd = -1;
};

/// A regular file opened for reading, with its size when it was opened.
struct RegularFile {
    Fd fd;
    std::uint64_t size = 0;
};

/// How open_regular treats the last component of the path.
enum class Links { follow, refuse };

/// Opens path for reading without blocking (a FIFO does not wait for a writer), and refuses
/// anything but a regular file of at most max_size bytes: a usage error saying what it is.
/// With Links::refuse a symbolic link is refused too (O_NOFOLLOW).
Result<RegularFile> open_regular(const std::string& path, std::uint64_t max_size, Links links = Links::follow);

/// Reads the rest of fd in chunks, calling sink for each; at most limit bytes (more is a usage
/// error: the file grew past the cap while it was read).
Result<std::uint64_t> read_chunks(int fd, std::uint64_t limit, const std::function<bool(std::string_view)>& sink);

/// The largest artifact file fleetadm reads: FLEETADM_MAX_ARTIFACT_SIZE (bytes, or with a K, M,
/// G or T suffix, powers of 1024), 4 GiB when unset. An unreadable value is a usage error.
Result<std::uint64_t> max_artifact_size();

/// Creates dir and its missing parents as 0700 folders (exactly, whatever the umask); existing
/// folders are left as they are.
Result<void> make_private_dirs(const std::filesystem::path& dir);

/// Creates a new file (O_EXCL, never through a link) with mode 0600 exactly, open for writing.
Result<Fd> create_private_file(const std::filesystem::path& path);

/// Replaces path with text atomically (a new 0600 file beside it, then a rename); the result is
/// owner-only whatever the umask and whatever mode an older file had.
Result<void> write_private_file(const std::filesystem::path& path, std::string_view text);

/// Takes group and other permissions away from path when it exists, is ours and is not a link;
/// for stores and folders made before fleetadm created them owner-only.
void make_owner_only(const std::filesystem::path& path);

} // namespace fleet::util
