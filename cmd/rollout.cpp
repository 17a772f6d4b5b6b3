// fleetadm rollout run|status|pause|resume|abort|retry: phased, resumable update delivery.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "cmd/commands.hpp"
#include "cmd/device_output.hpp"
#include "cmd/output.hpp"
#include "core/rollout/driver.hpp"
#include "core/rollout/runner.hpp"

namespace fleet::cli {

namespace {

struct RolloutOptions {
    std::string name;
    std::size_t max_parallel = 0;
    bool watch = false;
};

/// The tenant of the named rollout: --tenant, else the only visible one with that name.
util::Result<std::string> rollout_tenant(store::Store& store, const std::string& name, const Globals& g)
{
    auto tx = store.begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto found = store.resolve(model::Kind::rollout, name, g.default_tenant());
    if (!found) return std::unexpected(found.error());
    return found->resource.tenant;
}

nlohmann::json progress_json(const rollout::Progress& p, const std::string& tenant, const std::string& name)
{
    nlohmann::json phases = nlohmann::json::array();
    for (std::size_t i = 0; i < p.phases.size(); ++i) {
        const auto& ph = p.phases[i];
        phases.push_back({{"name", ph.name},
                          {"devices", ph.devices},
                          {"succeeded", ph.succeeded},
                          {"failed", ph.failed},
                          {"inFlight", ph.in_flight},
                          {"pending", ph.pending},
                          {"current", i == p.phase && p.state != "completed"}});
    }
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& d : p.devices) {
        nlohmann::json j = {{"device", d.device}, {"state", store::state_name(d.state)}, {"attempts", d.attempts}, {"updatedAt", d.updated_at}};
        if (d.phase >= 0 && static_cast<std::size_t>(d.phase) < p.phases.size())
            j["phase"] = p.phases[static_cast<std::size_t>(d.phase)].name;
        if (!d.reason.empty()) j["reason"] = d.reason;
        if (auto who = p.held_by.find(d.device); who != p.held_by.end()) j["runner"] = who->second;
        nlohmann::json steps = nlohmann::json::array();
        for (const auto& o : p.outputs)
            if (o.device == d.device) steps.push_back(output_json(o));
        if (!steps.empty()) j["steps"] = std::move(steps);
        devices.push_back(std::move(j));
    }
    nlohmann::json runners = nlohmann::json::array();
    for (const auto& [who, n] : p.runners) runners.push_back({{"runner", who}, {"inFlight", n}});
    return {{"rollout", name},       {"tenant", tenant}, {"state", p.state},     {"reason", p.reason},
            {"skipped", p.skipped},  {"phases", phases}, {"devices", devices},
            {"runner", p.runner.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.runner)},
            {"runners", std::move(runners)}};
}

