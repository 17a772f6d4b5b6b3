#pragma once
// Error values returned by core, and the one mapping from error kind to exit code.

#include <expected>
#include <string>
#include <utility>

namespace fleet::util {

/// What went wrong, in the terms of SPEC §3; each kind maps to one exit code.
enum class ErrorKind {
    usage,        ///< bad flags or invalid input (YAML, schema, CSV, references)
    permission,   ///< the caller lacks the role for the action
    not_found,    ///< the object does not exist or is invisible to the caller
    conflict,     ///< limit exceeded, name taken, lock held, stale plan, object in use
    runtime,      ///< I/O, database or network failure
    interrupted,  ///< stopped by a signal
};

/// An error with its kind and a message naming the object and the cause.
struct Error {
    ErrorKind kind = ErrorKind::runtime;
    std::string message;
};

/// The result of a core operation that can fail.
template <class T>
using Result = std::expected<T, Error>;

/// Builds the unexpected value for a Result.
inline std::unexpected<Error> fail(ErrorKind kind, std::string message)
{
    return std::unexpected<Error>(Error{kind, std::move(message)});
}

/// The process exit code for an error kind (SPEC §3); the only place this mapping lives.
constexpr int exit_code(ErrorKind kind)
{
    switch (kind) {
    case ErrorKind::usage: return 2;
    case ErrorKind::permission: return 3;
    case ErrorKind::not_found: return 4;
    case ErrorKind::conflict: return 5;
    case ErrorKind::runtime: return 6;
    case ErrorKind::interrupted: return 130;
    }
    return 6;
}

/// Exit code of a command that completed cleanly.
inline constexpr int exit_ok = 0;
/// Exit code of a command that completed with a non-clean outcome (changes found, failures).
inline constexpr int exit_non_clean = 1;

} // namespace fleet::util
