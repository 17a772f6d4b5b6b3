#pragma once
// Commands that reach devices (`exec`, `device check`): the target devices resolved through the
// store with the caller's rights, each reached with a credential of its own tenant, and what
// happened recorded afterwards (audit entries, device status) in one short write transaction,
// never while devices run.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/store/store.hpp"
#include "core/transport/endpoints.hpp"
#include "core/transport/ssh.hpp"

namespace fleet::remote {

/// Which devices to reach.
struct Selection {
    std::string tenant;              ///< only this tenant's devices; empty: every visible tenant
    std::vector<std::string> names;  ///< these devices (each must exist); empty: all, or the group's
    std::string selector;            ///< label selector, applied to whatever the rest selects
    std::string group;               ///< members of this device group; empty: none
    bool subtree = false;            ///< with tenant: also the devices of every visible tenant below it
};

/// A device and what reaching it needs: its endpoints (ssh, ssh_problem, http, http_problem), each
/// with a credential of the device's own tenant.
struct Target : transport::Endpoints {
    std::string tenant;
    std::string name;
    std::string version_probe;  ///< spec.versionProbe; empty: none
};

/// Resolves the selection among the devices the caller can see, in (tenant, name) order, and
/// checks before anything runs that the caller holds operator on each of their tenants
/// (permission denied otherwise). Devices of tenants the caller cannot see are never selected.
util::Result<std::vector<Target>> resolve(store::Store& store, const Selection& selection);

/// What happened on one device.
struct DeviceResult {
    std::string tenant;
    std::string device;
    transport::Outcome outcome;
    bool skipped = false;                 ///< check: no transport to reach it with here
    bool reached = false;                 ///< a session was established (connected and authenticated)
    std::optional<std::string> version;   ///< check: the version probe's trimmed output
};

/// How to run on the devices.
struct RunOptions {
    std::string command;      ///< exec: remote command; empty: none
    std::string copy_from;    ///< exec: local file uploaded first; empty: none
    std::string copy_to;      ///< exec: its final remote path
    std::chrono::milliseconds timeout{300000};         ///< per device, for the command
    std::chrono::milliseconds connect_timeout{10000};  ///< per device
    std::size_t max_parallel = 32;
    /// Set by a signal handler: devices not finished yet end as cancelled (queued ones never start,
    /// running ones stop at their next poll) and the call returns; null: not watched.
    const std::atomic<bool>* interrupted = nullptr;
};

/// Called once per device as it finishes, one call at a time.
using Report = std::function<void(const DeviceResult&)>;

/// Uploads and runs on every target in parallel; a device without an SSH endpoint fails with a
/// message saying so. Returns the results in target order.
std::vector<DeviceResult> exec(const std::vector<Target>& targets, const RunOptions& options, const Report& report);

/// Reaches every target and runs its version probe when it has one (options.command is ignored).
/// Devices with only an HTTP endpoint get a GET of their base URL: any HTTP answer means reachable
/// (401/403 is an auth failure); they report no version.
std::vector<DeviceResult> check(const std::vector<Target>& targets, const RunOptions& options, const Report& report);

/// The error for a run that an interrupt cut short ("interrupted: N of M devices cancelled",
/// exit 130), or nullopt when no device was cancelled.
std::optional<util::Error> interrupted(const std::vector<DeviceResult>& results);

/// What a command shows while it runs.
struct Observer {
    /// Once, with the devices resolved, before any is reached.
    std::function<void(const std::vector<Target>&)> started = [](const std::vector<Target>&) {};
    /// Once per device as it finishes, one call at a time.
    Report finished = [](const DeviceResult&) {};
};

/// A finished run: every device's result in target order, and whether recording them failed.
struct Run {
    std::vector<DeviceResult> devices;
    std::optional<util::Error> unrecorded;  ///< the results could not be recorded (store error)
};

/// `exec` from start to end: resolves the selection (nothing is reached unless the caller may
/// operate every selected device's tenant), uploads and runs on every target, then audits the run
/// and records each device's output. Errors only when resolving fails.
util::Result<Run> run_exec(store::Store& store, const Selection& selection, const RunOptions& options,
                           const Observer& observer);

/// `device check` from start to end: resolves, reaches and probes every target, then records
/// reachability, versions, outputs and the audit entries.
util::Result<Run> run_check(store::Store& store, const Selection& selection, const RunOptions& options,
                            const Observer& observer);

/// Appends one audit entry per tenant with the number of devices and their results (never the
/// command, which may hold secrets), and records each device's output tails under action (its
/// last `exec`), in one write transaction.
util::Result<void> audit(store::Store& store, const std::string& action, const std::vector<DeviceResult>& results);

/// Records reachability, last seen and the reported version of checked devices, their output
/// tails (their last `check`), and one audit entry per tenant, in one write transaction. Skipped devices are left as they were.
util::Result<void> record_checks(store::Store& store, const std::vector<DeviceResult>& results);

} // namespace fleet::remote
