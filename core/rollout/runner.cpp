#include "core/rollout/runner.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "core/model/selector.hpp"
#include "core/model/template.hpp"
#include "core/query/query.hpp"
#include "core/rollout/state.hpp"
#include "core/store/artifacts.hpp"
#include "core/tenancy/inheritance.hpp"
#include "core/util/duration.hpp"

namespace fleet::rollout {

using nlohmann::json;
using store::RolloutDevice;
using store::RolloutRun;
using util::ErrorKind;
using util::fail;
using util::Result;
using Clock = std::chrono::system_clock;
using Pace = std::chrono::steady_clock;  ///< the loop's own pacing (control checks, lease renewal), never a decision

namespace {

constexpr const char* threshold_reason = "failure threshold";

bool terminal(const std::string& state) { return state == "succeeded" || state == "failed" || state == "skipped"; }
bool in_flight(const std::string& state)
{
    return state == "transferring" || state == "installing" || state == "verifying";
}

std::int64_t unix_now() { return util::system_clock().unix_seconds(); }

/// "host pid token": who holds a lease; the token tells two runs of one process apart.
std::string new_lease_owner()
{
    std::random_device random;
    return fmt::format("{} {} {:08x}", hostname(), ::getpid(), random());
}

/// Time spent in store transactions by this thread's runner (for RunStats).
thread_local RunStats* t_stats = nullptr;

/// Adds the time since start to the running rollout's store time.
struct StoreTimer {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    ~StoreTimer()
    {
        if (!t_stats) return;
        t_stats->store += std::chrono::steady_clock::now() - start;
        ++t_stats->transactions;
    }
};

/// Runs body in a write transaction and commits it.
template <class Body>
Result<void> write(store::Store& store, Body body)
{
    StoreTimer timer;
    auto tx = store.begin(store::TxMode::write);
    if (!tx) return std::unexpected(tx.error());
    if (auto r = body(); !r) return r;
    return tx->commit();
}


/// True when an install step failed in a way that leaves open whether the installer finished on
/// the device: it timed out or the connection broke while it ran. A failure the device reported
/// (exit status, HTTP error) or one before the command started (auth, credential) does not.
bool install_may_have_run(const transport::Outcome& o)
{
    return o.failure == transport::Failure::timeout || o.failure == transport::Failure::transfer ||
           o.failure == transport::Failure::unreachable;
}

/// What a rollout needs from the store, read once per run.
struct Loaded {
    model::Object rollout;
    model::Object artifact;
    model::Object tenant;
    json strategy;
    json windows;   ///< effective maintenance windows; empty: any time
    json settings;  ///< the tenant's effective settings, inherited ones included
    std::size_t tenant_cap = 0;  ///< updatePolicy.maxParallel (effective): devices of the tenant in flight at most; 0: none
};

Result<Loaded> load(store::Store& store, const std::string& tenant, const std::string& name)
{
    Loaded l;
    auto rollout = store.get(model::Kind::rollout, tenant, name);
    if (!rollout) return std::unexpected(rollout.error());
    if (!*rollout) return fail(ErrorKind::not_found, fmt::format("rollout/{} not found in tenant \"{}\"", name, tenant));
    l.rollout = std::move(**rollout);
    const json& spec = l.rollout.resource.spec;
    auto artifact_name = spec["artifact"].get<std::string>();
    auto artifact = store.get(model::Kind::artifact, tenant, artifact_name);
    if (!artifact) return std::unexpected(artifact.error());
    if (!*artifact)
        return fail(ErrorKind::not_found,
                    fmt::format("rollout/{}: artifact \"{}\" not found in tenant \"{}\"", name, artifact_name, tenant));
    l.artifact = std::move(**artifact);
    auto owner = store.get(model::Kind::tenant, "", tenant);
    if (!owner) return std::unexpected(owner.error());
    if (!*owner) return fail(ErrorKind::not_found, fmt::format("tenant/{} not found", tenant));
    l.tenant = std::move(**owner);
    l.strategy = spec.value("strategy", json::object());
    // Inherited from ancestors the caller may not see: the values apply to this tenant.
    auto structure = store.tenant_structure();
    if (!structure) return std::unexpected(structure.error());
    auto policy = tenancy::effective_policy(tenant, *structure);
    l.windows = rollout_windows(spec, policy);
    l.settings = policy.settings_json();
    if (policy.max_parallel) l.tenant_cap = policy.max_parallel->value.get<std::size_t>();
    return l;
}

/// Template values shared by every device of the rollout, and the per-device ones.
model::TemplateValues template_values(const Loaded& l, const model::Object& device, const std::string& remote_path)
{
    model::TemplateValues v;
    const auto& a = l.artifact.resource;
    v.values["artifact.path"] = remote_path;
    v.values["artifact.name"] = a.name;
    v.values["artifact.version"] = a.spec.value("version", "");
    v.values["artifact.sha256"] = a.spec.value("sha256", "");
    v.values["device.name"] = device.resource.name;
    v.values["device.type"] = device.resource.spec.value("deviceType", "");
    v.values["tenant.name"] = l.tenant.resource.name;
    for (const auto& [key, value] : l.settings.items())
        v.settings[key] = value.is_string() ? value.get<std::string>() : value.dump();
    return v;
}

/// Resolves the targets, sorts out the skipped ones and assigns phases: the first run's work.
Result<std::vector<RolloutDevice>> freeze(store::Store& store, const Loaded& l)
{
    const auto& r = l.rollout.resource;
    const json& targets = r.spec["targets"];
    std::vector<model::Object> devices;
    if (targets.contains("group")) {
        auto group = store.get(model::Kind::device_group, r.tenant, targets["group"].get<std::string>());
        if (!group) return std::unexpected(group.error());
        if (!*group)
            return fail(ErrorKind::not_found, fmt::format("rollout/{}: group \"{}\" not found", r.name,
                                                          targets["group"].get<std::string>()));
        auto members = query::group_members(store, **group);
        if (!members) return std::unexpected(members.error());
        for (const auto& name : *members) {
            auto d = store.get(model::Kind::device, r.tenant, name);
            if (!d) return std::unexpected(d.error());
            if (*d) devices.push_back(std::move(**d));
        }
    } else {
        auto selector = model::Selector::parse(targets["selector"].get<std::string>());
        if (!selector) return std::unexpected(selector.error());
        auto scan = store.scan(model::Kind::device, &r.tenant, [&](model::Object&& d) {
            if (selector->matches(d.resource.labels)) devices.push_back(std::move(d));
        });
        if (!scan) return std::unexpected(scan.error());
    }
    std::sort(devices.begin(), devices.end(),
              [](const auto& a, const auto& b) { return a.resource.name < b.resource.name; });

    auto status = store.device_status(&r.tenant);
    if (!status) return std::unexpected(status.error());
    const auto& artifact = l.artifact.resource.spec;
    auto version = artifact.value("version", "");
    json types = artifact.value("deviceTypes", json::array());
    bool force = r.spec.value("force", false);
    std::string now = model::now_utc();

    std::vector<RolloutDevice> out;
    std::vector<std::size_t> eligible;
    std::vector<std::string> busy;
    for (const auto& d : devices) {
        RolloutDevice row{r.tenant, r.name, d.resource.name, -1, "skipped", "", 0, now, "", 0};
        auto type = d.resource.spec.value("deviceType", "");
        auto [transport, why] = pick_transport(r.spec, d.resource.spec);
        auto st = status->find({r.tenant, d.resource.name});
        if (!types.empty() && std::find(types.begin(), types.end(), json(type)) == types.end()) {
            row.reason = fmt::format("incompatible: device type {} is not one of the artifact's", type);
        } else if (transport.empty()) {
            row.reason = "incompatible: " + why;
        } else if (!force && st != status->end() && st->second.reported_version == version) {
            row.reason = "up-to-date: already at " + version;
        } else {
            auto others = store.active_rollouts_of(r.tenant, d.resource.name);
            if (!others) return std::unexpected(others.error());
            for (const auto& other : *others)
                if (other != r.name) busy.push_back(fmt::format("device/{} (in rollout/{})", d.resource.name, other));
            row.state = "pending";
            eligible.push_back(out.size());
        }
        out.push_back(std::move(row));
    }
    if (!busy.empty())
        return fail(ErrorKind::conflict,
                    fmt::format("rollout/{}: {} device(s) are in another active rollout: {}", r.name, busy.size(),
                                fmt::join(busy, ", ")));
    auto phases = make_phases(l.strategy, eligible.size());
    std::size_t p = 0;
    for (std::size_t i = 0; i < eligible.size(); ++i) {
        while (i >= phases[p].end) ++p;
        out[eligible[i]].phase = static_cast<std::int64_t>(p);
    }
    return out;
}

const RolloutDevice& device_of(const RolloutDevice& d) { return d; }
const RolloutDevice& device_of(const std::pair<const std::string, RolloutDevice>& item) { return item.second; }

/// Counts devices per phase; keeps the device list only when asked to.
template <class Devices>
Progress summarize(const RolloutRun* run, const std::vector<Phase>& phases, const Devices& devices, bool keep)
{
    Progress p;
    p.state = run ? run->state : "not started";
    p.reason = run ? run->reason : "";
    p.phase = run ? static_cast<std::size_t>(run->phase) : 0;
    for (const auto& phase : phases) p.phases.push_back({phase.name, 0, 0, 0, 0, 0});
    for (const auto& item : devices) {
        const RolloutDevice& d = device_of(item);
        if (keep) p.devices.push_back(d);
        if (d.phase < 0 || static_cast<std::size_t>(d.phase) >= p.phases.size()) {
            ++p.skipped;
            continue;
        }
        auto& ph = p.phases[static_cast<std::size_t>(d.phase)];
        ++ph.devices;
        if (d.state == "succeeded")
            ++ph.succeeded;
        else if (d.state == "failed")
            ++ph.failed;
        else if (in_flight(d.state))
            ++ph.in_flight;
        else
            ++ph.pending;
    }
    return p;
}

template <class Devices>
std::size_t eligible_count(const Devices& devices)
{
    return static_cast<std::size_t>(
        std::count_if(devices.begin(), devices.end(), [](const auto& d) { return device_of(d).phase >= 0; }));
}

/// The ending a stored, not running, rollout stands at.
template <class Devices>
Ending stored_ending(const RolloutRun& run, const Devices& devices)
{
    if (run.state == "aborted") return Ending::aborted;
    if (run.state == "paused")
        return run.reason.starts_with(threshold_reason) ? Ending::paused_by_threshold : Ending::paused;
    bool failed = std::any_of(devices.begin(), devices.end(), [](const auto& d) { return device_of(d).state == "failed"; });
    return failed ? Ending::completed_with_failures : Ending::completed;
}

/// One runner's part in a running rollout: the state machine around the driver. Several runners
/// (processes, machines) may work the same rollout: each claims devices in the store before it
/// pushes to them, keeps its claims alive with a heartbeat, and decides phase advance, thresholds
/// and soak in a write transaction over the stored rows, so that a decision is made once.
class Runner {
public:
    Runner(store::Store& store, Loaded loaded, RolloutRun run, std::vector<RolloutDevice> devices, Driver& driver,
           const RunOptions& options, std::string owner)
        : m_store(store), m_l(std::move(loaded)), m_run(std::move(run)), m_driver(driver), m_options(options),
          m_clock(options.clock ? *options.clock : util::system_clock()), m_owner(std::move(owner))
    {
        for (auto& d : devices) m_rows.emplace(d.device, std::move(d));
        m_phases = make_phases(m_l.strategy, eligible_count(m_rows));
        m_allowed.resize(m_phases.size());
        for (std::size_t i = 0; i < m_phases.size(); ++i) {
            std::size_t size = m_phases[i].end - (i == 0 ? 0 : m_phases[i - 1].end);
            m_allowed[i] = allowed_failures(m_l.strategy, size);
        }
        const auto& spec = m_l.rollout.resource.spec;
        m_max_parallel = options.max_parallel ? options.max_parallel
                                              : static_cast<std::size_t>(m_l.strategy.value("maxParallel", 10));
        m_retries = m_l.strategy.value("retries", 0);
        m_per_minute = static_cast<std::size_t>(m_l.strategy.value("maxPerMinute", 0));
        m_timeout = std::chrono::minutes(15);
        if (m_l.strategy.contains("deviceTimeout"))
            if (auto t = util::parse_duration(m_l.strategy["deviceTimeout"].get<std::string>())) m_timeout = *t;
        m_verify = spec.value("verify", json::object());
        if (auto nb = spec.value(json::json_pointer("/schedule/notBefore"), json()); nb.is_string())
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
    struct Done {
        std::string device;
        Step::Kind kind;
        transport::Outcome outcome;
    };

    void emit(Event e)
    {
        if (m_options.observe) m_options.observe(e, summarize(&m_run, m_phases, m_rows, false));
    }
    /// Records a device's new state, with the output of the step that led to it and whatever also
    /// writes, if this runner still holds its claim. A device that leaves the in-flight states
    /// gives its claim (and its slot) back; one another runner took over is dropped here.
    Result<void> save(RolloutDevice& d, const std::string& state, const std::string& reason,
                      const std::function<Result<void>()>& also = {})
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
            notify({"lost", d.device, state, phase_name(d.phase), "another runner took this device over"});
            return {};
        }
        if (!keep) unhold(d.device);
        notify({"device", d.device, state, phase_name(d.phase), reason});
        return {};
    }
    /// Runs body in the open batch's transaction, or in a write transaction of its own.
    template <class Body>
    Result<void> in_tx(Body body)
    {
        return m_batch ? body() : write(m_store, body);
    }
    /// Reports an event now, or after the batch's commit.
    void notify(Event e)
    {
        if (m_batch)
            m_batch->events.push_back(std::move(e));
        else
            emit(std::move(e));
    }
    Result<void> finish_batch();
    /// Writes the output of the step that just ended, if not written yet; inside a transaction.
    Result<void> flush_output()
    {
        if (!m_output) return {};
        auto w = m_store.put_device_output(*m_output);
        m_output.reset();
        return w;
    }
    std::string phase_name(std::int64_t p) const
    {
        return p >= 0 && static_cast<std::size_t>(p) < m_phases.size() ? m_phases[static_cast<std::size_t>(p)].name
                                                                        : std::string();
    }
    void hold(const std::string& device) { m_held.insert(device); }
    void unhold(const std::string& device)
    {
        if (m_held.erase(device) == 0) return;
        if (m_options.slots && m_slots_held > 0) {
            m_options.slots->release(m_run.tenant, 1);
            --m_slots_held;
        }
    }
    Result<void> start_step(RolloutDevice& d, Step::Kind kind);
    Result<void> recover(RolloutDevice& d);
    Result<void> finish(Done done);
    Result<void> finish_step(RolloutDevice& d, const char* what, const transport::Outcome& o);
    Result<void> fail_attempt(RolloutDevice& d, const std::string& what, const transport::Outcome& o);
    Result<void> refresh();
    void adopt(const RolloutRun& stored);
    Result<void> heartbeat();
    Result<void> decide();
    /// Over every target as last seen: failed devices of phase, failed devices of all phases, and
    /// whether every device of phase and the phases before it has ended.
    struct Tally {
        std::size_t failed = 0, failed_all = 0;
        bool done = true;
    };
    Tally tally(std::int64_t phase) const
    {
        Tally t;
        for (const auto& [name, d] : m_rows) {
            if (d.state == "failed") ++t.failed_all;
            if (d.phase == phase && d.state == "failed") ++t.failed;
            if (d.phase >= 0 && d.phase <= phase && !terminal(d.state)) t.done = false;
        }
        return t;
    }
    Result<void> claim_more();
    bool may_start_new();
    /// How many more devices strategy.maxPerMinute lets start now (counted by this runner).
    std::size_t rate_room()
    {
        if (!m_per_minute) return std::numeric_limits<std::size_t>::max();
        auto now = m_clock.now();
        while (!m_dispatched.empty() && m_dispatched.front() <= now - std::chrono::minutes(1)) m_dispatched.pop_front();
        return m_per_minute > m_dispatched.size() ? m_per_minute - m_dispatched.size() : 0;
    }
    /// True when the rollout has a verify step for the transport that reaches this device.
    bool verifiable(const RolloutDevice& d)
    {
        auto it = m_devices.find(d.device);
        if (it == m_devices.end()) {
            auto found = m_store.get(model::Kind::device, d.tenant, d.device);
            if (!found || !*found) return false;
            it = m_devices.emplace(d.device, std::move(**found)).first;
        }
        auto t = pick_transport(m_l.rollout.resource.spec, it->second.resource.spec).first;
        return !t.empty() && m_verify.contains(t);
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
    std::map<std::string, RolloutDevice> m_rows;  ///< every target: the held ones as this runner has them, the rest as last read
    std::set<std::string> m_held;                 ///< devices this runner has claimed and works on
    std::size_t m_slots_held = 0;                 ///< slots of options.slots held for them
    std::int64_t m_claim_expires = 0;             ///< until when this runner's claims last (renewed by heartbeat())
    std::vector<std::string> m_dead_owners;       ///< owners of claims whose process is gone (this host)
    bool m_claimable = true;                      ///< the last look found devices to claim
    std::map<std::string, model::Object> m_devices;
    std::map<std::string, std::optional<transport::Credential>> m_credentials;
    std::set<std::string> m_recovering;  ///< interrupted by a dead runner: a failed re-verify is not an attempt
    std::set<std::string> m_verify_first;  ///< an install timed out or was cut off: verified before the retry
    std::vector<Phase> m_phases;
    std::vector<std::size_t> m_allowed;
    std::size_t m_max_parallel = 10;
    std::size_t m_per_minute = 0;               ///< strategy.maxPerMinute; 0: no cap
    std::deque<Clock::time_point> m_dispatched;  ///< when devices were dispatched in the last minute (with a cap)
    int m_retries = 0;
    std::chrono::seconds m_timeout{900};
    json m_verify;
    std::optional<Clock::time_point> m_not_before;

    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Done> m_done;
    std::size_t m_running = 0;
    bool m_stopping = false;
    std::optional<Ending> m_ending;
    Pace::time_point m_last_lease = Pace::now();
    Pace::time_point m_last_refresh{};  // the epoch: the first loop reads the store
    bool m_waiting_reported = false;
    std::optional<store::DeviceOutput> m_output;  ///< the step just finished, written with its device's next state
    /// The results that arrived together, recorded in one write transaction: the events they raise
    /// and the steps they start wait for its commit.
    struct Batch {
        std::vector<Event> events;
        std::vector<std::pair<Step, std::function<void(transport::Outcome)>>> starts;
    };
    std::optional<Batch> m_batch;
};

Result<void> Runner::start_step(RolloutDevice& d, Step::Kind kind)
{
    // Interrupted: no next step. The device keeps its state (and the output of the step that just
    // ended); its claim goes back, and the next runner picks it up from there.
    if (m_ending == Ending::interrupted) return save(d, d.state, d.reason);
    const auto& rspec = m_l.rollout.resource.spec;
    auto dev_it = m_devices.find(d.device);
    if (dev_it == m_devices.end()) {
        auto found = m_store.get(model::Kind::device, d.tenant, d.device);
        if (!found) return std::unexpected(found.error());
        if (!*found) {
            transport::Outcome gone;
            gone.failure = transport::Failure::credential;
            gone.message = "the device no longer exists";
            return fail_attempt(d, "dispatch", gone);
        }
        dev_it = m_devices.emplace(d.device, std::move(**found)).first;
    }
    const model::Object& device = dev_it->second;
    auto [transport_name, why] = pick_transport(rspec, device.resource.spec);
    if (transport_name.empty()) {
        transport::Outcome none;
        none.failure = transport::Failure::credential;
        none.message = why;
        return fail_attempt(d, "dispatch", none);
    }
    const json& endpoint = device.resource.spec[transport_name];
    Step step;
    step.kind = kind;
    step.device = d.device;
    step.tenant = d.tenant;
    step.transport = transport_name;
    step.endpoint = device.resource;
    step.timeout = m_timeout;
    // Only ever credentials of the device's own tenant (for the device and its bastions).
    transport::CredentialLookup lookup = [&](const std::string& name) -> util::Result<std::optional<transport::Credential>> {
        auto it = m_credentials.find(name);
        if (it == m_credentials.end()) {
            auto found = m_store.get(model::Kind::credential, d.tenant, name);
            if (!found) return std::unexpected(found.error());
            std::optional<transport::Credential> c;
            if (*found) c = transport::credential_from((*found)->resource);
            it = m_credentials.emplace(name, c).first;
        }
        return it->second;
    };
    auto missing_credential = [&](std::string message) {
        transport::Outcome missing;
        missing.failure = transport::Failure::credential;
        missing.message = std::move(message);
        return fail_attempt(d, "dispatch", missing);
    };
    if (auto cred = endpoint.find("credential"); cred != endpoint.end()) {
        auto name = cred->get<std::string>();
        auto found = lookup(name);
        if (!found) return std::unexpected(found.error());
        if (!*found) return missing_credential(fmt::format("credential \"{}\" does not exist in tenant \"{}\"", name, d.tenant));
        step.credential = *found;
    }
    if (transport_name == "ssh") {
        auto hops = transport::jump_hops(endpoint, step.credential, lookup);
        if (!hops && hops.error().kind != util::ErrorKind::not_found) return std::unexpected(hops.error());
        if (!hops) return missing_credential(hops.error().message);
        step.jump = std::move(*hops);
    }
    const json install = rspec.value("install", json::object()).value(transport_name, json::object());
    std::string file_name = std::filesystem::path(m_l.artifact.resource.spec.value("file", "")).filename().string();
    auto values = template_values(m_l, device, file_name);
    auto render = [&](const std::string& text, bool shell) { return model::render_template(text, values, shell); };
    // {{artifact.path}} is where the file lands: the rendered uploadDir (which cannot use it) and the name.
    std::string remote_path = file_name;
    if (transport_name == "ssh") {
        auto dir = render(install.value("uploadDir", "/tmp"), false);
        if (!dir) return std::unexpected(dir.error());
        remote_path = *dir + "/" + file_name;
        values.values["artifact.path"] = remote_path;
    }

    std::string label;
    if (kind == Step::Kind::transfer) {
        label = "transferring";
        if (m_artifact_file.empty()) {  // once per run: from a shared store, this fetches it into the cache
            auto file = store::local_artifact(m_store, d.tenant, m_run.artifact_sha256);
            if (!file) {  // missing or changed in the store: this device's transfer fails, as an upload would
                transport::Outcome broken;
                broken.failure = transport::Failure::transfer;
                broken.message = file.error().message;
                return fail_attempt(d, "dispatch", broken);
            }
            m_artifact_file = *file;
        }
        step.local_file = m_artifact_file;
        step.sha256 = m_run.artifact_sha256;
        if (transport_name == "ssh") {
            step.remote_path = remote_path;
        } else {
            auto path = render(install.value("path", "/upload"), false);
            if (!path) return std::unexpected(path.error());
            step.path = *path;
            step.method = install.value("method", "POST");
            step.form = install.value("form", endpoint.value("profile", "generic") == "swupdate" ? "file" : "");
            step.profile = endpoint.value("profile", "generic");
        }
    } else if (kind == Step::Kind::install) {
        label = "installing";
        auto command = render(install.value("command", ""), true);
        if (!command) return std::unexpected(command.error());
        step.command = *command;
    } else {
        label = "verifying";
        const json v = m_verify.value(transport_name, json::object());
        if (transport_name == "ssh") {
            auto command = render(v.value("command", ""), true);
            if (!command) return std::unexpected(command.error());
            step.command = *command;
        } else {
            auto path = render(v.value("path", "/"), false);
            if (!path) return std::unexpected(path.error());
            step.path = *path;
            step.method = "GET";
            step.profile = "generic";
        }
    }
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
        m_batch->starts.emplace_back(std::move(step), std::move(done));
    else
        m_driver.start(std::move(step), std::move(done));
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
        return save(d, "pending", reason);
    }
    if (what == "verify" && m_verify_first.erase(d.device) > 0) {
        // The install that timed out did not take: install again (the attempt counted).
        return save(d, "pending", reason);
    }
    if (d.attempts <= m_retries && what == "install" && install_may_have_run(o) && verifiable(d)) {
        // Timed out or cut off mid-install: the installer may have finished on the device, though
        // its command was ended. Verify before installing again, never install twice (SPEC §8).
        m_verify_first.insert(d.device);
        return start_step(d, Step::Kind::verify);
    }
    if (d.attempts <= m_retries) return save(d, "pending", reason);
    const auto& rollout = m_l.rollout.resource.name;
    return save(d, "failed", reason, [&]() -> Result<void> {
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
    const char* what = done.kind == Step::Kind::transfer  ? "transfer"
                       : done.kind == Step::Kind::install ? "install"
                                                          : "verify";
    m_output = store::DeviceOutput{d.tenant,      d.device,       "rollout/" + m_run.name,
                                   what,          model::now_utc(), transport::failure_name(o.failure),
                                   o.exit_status, o.message,      o.stdout_tail,
                                   o.stderr_tail};
    auto result = finish_step(d, what, o);
    if (result && m_output) result = in_tx([&] { return flush_output(); });
    m_output.reset();
    return result;
}

Result<void> Runner::finish_step(RolloutDevice& d, const char* what, const transport::Outcome& o)
{
    if (!o.ok()) return fail_attempt(d, what, o);
    auto transport_name = pick_transport(m_l.rollout.resource.spec, m_devices.at(d.device).resource.spec).first;
    bool has_verify = m_verify.contains(transport_name);
    std::string_view kind = what;
    if (kind == "transfer" && transport_name == "ssh") return start_step(d, Step::Kind::install);
    if (kind != "verify" && has_verify) return start_step(d, Step::Kind::verify);
    if (kind == "verify") {
        auto expect = m_verify[transport_name].value("expect", "");
        if (!expect.empty()) {
            auto device = m_devices.at(d.device);
            auto values = template_values(m_l, device, "");
            auto wanted = model::render_template(expect, values, false);
            if (!wanted) return std::unexpected(wanted.error());
            if (o.stdout_tail.find(*wanted) == std::string::npos) {
                transport::Outcome mismatch = o;
                mismatch.failure = transport::Failure::remote;
                mismatch.message = fmt::format("output does not contain \"{}\"", *wanted);
                if (m_output) {
                    m_output->result = transport::failure_name(mismatch.failure);
                    m_output->message = mismatch.message;
                }
                return fail_attempt(d, "verify", mismatch);
            }
        }
    }
    m_recovering.erase(d.device);
    m_verify_first.erase(d.device);
    const auto& rollout = m_l.rollout.resource.name;
    return save(d, "succeeded", "", [&]() -> Result<void> {
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
    if (!m_waiting_reported) emit({"waiting", "", "", phase_name(m_run.phase), why});
    m_waiting_reported = true;
    return false;
}


Result<void> Runner::recover(RolloutDevice& d)
{
    // Left mid-way by a runner that is gone: a transfer starts over; an install that may have run is
    // checked by the verify step when there is one (so it is not installed twice), else installed again.
    emit({"taken-over", d.device, d.state, phase_name(d.phase), "its runner is gone"});
    if ((d.state == "installing" || d.state == "verifying") && verifiable(d)) {
        m_recovering.insert(d.device);
        return start_step(d, Step::Kind::verify);
    }
    if (d.attempts > 0) --d.attempts;
    return save(d, "pending", "restarted after its runner stopped");
}

/// Reads the run and every target as stored: what other runners did, and control from other shells.
Result<void> Runner::refresh()
{
    std::optional<RolloutRun> stored;
    std::vector<RolloutDevice> rows;
    {
        StoreTimer timer;
        auto tx = m_store.begin(store::TxMode::read);
        if (!tx) return std::unexpected(tx.error());
        auto run = m_store.rollout_run(m_run.tenant, m_run.name);
        if (!run) return std::unexpected(run.error());
        auto devices = m_store.rollout_devices(m_run.tenant, m_run.name);
        if (!devices) return std::unexpected(devices.error());
        if (auto c = tx->commit(); !c) return std::unexpected(c.error());
        stored = std::move(*run);
        rows = std::move(*devices);
    }
    if (!stored) return fail(ErrorKind::conflict, fmt::format("rollout/{} was deleted while it ran", m_run.name));
    auto now = m_clock.unix_seconds();
    std::map<std::string, bool> dead;  // by owner: a process of this host that is gone
    m_dead_owners.clear();
    m_claimable = false;
    for (auto& row : rows) {
        if (m_held.contains(row.device)) continue;
        bool claimable = row.state == "pending" && row.phase >= 0 && row.phase <= stored->phase;
        if (in_flight(row.state) && row.claim_owner != m_owner) {
            auto [it, fresh] = dead.try_emplace(row.claim_owner, false);
            if (fresh && !row.claim_owner.empty()) {
                it->second = lease_owner_dead(row.claim_owner);
                if (it->second) m_dead_owners.push_back(row.claim_owner);
            }
            claimable = row.claim_expires < now || it->second;
        }
        m_claimable = m_claimable || claimable;
        m_rows[row.device] = std::move(row);
    }
    adopt(*stored);
    return {};
}

/// Takes the stored run as it is; when it stopped running (paused or aborted from another shell,
/// completed or paused by another runner's decision, or by this one's), this runner stops too:
/// in-flight devices finish, no new ones start.
void Runner::adopt(const RolloutRun& stored)
{
    m_run = stored;
    if (m_stopping || stored.state == "running") return;
    m_stopping = true;
    m_ending = stored_ending(stored, m_rows);
    emit({stored.state, "", "", phase_name(stored.phase), stored.reason});
}

/// The heartbeat: this runner's claims, and the run's lease (which says that a live runner works
/// on the rollout: SPEC §8's running), taken when free and renewed by whoever holds it.
Result<void> Runner::heartbeat()
{
    m_last_lease = Pace::now();
    m_claim_expires = m_clock.unix_seconds() + m_options.lease.count();
    return write(m_store, [&]() -> Result<void> {
        if (!m_held.empty())
            if (auto r = m_store.renew_claims(m_run.tenant, m_run.name, m_owner, m_claim_expires); !r) return r;
        auto run = m_store.rollout_run(m_run.tenant, m_run.name);
        if (!run) return std::unexpected(run.error());
        if (!*run || (*run)->state != "running") return {};
        auto stored = **run;
        if (stored.lease_owner != m_owner && lease_live(stored.lease_owner, stored.lease_expires, m_clock.unix_seconds()))
            return {};
        stored.lease_owner = m_owner;
        stored.lease_expires = m_claim_expires;
        return m_store.put_rollout_run(stored);
    });
}

/// Threshold, soak, phase advance and completion, decided in one write transaction over the stored
/// run and devices: whichever runner gets there first decides, and the others find it done.
Result<void> Runner::decide()
{
    if (m_stopping || m_run.state != "running") return {};
    auto p = static_cast<std::size_t>(m_run.phase);
    if (!m_phases.empty()) {
        // What this runner last saw says whether a decision may be due; the transaction checks.
        if (p >= m_phases.size()) return {};
        auto [failed, failed_all, done] = tally(m_run.phase);
        if (failed <= m_allowed[p] && !done) return {};
        if (failed <= m_allowed[p] && !m_run.phase_done_at.empty())
            if (auto at = parse_utc(m_run.phase_done_at); at && m_clock.now() < *at + m_phases[p].soak) return {};
    }
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
        RolloutRun next = **run;
        decided = next;
        if (next.state != "running" || next.phase != m_run.phase) return {};  // decided elsewhere
        auto record = [&](const char* type, const std::string& summary) -> Result<void> {
            next.updated_at = model::now_utc();
            if (auto r = m_store.put_rollout_run(next); !r) return r;
            decided = next;
            return type ? m_store.record_event(next.tenant, type, "rollout/" + next.name, summary) : Result<void>{};
        };
        if (m_phases.empty()) {  // nothing to install: every target was skipped
            next.state = "completed";
            next.reason = "no device needed the artifact";
            return record("rollout-completed", next.reason);
        }
        auto [failed, failed_all, done] = tally(next.phase);
        const Phase& phase = m_phases[p];
        if (failed > m_allowed[p]) {
            bool abort = m_l.strategy.value("onFailure", "pause") == "abort";
            next.state = abort ? "aborted" : "paused";
            next.reason = fmt::format("{} exceeded in phase {}: {} of {} device(s) failed (allowed {})",
                                      threshold_reason, phase.name, failed,
                                      phase.end - (p == 0 ? 0 : m_phases[p - 1].end), m_allowed[p]);
            return record(abort ? "rollout-aborted" : "rollout-paused", next.reason);
        }
        if (!done) return {};
        if (phase.soak.count() > 0) {
            if (next.phase_done_at.empty()) {
                next.phase_done_at = format_utc(m_clock.now());
                event = Event{"soak", "", "", phase.name, fmt::format("soaking for {}s", phase.soak.count())};
                return record(nullptr, "");
            }
            auto done_at = parse_utc(next.phase_done_at);
            if (done_at && m_clock.now() < *done_at + phase.soak) return {};
        }
        next.phase_done_at.clear();
        if (p + 1 >= m_phases.size()) {
            next.state = "completed";
            next.reason = failed_all ? fmt::format("{} device(s) failed", failed_all) : "";
            return record("rollout-completed",
                          fmt::format("completed; {}", next.reason.empty() ? "all devices succeeded" : next.reason));
        }
        next.phase = static_cast<std::int64_t>(p + 1);
        if (phase.pause) {
            next.state = "paused";
            next.reason = fmt::format("paused after phase {}; run `rollout resume` to go on", phase.name);
        } else {
            event = Event{"phase", "", "", phase.name, ""};
        }
        m_claimable = true;  // the next phase's devices
        return record("rollout-phase-done", fmt::format("phase {} done", phase.name));
    });
    if (!w) return w;
    if (decided) adopt(*decided);
    if (event) emit(*event);
    return {};
}

/// Claims devices for the free slots: those a gone runner left in flight, then pending ones.
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
    q.updated_at = model::now_utc();
    auto claimed = [&]() -> Result<store::Claimed> {
        StoreTimer timer;
        auto tx = m_store.begin(store::TxMode::claim);
        if (!tx) return std::unexpected(tx.error());
        auto c = m_store.claim_rollout_devices(q);
        if (!c) return c;
        if (auto r = tx->commit(); !r) return std::unexpected(r.error());
        return c;
    }();
    std::size_t got = claimed ? claimed->taken_over.size() + claimed->started.size() : 0;
    if (m_options.slots) {
        m_slots_held += got;
        m_options.slots->release(m_run.tenant, want - got);
    }
    if (!claimed) return std::unexpected(claimed.error());
    if (got < want) m_claimable = false;  // until the next look at the store
    for (auto& row : claimed->taken_over) {
        hold(row.device);
        auto& d = m_rows[row.device] = std::move(row);
        if (auto r = recover(d); !r) return r;
    }
    for (auto& row : claimed->started) {
        hold(row.device);
        if (m_per_minute) m_dispatched.push_back(m_clock.now());
        auto& d = m_rows[row.device] = std::move(row);
        emit({"device", d.device, d.state, phase_name(d.phase), ""});
        if (auto r = start_step(d, Step::Kind::transfer); !r) return r;
    }
    return {};
}

Result<void> Runner::finish_batch()
{
    std::deque<Done> results;
    {
        std::lock_guard lock(m_mutex);
        results.swap(m_done);
        m_running -= results.size();
    }
    if (results.empty()) return {};
    m_batch.emplace();
    {
        StoreTimer timer;
        auto tx = m_store.begin(store::TxMode::write);
        if (!tx) {
            m_batch.reset();
            return std::unexpected(tx.error());
        }
        for (auto& done : results)
            if (auto f = finish(std::move(done)); !f) {
                m_batch.reset();
                return f;  // the transaction rolls back: nothing of the batch is recorded
            }
        if (auto c = tx->commit(); !c) {
            m_batch.reset();
            return c;
        }
    }
    auto batch = std::move(*m_batch);
    m_batch.reset();
    for (auto& e : batch.events) emit(std::move(e));
    for (auto& [step, done] : batch.starts) m_driver.start(std::move(step), std::move(done));
    return {};
}

Result<Ending> Runner::go()
{
    emit({"started", "", "", phase_name(m_run.phase), ""});
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
            emit({"interrupted", "", "", phase_name(m_run.phase), "interrupted; in-flight devices are stopped"});
        }
        auto now = Pace::now();
        Result<void> step;
        if (now - m_last_refresh >= std::chrono::milliseconds(250)) {
            m_last_refresh = now;
            step = refresh();
        }
        if (step && now - m_last_lease >= m_options.lease / 3) step = heartbeat();
        // 3. Decisions over the stored state, then new devices while there is room.
        if (step) step = decide();
        if (step && !m_stopping && may_start_new()) step = claim_more();
        if (!step) {
            m_driver.cancel();
            return std::unexpected(step.error());
        }
        // 4. Done when stopping and nothing is in flight.
        std::unique_lock lock(m_mutex);
        if (m_stopping && m_running == 0 && m_done.empty()) break;
        m_cv.wait_for(lock, m_options.tick, [&] { return !m_done.empty(); });
    }
    // Give the run's lease back, if it is ours, so that `rollout status` says at once that nobody runs it.
    auto release = write(m_store, [&]() -> Result<void> {
        auto run = m_store.rollout_run(m_run.tenant, m_run.name);
        if (!run) return std::unexpected(run.error());
        if (!*run || (*run)->lease_owner != m_owner) return {};
        auto stored = **run;
        stored.lease_owner.clear();
        stored.lease_expires = 0;
        return m_store.put_rollout_run(stored);
    });
    if (!release) return std::unexpected(release.error());
    return m_ending.value_or(Ending::interrupted);
}

} // namespace

