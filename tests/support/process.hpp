#pragma once
// Test support: running the real fleetadm binary and temporary directories.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fleet::test {

/// What a finished process left behind.
struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs program with args, feeding input on stdin; env entries are added to the environment.
RunResult run_process(const std::string& program, const std::vector<std::string>& args, const std::string& input = "",
                      const std::map<std::string, std::string>& env = {});

/// A directory removed with everything in it when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    /// The directory.
    const std::filesystem::path& path() const { return m_path; }
    /// Writes a file below the directory and returns its path.
    std::filesystem::path write(const std::string& name, const std::string& content) const;

private:
    std::filesystem::path m_path;
};

/// Reads a whole file.
std::string read_file(const std::filesystem::path& path);

/// A throwaway store driven through the real binary: `fleetadm --state DIR/state.db ...`.
class Fleet {
public:
    Fleet();
    /// Runs fleetadm with args against this store.
    RunResult operator()(std::vector<std::string> args, const std::string& input = "") const;
    /// The store file.
    std::filesystem::path state() const { return m_dir.path() / "state.db"; }
    /// The scratch directory the store lives in.
    const TempDir& dir() const { return m_dir; }
    /// SHA-256 of the store file, to prove that nothing was written.
    std::string store_digest() const;

private:
    TempDir m_dir;
};

/// The source tree's examples/ directory.
std::string examples_dir();

} // namespace fleet::test
