// fleetadm version: this build and the libraries it links.
#include <CLI/Version.hpp>
#include <curl/curl.h>
#include <fmt/format.h>
#include <git2.h>
#include <libpq-fe.h>
#include <libssh/libssh.h>
#include <libwebsockets.h>

#include <string>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <iostream>

#include "cmd/commands.hpp"

namespace fleet::cli {

namespace {

Outcome run_version(const Globals& g)
{
    // libwebsockets' string is "4.1.6-" with an empty build tag after the dash (Debian's build).
    std::string lws = lws_get_library_version();
    while (!lws.empty() && (lws.back() == '-' || lws.back() == ' ')) lws.pop_back();
    int git_major = 0, git_minor = 0, git_patch = 0;
    git_libgit2_version(&git_major, &git_minor, &git_patch);
    nlohmann::json libs = {
        {"sqlite", sqlite3_libversion()},
        {"libssh", ssh_version(0)},
        {"libcurl", curl_version_info(CURLVERSION_NOW)->version},
        {"libgit2", fmt::format("{}.{}.{}", git_major, git_minor, git_patch)},
        {"libwebsockets", lws},
        {"libpq", fmt::format("{}.{}", PQlibVersion() / 10000, PQlibVersion() % 10000)},
        {"openssl", OpenSSL_version(OPENSSL_VERSION_STRING)},
        {"nlohmann_json", fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                      NLOHMANN_JSON_VERSION_PATCH)},
        {"fmt", fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)},
        {"cli11", CLI11_VERSION},
        {"yaml-cpp", "0.7"},
        {"valijson", "1.0"},
    };
    if (g.format() == Format::json) {
        std::cout << nlohmann::json{{"version", FLEETADM_VERSION}, {"libraries", libs}}.dump(2) << "\n";
        return util::exit_ok;
    }
    std::cout << "fleetadm " << FLEETADM_VERSION << "\n";
#ifdef FLEETADM_BENCH_WITHOUT_AUDIT
    std::cout << "  WARNING: benchmark build without audit log; do not use\n";
#endif
    if (!g.quiet)
        for (const auto& [name, version] : libs.items())
            std::cout << fmt::format("  {:<14}{}\n", name, version.get<std::string>());
    return util::exit_ok;
}

} // namespace

void setup_version(Context& ctx)
{
    auto* cmd = ctx.root.add_subcommand("version", "Print the version of fleetadm and of its libraries");
    cmd->callback([&ctx] { ctx.runner = [&g = ctx.globals] { return run_version(g); }; });
}

} // namespace fleet::cli
