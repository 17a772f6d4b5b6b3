// fleetadm runner: the rollout service. Executes every runnable rollout its caller may operate until
// SIGTERM (or Ctrl-C), one log line per event.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/output.hpp"
#include "core/model/object.hpp"
#include "core/rollout/service.hpp"
#include "core/rollout/state.hpp"
#include "core/util/duration.hpp"

namespace fleet::cli {

namespace {

struct RunnerOptions {
    std::string name;
    std::size_t max_rollouts = 4;
    std::size_t max_parallel = 16;
    std::string poll = "1s";
    bool once = false;
};

/// "2026-12-01T02:00:00Z runner/ops-1 tenant/acme rollout/fw-2 device/d-7 succeeded (phase canary): …"
std::string event_line(const std::string& runner, const rollout::ServiceEvent& e)
{
    std::string line = fmt::format("{} runner/{}", model::now_utc(), runner);
    if (!e.tenant.empty()) line += " tenant/" + e.tenant;
    if (!e.rollout.empty()) line += " rollout/" + e.rollout;
    if (!e.device.empty()) line += " device/" + e.device;
    line += " " + (e.type == "device" ? e.state : e.state.empty() ? e.type : e.type + " " + e.state);
    if (!e.phase.empty()) line += " (phase " + e.phase + ")";
    if (!e.message.empty()) line += ": " + e.message;
    return line;
}

nlohmann::json event_json(const std::string& runner, const rollout::ServiceEvent& e)
{
    nlohmann::json j = {{"time", model::now_utc()}, {"runner", runner}, {"type", e.type}};
    for (const auto& [key, value] : {std::pair{"tenant", &e.tenant}, std::pair{"rollout", &e.rollout},
                                     std::pair{"device", &e.device}, std::pair{"state", &e.state},
                                     std::pair{"phase", &e.phase}, std::pair{"message", &e.message}})
        if (!value->empty()) j[key] = *value;
    return j;
}

Outcome run_runner(const RunnerOptions& opts, const Globals& g)
{
    auto poll = util::parse_duration(opts.poll);
    if (!poll) return std::unexpected(poll.error());
    if (*poll < std::chrono::seconds(1)) return util::fail(util::ErrorKind::usage, "--poll: at least 1s");
    rollout::ServiceOptions service;
    service.name = opts.name.empty() ? fmt::format("{}-{}", rollout::hostname(), ::getpid()) : opts.name;
    service.max_rollouts = opts.max_rollouts;
    service.max_parallel = opts.max_parallel;
    service.poll = *poll;
    service.once = opts.once;
    service.stop = &catch_interrupts();
    service.open_store = [&g] { return open_store(g); };
    bool json = g.format() == Format::json;
    service.log = [&](const rollout::ServiceEvent& e) {
        if (json)
            std::cout << event_json(service.name, e).dump() << std::endl;
        else if (!g.quiet || e.type == "error")
            std::cout << event_line(service.name, e) << std::endl;
    };
    if (auto served = rollout::serve(service); !served) return std::unexpected(served.error());
    return util::exit_ok;  // a stop asked for (SIGTERM) is the service's clean end
}

} // namespace

void setup_runner(Context& ctx)
{
    auto opts = std::make_shared<RunnerOptions>();
    auto* cmd = ctx.root.add_subcommand(
        "runner", "Run as a service: execute every runnable rollout you may operate until SIGTERM");
    cmd->add_option("--name", opts->name, "This runner's name in log lines (default: HOST-PID)")->type_name("NAME");
    cmd->add_option("--max-rollouts", opts->max_rollouts, "Rollouts run at once")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    cmd->add_option("--max-parallel", opts->max_parallel,
                    "Devices at once over all rollouts, shared fairly between tenants (each rollout also keeps to "
                    "its maxParallel)")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    cmd->add_option("--poll", opts->poll, "How often to look for rollouts to run")
        ->type_name("DURATION")
        ->capture_default_str();
    cmd->add_flag("--once", opts->once, "Exit when nothing is left to run (for cron jobs and tests)");
    cmd->footer("Runs rollouts queued by `rollout start` or resumed, together with any other runners: devices are "
                "claimed one by one in the store, so several runners on one machine or many share a rollout, and the "
                "devices of a runner that died are taken over (and re-verified) when its claims expire. Waits for "
                "notBefore and maintenance windows itself. The --max-parallel slots go round the tenants with work: "
                "one tenant's large rollout never starves another's small one; updatePolicy.maxParallel caps a "
                "tenant over all runners. SIGTERM or Ctrl-C ends in-flight steps on their devices, records them, "
                "hands the claims back and exits 0. One log line per event (NDJSON with -o json).");
    declare_formats(cmd, {Format::json});
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_runner(*opts, g); }; });
}

} // namespace fleet::cli
