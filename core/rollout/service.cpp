#include "core/rollout/service.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "core/rollout/driver.hpp"

namespace fleet::rollout {

using util::Result;

namespace {

const char* ending_name(Ending ending)
{
    switch (ending) {
    case Ending::completed: return "completed";
    case Ending::completed_with_failures: return "completed-with-failures";
    case Ending::paused: return "paused";
    case Ending::paused_by_threshold: return "paused-by-threshold";
    case Ending::aborted: return "aborted";
    case Ending::interrupted: return "handed-back";
    }
    return "";
}

/// One rollout being run by this service, on its own thread and store connection.
class Worker {
public:
    Worker(const ServiceOptions& options, Runnable target, const std::atomic<bool>& stop,
           const std::function<void(ServiceEvent)>& log, Slots& slots)
        : m_target(std::move(target)), m_slots(slots)
    {
        m_thread = std::thread([this, &options, &stop, log] {
            work(options, stop, log);
            m_done = true;
        });
    }
    ~Worker()
    {
        if (m_thread.joinable()) m_thread.join();
    }
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    bool done() const { return m_done; }

private:
    void work(const ServiceOptions& options, const std::atomic<bool>& stop, const std::function<void(ServiceEvent)>& log)
    {
        const auto& [tenant, name] = m_target;
        auto store = options.open_store();
        if (!store) {
            log({"error", tenant, name, "", "", "", store.error().message});
            return;
        }
        auto driver = make_transport_driver(options.max_parallel);
        RunOptions run_options;
        run_options.slots = &m_slots;
        run_options.interrupted = &stop;
        run_options.runner_name = options.name;
        run_options.observe = [&](const Event& e, const Snapshot&) {
            log({e.type, tenant, name, e.device, e.state, e.phase, e.message});
        };
        auto ending = run(**store, tenant, name, *driver, run_options);
        if (!ending) {
            log({"error", tenant, name, "", "", "", ending.error().message});
            return;
        }
        log({"released", tenant, name, "", ending_name(*ending), "", ""});
    }

    Runnable m_target;
    Slots& m_slots;
    std::atomic<bool> m_done{false};
    std::thread m_thread;
};

} // namespace

Result<std::vector<Runnable>> runnable(store::Store& store)
{
    auto tx = store.begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto rollouts = store.list(model::Kind::rollout);
    if (!rollouts) return std::unexpected(rollouts.error());
    std::vector<Runnable> out;
    for (const auto& r : *rollouts) {
        const auto& [tenant, name] = std::pair{r.resource.tenant, r.resource.name};
        auto run = store.rollout_run(tenant, name);
        if (!run) return std::unexpected(run.error());
        if (!*run || (*run)->state != store::RunState::running) continue;
        if (!store.permit(store::Action::write, tenant)) continue;  // visible, but not the caller's to run
        out.push_back({tenant, name});
    }
    // Tenants take turns: each tenant's first rollout, then each one's second, and so on, so that
    // one tenant's many rollouts do not fill a runner's rollout slots before another's first.
    std::map<std::string, std::size_t> seen;
    std::vector<std::pair<std::size_t, std::size_t>> rank;  // (turn, index in (tenant, name) order)
    for (std::size_t i = 0; i < out.size(); ++i) rank.emplace_back(seen[out[i].tenant]++, i);
    std::sort(rank.begin(), rank.end());
    std::vector<Runnable> turns;
    for (const auto& [turn, i] : rank) turns.push_back(out[i]);
    return turns;
}

Result<void> serve(const ServiceOptions& options)
{
    auto store = options.open_store();
    if (!store) return std::unexpected(store.error());
    std::atomic<bool> never{false};
    const std::atomic<bool>& stop = options.stop ? *options.stop : never;
    std::mutex log_mutex;
    std::function<void(ServiceEvent)> log = [&](ServiceEvent e) {
        std::lock_guard lock(log_mutex);
        if (options.log) options.log(e);
    };
    // Fails at once when the store cannot be read or the caller cannot use it.
    auto first = runnable(**store);
    if (!first) return std::unexpected(first.error());
    log({"runner-started", "", "", "", "", "",
          fmt::format("running at most {} rollout(s) and {} device(s) at once, looking every {} ms",
                     options.max_rollouts, options.max_parallel, options.poll.count())});

    Slots slots(options.max_parallel);  // before the workers, which hold on to it
    std::map<std::pair<std::string, std::string>, std::unique_ptr<Worker>> workers;
    std::optional<std::vector<Runnable>> found = std::move(*first);
    bool store_failing = false;
    for (;;) {
        std::erase_if(workers, [](const auto& w) { return w.second->done(); });
        if (stop.load()) break;
        if (found) {
            for (const auto& r : *found) {
                if (workers.size() >= options.max_rollouts) break;
                auto key = std::pair{r.tenant, r.name};
                if (workers.contains(key)) continue;
                workers.emplace(key, std::make_unique<Worker>(options, r, stop, log, slots));
            }
            if (options.once && workers.empty() && found->empty()) break;
        }
        // Until the next look: woken early by a stop or by a run that ended (its slot is free).
        auto until = std::chrono::steady_clock::now() + options.poll;
        while (std::chrono::steady_clock::now() < until && !stop.load()) {
            bool ended = std::any_of(workers.begin(), workers.end(), [](const auto& w) { return w.second->done(); });
            if (ended) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (stop.load()) break;
        auto next = runnable(**store);
        if (!next) {
            if (!store_failing) log({"error", "", "", "", "", "", next.error().message + "; retrying"});
            store_failing = true;
            found.reset();
            continue;
        }
        store_failing = false;
        found = std::move(*next);
    }
    workers.clear();  // each run sees the stop, ends its in-flight steps, records them and hands its lease back
    log({"runner-stopped", "", "", "", "", "", stop.load() ? "stopped; every lease handed back" : "nothing left to run"});
    return {};
}

} // namespace fleet::rollout
