#include "core/rollout/runner.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>

#include "core/rollout/decide.hpp"
#include "core/rollout/lease.hpp"
#include "core/rollout/state.hpp"
#include "core/rollout/targets.hpp"
#include "core/store/artifacts.hpp"
#include "core/util/duration.hpp"

namespace fleet::rollout {

using nlohmann::json;
using store::RolloutDevice;
using store::DeviceState;
using store::RolloutRun;
using store::RunState;
using util::ErrorKind;
using util::fail;
using util::Result;
using Clock = std::chrono::system_clock;
using Pace = std::chrono::steady_clock;  ///< the loop's own pacing (control checks, lease renewal), never a decision

/// How often a runner reads every target's row: other runners' progress, devices to take over,
/// control from other shells (pause and abort reach every runner well within a second).
constexpr std::chrono::milliseconds refresh_every{250};
/// How often a runner with nothing in flight, while other runners' devices are, reads the run's
/// state and phase alone: it learns of the completion or the next phase at once instead of at its
/// next full read (which made four runners' rollout end up to 0.4 s after its last device).
constexpr std::chrono::milliseconds probe_every{20};

namespace {

/// True when an install step failed in a way that leaves open whether the installer finished on
/// the device: it timed out or the connection broke while it ran. A failure the device reported
/// (exit status, HTTP error) or one before the command started (auth, credential) does not.
bool install_may_have_run(const transport::Outcome& o)
{
    return o.failure == transport::Failure::timeout || o.failure == transport::Failure::transfer ||
           o.failure == transport::Failure::unreachable;
}

/// One runner's part in a running rollout: the dispatch loop around the driver. It claims devices
/// in the store before it pushes to them, keeps its claims alive with a heartbeat, records every
/// transition before the next step starts, and applies decide()'s decisions in a write transaction
/// over the stored rows, so that a decision is made once whichever runner sees it first.
class Runner {
public:
    Runner(store::Store& store, Loaded loaded, RolloutRun run, std::vector<RolloutDevice> devices, Driver& driver,
           const RunOptions& options, std::string owner)
        : m_store(store), m_l(std::move(loaded)), m_run(std::move(run)), m_driver(driver), m_options(options),
          m_clock(options.clock ? *options.clock : util::system_clock()), m_owner(std::move(owner)),
          m_steps(m_l, timeout_of(m_l.strategy))
    {
        for (auto& d : devices) m_rows.emplace(d.device, std::move(d));
        m_plan = PhasePlan::make(m_l.strategy, eligible_count(m_rows));
        m_max_parallel = options.max_parallel ? options.max_parallel
                                              : static_cast<std::size_t>(m_l.strategy.value("maxParallel", 10));
        m_retries = m_l.strategy.value("retries", 0);
        m_per_minute = static_cast<std::size_t>(m_l.strategy.value("maxPerMinute", 0));
        if (auto nb = m_l.rollout.resource.spec.value(json::json_pointer("/schedule/notBefore"), json()); nb.is_string())
            if (auto t = parse_utc(nb.get<std::string>())) m_not_before = *t;
        m_claim_expires = m_clock.unix_seconds() + m_options.lease.count();
        m_requester = fmt::format("{}/{}", m_run.tenant, m_run.name);
    }
    ~Runner()
    {
        if (m_options.slots) {
            m_options.slots->release(m_run.tenant, m_slots_held);
            m_options.slots->leave(m_requester);
        }
    }
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    Result<Ending> go();

private:
    /// A step's result, queued by the driver's thread for the runner's.
    struct Done {
        std::string device;
        Step::Kind kind;
        transport::Outcome outcome;
    };

    static std::chrono::milliseconds timeout_of(const json& strategy)
    {
        if (strategy.contains("deviceTimeout"))
            if (auto t = util::parse_duration(strategy["deviceTimeout"].get<std::string>())) return *t;
        return std::chrono::minutes(15);
    }

    // Events: reported now, or after the commit of the batch that raised them.
    void emit(Event e)
    {
        if (m_options.observe)
            m_options.observe(e, [this] { return summarize(&m_run, m_plan.phases, m_rows, false); });
    }
    void notify(Event e)
    {
        if (m_batch)
            m_batch->events.push_back(std::move(e));
        else
            emit(std::move(e));
    }

