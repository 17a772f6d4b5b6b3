#include "core/util/files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace fleet::util {

namespace fs = std::filesystem;

Fd::~Fd()
{
    if (m_fd >= 0) ::close(m_fd);
}

Fd& Fd::operator=(Fd&& other) noexcept
{
    if (this != &other) {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
}

namespace {

std::string kind_of(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

std::string size_text(std::uint64_t bytes)
{
    const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    std::size_t unit = 0;
    double value = static_cast<double>(bytes);
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{} bytes", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

} // namespace

Result<RegularFile> open_regular(const std::string& path, std::uint64_t max_size, Links links)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (links == Links::refuse ? O_NOFOLLOW : 0);
    Fd fd(::open(path.c_str(), flags));
    if (fd.get() < 0) {
        int error = errno;
        struct stat st {};
        if (error == ELOOP && links == Links::refuse && ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
            return fail(ErrorKind::usage, fmt::format("{} is a symbolic link, not a regular file", path));
        return fail(error == ENOENT || error == ENOTDIR || error == EACCES ? ErrorKind::usage : ErrorKind::runtime,
                    fmt::format("cannot read {}: {}", path, std::strerror(error)));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return fail(ErrorKind::runtime, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    if (!S_ISREG(st.st_mode))
        return fail(ErrorKind::usage, fmt::format("{} is {}, not a regular file", path, kind_of(st.st_mode)));
    auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > max_size)
        return fail(ErrorKind::usage,
                    fmt::format("{} is {}, more than the {} allowed (raise FLEETADM_MAX_ARTIFACT_SIZE)", path,
                                size_text(size), size_text(max_size)));
    // Regular files never block; reading them in blocking mode keeps read() simple.
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    return RegularFile{std::move(fd), size};
}

Result<std::uint64_t> read_chunks(int fd, std::uint64_t limit, const std::function<bool(std::string_view)>& sink)
{
    std::vector<char> buffer(1 << 16);
    std::uint64_t total = 0;
    for (;;) {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(ErrorKind::runtime, std::string("read failed: ") + std::strerror(errno));
        if (n == 0) return total;
        total += static_cast<std::uint64_t>(n);
        if (total > limit)
            return fail(ErrorKind::usage, fmt::format("the file grew past {} while it was read", size_text(limit)));
        if (!sink({buffer.data(), static_cast<std::size_t>(n)})) return total;
    }
}

Result<std::uint64_t> max_artifact_size()
{
    constexpr std::uint64_t default_size = std::uint64_t{4} << 30;
    const char* text = std::getenv("FLEETADM_MAX_ARTIFACT_SIZE");
    if (!text || !*text) return default_size;
    std::string value(text);
    std::size_t digits = 0;
    while (digits < value.size() && value[digits] >= '0' && value[digits] <= '9') ++digits;
    std::string suffix = value.substr(digits);
    int shift = -1;
    if (suffix.empty()) shift = 0;
    else if (suffix.size() == 1) {
        auto unit = std::string_view("KMGT").find(static_cast<char>(std::toupper(static_cast<unsigned char>(suffix[0]))));
        if (unit != std::string_view::npos) shift = 10 * static_cast<int>(unit + 1);
    }
    if (digits == 0 || digits > 15 || shift < 0)
        return fail(ErrorKind::usage, fmt::format("FLEETADM_MAX_ARTIFACT_SIZE=\"{}\": expected a number of bytes, "
                                                  "optionally with K, M, G or T (e.g. 8G)",
                                                  value));
    auto number = std::stoull(value.substr(0, digits));
    if (number > (~std::uint64_t{0} >> shift))
        return fail(ErrorKind::usage, fmt::format("FLEETADM_MAX_ARTIFACT_SIZE=\"{}\" is too large", value));
    return number << shift;
}

Result<void> make_private_dirs(const fs::path& dir)
{
    if (dir.empty()) return {};
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return {};
    if (auto parent = dir.parent_path(); !parent.empty() && parent != dir)
        if (auto r = make_private_dirs(parent); !r) return r;
    if (::mkdir(dir.c_str(), 0700) != 0) {
        if (errno == EEXIST && fs::is_directory(dir, ec)) return {};  // made by a concurrent run
        return fail(ErrorKind::runtime, fmt::format("cannot create {}: {}", dir.string(), std::strerror(errno)));
    }
    // The umask may have taken bits away from 0700; 0700 exactly is what the owner needs.
    ::chmod(dir.c_str(), 0700);
    return {};
}

Result<Fd> create_private_file(const fs::path& path)
{
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0)
        return fail(ErrorKind::runtime, fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
    ::fchmod(fd.get(), 0600);
    return fd;
}

Result<void> write_private_file(const fs::path& path, std::string_view text)
{
    auto temp = path;
    temp += fmt::format(".{}.tmp", ::getpid());
    std::error_code ec;
    fs::remove(temp, ec);  // left by a killed run with this process id
    auto out = create_private_file(temp);
    if (!out) return std::unexpected(out.error());
    while (!text.empty()) {
        ssize_t n = ::write(out->get(), text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fs::remove(temp, ec);
            return fail(ErrorKind::runtime, fmt::format("cannot write {}: {}", temp.string(), std::strerror(errno)));
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    *out = Fd();
    fs::rename(temp, path, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(temp, ignored);
        return fail(ErrorKind::runtime, fmt::format("cannot replace {}: {}", path.string(), ec.message()));
    }
    return {};
}

void make_owner_only(const fs::path& path)
{
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode) || st.st_uid != ::geteuid()) return;
    if ((st.st_mode & 077) != 0) ::chmod(path.c_str(), st.st_mode & 0700);
}

} // namespace fleet::util
