#pragma once
// Git sources for apply, diff and plan: a remote, a ref and a folder. The remote is fetched into
// a bare cache repository under the state directory, the ref resolved to a commit, and the
// resource files under the folder read from that commit's tree as blobs: nothing is checked out,
// and nothing is written outside the cache. Uses only util; the files then go through core/input.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/util/error.hpp"

namespace fleet::gitsource {

/// A git source as given on the command line, checked and normalized by parse_spec.
struct Spec {
    std::string url;        ///< file:///abs, https://host/repo, ssh://[user@]host[:port]/repo or user@host:repo
    std::string ref;        ///< branch, tag, commit id (at least 4 hex digits) or HEAD (the remote's default branch)
    std::string path;       ///< folder (or file) inside the repository; "" for the root
    std::string host;       ///< for ssh: the host whose key is checked against known_hosts
    int port = 22;          ///< for ssh
};

/// One resource file read from the tree.
struct File {
    std::string path;     ///< path inside the repository, e.g. "tenants/acme.yaml"
    std::string content;
};

/// The resource files of a folder at one commit.
struct Snapshot {
    std::string commit;       ///< the full commit id
    std::vector<File> files;  ///< .yaml, .yml, .json, .csv and .jsonl files below the folder, by path; hidden ones left out
};

/// Checks and normalizes a git source. A URL of another scheme (plain http:// included: TLS is
/// not optional), with a password or '#' in it, an empty ref, or an absolute path or one with
/// ".." is a usage error.
util::Result<Spec> parse_spec(const std::string& url, const std::string& ref, const std::string& path);

/// url with the password of its user info, if any, replaced by "***" (for messages and keys).
std::string redacted(const std::string& url);

/// The source key that prune works on: "git:URL#PATH", PATH "." for the root.
std::string source_key(const Spec& spec);

/// The identity of a local path inside a git work tree, which survives moving or re-cloning the
/// tree (SPEC §4): "git:URL#REL" with the `origin` remote's URL (its password, if any, masked) and
/// the path relative to the top of the tree ("." for the top), the key `--git URL --path REL`
/// gives too; "worktree:REL" when the repository has no origin. nullopt when the path is in no
/// work tree (or a bare repository).
std::optional<std::string> worktree_source_key(const std::filesystem::path& path);

/// How a file of a snapshot is named in messages and origins: "git:URL@SHORTCOMMIT:PATH".
std::string display_name(const Spec& spec, const std::string& commit, const std::string& file_path);

/// The short form of a commit id used in messages (12 hex digits).
std::string short_commit(const std::string& commit);

/// Fetches spec.url into a bare repository under cache_root (one per URL; concurrent processes
/// take turns through a lock file beside it), resolves spec.ref and reads the files under
/// spec.path. An unknown ref or a missing path is a usage error; a remote that cannot be reached
/// or authenticated against, or a host key that does not match known_hosts, is a runtime error.
util::Result<Snapshot> read_snapshot(const Spec& spec, const std::filesystem::path& cache_root);

/// Reads one file of a commit already in the cache (by read_snapshot) by its path in the tree, for
/// the artifacts a git source names: their bytes come from the commit, never from this machine. A
/// path that is missing, a folder, a symbolic link or a submodule, or a file over max_size bytes,
/// is a usage error.
util::Result<std::string> read_tree_file(const Spec& spec, const std::filesystem::path& cache_root,
                                         const std::string& commit, const std::string& path, std::uint64_t max_size);

} // namespace fleet::gitsource
