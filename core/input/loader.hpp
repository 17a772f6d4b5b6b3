#pragma once
// Reads resources from the paths given with -f: files, directories and "-" for stdin; the step that
// turns documents of every format into schema-checked resources.

#include <functional>
#include <istream>
#include <map>
#include <string>
#include <vector>

#include "core/model/resource.hpp"
#include "core/resource/document.hpp"
#include "core/resource/device_rows.hpp"
#include "core/util/diagnostics.hpp"
#include "core/util/error.hpp"

namespace fleet::input {

/// How an input is written.
enum class Format { automatic, yaml, csv, jsonl };

/// A file whose contents are already in memory (read from a git commit, say).
struct MemoryFile {
    std::string name;     ///< how messages and origins name it, e.g. "git:URL@COMMIT:tenants/acme.yaml"
    std::string path;     ///< its path, whose extension picks the format (.yaml, .yml, .json, .csv, .jsonl)
    std::string content;
};

/// What to read.
struct LoadRequest {
    std::vector<std::string> paths;  ///< files, directories, or "-" for stdin
    bool recursive = false;          ///< descend into subdirectories
    std::istream* stdin_stream = nullptr;
    Format stdin_format = Format::automatic;  ///< automatic: CSV if the first line has a comma and no colon, JSONL if it starts with '{'
    std::string default_tenant;      ///< owning tenant of objects that name none
    /// The tenant given with --tenant, when it was: an object naming another tenant is an error.
    std::string required_tenant;
    bool devices_only = false;       ///< every document must be a Device (device enroll)
    /// Read after paths. They have no folder on this machine, so a relative credential file path
    /// in them is an error rather than resolved.
    std::vector<MemoryFile> memory_files;
    /// Documents already parsed (the objects of a saved plan), read last and validated exactly as a
    /// file's documents, as in memory (no folder to resolve relative paths against).
    std::vector<resource::Document> documents;
    /// When set, CSV rows that pass their checks are appended here as text (for bulk enrollment)
    /// instead of becoming resources of the result.
    resource::DeviceBatch* bulk = nullptr;
    /// For the artifacts of memory files (a git source): reads a file of the same tree by its path
    /// there, so that an artifact's bytes come from the commit, never from this machine. An artifact
    /// names its file relative to its YAML file; unset, such artifacts are refused.
    std::function<util::Result<std::string>(const std::string& tree_path)> read_tree_file;
    /// A local folder (--artifact-dir) whose files the artifacts of memory files may also name, by an
    /// absolute or ~/ path; empty: none, such paths are refused.
    std::string artifact_dir;
    /// Receives the bytes of the artifacts read through read_tree_file, by SHA-256 (apply stores them).
    std::map<std::string, std::string>* artifact_contents = nullptr;
};

/// Reads and schema-validates every document of every input, one document at a time.
/// All problems of all files are reported into diags; the result holds the valid resources.
/// Reading no document at all (an empty file, a folder without resource files) is an error.
std::vector<model::Resource> load(const LoadRequest& request, util::Diagnostics& diags);

/// The resource a bulk device record stands for (its labels and spec parsed from their canonical text).
model::Resource device_resource(const resource::DeviceBatch& batch, const resource::DeviceRecord& record);

/// Reads resources from one already-open YAML stream (used for tests).
std::vector<model::Resource> load_stream(std::istream& in, const std::string& name, util::Diagnostics& diags,
                                         const std::string& default_tenant = "");

/// Warns about each credential file (key, token, certificate, known_hosts) that does not exist on
/// this machine; credentials are read when used, so this is a warning, not an error.
void warn_missing_credential_files(const std::vector<model::Resource>& resources, util::Diagnostics& diags);

/// The source key prune works on, for a set of -f paths (SPEC §4), which survives moving or
/// re-cloning a repository: one path inside a git work tree is "git:ORIGIN#REL" (the key
/// `--git ORIGIN --path REL` has) or "worktree:REL" without an origin; otherwise "files:" and each
/// path's key (that, its absolute path, or "stdin"), sorted.
std::string source_key(const std::vector<std::string>& paths);

/// The key earlier versions recorded for the same -f paths ("files:" and their absolute paths):
/// an apply under source_key adopts the objects recorded under it (apply::Request::legacy_source).
std::string legacy_source_key(const std::vector<std::string>& paths);

/// The key of `--source NAME`: "source:NAME". A usage error when NAME is empty, longer than 200
/// characters, or holds spaces, control or non-ASCII characters.
util::Result<std::string> named_source_key(const std::string& name);

} // namespace fleet::input