    // Store writes: in the open batch's transaction, or in a write transaction of their own.
    template <class Body>
    Result<void> in_tx(Body body)
    {
        return m_batch ? body() : write(m_store, body);
    }
    Result<void> save(RolloutDevice& d, DeviceState state, const std::string& reason,
                      const std::function<Result<void>()>& also = {});
    Result<void> flush_output();

    // Devices held: claimed by this runner, each on one of its slots.
    void hold(const std::string& device) { m_held.insert(device); }
    void unhold(const std::string& device);

    // The dispatch loop's parts, in the order go() calls them.
    Result<void> finish_batch();
    Result<void> finish(Done done);
    Result<void> finish_step(RolloutDevice& d, Step::Kind kind, const transport::Outcome& o);
    Result<void> fail_attempt(RolloutDevice& d, const std::string& what, const transport::Outcome& o);
    Result<void> refresh();
    Result<void> probe();
    bool probing() const { return m_held.empty() && m_others_in_flight && !m_stopping; }
    void adopt(const RolloutRun& stored);
    Result<void> heartbeat();
    Result<void> apply_decision();
    bool may_start_new();
    bool decision_due() const { return rollout::decision_due(m_run, m_plan, tally(m_rows, m_run.phase), m_clock.now()); }
    Result<void> claim_more();
    Result<void> recover(RolloutDevice& d);
    Result<void> start_step(RolloutDevice& d, Step::Kind kind);

    /// How many more devices strategy.maxPerMinute lets start now (counted by this runner).
    std::size_t rate_room();
    /// The device object (read once per run); null when it no longer exists.
    Result<const model::Object*> device(const std::string& name);
    Result<void> read_devices(const store::Claimed& claimed);
    /// Its endpoints, with credentials of its own tenant (each read once per run).
    Result<const transport::Endpoints*> endpoints(const model::Object& device);
    bool verifiable(const RolloutDevice& d)
    {
        auto found = device(d.device);
        return found && *found && m_steps.verifiable(**found);
    }

