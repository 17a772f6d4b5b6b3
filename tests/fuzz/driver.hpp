#pragma once
// Runs a parser over numbered inputs in a forked worker process, so that a crash, a hang or a
// runaway allocation is counted and named instead of ending the test run: the worker publishes
// the number of the input it is on in shared memory; the parent watches its CPU time and memory,
// kills it when an input goes over a limit, and starts a new worker at the next number.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace fleet::fuzz {

/// One way an input failed. internal_error: an exception escaped the entry point, or it returned a
/// result the next step of the program cannot handle; accepted_invalid: it accepted what the same
/// objects given with -f are refused for.
enum class FailureKind { crash, hang, memory, internal_error, accepted_invalid };

/// What a parser did with one input that returned: nothing wrong, or a failure of the last two kinds.
struct Verdict {
    bool failed = false;
    FailureKind kind = FailureKind::internal_error;
    std::string detail;  ///< what went wrong, for the report

    /// An internal error.
    static Verdict internal(std::string detail) { return {true, FailureKind::internal_error, std::move(detail)}; }
};

/// The name of a failure kind as reports print it.
std::string_view failure_name(FailureKind kind);

/// One failing input, named by its number (make_input regenerates it).
struct Failure {
    std::uint64_t index = 0;
    FailureKind kind = FailureKind::crash;
    std::string detail;
};

/// How a run is bounded.
struct DriverLimits {
    std::uint64_t first = 0;                        ///< number of the first input
    std::uint64_t count = 0;                        ///< how many inputs
    std::chrono::milliseconds cpu_limit{2000};      ///< CPU time one input may take
    std::chrono::milliseconds wall_limit{20000};    ///< wall time one input may take (blocked, not busy)
    std::size_t memory_limit_mb = 512;              ///< growth of the worker's resident memory during one input
    std::string log_file;                           ///< where the workers' stderr goes (sanitizer reports)
    std::chrono::seconds time_budget{0};            ///< when positive: start no input after this long
};

/// The figures of a run.
struct DriverReport {
    std::uint64_t inputs = 0;   ///< inputs run (fewer than asked when the time budget ran out)
    std::vector<Failure> failures;
    double seconds = 0;
    std::size_t count(FailureKind kind) const;
};

/// Runs target over inputs limits.first .. first+count-1, input_of(i) making input i, in worker processes.
DriverReport run_inputs(const std::function<std::string(std::uint64_t)>& input_of,
                        const std::function<Verdict(std::string_view)>& target, const DriverLimits& limits);

} // namespace fleet::fuzz
