// Reading a git source.
//
// The cache holds one bare repository per URL, named by a hash of the URL, in
// <state dir>/git-cache/. A process takes an exclusive flock on "<hash>.lock" for the whole
// fetch-and-read, so concurrent fleetadm runs take turns instead of fetching into one repository
// at once; the kernel drops the lock when a process dies, so a killed run never leaves a stale
// lock. A cache that cannot be opened (a run killed during the first clone, say) is removed and
// fetched again. Branches are fetched to refs/remotes/origin/*, tags to refs/tags/*, and the
// remote's default branch is recorded as refs/remotes/origin/HEAD. A full commit id that is
// already in the cache needs no fetch.
//
// libgit2 1.5 accepts any SSH host key unless the caller checks it, so certificate_check looks
// the key up in ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts and refuses unknown or changed
// keys. HTTPS certificates are left to libgit2's verification (GIT_PASSTHROUGH), never skipped.

#include "core/gitsource/source.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/gitsource/known_hosts.hpp"
#include "core/gitsource/libgit2.hpp"
#include "core/util/files.hpp"
#include "core/util/sha256.hpp"

namespace fleet::gitsource {

namespace fs = std::filesystem;
using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

bool is_hex(std::string_view s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
}

bool resource_file(std::string_view name)
{
    for (std::string_view ext : {".yaml", ".yml", ".json", ".csv", ".jsonl"})
        if (name.ends_with(ext)) return true;
    return false;
}

/// An exclusive flock on a file, released when the object dies (or the process does).
class FileLock {
public:
    explicit FileLock(const fs::path& path) : m_fd(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600)) {}
    ~FileLock()
    {
        if (m_fd >= 0) ::close(m_fd);
    }
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

    /// Waits for the lock; false when the file cannot be opened or locked.
    bool acquire()
    {
        if (m_fd < 0) return false;
        int rc;
        do rc = ::flock(m_fd, LOCK_EX);
        while (rc != 0 && errno == EINTR);
        return rc == 0;
    }

private:
    int m_fd;
};

/// What the libgit2 callbacks need while a fetch runs.
struct Callbacks {
    const Spec* spec = nullptr;
    int ssh_attempt = 0;
    bool userpass_tried = false;
    std::string failure;  ///< why a callback refused, for the error message
};

std::string read_text(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string home_dir()
{
    const char* home = std::getenv("HOME");
    return home && *home ? home : "";
}

/// Checks an SSH host key against known_hosts; HTTPS certificates get libgit2's own verification.
int certificate_check(git_cert* cert, int /*valid*/, const char* host, void* payload)
{
    auto& cb = *static_cast<Callbacks*>(payload);
    if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return GIT_PASSTHROUGH;
    auto* key = reinterpret_cast<git_cert_hostkey*>(cert);
    std::string name = host ? host : cb.spec->host;
    if (!(key->type & GIT_CERT_SSH_RAW)) {
        cb.failure = fmt::format("cannot check the host key of {}: the SSH library did not provide it", name);
        return GIT_ECERTIFICATE;
    }
    std::string_view blob(key->hostkey, key->hostkey_len);
    bool mismatch = false;
    std::vector<fs::path> files{"/etc/ssh/ssh_known_hosts"};
    if (auto home = home_dir(); !home.empty()) files.insert(files.begin(), fs::path(home) / ".ssh" / "known_hosts");
    for (const auto& file : files) {
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) continue;
        auto verdict = check_known_hosts(read_text(file), name, cb.spec->port, blob);
        if (verdict == HostKeyVerdict::match) return 0;
        mismatch = mismatch || verdict == HostKeyVerdict::mismatch;
    }
    cb.failure = mismatch ? fmt::format("the host key of {} does not match the one in known_hosts: refusing to "
                                        "connect (the key changed, or someone is intercepting the connection)",
                                        name)
                          : fmt::format("the host key of {} is not in ~/.ssh/known_hosts; add it after checking its "
                                        "fingerprint (e.g. `ssh-keyscan -p {} {} >> ~/.ssh/known_hosts`)",
                                        name, cb.spec->port, name);
    return GIT_ECERTIFICATE;
}

