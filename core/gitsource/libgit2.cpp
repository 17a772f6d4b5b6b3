#include "core/gitsource/libgit2.hpp"

namespace fleet::gitsource {

namespace {

/// Holds libgit2 initialized from first use until static destruction at exit.
struct Library {
    Library() { git_libgit2_init(); }
    ~Library() { git_libgit2_shutdown(); }
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;
};

} // namespace

void ensure_libgit2()
{
    static Library library;
}

std::string last_git_error()
{
    const git_error* e = git_error_last();
    return e && e->message ? e->message : "unknown error";
}

int last_git_error_class()
{
    const git_error* e = git_error_last();
    return e ? e->klass : GIT_ERROR_NONE;
}

} // namespace fleet::gitsource
