#pragma once
// Running a rollout: freeze the targets, then move each device through
// pending → transferring → installing → verifying → succeeded | failed, phase by phase,
// committing every transition so that a new runner continues where a dead one stopped.
//
// Several runners may work one rollout (SPEC §10): each claims devices in the store (a claim with
// an expiry that its heartbeat renews), so a device is worked on by one runner at a time; devices
// a dead runner held are taken over when their claim expires (at once when its process is known to
// be gone) and re-verified before any install. Threshold, soak, phase advance and completion are
// decided in a write transaction over the stored rows, once, by whichever runner gets there first.
//
// A runner is one thread that owns its store connection; device steps run in a Driver (the
// transports' worker threads) and report back through a queue. Control commands (pause,
// resume, abort, retry) only change the stored state; every runner reads it four times a second.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model/object.hpp"
#include "core/rollout/schedule.hpp"
#include "core/rollout/slots.hpp"
#include "core/store/store.hpp"
#include "core/transport/ssh.hpp"
#include "core/transport/transport.hpp"
#include "core/util/clock.hpp"

namespace fleet::rollout {

/// One step of delivering the artifact to one device, fully prepared by the runner.
struct Step {
    enum class Kind { transfer, install, verify };
    Kind kind = Kind::transfer;
    std::string device;
    std::string tenant;
    std::string transport;                 ///< ssh | http
    model::Resource endpoint;              ///< the Device (its spec.ssh / spec.http)
    std::optional<transport::Credential> credential;
    std::vector<transport::SshHop> jump;   ///< ssh: the device's bastions, with their credentials
    std::string local_file;                ///< transfer: the artifact in the store's area
    std::string sha256;                    ///< transfer: the artifact's SHA-256, checked while it is sent
    std::string remote_path;               ///< ssh transfer: where it goes on the device
    std::string command;                   ///< ssh install/verify: rendered, shell-quoted command
    std::string method;                    ///< http transfer: POST | PUT
    std::string path;                      ///< http transfer/verify: request path
    std::string form;                      ///< http transfer: multipart field; empty: raw body
    std::string profile;                   ///< http: generic | swupdate
    std::chrono::milliseconds timeout{900000};
};

/// Carries out steps; done may be called from any thread, exactly once per step.
class Driver {
public:
    virtual ~Driver() = default;
    virtual void start(Step step, std::function<void(transport::Outcome)> done) = 0;
    /// Ends what runs as soon as possible; their done callbacks still come.
    virtual void cancel() = 0;
};

/// What the runner reports while it works, for the progress display and NDJSON events.
struct Event {
    std::string type;     ///< started, device, taken-over, lost, phase, soak, paused, aborted, completed, waiting, interrupted
    std::string device;
    std::string state;    ///< device: its new state
    std::string phase;
    std::string message;
};

/// Counts per phase, for progress and status.
struct PhaseProgress {
    std::string name;
    std::size_t devices = 0, succeeded = 0, failed = 0, in_flight = 0, pending = 0;
};

/// A snapshot of a rollout's progress.
struct Progress {
    std::string state;      ///< progress(): reported_state(); the runner's own events: the stored state
    std::string reason;
    std::size_t phase = 0;
    std::vector<PhaseProgress> phases;
    std::size_t skipped = 0;
    std::vector<store::RolloutDevice> devices;
    std::vector<store::DeviceOutput> outputs;  ///< each device's step outputs (progress() only), newest first
    std::string runner;     ///< progress(): whose lease says it runs ("runner NAME on HOST, pid P"); empty: nobody
    /// progress(): every runner with devices in flight on it, and how many (claims that are alive).
    std::vector<std::pair<std::string, std::size_t>> runners;
    std::map<std::string, std::string> held_by;  ///< progress(): device in flight → the runner working on it
};

/// How a run ended.
enum class Ending { completed, completed_with_failures, paused, paused_by_threshold, aborted, interrupted };

/// The exit code of a run that ended so (SPEC §3: 0 all succeeded, 1 failed devices, 5 paused by threshold).
int exit_code(Ending ending);

/// Where a run's time went, for the benchmark's bookkeeping share.
struct RunStats {
    std::chrono::nanoseconds store{0};  ///< inside store transactions (reads and commits)
    std::size_t transactions = 0;
};

/// Options of `rollout run`.
struct RunOptions {
    std::size_t max_parallel = 0;  ///< 0: the spec's maxParallel
    std::chrono::milliseconds tick{200};
    std::chrono::seconds lease{30};
    const std::atomic<bool>* interrupted = nullptr;  ///< set by a signal handler
    std::string runner_name;  ///< recorded with the lease, shown by `rollout status`; empty: `rollout run`
    /// The time that notBefore, windows, soak, maxPerMinute and the lease's expiry are judged by;
    /// null: the system clock. The loop's own pacing (tick, control checks) stays real time.
    const util::Clock* clock = nullptr;
    std::function<void(const Event&, const Progress&)> observe;
    RunStats* stats = nullptr;  ///< filled in when given
    /// A runner's parallel slots, shared by every rollout it runs (fair between tenants); null: none
    /// beyond max_parallel.
    Slots* slots = nullptr;
};

/// `rollout start`: freezes the rollout's targets and queues it for the runners (state running, no
/// lease), unless it was started before. Returns a line for people; conflict when the rollout was
/// started before and is paused, aborted or completed.
util::Result<std::string> start(store::Store& store, const std::string& tenant, const std::string& name);

/// Runs (or resumes) a rollout in the foreground until it completes, pauses, aborts or is interrupted.
util::Result<Ending> run(store::Store& store, const std::string& tenant, const std::string& name, Driver& driver,
                         const RunOptions& options);

/// The progress of a rollout, from the store.
util::Result<Progress> progress(store::Store& store, const std::string& tenant, const std::string& name);

/// pause | resume | abort | retry: changes the stored state (audited); returns a message for people.
util::Result<std::string> control(store::Store& store, const std::string& tenant, const std::string& name,
                                  const std::string& action);

} // namespace fleet::rollout