void print_status(const rollout::Progress& p, const std::string& tenant, const std::string& name, const Globals& g)
{
    if (g.format() == Format::json) {
        std::cout << progress_json(p, tenant, name).dump(2) << "\n";
        return;
    }
    std::cout << fmt::format("rollout/{} (tenant {}): {}{}\n", name, tenant, p.state,
                             p.reason.empty() ? "" : " — " + p.reason);
    if (!p.runner.empty()) std::cout << "run by " << p.runner << "\n";
    for (const auto& [who, n] : p.runners) std::cout << fmt::format("  {}: {} device(s) in flight\n", who, n);
    Table phases({"PHASE", "DEVICES", "SUCCEEDED", "FAILED", "IN FLIGHT", "PENDING"});
    for (std::size_t i = 0; i < p.phases.size(); ++i) {
        const auto& ph = p.phases[i];
        std::string marker = i == p.phase && p.state != "completed" ? " *" : "";
        phases.add({ph.name + marker, std::to_string(ph.devices), std::to_string(ph.succeeded),
                    std::to_string(ph.failed), std::to_string(ph.in_flight), std::to_string(ph.pending)});
    }
    phases.print(std::cout);
    bool wide = g.format() == Format::wide;
    Table devices(wide ? std::vector<std::string>{"DEVICE", "PHASE", "STATE", "ATTEMPTS", "RUNNER", "REASON"}
                       : std::vector<std::string>{"DEVICE", "PHASE", "STATE", "ATTEMPTS", "REASON"});
    std::size_t shown = 0;
    for (const auto& d : p.devices) {
        if (!wide && (d.state == store::DeviceState::succeeded || d.state == store::DeviceState::pending)) continue;
        std::string phase = d.phase >= 0 && static_cast<std::size_t>(d.phase) < p.phases.size()
                                ? p.phases[static_cast<std::size_t>(d.phase)].name
                                : "-";
        std::string reason = d.reason.empty() ? "-" : d.reason;
        if (wide) {
            auto who = p.held_by.find(d.device);
            devices.add({d.device, phase, store::state_name(d.state), std::to_string(d.attempts),
                         who == p.held_by.end() ? "-" : who->second, reason});
        } else {
            devices.add({d.device, phase, store::state_name(d.state), std::to_string(d.attempts), reason});
        }
        ++shown;
    }
    if (shown) {
        std::cout << "\n";
        devices.print(std::cout);
    }
    if (wide) print_outputs(std::cout, p.outputs, true);
}

/// A runner event other than a device's, in words: "started (phase canary)", "phase canary done".
std::string event_text(const rollout::Event& e)
{
    std::string phase = e.phase.empty() ? "" : " (phase " + e.phase + ")";
    if (e.type == "phase") return "phase " + e.phase + " done";
    if (e.type == "soak") return "phase " + e.phase + " soaking";
    return e.type + phase;
}

/// Renders runner events: a redrawn block per phase on a terminal, plain lines when piped, NDJSON with -o json.
class Display {
public:
    Display(const Globals& g, std::string name) : m_g(g), m_name(std::move(name))
    {
        m_tty = ::isatty(STDOUT_FILENO) && g.format() != Format::json;
        m_start = std::chrono::steady_clock::now();
    }

    void operator()(const rollout::Event& e, const rollout::Snapshot& progress)
    {
        if (m_g.format() == Format::json) {
            nlohmann::json j = {{"type", e.type}, {"time", model::now_utc()}, {"rollout", m_name}};
            if (!e.device.empty()) j["device"] = e.device;
            if (!e.state.empty()) j["state"] = e.state;
            if (!e.phase.empty()) j["phase"] = e.phase;
            if (!e.message.empty()) j["message"] = e.message;
            std::cout << j.dump() << "\n" << std::flush;
            return;
        }
        if (m_g.quiet) return;
        if (!m_tty) {
            if (e.type == "device")
                std::cout << fmt::format("device/{} {}{}{}\n", e.device, e.state,
                                         e.phase.empty() ? "" : " (phase " + e.phase + ")",
                                         e.message.empty() ? "" : ": " + e.message);
            else
                std::cout << fmt::format("rollout/{} {}{}\n", m_name, event_text(e),
                                         e.message.empty() ? "" : ": " + e.message);
            std::cout << std::flush;
            return;
        }
        if (e.type != "device") m_note = e.message.empty() ? e.type : e.message;
        auto now = std::chrono::steady_clock::now();
        if (e.type == "device" && now - m_last_draw < std::chrono::milliseconds(100)) return;
        m_last_draw = now;
        draw(progress());
    }