    store::Store& m_store;
    Loaded m_l;
    RolloutRun m_run;             ///< as last read from the store (lease fields: whoever renewed it last)
    std::string m_artifact_file;  ///< the frozen artifact as a local file, once a transfer needed it
    Driver& m_driver;
    const RunOptions& m_options;
    const util::Clock& m_clock;
    std::string m_owner;          ///< this runner, in claims and the run's lease: "host pid token [name]"
    std::string m_requester;      ///< this rollout, to the runner's shared slots
    StepBuilder m_steps;
    PhasePlan m_plan;
    std::map<std::string, RolloutDevice> m_rows;  ///< every target: the held ones as this runner has them, the rest as last read
    std::set<std::string> m_held;                 ///< devices this runner has claimed and works on
    std::size_t m_slots_held = 0;                 ///< slots of options.slots held for them
    std::int64_t m_claim_expires = 0;             ///< until when this runner's claims last (renewed by heartbeat())
    std::vector<std::string> m_dead_owners;       ///< owners of claims whose process is gone (this host)
    bool m_claimable = true;                      ///< the last look found devices to claim
    bool m_take_over = true;                      ///< the last look found devices in flight to take over
    bool m_others_in_flight = false;              ///< the last look found devices in flight with other runners
    std::map<std::string, std::optional<model::Object>> m_devices;
    std::map<std::string, transport::Endpoints> m_endpoints;
    std::map<std::string, std::optional<transport::Credential>> m_credentials;
    std::set<std::string> m_recovering;  ///< interrupted by a dead runner: a failed re-verify is not an attempt
    std::set<std::string> m_verify_first;  ///< an install timed out or was cut off: verified before the retry
    std::size_t m_max_parallel = 10;
    std::size_t m_per_minute = 0;               ///< strategy.maxPerMinute; 0: no cap
    std::deque<Clock::time_point> m_dispatched;  ///< when devices were dispatched in the last minute (with a cap)
    int m_retries = 0;
    std::optional<Clock::time_point> m_not_before;

    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Done> m_done;
    std::size_t m_running = 0;
    bool m_stopping = false;
    std::optional<Ending> m_ending;
    Pace::time_point m_last_lease = Pace::now();
    Pace::time_point m_last_refresh{};  // the epoch: the first loop reads the store
    Pace::time_point m_last_probe{};
    bool m_waiting_reported = false;
    std::optional<store::DeviceOutput> m_output;  ///< the step just finished, written with its device's next state
    /// The results that arrived together, recorded in one write transaction (with the claims they
    /// make room for): the events they raise and the steps they start wait for its commit.
    struct Batch {
        std::vector<Event> events;
        std::vector<std::pair<Step, std::function<void(transport::Outcome)>>> starts;
    };
    std::optional<Batch> m_batch;
};

/// Records a device's new state, with the output of the step that led to it and whatever also
/// writes, if this runner still holds its claim. A device that leaves the in-flight states gives
/// its claim (and its slot) back; one another runner took over is dropped here.
Result<void> Runner::save(RolloutDevice& d, DeviceState state, const std::string& reason,
                          const std::function<Result<void>()>& also)
{
    d.state = state;
    d.reason = reason;
    d.updated_at = model::now_utc();
    // Stopped by an interrupt: an install cut short keeps its state for a re-verify, but the
    // claim goes back at once, so that another runner need not wait for it to expire.
    bool keep = in_flight(state) && m_ending != Ending::interrupted;
    d.claim_owner = keep ? m_owner : "";
    d.claim_expires = keep ? m_claim_expires : 0;
    bool ours = true;
    auto r = in_tx([&]() -> Result<void> {
        auto updated = m_store.update_claimed_device(d, m_owner);
        if (!updated) return std::unexpected(updated.error());
        if (!*updated) {
            ours = false;
            return {};
        }
        if (auto w = flush_output(); !w) return w;
        if (also) return also();
        return {};
    });
    if (!r) return r;
    if (!ours) {
        m_output.reset();
        unhold(d.device);
        notify({"lost", d.device, store::state_name(state), m_plan.name(d.phase), "another runner took this device over"});
        return {};
    }
    if (!keep) unhold(d.device);
    notify({"device", d.device, store::state_name(state), m_plan.name(d.phase), reason});
    return {};
}

/// Writes the output of the step that just ended, if not written yet; inside a transaction.
Result<void> Runner::flush_output()
{
    if (!m_output) return {};
    auto w = m_store.put_device_output(*m_output);
    m_output.reset();
    return w;
}

void Runner::unhold(const std::string& device)
{
    if (m_held.erase(device) == 0) return;
    if (m_options.slots && m_slots_held > 0) {
        m_options.slots->release(m_run.tenant, 1);
        --m_slots_held;
    }
}

std::size_t Runner::rate_room()
{
    if (!m_per_minute) return std::numeric_limits<std::size_t>::max();
    auto now = m_clock.now();
    while (!m_dispatched.empty() && m_dispatched.front() <= now - std::chrono::minutes(1)) m_dispatched.pop_front();
    return m_per_minute > m_dispatched.size() ? m_per_minute - m_dispatched.size() : 0;
}

/// Reads the devices just claimed that this run has not read yet, all in one go (one statement on
/// PostgreSQL instead of one per device; their first step reads them from m_devices).
Result<void> Runner::read_devices(const store::Claimed& claimed)
{
    std::vector<std::string> names;
    for (const auto* rows : {&claimed.taken_over, &claimed.started})
        for (const auto& row : *rows)
            if (!m_devices.contains(row.device)) names.push_back(row.device);
    if (names.empty()) return {};
    auto found = m_store.get_many(model::Kind::device, m_run.tenant, names);
    if (!found) return std::unexpected(found.error());
    for (auto& object : *found) {
        auto name = object.resource.name;
        m_devices.emplace(std::move(name), std::move(object));
    }
    for (const auto& name : names) m_devices.try_emplace(name, std::nullopt);  // gone or not visible
    return {};
}

Result<const model::Object*> Runner::device(const std::string& name)
{
    auto it = m_devices.find(name);
    if (it == m_devices.end()) {
        auto found = m_store.get(model::Kind::device, m_run.tenant, name);
        if (!found) return std::unexpected(found.error());
        it = m_devices.emplace(name, std::move(*found)).first;
    }
    return it->second ? &*it->second : nullptr;
}

Result<const transport::Endpoints*> Runner::endpoints(const model::Object& device)
{
    const auto& name = device.resource.name;
    if (auto it = m_endpoints.find(name); it != m_endpoints.end()) return &it->second;
    // Only ever credentials of the device's own tenant (for the device and its bastions).
    transport::CredentialLookup lookup = [&](const std::string& credential) -> Result<std::optional<transport::Credential>> {
        auto it = m_credentials.find(credential);
        if (it == m_credentials.end()) {
            auto found = m_store.get(model::Kind::credential, device.resource.tenant, credential);
            if (!found) return std::unexpected(found.error());
            std::optional<transport::Credential> c;
            if (*found) c = transport::credential_from((*found)->resource);
            it = m_credentials.emplace(credential, c).first;
        }
        return it->second;
    };
    auto e = transport::device_endpoints(device.resource, lookup);
    if (!e) return std::unexpected(e.error());
    return &m_endpoints.emplace(name, std::move(*e)).first->second;
}

Result<void> Runner::start_step(RolloutDevice& d, Step::Kind kind)
{
    // Interrupted: no next step. The device keeps its state (and the output of the step that just
    // ended); its claim goes back, and the next runner picks it up from there.
    if (m_ending == Ending::interrupted) return save(d, d.state, d.reason);
    auto found = device(d.device);
    if (!found) return std::unexpected(found.error());
    if (!*found) return fail_attempt(d, "dispatch", transport::failed(transport::Failure::credential, "the device no longer exists"));
    auto ends = endpoints(**found);
    if (!ends) return std::unexpected(ends.error());
    if (kind == Step::Kind::transfer && m_artifact_file.empty()) {
        // Once per run: from a shared store, this fetches it into the cache.
        auto file = store::local_artifact(m_store, d.tenant, m_run.artifact_sha256);
        // Missing or changed in the store: this device's transfer fails, as an upload would.
        if (!file) return fail_attempt(d, "dispatch", transport::failed(transport::Failure::transfer, file.error().message));
        m_artifact_file = *file;
    }
    auto built = m_steps.build(**found, **ends, kind, m_artifact_file, m_run.artifact_sha256);
    if (!built) return std::unexpected(built.error());
    if (!built->step) return fail_attempt(d, "dispatch", built->failure);
    DeviceState label = kind == Step::Kind::transfer  ? DeviceState::transferring
                        : kind == Step::Kind::install ? DeviceState::installing
                                                      : DeviceState::verifying;
    if (d.state != label)
        if (auto s = save(d, label, ""); !s || !m_held.contains(d.device)) return s;  // or another runner took it
    {
        std::lock_guard lock(m_mutex);
        ++m_running;
    }
    auto done = [this, device = d.device, kind](transport::Outcome outcome) {
        std::lock_guard lock(m_mutex);
        m_done.push_back({device, kind, std::move(outcome)});
        m_cv.notify_all();
    };
    // In a batch the step starts once the state that announces it is committed.
    if (m_batch)
        m_batch->starts.emplace_back(std::move(*built->step), std::move(done));
    else
        m_driver.start(std::move(*built->step), std::move(done));
    return {};
}

Result<void> Runner::fail_attempt(RolloutDevice& d, const std::string& what, const transport::Outcome& o)
{
    std::string reason = fmt::format("{}: {}: {}", what, transport::failure_name(o.failure), o.message);
    if (o.failure == transport::Failure::remote && o.exit_status >= 0 && o.message.empty())
        reason = fmt::format("{}: exit status {}", what, o.exit_status);
    if (o.failure == transport::Failure::cancelled && (what == "install" || what == "verify")) {
        // The command was ended on the device, but it may have installed before that: the device
        // keeps its state, so that the next run verifies it before installing again.
        return save(d, d.state, reason + "; the next run verifies the device before installing again");
    }
    if (o.failure == transport::Failure::cancelled || m_recovering.erase(d.device) > 0) {
        // Interrupted, not failed: the attempt does not count.
        if (d.attempts > 0) --d.attempts;
        return save(d, DeviceState::pending, reason);
    }
    if (what == "verify" && m_verify_first.erase(d.device) > 0) {
        // The install that timed out did not take: install again (the attempt counted).
        return save(d, DeviceState::pending, reason);
    }
    if (d.attempts <= m_retries && what == "install" && install_may_have_run(o) && verifiable(d)) {
        // Timed out or cut off mid-install: the installer may have finished on the device, though
        // its command was ended. Verify before installing again, never install twice (SPEC §8).
        m_verify_first.insert(d.device);
        return start_step(d, Step::Kind::verify);
    }
    if (d.attempts <= m_retries) return save(d, DeviceState::pending, reason);
    const auto& rollout = m_l.rollout.resource.name;
    return save(d, DeviceState::failed, reason, [&]() -> Result<void> {
        store::StatusUpdate update;
        update.last_rollout = rollout + ": failed";
        if (o.failure == transport::Failure::unreachable) update.reachable = false;
        if (auto w = m_store.update_device_status(d.tenant, d.device, update); !w) return w;
        return m_store.record_event(d.tenant, "rollout-device-failed", "device/" + d.device,
                                    fmt::format("rollout {}: {}", rollout, transport::failure_name(o.failure)));
    });
}

Result<void> Runner::finish(Done done)
{
    if (!m_held.contains(done.device)) return {};  // another runner took it over meanwhile
    auto& d = m_rows.at(done.device);
    const auto& o = done.outcome;
    m_output = store::DeviceOutput{d.tenant,      d.device,       "rollout/" + m_run.name,
                                   step_name(done.kind), model::now_utc(), transport::failure_name(o.failure),
                                   o.exit_status, o.message,      o.stdout_tail,
                                   o.stderr_tail};
    auto result = finish_step(d, done.kind, o);
    if (result && m_output) result = in_tx([&] { return flush_output(); });
    m_output.reset();
    return result;
}

Result<void> Runner::finish_step(RolloutDevice& d, Step::Kind kind, const transport::Outcome& o)
{
    const char* what = step_name(kind);
    if (!o.ok()) return fail_attempt(d, what, o);
    auto found = device(d.device);
    if (!found) return std::unexpected(found.error());
    if (!*found) return fail_attempt(d, what, transport::failed(transport::Failure::credential, "the device no longer exists"));
    auto transport_name = m_steps.transport_of(**found);
    if (auto next = m_steps.next(kind, transport_name)) return start_step(d, *next);
    if (kind == Step::Kind::verify) {
        auto mismatch = m_steps.unexpected_output(**found, transport_name, o.stdout_tail);
        if (!mismatch) return std::unexpected(mismatch.error());
        if (!mismatch->empty()) {
            transport::Outcome wrong = o;
            wrong.failure = transport::Failure::remote;
            wrong.message = *mismatch;
            if (m_output) {
                m_output->result = transport::failure_name(wrong.failure);
                m_output->message = wrong.message;
            }
            return fail_attempt(d, what, wrong);
        }
    }
    m_recovering.erase(d.device);
    m_verify_first.erase(d.device);
    const auto& rollout = m_l.rollout.resource.name;
    return save(d, DeviceState::succeeded, "", [&]() -> Result<void> {
        store::StatusUpdate update;
        update.reported_version = m_run.artifact_version;
        update.last_seen = model::now_utc();
        update.reachable = true;
        update.last_rollout = rollout + ": succeeded";
        if (auto w = m_store.update_device_status(d.tenant, d.device, update); !w) return w;
        return m_store.record_event(d.tenant, "rollout-device-succeeded", "device/" + d.device,
                                    fmt::format("rollout {}: installed version {}", rollout, m_run.artifact_version));
    });
}

bool Runner::may_start_new()
{
    auto now = m_clock.now();
    std::string why;
    if (m_not_before && now < *m_not_before)
        why = fmt::format("waiting until notBefore {}", m_l.rollout.resource.spec["schedule"]["notBefore"].get<std::string>());
    else if (!inside_window(m_l.windows, now)) {
        auto opens = next_window_open(m_l.windows, now);
        why = opens ? "waiting until the next maintenance window opens at " + format_utc(*opens)
                    : std::string("waiting for a maintenance window; none opens in the next week");
    }
    if (why.empty()) {
        m_waiting_reported = false;
        return true;
    }
    if (!m_waiting_reported) emit({"waiting", "", "", m_plan.name(m_run.phase), why});
    m_waiting_reported = true;
    return false;
}

Result<void> Runner::recover(RolloutDevice& d)
{
    // Left mid-way by a runner that is gone: a transfer starts over; an install that may have run is
    // checked by the verify step when there is one (so it is not installed twice), else installed again.
    notify({"taken-over", d.device, store::state_name(d.state), m_plan.name(d.phase), "its runner is gone"});
    if ((d.state == DeviceState::installing || d.state == DeviceState::verifying) && verifiable(d)) {
        m_recovering.insert(d.device);
        return start_step(d, Step::Kind::verify);
    }
    if (d.attempts > 0) --d.attempts;
    return save(d, DeviceState::pending, "restarted after its runner stopped");
}

/// Reads the run and every target as stored: what other runners did, and control from other shells.
Result<void> Runner::refresh()
{
    std::optional<RolloutRun> stored;
    std::vector<RolloutDevice> rows;
    auto read = in_transaction(m_store, store::TxMode::read, [&]() -> Result<void> {
        auto run = m_store.rollout_run(m_run.tenant, m_run.name);
        if (!run) return std::unexpected(run.error());
        auto devices = m_store.rollout_devices(m_run.tenant, m_run.name);
        if (!devices) return std::unexpected(devices.error());
        stored = std::move(*run);
        rows = std::move(*devices);
        return {};
    });
    if (!read) return read;
    if (!stored) return fail(ErrorKind::conflict, fmt::format("rollout/{} was deleted while it ran", m_run.name));
    auto now = m_clock.unix_seconds();
    std::map<std::string, bool> dead;  // by owner: a process of this host that is gone
    m_dead_owners.clear();
    m_claimable = false;
    m_take_over = false;
    m_others_in_flight = false;
    for (auto& row : rows) {
        if (m_held.contains(row.device)) continue;
        bool claimable = row.state == DeviceState::pending && row.phase >= 0 && row.phase <= stored->phase;
        if (in_flight(row.state) && row.claim_owner != m_owner) {
            auto [it, fresh] = dead.try_emplace(row.claim_owner, false);
            if (fresh && !row.claim_owner.empty()) {
                it->second = lease_owner_dead(row.claim_owner);
                if (it->second) m_dead_owners.push_back(row.claim_owner);
            }
            claimable = row.claim_expires < now || it->second;
            m_take_over = m_take_over || claimable;
            m_others_in_flight = true;
        }
        m_claimable = m_claimable || claimable;
        m_rows[row.device] = std::move(row);
    }
    adopt(*stored);
    return {};
}

/// Reads the run alone; when its state or phase moved (another runner decided), everything.
Result<void> Runner::probe()
{
    std::optional<RolloutRun> stored;
    auto read = in_transaction(m_store, store::TxMode::read, [&]() -> Result<void> {
        auto run = m_store.rollout_run(m_run.tenant, m_run.name);
        if (!run) return std::unexpected(run.error());
        stored = std::move(*run);
        return {};
    });
    if (!read) return read;
    if (stored && stored->state == m_run.state && stored->phase == m_run.phase) return {};
    m_last_refresh = Pace::now();
    return refresh();  // which also reports a deleted rollout
}

/// Takes the stored run as it is; when it stopped running (paused or aborted from another shell,
/// completed or paused by another runner's decision, or by this one's), this runner stops too:
/// in-flight devices finish, no new ones start.
void Runner::adopt(const RolloutRun& stored)
{
    m_run = stored;
    if (m_stopping || stored.state == RunState::running) return;
    m_stopping = true;
    m_ending = stored_ending(stored, m_rows);
    emit({store::state_name(stored.state), "", "", m_plan.name(stored.phase), stored.reason});
}

/// The heartbeat: this runner's claims, and the run's lease (which says that a live runner works
/// on the rollout: SPEC §8's running), taken when free and renewed by whoever holds it.
Result<void> Runner::heartbeat()
{
    m_last_lease = Pace::now();
    m_claim_expires = m_clock.unix_seconds() + m_options.lease.count();
    return renew(m_store, m_run.tenant, m_run.name, m_owner, !m_held.empty(), m_claim_expires, m_clock.unix_seconds());
}

/// Applies decide() in one write transaction over the stored run and devices: whichever runner
/// gets there first decides, and the others find it done (the run is no longer at the phase and
/// state this runner saw).
Result<void> Runner::apply_decision()
{
    if (m_stopping || !decision_due()) return {};
    std::optional<RolloutRun> decided;
    std::optional<Event> event;
    auto w = write(m_store, [&]() -> Result<void> {
        auto run = m_store.rollout_run(m_run.tenant, m_run.name);
        if (!run) return std::unexpected(run.error());
        if (!*run) return fail(ErrorKind::conflict, fmt::format("rollout/{} was deleted while it ran", m_run.name));
        auto rows = m_store.rollout_devices(m_run.tenant, m_run.name);
        if (!rows) return std::unexpected(rows.error());
        for (auto& row : *rows)
            if (!m_held.contains(row.device)) m_rows[row.device] = std::move(row);
        decided = **run;
        if (decided->state != RunState::running || decided->phase != m_run.phase) return {};  // decided elsewhere
        auto decision = decide(*decided, m_plan, tally(m_rows, decided->phase), m_clock.now());
        if (!decision.run) return {};
        decision.run->updated_at = model::now_utc();
        if (auto r = m_store.put_rollout_run(*decision.run); !r) return r;
        decided = decision.run;
        event = decision.event;
        if (decision.next_phase) m_claimable = true;  // the next phase's devices
        if (decision.audit_type.empty()) return {};
        return m_store.record_event(decided->tenant, decision.audit_type, "rollout/" + decided->name,
                                    decision.audit_summary);
    });
    if (!w) return w;
    if (decided) adopt(*decided);
    if (event) emit(*event);
    return {};
}

/// Claims devices for the free slots: those a gone runner left in flight, then pending ones. In
/// the open batch's transaction when there is one, else in a claim transaction of its own.
Result<void> Runner::claim_more()
{
    if (!m_claimable || m_held.size() >= m_max_parallel) return {};
    std::size_t want = std::min(m_max_parallel - m_held.size(), rate_room());
    if (want == 0) return {};
    if (m_options.slots) {
        want = m_options.slots->acquire(m_run.tenant, m_requester, want);
        if (want == 0) return {};
    }
    store::ClaimRequest q;
    q.tenant = m_run.tenant;
    q.rollout = m_run.name;
    q.owner = m_owner;
    q.now = m_clock.unix_seconds();
    q.expires = m_claim_expires;
    q.max_phase = m_run.phase;
    q.limit = want;
    q.tenant_cap = m_l.tenant_cap;
    q.dead_owners = m_dead_owners;
    q.take_over = m_take_over;
    q.updated_at = model::now_utc();
    store::Claimed claimed;
    auto claim = [&]() -> Result<void> {
        auto c = m_store.claim_rollout_devices(q);
        if (!c) return std::unexpected(c.error());
        claimed = std::move(*c);
        return read_devices(claimed);
    };
    auto r = m_batch ? claim() : in_transaction(m_store, store::TxMode::claim, claim);
    std::size_t got = r ? claimed.taken_over.size() + claimed.started.size() : 0;
    if (m_options.slots) {
        m_slots_held += got;
        m_options.slots->release(m_run.tenant, want - got);
    }
    if (!r) return r;
    if (got < want) m_claimable = false;  // until the next look at the store
    m_take_over = false;
    for (auto& row : claimed.taken_over) {
        hold(row.device);
        auto& d = m_rows[row.device] = std::move(row);
        if (auto rec = recover(d); !rec) return rec;
    }
    for (auto& row : claimed.started) {
        hold(row.device);
        if (m_per_minute) m_dispatched.push_back(m_clock.now());
        auto& d = m_rows[row.device] = std::move(row);
        notify({"device", d.device, store::state_name(d.state), m_plan.name(d.phase), ""});
        if (auto s = start_step(d, Step::Kind::transfer); !s) return s;
    }
    return {};
}

/// Records the results that arrived together in one write transaction; when they call for no
/// decision, the devices that take their slots are claimed in it too. Its events are reported and
/// its steps started after the commit; when it fails, nothing of it is recorded.
Result<void> Runner::finish_batch()
{
    std::deque<Done> results;
    {
        std::lock_guard lock(m_mutex);
        results.swap(m_done);
        m_running -= results.size();
    }
    if (results.empty()) return {};
    bool held = !m_held.empty();
    m_batch.emplace();
    auto w = write(m_store, [&]() -> Result<void> {
        for (auto& done : results)
            if (auto f = finish(std::move(done)); !f) return f;
        if (!m_stopping && !decision_due() && may_start_new()) return claim_more();
        return {};
    });
    auto batch = std::move(*m_batch);
    m_batch.reset();
    if (!w) return w;
    // This runner's last device ended while others' were in flight: it reads them all now, so that
    // whichever runner records the last result of a phase sees the phase done and decides, rather
    // than each waiting for its next full read with the others' last devices in flight as seen.
    if (held && m_held.empty() && m_others_in_flight) m_last_refresh = {};
    for (auto& e : batch.events) emit(std::move(e));
    for (auto& [step, done] : batch.starts) m_driver.start(std::move(step), std::move(done));
    return {};
}

Result<Ending> Runner::go()
{
    emit({"started", "", "", m_plan.name(m_run.phase), ""});
    if (auto h = heartbeat(); !h) return std::unexpected(h.error());
    for (;;) {
        // 1. Results first: each transition is committed before anything else happens (those that
        // arrived together in one transaction, which is most of a runner's store time saved).
        if (auto f = finish_batch(); !f) {
            m_driver.cancel();
            return std::unexpected(f.error());
        }
        // 2. Interrupts; the store (other runners, control from other shells); the heartbeat.
        if (m_options.interrupted && m_options.interrupted->load() && !m_stopping) {
            m_stopping = true;
            m_ending = Ending::interrupted;
            m_driver.cancel();
            emit({"interrupted", "", "", m_plan.name(m_run.phase), "interrupted; in-flight devices are stopped"});
        }
        auto now = Pace::now();
        Result<void> step;
        if (now - m_last_refresh >= refresh_every) {
            m_last_refresh = m_last_probe = now;
            step = refresh();
        } else if (probing() && now - m_last_probe >= probe_every) {
            m_last_probe = now;
            step = probe();
        }
        if (step && now - m_last_lease >= m_options.lease / 3) step = heartbeat();
        // 3. Decisions over the stored state, then new devices while there is room.
        if (step) step = apply_decision();
        if (step && !m_stopping && may_start_new()) step = claim_more();
        if (!step) {
            m_driver.cancel();
            return std::unexpected(step.error());
        }
        // 4. Done when stopping and nothing is in flight.
        std::unique_lock lock(m_mutex);
        if (m_stopping && m_running == 0 && m_done.empty()) break;
        auto wake = std::min(Pace::now() + m_options.tick, m_last_refresh + refresh_every);
        if (probing()) wake = std::min(wake, m_last_probe + probe_every);
        m_cv.wait_until(lock, wake, [&] { return !m_done.empty(); });
    }
    if (auto r = release(m_store, m_run.tenant, m_run.name, m_owner); !r) return std::unexpected(r.error());
    return m_ending.value_or(Ending::interrupted);
}

} // namespace

Result<Ending> run(store::Store& store, const std::string& tenant, const std::string& name, Driver& driver,
                   const RunOptions& options)
{
    std::string owner = new_lease_owner(options.runner_name);
    auto begun = begin(store, tenant, name, owner, options.lease, options.clock ? *options.clock : util::system_clock());
    if (!begun) return std::unexpected(begun.error());
    auto& [loaded, run, devices, created, already] = *begun;
    if (already) {
        if (options.observe) {
            auto phases = make_phases(loaded.strategy, eligible_count(devices));
            options.observe({store::state_name(run.state), "", "", "", run.reason},
                            [&] { return summarize(&run, phases, devices, false); });
        }
        return *already;
    }
    Runner runner(store, std::move(loaded), std::move(run), std::move(devices), driver, options, owner);
    t_stats = options.stats;
    auto ending = runner.go();
    t_stats = nullptr;
    return ending;
}

} // namespace fleet::rollout