/// SSH: the agent first, then the default keys without passphrase; HTTPS: FLEETADM_GIT_USERNAME
/// and FLEETADM_GIT_PASSWORD from the environment, once. Secrets are never kept or printed.
int credentials(git_credential** out, const char* /*url*/, const char* username_from_url, unsigned allowed,
                void* payload)
{
    auto& cb = *static_cast<Callbacks*>(payload);
    std::string user = username_from_url && *username_from_url ? username_from_url : "git";
    if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user.c_str());
    if (allowed & GIT_CREDENTIAL_SSH_KEY) {
        std::vector<std::string> keys;
        if (const char* agent = std::getenv("SSH_AUTH_SOCK"); agent && *agent) keys.emplace_back();  // "" = agent
        if (auto home = home_dir(); !home.empty())
            for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
                std::error_code ec;
                auto file = fs::path(home) / ".ssh" / name;
                if (fs::is_regular_file(file, ec)) keys.push_back(file.string());
            }
        while (cb.ssh_attempt < static_cast<int>(keys.size())) {
            const auto& key = keys[static_cast<std::size_t>(cb.ssh_attempt++)];
            if (key.empty()) return git_credential_ssh_key_from_agent(out, user.c_str());
            auto pub = key + ".pub";
            std::error_code ec;
            bool has_pub = fs::is_regular_file(pub, ec);
            return git_credential_ssh_key_new(out, user.c_str(), has_pub ? pub.c_str() : nullptr, key.c_str(), nullptr);
        }
        cb.failure = fmt::format("SSH authentication as \"{}\" failed: tried {}", user,
                                 keys.empty() ? std::string("no key (no ssh-agent, no ~/.ssh/id_* key)")
                                              : fmt::format("{} key(s) from the ssh-agent and ~/.ssh", keys.size()));
        return GIT_EAUTH;
    }
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && !cb.userpass_tried) {
        cb.userpass_tried = true;
        const char* name = std::getenv("FLEETADM_GIT_USERNAME");
        const char* password = std::getenv("FLEETADM_GIT_PASSWORD");
        if (password && *password)
            return git_credential_userpass_plaintext_new(out, name && *name ? name : user.c_str(), password);
    }
    cb.failure = "the remote asks for credentials: set FLEETADM_GIT_USERNAME and FLEETADM_GIT_PASSWORD (a token) "
                 "for https, or use ssh:// with an ssh-agent or a key in ~/.ssh";
    return GIT_EAUTH;
}

/// Opens the cache repository for a URL, creating it (bare) when missing or unusable.
Result<RepositoryPtr> open_cache(const fs::path& dir)
{
    git_repository* raw = nullptr;
    std::error_code ec;
    if (fs::exists(dir, ec)) {
        if (git_repository_open_bare(&raw, dir.c_str()) == 0) return RepositoryPtr(raw);
        fs::remove_all(dir, ec);  // left half-made by a killed run: start over
        if (ec) return fail(ErrorKind::runtime, fmt::format("cannot clear git cache {}: {}", dir.string(), ec.message()));
    }
    if (git_repository_init(&raw, dir.c_str(), 1) != 0)
        return fail(ErrorKind::runtime,
                    fmt::format("cannot create git cache {}: {}", dir.string(), last_git_error()));
    return RepositoryPtr(raw);
}

/// For https:// remotes, GIT_SSL_CAINFO (as git reads it) names a CA bundle to verify the server
/// with instead of the system's; verification itself is never turned off.
Result<void> use_ca_file(const Spec& spec)
{
    const char* file = std::getenv("GIT_SSL_CAINFO");
    if (!file || !*file || !spec.url.starts_with("https://")) return {};
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        return fail(ErrorKind::usage, fmt::format("GIT_SSL_CAINFO={}: no such file", file));
    if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, nullptr) != 0)
        return fail(ErrorKind::usage, fmt::format("GIT_SSL_CAINFO={}: cannot load it: {}", file, last_git_error()));
    return {};
}

