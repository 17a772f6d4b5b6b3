#pragma once
// The artifact area of the store: each tenant's update files, named by their SHA-256.
//
// Files in the area are content: whatever sits at <area>/<tenant>/<sha256> is used only when it
// is a regular file (never a link) whose bytes hash to its name. Copies are owner-only (0600 in
// 0700 folders), and a copy made by an apply that does not commit is removed again.

#include <filesystem>
#include <string>
#include <vector>

#include "core/util/error.hpp"

namespace fleet::apply {

/// Where an artifact's bytes come from when they are copied into the area.
struct ArtifactSource {
    std::string file;                      ///< a file on this machine, as the resource names it (~ expanded here)
    const std::string* content = nullptr;  ///< or bytes already read (from a git tree); then file is not read
    // Neither: only a copy already in the area will do (a saved plan of a git source carries no bytes).

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

/// Copies source into dir as dir/SHA256 unless a regular file with that content is there already,
/// hashing while copying; the copy goes to a temporary name first and is renamed only when its
/// SHA-256 is the expected one, so the area never holds a partial or wrong file. A link or a
/// wrong file at that name is replaced. A new file is recorded in copies. Returns its path.
util::Result<std::string> store_artifact(const std::string& dir, const ArtifactSource& source,
                                         const std::string& sha256, ArtifactCopies& copies);

} // namespace fleet::apply
