#pragma once
// `fleetadm export`: the caller's visible state written as a resource tree that `apply -f DIR -R`
// takes back without changes.

#include <cstddef>
#include <filesystem>
#include <string>

#include "core/store/store.hpp"
#include "core/util/error.hpp"

namespace fleet::exporter {

/// What to export and where.
struct Options {
    std::filesystem::path dir;  ///< the folder to write; created when missing
    std::string tenant;         ///< only this tenant and its descendants; empty: every visible tenant
    bool force = false;         ///< write into a folder that is not empty
};

/// What was written.
struct Summary {
    std::size_t tenants = 0;
    std::size_t objects = 0;
    std::size_t files = 0;
    std::size_t removed = 0;  ///< stale files of an earlier export removed with force
};

/// The file names an export writes into each tenant's folder, in this order.
inline constexpr const char* tree_files[] = {"tenant.yaml",  "credentials.yaml", "groups.yaml",
                                             "devices.yaml", "artifacts.yaml",   "rollouts.yaml"};

/// Writes DIR/<tenant>/{tenant,credentials,groups,devices,artifacts,rollouts}.yaml for each visible tenant (flat: the
/// hierarchy is in each tenant's spec.parent), reading the store in one read transaction.
/// Credentials are written as stored: references to files and environment variables, never
/// secrets. Documents carry no status, timestamps or fleetadm.io/ annotations. A folder that is
/// not empty is a conflict unless force; with force, files of this layout that the export does not
/// rewrite (a tenant deleted since) are removed and nothing else is touched. Files are written
/// to a temporary name and renamed.
util::Result<Summary> write_tree(store::Store& store, const Options& options);

} // namespace fleet::exporter