Result<void> fetch(git_repository* repo, const Spec& spec)
{
    if (auto ca = use_ca_file(spec); !ca) return ca;
    git_remote* raw = nullptr;
    if (git_remote_create_anonymous(&raw, repo, spec.url.c_str()) != 0)
        return fail(ErrorKind::usage, fmt::format("invalid git URL \"{}\": {}", spec.url, last_git_error()));
    RemotePtr remote(raw);
    Callbacks cb;
    cb.spec = &spec;
    git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
    options.callbacks.credentials = credentials;
    options.callbacks.certificate_check = certificate_check;
    options.callbacks.payload = &cb;
    options.prune = GIT_FETCH_PRUNE;  // a branch deleted upstream becomes an unknown ref here too
    options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    char heads[] = "+refs/heads/*:refs/remotes/origin/*";
    char tags[] = "+refs/tags/*:refs/tags/*";
    char* specs[] = {heads, tags};
    git_strarray refspecs{specs, 2};
    if (git_remote_fetch(remote.get(), &refspecs, &options, nullptr) != 0) {
        std::string why = cb.failure.empty() ? last_git_error() : cb.failure;
        return fail(ErrorKind::runtime, fmt::format("cannot fetch {}: {}", spec.url, why));
    }
    git_buf head = GIT_BUF_INIT;
    if (git_remote_default_branch(&head, remote.get()) == 0) {
        std::string branch(head.ptr, head.size);
        git_buf_dispose(&head);
        if (branch.starts_with("refs/heads/")) {
            std::string target = "refs/remotes/origin/" + branch.substr(11);
            git_reference* ref = nullptr;
            if (git_reference_symbolic_create(&ref, repo, "refs/remotes/origin/HEAD", target.c_str(), 1,
                                              "fleetadm: remote HEAD") == 0)
                git_reference_free(ref);
        }
    }
    return {};
}

/// The commit a reference name points at, peeled through annotated tags; null when there is none.
CommitPtr commit_of_reference(git_repository* repo, const std::string& name)
{
    git_reference* raw = nullptr;
    if (git_reference_lookup(&raw, repo, name.c_str()) != 0) return nullptr;
    ReferencePtr ref(raw);
    git_object* peeled = nullptr;
    if (git_reference_peel(&peeled, ref.get(), GIT_OBJECT_COMMIT) != 0) return nullptr;
    return CommitPtr(reinterpret_cast<git_commit*>(peeled));
}

/// The commit a (possibly abbreviated) object id names; null when there is none.
CommitPtr commit_of_id(git_repository* repo, const std::string& hex)
{
    if (!is_hex(hex) || hex.size() < 4 || hex.size() > GIT_OID_HEXSZ) return nullptr;
    git_oid oid;
    if (git_oid_fromstrn(&oid, hex.c_str(), hex.size()) != 0) return nullptr;
    git_object* raw = nullptr;
    if (git_object_lookup_prefix(&raw, repo, &oid, hex.size(), GIT_OBJECT_ANY) != 0) return nullptr;
    ObjectPtr object(raw);
    git_object* peeled = nullptr;
    if (git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT) != 0) return nullptr;
    return CommitPtr(reinterpret_cast<git_commit*>(peeled));
}

/// Resolves a ref as git does for a remote: branches, then tags, then a commit id.
CommitPtr resolve(git_repository* repo, const std::string& ref)
{
    std::vector<std::string> names;
    if (ref == "HEAD")
        names.emplace_back("refs/remotes/origin/HEAD");
    else if (ref.starts_with("refs/heads/"))
        names.push_back("refs/remotes/origin/" + ref.substr(11));
    else if (ref.starts_with("refs/tags/"))
        names.push_back(ref);
    else
        names = {"refs/remotes/origin/" + ref, "refs/tags/" + ref};
    for (const auto& name : names)
        if (auto commit = commit_of_reference(repo, name)) return commit;
    return commit_of_id(repo, ref);
}

struct Walk {
    git_repository* repo;
    std::vector<File>* files;
    std::string prefix;  // the folder's path with a trailing '/', or "" for the root
    bool failed = false;
};

/// git_tree_walk's callback: collects resource blobs, skipping hidden files and folders.
int collect(const char* root, const git_tree_entry* entry, void* payload)
{
    auto& walk = *static_cast<Walk*>(payload);
    std::string_view name = git_tree_entry_name(entry);
    bool tree = git_tree_entry_type(entry) == GIT_OBJECT_TREE;
    if (name.starts_with(".")) return tree ? 1 : 0;  // 1 skips the subtree
    auto mode = git_tree_entry_filemode(entry);
    if (tree || (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) || !resource_file(name)) return 0;
    git_blob* raw = nullptr;
    if (git_blob_lookup(&raw, walk.repo, git_tree_entry_id(entry)) != 0) {
        walk.failed = true;
        return -1;
    }
    BlobPtr blob(raw);
    auto size = static_cast<std::size_t>(git_blob_rawsize(blob.get()));
    walk.files->push_back({walk.prefix + root + std::string(name),
                           std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())), size)});
    return 0;
}

