// LeakSanitizer suppressions for leaks inside libgit2 1.5 (Debian 12), compiled into sanitizer
// builds only. Without frame pointers in the system libraries, LeakSanitizer's fast unwinder sees
// only the library that allocated, so these name modules: pcre2 and libssh2 are reached only
// through libgit2 (fleetadm's own SSH transport uses libssh). fleetadm holds every libgit2 handle
// in a unique_ptr (core/gitsource/libgit2.hpp); valgrind on a fetch shows no other loss.
#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __lsan_default_suppressions();

extern "C" const char* __lsan_default_suppressions()
{
    // git_regexp_match returns without pcre2_match_data_free when a config key does not match
    // (git_remote_create_anonymous reading url.*.insteadOf); the ssh transport drops libssh2's
    // known-hosts list and some strings when a connection is refused (unknown or changed host key).
    return "leak:libpcre2-8.so\n"
           "leak:libssh2.so\n"
           "leak:libgit2.so\n";
}
#endif