int exit_code(Ending ending)
{
    switch (ending) {
    case Ending::completed: return 0;
    case Ending::completed_with_failures: return 1;
    case Ending::paused: return 0;
    case Ending::paused_by_threshold: return util::exit_code(ErrorKind::conflict);
    case Ending::aborted: return 1;
    case Ending::interrupted: return util::exit_code(ErrorKind::interrupted);
    }
    return 1;
}

namespace {

/// What begin() found or made: the rollout, its run and its target devices.
struct Begun {
    Loaded loaded;
    RolloutRun run;
    std::vector<RolloutDevice> devices;
    bool created = false;               ///< this call froze the targets and stored the run
    std::optional<Ending> already;      ///< the run is not running (paused, aborted, completed)
};

/// Starts a rollout (freezes its targets and stores its run, state running) unless it was started
/// before; then, when owner is set and the run is running, takes the run's lease unless a live
/// runner holds it (then the caller joins that runner: devices are claimed one by one). One write
/// transaction, so two runners never both freeze the targets.
Result<Begun> begin(store::Store& store, const std::string& tenant, const std::string& name, const std::string& owner,
                    std::chrono::seconds lease, const util::Clock& clock)
{
    auto unix_now = [&] { return clock.unix_seconds(); };
    Begun b;
    auto started = write(store, [&]() -> Result<void> {
        auto l = load(store, tenant, name);
        if (!l) return std::unexpected(l.error());
        b.loaded = std::move(*l);
        auto stored = store.rollout_run(tenant, name);
        if (!stored) return std::unexpected(stored.error());
        if (!*stored) {
            auto frozen = freeze(store, b.loaded);
            if (!frozen) return std::unexpected(frozen.error());
            b.devices = std::move(*frozen);
            // Every template must render for this tenant before anything is pushed.
            const json& spec = b.loaded.rollout.resource.spec;
            model::Object probe;
            // The file name stands for {{artifact.path}}, so that a control character in it is found here.
            auto values = template_values(
                b.loaded, probe, std::filesystem::path(b.loaded.artifact.resource.spec.value("file", "")).filename().string());
            for (const char* p : {"/install/ssh/command", "/install/ssh/uploadDir", "/install/http/path",
                                  "/verify/ssh/command", "/verify/ssh/expect", "/verify/http/path", "/verify/http/expect"}) {
                auto text = spec.value(json::json_pointer(p), json());
                if (!text.is_string()) continue;
                bool shell = std::string_view(p).ends_with("/command");
                if (auto r = model::render_template(text.get<std::string>(), values, shell); !r)
                {
                    std::string field = std::string("spec") + p;
                    std::replace(field.begin(), field.end(), '/', '.');
                    return fail(ErrorKind::usage, fmt::format("rollout/{}: {}: {}", name, field, r.error().message));
                }
            }
            std::string now = model::now_utc();
            b.run = RolloutRun{tenant, name, "running", "", 0, "", b.loaded.artifact.resource.spec.value("sha256", ""),
                               b.loaded.artifact.resource.spec.value("version", ""), now, now, "", 0};
            for (const auto& d : b.devices)
                if (auto w = store.put_rollout_device(d); !w) return w;
            std::size_t eligible = eligible_count(b.devices);
            auto phases = make_phases(b.loaded.strategy, eligible);
            if (auto w = store.record_event(tenant, "rollout-started", "rollout/" + name,
                                      fmt::format("artifact {} version {}: {} target(s), {} skipped, {} phase(s)",
                                                  b.loaded.artifact.resource.name, b.run.artifact_version, eligible,
                                                  b.devices.size() - eligible, phases.size()));
                !w)
                return w;
            b.created = true;
            if (owner.empty()) return store.put_rollout_run(b.run);  // queued: the first runner takes it
        } else {
            b.run = **stored;
            auto rows = store.rollout_devices(tenant, name);
            if (!rows) return std::unexpected(rows.error());
            b.devices = std::move(*rows);
            if (b.run.state != "running") {
                b.already = stored_ending(b.run, b.devices);
                return {};
            }
            if (owner.empty()) return {};
            // Another live runner works on it: this one joins (devices are claimed one by one).
            if (lease_live(b.run.lease_owner, b.run.lease_expires, unix_now())) return {};
        }
        b.run.lease_owner = owner;
        b.run.lease_expires = unix_now() + lease.count();
        b.run.updated_at = model::now_utc();
        return store.put_rollout_run(b.run);
    });
    if (!started) return std::unexpected(started.error());
    return b;
}

} // namespace

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
        return fail(ErrorKind::conflict, fmt::format("rollout/{} was started before and is {}{}", name, b->run.state,
                                                     b->run.state == "paused" ? ": `rollout resume` lets it go on" : ""));
    return fmt::format("rollout/{} was started before and is still running; nothing changed", name);
}

