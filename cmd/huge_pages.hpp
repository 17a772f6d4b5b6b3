#pragma once
// Transparent huge pages for the heap of the commands that read or write many objects.

namespace fleet::cli {

/// Called first in main. A command that handles objects in bulk (apply, plan, diff, device enroll,
/// get, describe, export, validate, audit) touches 100-200 MiB of fresh heap for 100,000 devices,
/// and on virtual machines each first touch of a 4 KiB page is a fault costing 10-20 µs: 60,000 of
/// them were two thirds of a no-change enrollment (bench/enroll.sh). glibc backs its heap with
/// transparent huge pages when GLIBC_TUNABLES holds glibc.malloc.hugetlb=1, and reads that only at
/// start, so such a command re-executes itself once with the tunable added. The re-executed process
/// puts GLIBC_TUNABLES back as the user had it, so programs it starts see the user's environment.
/// Nothing happens when the user set glibc.malloc.hugetlb themselves, FLEETADM_HUGE_PAGES=0, or the
/// kernel's THP mode is "never"; when the re-execution fails the command goes on with the ordinary
/// heap. Sanitizer builds (whose allocator ignores the tunable) do it only with FLEETADM_HUGE_PAGES=1,
/// which the tests use to run this path.
void use_huge_pages(int argc, char** argv);

/// True in a process that use_huge_pages re-executed: `-v` says so.
bool huge_pages_in_use();

} // namespace fleet::cli
