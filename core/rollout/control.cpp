#include "core/rollout/control.hpp"

#include <fmt/format.h>

#include "core/rollout/lease.hpp"
#include "core/rollout/progress.hpp"
#include "core/rollout/tx.hpp"

namespace fleet::rollout {

using store::DeviceState;
using store::RolloutRun;
using store::RunState;
using util::ErrorKind;
using util::fail;
using util::Result;

Result<std::string> start(store::Store& store, const std::string& tenant, const std::string& name)
{
    auto b = begin(store, tenant, name, "", std::chrono::seconds(0), util::system_clock());
    if (!b) return std::unexpected(b.error());
    std::size_t eligible = eligible_count(b->devices);
    if (b->created)
        return fmt::format("rollout/{} queued: {} target(s), {} skipped; a runner (`fleetadm runner`) takes it "
                           "from here",
                           name, eligible, b->devices.size() - eligible);
    if (b->already)
        return fail(ErrorKind::conflict, fmt::format("rollout/{} was started before and is {}{}", name, state_name(b->run.state),
                                                     b->run.state == RunState::paused ? ": `rollout resume` lets it go on" : ""));
    return fmt::format("rollout/{} was started before and is still running; nothing changed", name);
}

Result<std::string> control(store::Store& store, const std::string& tenant, const std::string& name,
                            const std::string& action)
{
    std::string message;
    auto r = write(store, [&]() -> Result<void> {
        auto rollout = store.get(model::Kind::rollout, tenant, name);
        if (!rollout) return std::unexpected(rollout.error());
        if (!*rollout) return fail(ErrorKind::not_found, fmt::format("rollout/{} not found in tenant \"{}\"", name, tenant));
        auto stored = store.rollout_run(tenant, name);
        if (!stored) return std::unexpected(stored.error());
        if (!*stored)
            return fail(ErrorKind::conflict,
                        fmt::format("rollout/{} has not started; `rollout run {}` starts it", name, name));
        RolloutRun run = **stored;
        const std::string& user = store.caller().user;
        std::string summary;
        if (action == "pause") {
            if (run.state != RunState::running)
                return fail(ErrorKind::conflict, fmt::format("rollout/{} is {}, not running", name, state_name(run.state)));
            run.state = RunState::paused;
            run.reason = "paused by " + user;
            message = fmt::format("rollout/{} paused: in-flight devices finish, no new ones start", name);
        } else if (action == "resume") {
            if (run.state != RunState::paused)
                return fail(ErrorKind::conflict, fmt::format("rollout/{} is {}, not paused", name, state_name(run.state)));
            run.state = RunState::running;
            run.reason.clear();
            message = fmt::format("rollout/{} resumed; `rollout run {}` continues it", name, name);
        } else if (action == "abort") {
            if (run.state == RunState::completed || run.state == RunState::aborted)
                return fail(ErrorKind::conflict, fmt::format("rollout/{} is already {}", name, state_name(run.state)));
            run.state = RunState::aborted;
            run.reason = "aborted by " + user;
            message = fmt::format("rollout/{} aborted: in-flight devices finish, no new ones start", name);
        } else if (action == "retry") {
            if (run.state == RunState::aborted)
                return fail(ErrorKind::conflict, fmt::format("rollout/{} was aborted; it cannot be retried", name));
            auto devices = store.rollout_devices(tenant, name);
            if (!devices) return std::unexpected(devices.error());
            std::size_t n = 0;
            for (auto d : *devices) {
                if (d.state != DeviceState::failed) continue;
                d.state = DeviceState::pending;
                d.reason = "retry requested by " + user;
                d.attempts = 0;
                d.updated_at = model::now_utc();
                if (auto w = store.put_rollout_device(d); !w) return w;
                ++n;
            }
            if (n == 0) return fail(ErrorKind::conflict, fmt::format("rollout/{} has no failed devices", name));
            if (run.state == RunState::completed ||
                (run.state == RunState::paused && run.reason.starts_with(threshold_reason))) {
                run.state = RunState::running;
                run.reason.clear();
            }
            summary = fmt::format("{} failed device(s) queued again", n);
            message = fmt::format("rollout/{}: {}; `rollout run {}` installs them", name, summary, name);
        } else {
            return fail(ErrorKind::usage, fmt::format("unknown rollout action \"{}\"", action));
        }
        run.updated_at = model::now_utc();
        if (auto w = store.put_rollout_run(run); !w) return w;
        const char* done = action == "pause" ? "paused" : action == "resume" ? "resumed" : action == "abort" ? "aborted" : "retried";
        return store.record_event(tenant, std::string("rollout-") + done, "rollout/" + name,
                            summary.empty() ? run.reason.empty() ? action + " by " + user : run.reason : summary);
    });
    if (!r) return std::unexpected(r.error());
    return message;
}

} // namespace fleet::rollout