    void finish(const rollout::Progress& p)
    {
        if (m_tty) draw(p);
    }

private:
    void draw(const rollout::Progress& p)
    {
        std::size_t done = 0;
        for (const auto& ph : p.phases) done += ph.succeeded + ph.failed;
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
        std::string out;
        if (m_lines) out += fmt::format("\x1b[{}A", m_lines);
        std::size_t lines = 0;
        for (std::size_t i = 0; i < p.phases.size(); ++i) {
            const auto& ph = p.phases[i];
            out += fmt::format("\x1b[2K{:<12} [{}] {:>5}/{:<5} failed {:<4} in flight {:<4} remaining {}\n", ph.name,
                               progress_bar(ph.succeeded + ph.failed, ph.devices, 24), ph.succeeded + ph.failed, ph.devices,
                               ph.failed, ph.in_flight, ph.pending);
            ++lines;
        }
        out += fmt::format("\x1b[2K{:.1f} devices/s, {} skipped{}\n", secs > 0 ? static_cast<double>(done) / secs : 0.0,
                           p.skipped, m_note.empty() ? "" : " — " + m_note);
        ++lines;
        m_lines = lines;
        std::cout << out << std::flush;
    }

    const Globals& m_g;
    std::string m_name;
    bool m_tty = false;
    std::size_t m_lines = 0;
    std::string m_note;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_last_draw{};
};

Outcome run_rollout(const RolloutOptions& opts, const Globals& g)
{
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto tenant = rollout_tenant(**store, opts.name, g);
    if (!tenant) return std::unexpected(tenant.error());

    const auto& interrupted = catch_interrupts();
    Display display(g, opts.name);
    rollout::RunOptions options;
    options.max_parallel = opts.max_parallel;
    options.interrupted = &interrupted;
    rollout::RunStats stats;
    options.stats = &stats;
    auto started = std::chrono::steady_clock::now();
    options.observe = [&](const rollout::Event& e, const rollout::Snapshot& progress) { display(e, progress); };
    auto driver = rollout::make_transport_driver(opts.max_parallel ? opts.max_parallel : 64);
    auto ending = rollout::run(**store, *tenant, opts.name, *driver, options);
    if (!ending) return std::unexpected(ending.error());
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    auto p = rollout::progress(**store, *tenant, opts.name);
    if (!p) return std::unexpected(p.error());
    display.finish(*p);
    double store_secs = std::chrono::duration<double>(stats.store).count();
    log_verbose(g, fmt::format("{:.2f}s, of which {:.2f}s ({:.1f}%) in {} store transactions", elapsed, store_secs,
                               elapsed > 0 ? 100 * store_secs / elapsed : 0.0, stats.transactions));
    std::size_t succeeded = 0, failed = 0, remaining = 0;
    for (const auto& ph : p->phases) {
        succeeded += ph.succeeded;
        failed += ph.failed;
        remaining += ph.pending + ph.in_flight;
    }
    std::string line = fmt::format("rollout/{} {}: {} succeeded, {} failed, {} skipped, {} remaining{}", opts.name,
                                   p->state, succeeded, failed, p->skipped, remaining,
                                   p->reason.empty() ? "" : " (" + p->reason + ")");
    if (g.format() == Format::json)
        std::cout << nlohmann::json{{"type", "result"},     {"rollout", opts.name}, {"state", p->state},
                                    {"succeeded", succeeded}, {"failed", failed},     {"skipped", p->skipped},
                                    {"remaining", remaining}, {"reason", p->reason},
                                    {"elapsedSeconds", elapsed}, {"storeSeconds", store_secs},
                                    {"storeTransactions", stats.transactions}}
                         .dump()
                  << "\n";
    else
        std::cerr << line << "\n";
    if (*ending == rollout::Ending::interrupted) return util::fail(util::ErrorKind::interrupted, "interrupted; `rollout run " + opts.name + "` resumes");
    return rollout::exit_code(*ending);
}