Result<std::vector<File>> read_files(git_repository* repo, git_commit* commit, const Spec& spec)
{
    std::string short_id = short_commit(git_oid_tostr_s(git_commit_id(commit)));
    git_tree* raw = nullptr;
    if (git_commit_tree(&raw, commit) != 0)
        return fail(ErrorKind::runtime, fmt::format("cannot read commit {}: {}", short_id, last_git_error()));
    TreePtr tree(raw);
    std::vector<File> files;
    if (!spec.path.empty()) {
        git_tree_entry* found = nullptr;
        if (git_tree_entry_bypath(&found, tree.get(), spec.path.c_str()) != 0)
            return fail(ErrorKind::usage, fmt::format("path \"{}\" does not exist in {} at {} (ref {})", spec.path,
                                                      spec.url, short_id, spec.ref));
        TreeEntryPtr entry(found);
        if (git_tree_entry_type(entry.get()) == GIT_OBJECT_BLOB) {
            git_blob* blob_raw = nullptr;
            if (git_blob_lookup(&blob_raw, repo, git_tree_entry_id(entry.get())) != 0)
                return fail(ErrorKind::runtime, fmt::format("cannot read {}: {}", spec.path, last_git_error()));
            BlobPtr blob(blob_raw);
            files.push_back({spec.path, std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                                                    static_cast<std::size_t>(git_blob_rawsize(blob.get())))});
            return files;
        }
        if (git_tree_entry_type(entry.get()) != GIT_OBJECT_TREE)
            return fail(ErrorKind::usage, fmt::format("path \"{}\" in {} is neither a folder nor a file", spec.path,
                                                      spec.url));
        raw = nullptr;
        if (git_tree_lookup(&raw, repo, git_tree_entry_id(entry.get())) != 0)
            return fail(ErrorKind::runtime, fmt::format("cannot read {}: {}", spec.path, last_git_error()));
        tree.reset(raw);
    }
    Walk walk{repo, &files, spec.path.empty() ? "" : spec.path + "/"};
    if (git_tree_walk(tree.get(), GIT_TREEWALK_PRE, collect, &walk) != 0 || walk.failed)
        return fail(ErrorKind::runtime, fmt::format("cannot read the tree of {}: {}", short_id, last_git_error()));
    std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.path < b.path; });
    return files;
}

} // namespace

Result<Snapshot> read_snapshot(const Spec& spec, const fs::path& cache_root)
{
    ensure_libgit2();
    // Owner-only: the cache holds every tenant's resources; libgit2's own file modes follow the
    // umask, so the folder around them is what keeps other users out.
    if (auto made = util::make_private_dirs(cache_root); !made)
        return fail(ErrorKind::runtime, "cannot create the git cache folder: " + made.error().message);
    util::make_owner_only(cache_root);
    std::string name = util::sha256_hex(spec.url).substr(0, 24);
    FileLock lock(cache_root / (name + ".lock"));
    if (!lock.acquire())
        return fail(ErrorKind::runtime, fmt::format("cannot lock the git cache {}", (cache_root / name).string()));
    auto repo = open_cache(cache_root / name);
    if (!repo) return std::unexpected(repo.error());

    // A full commit id already fetched needs no network; anything else may have moved upstream.
    CommitPtr commit;
    if (spec.ref.size() == GIT_OID_HEXSZ) commit = commit_of_id(repo->get(), spec.ref);
    if (!commit) {
        if (auto f = fetch(repo->get(), spec); !f) return std::unexpected(f.error());
        commit = resolve(repo->get(), spec.ref);
    }
    if (!commit)
        return fail(ErrorKind::usage, fmt::format("ref \"{}\" not found in {}: no branch, tag or commit of that name",
                                                  spec.ref, spec.url));
    Snapshot snapshot;
    snapshot.commit = git_oid_tostr_s(git_commit_id(commit.get()));
    auto files = read_files(repo->get(), commit.get(), spec);
    if (!files) return std::unexpected(files.error());
    snapshot.files = std::move(*files);
    return snapshot;
}

