// Checking and naming git sources: what a URL, ref and path may be, and how they are written in
// source keys and messages.

#include "core/gitsource/source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace fleet::gitsource {

namespace fs = std::filesystem;
using util::ErrorKind;
using util::fail;
using util::Result;

std::string redacted(const std::string& url)
{
    auto start = url.find("://");
    if (start == std::string::npos) return url;
    start += 3;
    auto end = url.find('/', start);
    auto at = url.rfind('@', end);
    if (at == std::string::npos || at < start) return url;
    auto colon = url.find(':', start);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Result<Spec> parse_spec(const std::string& url, const std::string& ref, const std::string& path)
{
    Spec spec;
    spec.url = url;
    spec.ref = ref.empty() ? "HEAD" : ref;
    auto bad_url = [&](const std::string& why) {
        return fail(ErrorKind::usage, fmt::format("invalid git URL \"{}\": {}", redacted(url), why));
    };
    if (url.find_first_of("# \t\r\n") != std::string::npos) return bad_url("it may not contain '#' or spaces");
    auto scheme_end = url.find("://");
    std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
    if (scheme == "file") {
        if (url.size() <= 7 || url[7] != '/') return bad_url("a file:// URL needs an absolute path (file:///path)");
    } else if (scheme == "https" || scheme == "ssh") {
        auto rest = url.substr(scheme_end + 3);
        auto authority = rest.substr(0, rest.find('/'));
        if (authority.empty() || rest.find('/') == std::string::npos) return bad_url("it names no host and path");
        auto at = authority.rfind('@');
        if (at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos)
            return bad_url("do not put a password in the URL; use FLEETADM_GIT_PASSWORD or an ssh key");
        std::string hostport = at == std::string::npos ? authority : authority.substr(at + 1);
        auto colon = hostport.rfind(':');
        spec.host = hostport.substr(0, colon);
        if (scheme == "ssh" && colon != std::string::npos) {
            auto port = hostport.substr(colon + 1);
            if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
                return bad_url("the port is not a number");
            spec.port = std::stoi(port);
        }
        if (spec.host.empty()) return bad_url("it names no host");
    } else if (scheme.empty() && url.find(':') != std::string::npos && url.find(':') < url.find('/') &&
               url.find('@') != std::string::npos && url.find('@') < url.find(':')) {
        // scp-like user@host:path, which ssh understands
        spec.host = url.substr(url.find('@') + 1, url.find(':') - url.find('@') - 1);
        if (spec.host.empty() || url.size() == url.find(':') + 1) return bad_url("it names no host or path");
    } else if (scheme == "http") {
        return bad_url("plain http:// is not supported; use https://");
    } else {
        return bad_url("use file:///path, https://host/repo, ssh://[user@]host[:port]/repo or user@host:repo");
    }

    std::string p = path;
    while (p.starts_with("./")) p.erase(0, 2);
    while (p.size() > 1 && p.ends_with("/")) p.pop_back();
    if (p == "." || p == "/") p.clear();
    if (p.starts_with("/"))
        return fail(ErrorKind::usage, fmt::format("--path \"{}\" must be relative to the repository's root", path));
    for (const auto& part : fs::path(p))
        if (part == "..")
            return fail(ErrorKind::usage, fmt::format("--path \"{}\" may not contain \"..\"", path));
    spec.path = fs::path(p).lexically_normal().generic_string();
    if (spec.path == ".") spec.path.clear();
    return spec;
}

std::string source_key(const Spec& spec)
{
    return fmt::format("git:{}#{}", spec.url, spec.path.empty() ? "." : spec.path);
}

std::string short_commit(const std::string& commit) { return commit.substr(0, 12); }

std::string display_name(const Spec& spec, const std::string& commit, const std::string& file_path)
{
    return fmt::format("git:{}@{}:{}", spec.url, short_commit(commit), file_path);
}

} // namespace fleet::gitsource
