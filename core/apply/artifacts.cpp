#include "core/apply/artifacts.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "core/util/paths.hpp"
#include "core/util/sha256.hpp"

namespace fleet::apply {

namespace fs = std::filesystem;

util::Result<std::string> store_artifact(const std::string& dir, const std::string& file, const std::string& sha256)
{
    fs::path target = fs::path(dir) / sha256;
    std::error_code ec;
    if (fs::is_regular_file(target, ec)) return target.string();
    fs::create_directories(dir, ec);
    if (ec) return util::fail(util::ErrorKind::runtime, fmt::format("cannot create {}: {}", dir, ec.message()));

    std::string source = util::expand_home(file);
    std::ifstream in(source, std::ios::binary);
    if (!in) return util::fail(util::ErrorKind::runtime, fmt::format("cannot read artifact file {}", source));
    fs::path temp = fs::path(dir) / fmt::format(".{}.{}.tmp", sha256, ::getpid());
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out) return util::fail(util::ErrorKind::runtime, fmt::format("cannot write {}", temp.string()));
        util::Sha256 hash;
        std::vector<char> buffer(1 << 16);
        while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
            std::string_view chunk(buffer.data(), static_cast<std::size_t>(in.gcount()));
            hash.update(chunk);
            out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        }
        out.flush();
        if (in.bad() || !out) {
            fs::remove(temp, ec);
            return util::fail(util::ErrorKind::runtime, fmt::format("cannot copy artifact file {}", source));
        }
        if (auto actual = util::to_hex(hash.digest()); actual != sha256) {
            fs::remove(temp, ec);
            return util::fail(util::ErrorKind::conflict,
                              fmt::format("artifact file {} changed while it was applied (SHA-256 {} instead of {})",
                                          source, actual, sha256));
        }
    }
    fs::rename(temp, target, ec);
    if (ec) return util::fail(util::ErrorKind::runtime, fmt::format("cannot store artifact {}: {}", sha256, ec.message()));
    return target.string();
}

} // namespace fleet::apply