Result<std::string> read_tree_file(const Spec& spec, const fs::path& cache_root, const std::string& commit,
                                   const std::string& path, std::uint64_t max_size)
{
    ensure_libgit2();
    std::string name = util::sha256_hex(spec.url).substr(0, 24);
    FileLock lock(cache_root / (name + ".lock"));
    if (!lock.acquire())
        return fail(ErrorKind::runtime, fmt::format("cannot lock the git cache {}", (cache_root / name).string()));
    git_repository* raw_repo = nullptr;
    if (git_repository_open_bare(&raw_repo, (cache_root / name).c_str()) != 0)
        return fail(ErrorKind::runtime, fmt::format("cannot open the git cache of {}: {}", spec.url, last_git_error()));
    RepositoryPtr repo(raw_repo);
    auto at = commit_of_id(repo.get(), commit);
    if (!at) return fail(ErrorKind::runtime, fmt::format("commit {} is not in the git cache", short_commit(commit)));
    std::string where = fmt::format("{} at {}", spec.url, short_commit(commit));
    git_tree* raw_tree = nullptr;
    if (git_commit_tree(&raw_tree, at.get()) != 0)
        return fail(ErrorKind::runtime, fmt::format("cannot read {}: {}", where, last_git_error()));
    TreePtr tree(raw_tree);
    git_tree_entry* raw_entry = nullptr;
    if (git_tree_entry_bypath(&raw_entry, tree.get(), path.c_str()) != 0)
        return fail(ErrorKind::usage, fmt::format("no file \"{}\" in {}", path, where));
    TreeEntryPtr entry(raw_entry);
    auto mode = git_tree_entry_filemode(entry.get());
    if (mode == GIT_FILEMODE_LINK)
        return fail(ErrorKind::usage, fmt::format("\"{}\" is a symbolic link in {}; an artifact must be a file of the "
                                                  "tree",
                                                  path, where));
    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
        return fail(ErrorKind::usage, fmt::format("\"{}\" is not a file in {}", path, where));
    // The size from the object's header first, so that an oversized blob is never loaded.
    git_odb* raw_odb = nullptr;
    std::size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    if (git_repository_odb(&raw_odb, repo.get()) != 0)
        return fail(ErrorKind::runtime, fmt::format("cannot read {}: {}", where, last_git_error()));
    int header = git_odb_read_header(&size, &type, raw_odb, git_tree_entry_id(entry.get()));
    git_odb_free(raw_odb);
    if (header != 0) return fail(ErrorKind::runtime, fmt::format("cannot read \"{}\" in {}: {}", path, where, last_git_error()));
    if (size > max_size)
        return fail(ErrorKind::usage, fmt::format("\"{}\" in {} is {} bytes, more than the {} allowed (raise "
                                                  "FLEETADM_MAX_ARTIFACT_SIZE)",
                                                  path, where, size, max_size));
    git_blob* raw_blob = nullptr;
    if (git_blob_lookup(&raw_blob, repo.get(), git_tree_entry_id(entry.get())) != 0)
        return fail(ErrorKind::runtime, fmt::format("cannot read \"{}\" in {}: {}", path, where, last_git_error()));
    BlobPtr blob(raw_blob);
    return std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                       static_cast<std::size_t>(git_blob_rawsize(blob.get())));
}

} // namespace fleet::gitsource

namespace fleet::gitsource {

std::optional<std::string> worktree_source_key(const std::filesystem::path& path)
{
    ensure_libgit2();
    std::error_code ec;
    auto canonical = fs::weakly_canonical(fs::absolute(path, ec), ec);
    if (ec) return std::nullopt;
    auto start = fs::is_directory(canonical, ec) ? canonical : canonical.parent_path();
    git_repository* raw = nullptr;
    if (git_repository_open_ext(&raw, start.c_str(), 0, nullptr) != 0) return std::nullopt;
    RepositoryPtr repo(raw);
    const char* workdir = git_repository_workdir(repo.get());
    if (workdir == nullptr) return std::nullopt;  // bare: no work tree to be relative to
    auto top = fs::weakly_canonical(workdir, ec);
    if (ec) return std::nullopt;
    auto rel = canonical.lexically_relative(top);
    if (rel.empty() || *rel.begin() == "..") return std::nullopt;
    std::string relative = rel.generic_string();
    if (relative.empty()) relative = ".";

    git_remote* raw_remote = nullptr;
    if (git_remote_lookup(&raw_remote, repo.get(), "origin") == 0) {
        RemotePtr remote(raw_remote);
        if (const char* url = git_remote_url(remote.get()); url != nullptr && *url != '\0')
            return fmt::format("git:{}#{}", redacted(url), relative);
    }
    return "worktree:" + relative;
}

} // namespace fleet::gitsource