Result<Ending> run(store::Store& store, const std::string& tenant, const std::string& name, Driver& driver,
                   const RunOptions& options)
{
    std::string owner = new_lease_owner();
    if (!options.runner_name.empty()) owner += " " + options.runner_name;
    auto begun = begin(store, tenant, name, owner, options.lease, options.clock ? *options.clock : util::system_clock());
    if (!begun) return std::unexpected(begun.error());
    auto& [loaded, run, devices, created, already] = *begun;
    if (already) {
        if (options.observe)
            options.observe({run.state, "", "", "", run.reason},
                            summarize(&run, make_phases(loaded.strategy, eligible_count(devices)), devices, false));
        return *already;
    }
    Runner runner(store, std::move(loaded), std::move(run), std::move(devices), driver, options, owner);
    t_stats = options.stats;
    auto ending = runner.go();
    t_stats = nullptr;
    return ending;
}

Result<Progress> progress(store::Store& store, const std::string& tenant, const std::string& name)
{
    auto tx = store.begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto rollout = store.get(model::Kind::rollout, tenant, name);
    if (!rollout) return std::unexpected(rollout.error());
    if (!*rollout) return fail(ErrorKind::not_found, fmt::format("rollout/{} not found in tenant \"{}\"", name, tenant));
    auto run = store.rollout_run(tenant, name);
    if (!run) return std::unexpected(run.error());
    auto devices = store.rollout_devices(tenant, name);
    if (!devices) return std::unexpected(devices.error());
    const json& spec = (*rollout)->resource.spec;
    auto strategy = spec.value("strategy", json::object());
    auto phases = make_phases(strategy, eligible_count(*devices));
    auto p = summarize(*run ? &**run : nullptr, phases, *devices, true);
    auto outputs = store.device_outputs(tenant, "", "rollout/" + name);
    if (!outputs) return std::unexpected(outputs.error());
    p.outputs = std::move(*outputs);
    // The stored state says what the last runner decided; what is true now also depends on the
    // clock (notBefore, windows) and on whether a live runner holds the lease.
    auto state = current_state(store, **rollout, *run);
    if (!state) return std::unexpected(state.error());
    p.state = state->state;
    p.reason = state->reason;
    if (*run) p.runner = lease_holder(**run, unix_now());
    std::map<std::string, std::size_t> counts;
    for (const auto& d : *devices) {
        if (!in_flight(d.state) || !lease_live(d.claim_owner, d.claim_expires, unix_now())) continue;
        auto who = describe_owner(d.claim_owner);
        p.held_by[d.device] = who;
        ++counts[who];
    }
    p.runners.assign(counts.begin(), counts.end());
    return p;
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
            if (run.state != "running")
                return fail(ErrorKind::conflict, fmt::format("rollout/{} is {}, not running", name, run.state));
            run.state = "paused";
            run.reason = "paused by " + user;
            message = fmt::format("rollout/{} paused: in-flight devices finish, no new ones start", name);
        } else if (action == "resume") {
            if (run.state != "paused")
                return fail(ErrorKind::conflict, fmt::format("rollout/{} is {}, not paused", name, run.state));
            run.state = "running";
            run.reason.clear();
            message = fmt::format("rollout/{} resumed; `rollout run {}` continues it", name, name);
        } else if (action == "abort") {
            if (run.state == "completed" || run.state == "aborted")
                return fail(ErrorKind::conflict, fmt::format("rollout/{} is already {}", name, run.state));
            run.state = "aborted";
            run.reason = "aborted by " + user;
            message = fmt::format("rollout/{} aborted: in-flight devices finish, no new ones start", name);
        } else if (action == "retry") {
            if (run.state == "aborted")
                return fail(ErrorKind::conflict, fmt::format("rollout/{} was aborted; it cannot be retried", name));
            auto devices = store.rollout_devices(tenant, name);
            if (!devices) return std::unexpected(devices.error());
            std::size_t n = 0;
            for (auto d : *devices) {
                if (d.state != "failed") continue;
                d.state = "pending";
                d.reason = "retry requested by " + user;
                d.attempts = 0;
                d.updated_at = model::now_utc();
                if (auto w = store.put_rollout_device(d); !w) return w;
                ++n;
            }
            if (n == 0) return fail(ErrorKind::conflict, fmt::format("rollout/{} has no failed devices", name));
            if (run.state == "completed" || (run.state == "paused" && run.reason.starts_with(threshold_reason))) {
                run.state = "running";
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
