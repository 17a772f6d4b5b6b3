#pragma once
// Artifact bytes, wherever the store keeps them, addressed by SHA-256 per tenant:
// - a local store (SQLite) keeps them in its artifact area, files <area>/<tenant>/<sha256> beside it;
// - a shared store (PostgreSQL) keeps them in the database, in chunks, and each machine keeps a
//   verified copy of those it uses in its artifact cache (<XDG cache>/fleetadm/artifacts/<sha256>).
//
// Files are content: a file in the area or the cache is used only when it is a regular file (never
// a link) whose bytes hash to its name, and transports hash again while they upload. Copies are
// owner-only (0600 in 0700 folders). Bytes move in chunks, never whole in memory. A copy into the
// area made by an apply that does not commit is removed again; one into the database rolls back
// with the apply's transaction.

#include <filesystem>
#include <string>
#include <vector>

#include "core/util/error.hpp"

namespace fleet::store {

class Store;

/// Where an artifact's bytes come from when they are stored.
struct ArtifactSource {
    std::string file;                      ///< a file on this machine, as the resource names it (~ expanded here)
    const std::string* content = nullptr;  ///< or bytes already read (from a git tree); then file is not read
    // Neither: only a copy already stored will do (a saved plan of a git source carries no bytes).
};

/// The files one apply copied into the area; removed when the object dies unless keep() was called,
/// so an apply that rolls back leaves the area as it found it.
class ArtifactCopies {
public:
    ArtifactCopies() = default;
    ~ArtifactCopies();
    ArtifactCopies(const ArtifactCopies&) = delete;
    ArtifactCopies& operator=(const ArtifactCopies&) = delete;

    /// Records a file this apply created.
    void add(std::filesystem::path file) { m_files.push_back(std::move(file)); }
    /// The apply committed: its copies stay.
    void keep() { m_files.clear(); }

private:
    std::vector<std::filesystem::path> m_files;
};

/// <area root>/<tenant>/<sha256>; a usage error when the tenant is not one path component or the
/// digest is not 64 lower-case hex digits, so that no name can point outside the area.
util::Result<std::filesystem::path> artifact_path(const std::filesystem::path& tenant_dir, const std::string& sha256);

/// Stores source's bytes as tenant's artifact sha256 unless the store holds them already, hashing
/// while copying; bytes that do not hash to sha256 are refused (exit 5) and nothing is kept. Into
/// the database inside the caller's write transaction (needs write on tenant), or into the area
/// under a temporary name renamed only when complete (a link or a wrong file at the name is
/// replaced; a new file is recorded in copies).
util::Result<void> store_artifact(Store& store, const std::string& tenant, const ArtifactSource& source,
                                  const std::string& sha256, ArtifactCopies& copies);

/// A local regular file holding tenant's artifact sha256, for a transport to upload (needs read on
/// tenant): the area's file, or the machine's cache file, fetched from the database and verified
/// first when the cache lacks it or holds other bytes.
util::Result<std::string> local_artifact(Store& store, const std::string& tenant, const std::string& sha256);

/// The SHA-256 of every artifact stored for tenant, in order.
util::Result<std::vector<std::string>> stored_artifacts(Store& store, const std::string& tenant);

/// This machine's artifact cache for shared stores: $XDG_CACHE_HOME/fleetadm/artifacts, else
/// ~/.cache/fleetadm/artifacts.
std::filesystem::path artifact_cache_dir();

} // namespace fleet::store