Outcome run_status(const RolloutOptions& opts, const Globals& g)
{
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto tenant = rollout_tenant(**store, opts.name, g);
    if (!tenant) return std::unexpected(tenant.error());
    // --watch ends when the rollout ends or pauses (nothing changes until someone acts), and at
    // Ctrl-C after the screen it is drawing (exit 130).
    const std::atomic<bool>* interrupted = opts.watch ? &catch_interrupts() : nullptr;
    for (;;) {
        auto p = rollout::progress(**store, *tenant, opts.name);
        if (!p) return std::unexpected(p.error());
        if (opts.watch && ::isatty(STDOUT_FILENO) && g.format() != Format::json) std::cout << "\x1b[H\x1b[2J";
        print_status(*p, *tenant, opts.name, g);
        std::cout << std::flush;
        if (!opts.watch || p->state == "completed" || p->state == "aborted" || p->state == "paused") break;
        for (int i = 0; i < 10 && !interrupted->load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (interrupted->load()) return util::fail(util::ErrorKind::interrupted, "interrupted");
        if (!::isatty(STDOUT_FILENO) || g.format() == Format::json) std::cout << "\n";
    }
    return util::exit_ok;
}

Outcome run_control(const RolloutOptions& opts, const Globals& g, const std::string& action)
{
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto tenant = rollout_tenant(**store, opts.name, g);
    if (!tenant) return std::unexpected(tenant.error());
    auto message = rollout::control(**store, *tenant, opts.name, action);
    if (!message) return std::unexpected(message.error());
    if (!g.quiet) std::cout << *message << "\n";
    return util::exit_ok;
}

} // namespace

void setup_rollout(Context& ctx)
{
    auto* cmd = ctx.root.add_subcommand("rollout", "Run and control phased update rollouts");
    cmd->require_subcommand(1);

    auto run = std::make_shared<RolloutOptions>();
    auto* r = cmd->add_subcommand("run", "Execute or resume a rollout in the foreground until done, paused or interrupted");
    r->add_option("name", run->name, "Rollout")->required()->type_name("ROLLOUT");
    r->add_option("--max-parallel", run->max_parallel, "Devices at once (default: the rollout's maxParallel)")
        ->check(CLI::Range(1, 10000));
    r->callback([run, &ctx] { ctx.runner = [run, &g = ctx.globals] { return run_rollout(*run, g); }; });

    auto start = std::make_shared<RolloutOptions>();
    auto* st = cmd->add_subcommand("start", "Queue a rollout for the runners (`fleetadm runner`) and return at once");
    st->add_option("name", start->name, "Rollout")->required()->type_name("ROLLOUT");
    st->footer("Freezes the rollout's targets as `rollout run` does, then leaves it to whichever runner takes it "
               "first. Exit 5 when it was started before and is paused, aborted or completed.");
    st->callback([start, &ctx] {
        ctx.runner = [start, &g = ctx.globals]() -> Outcome {
            auto store = open_store(g);
            if (!store) return std::unexpected(store.error());
            auto tenant = rollout_tenant(**store, start->name, g);
            if (!tenant) return std::unexpected(tenant.error());
            auto message = rollout::start(**store, *tenant, start->name);
            if (!message) return std::unexpected(message.error());
            if (!g.quiet) std::cout << *message << "\n";
            return util::exit_ok;
        };
    });

    auto status = std::make_shared<RolloutOptions>();
    auto* s = cmd->add_subcommand("status", "Per-phase and per-device progress of a rollout");
    s->add_option("name", status->name, "Rollout")->required()->type_name("ROLLOUT");
    s->add_flag("-w,--watch", status->watch, "Refresh every second until the rollout completes, aborts or pauses");
    s->callback([status, &ctx] { ctx.runner = [status, &g = ctx.globals] { return run_status(*status, g); }; });

    for (auto [action, help] : {std::pair{"pause", "Stop starting new devices; in-flight devices finish"},
                                std::pair{"resume", "Let a paused rollout go on (a runner takes it, or `rollout run`)"},
                                std::pair{"abort", "End a rollout for good; in-flight devices finish"},
                                std::pair{"retry", "Queue a rollout's failed devices again"}}) {
        auto opts = std::make_shared<RolloutOptions>();
        auto* c = cmd->add_subcommand(action, help);
        c->add_option("name", opts->name, "Rollout")->required()->type_name("ROLLOUT");
        std::string a = action;
        c->callback([opts, a, &ctx] {
            ctx.runner = [opts, a, &g = ctx.globals] { return run_control(*opts, g, a); };
        });
    }
}

} // namespace fleet::cli
