#pragma once
// RAII ownership of libgit2 handles and the library's one-time initialization. Only
// core/gitsource includes this header: no other code talks to libgit2.

#include <git2.h>

#include <memory>
#include <string>

namespace fleet::gitsource {

/// Initializes libgit2 on first use and shuts it down at process exit; call before any git_* call.
void ensure_libgit2();

/// libgit2's message for the last failed call on this thread ("unknown error" when none).
std::string last_git_error();

/// The class of the last failed call (GIT_ERROR_NET, GIT_ERROR_SSH, ...), or GIT_ERROR_NONE.
int last_git_error_class();

/// Frees a libgit2 handle with its own free function.
template <class T, void (*Free)(T*)>
struct GitDeleter {
    void operator()(T* p) const noexcept
    {
        if (p) Free(p);
    }
};

using RepositoryPtr = std::unique_ptr<git_repository, GitDeleter<git_repository, git_repository_free>>;
using RemotePtr = std::unique_ptr<git_remote, GitDeleter<git_remote, git_remote_free>>;
using ObjectPtr = std::unique_ptr<git_object, GitDeleter<git_object, git_object_free>>;
using TreePtr = std::unique_ptr<git_tree, GitDeleter<git_tree, git_tree_free>>;
using TreeEntryPtr = std::unique_ptr<git_tree_entry, GitDeleter<git_tree_entry, git_tree_entry_free>>;
using CommitPtr = std::unique_ptr<git_commit, GitDeleter<git_commit, git_commit_free>>;
using BlobPtr = std::unique_ptr<git_blob, GitDeleter<git_blob, git_blob_free>>;
using ReferencePtr = std::unique_ptr<git_reference, GitDeleter<git_reference, git_reference_free>>;

} // namespace fleet::gitsource
