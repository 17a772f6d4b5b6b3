#include "cmd/huge_pages.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

namespace fleet::cli {

namespace {

/// Set only between the re-execution and its start: "=" and the user's GLIBC_TUNABLES, or "-"
/// when the user had none.
constexpr const char* saved_variable = "FLEETADM_SAVED_GLIBC_TUNABLES";
constexpr std::string_view tunable = "glibc.malloc.hugetlb";

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

/// True when a word of the command line names a bulk command. A word that only looks like one (a
/// rollout called "get") costs one needless re-execution, nothing more.
bool bulk_command(int argc, char** argv)
{
    static constexpr std::string_view commands[] = {"apply", "plan", "diff", "enroll", "get",
                                                    "describe", "export", "validate", "audit", "migrate"};
    for (int i = 1; i < argc; ++i)
        for (auto command : commands)
            if (command == argv[i]) return true;
    return false;
}

bool kernel_allows_huge_pages()
{
    std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string text;
    if (!std::getline(mode, text)) return false;
    return text.find("[never]") == std::string::npos;
}

void restore(const char* saved)
{
    if (saved[0] == '=') setenv("GLIBC_TUNABLES", saved + 1, 1);
    else unsetenv("GLIBC_TUNABLES");
}

bool g_in_use = false;  ///< this process is the re-executed one

} // namespace

void use_huge_pages(int argc, char** argv)
{
    if (const char* saved = std::getenv(saved_variable)) {
        std::string copy = saved;  // unsetenv frees it
        unsetenv(saved_variable);
        restore(copy.c_str());
        g_in_use = true;
        return;
    }
    const char* choice = std::getenv("FLEETADM_HUGE_PAGES");
    bool on = choice ? std::string_view(choice) != "0" : !sanitized;
    if (!on || !bulk_command(argc, argv)) return;
    const char* user = std::getenv("GLIBC_TUNABLES");
    std::string tunables = user ? user : "";
    if (tunables.find(tunable) != std::string::npos || !kernel_allows_huge_pages()) return;
    std::string saved = user ? "=" + tunables : "-";
    setenv(saved_variable, saved.c_str(), 1);
    setenv("GLIBC_TUNABLES", (tunables.empty() ? "" : tunables + ":").append(tunable).append("=1").c_str(), 1);
    // The binary's own path, not /proc/self/exe: the process keeps its name (ps, top, pkill).
    char self[4096];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length > 0) {
        self[length] = '\0';
        execv(self, argv);
    }
    // Not re-executed: go on as the user started us.
    unsetenv(saved_variable);
    restore(saved.c_str());
}

bool huge_pages_in_use() { return g_in_use; }

} // namespace fleet::cli
