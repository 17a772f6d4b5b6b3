#include "core/remote/remote.hpp"

#include "core/transport/http.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/model/selector.hpp"
#include "core/query/query.hpp"
#include "core/tenancy/view.hpp"

namespace fleet::remote {

using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

Result<std::vector<model::Object>> select_devices(store::Store& store, const Selection& selection,
                                                  const model::Selector& selector)
{
    std::vector<model::Object> devices;
    auto keep = [&](model::Object&& d) {
        if (selector.matches(d.resource.labels)) devices.push_back(std::move(d));
    };
    const std::string* tenant = selection.tenant.empty() ? nullptr : &selection.tenant;
    std::vector<std::string> scope;  // the tenants a named tenant's scope covers, sorted
    if (tenant) {
        auto tenants = tenancy::scope_tenants(store, {selection.tenant, selection.subtree});
        if (!tenants) return std::unexpected(tenants.error());
        scope = std::move(*tenants);
    }
    auto find = [&](model::Kind kind, const std::string& name) {
        return selection.subtree && tenant ? tenancy::resolve_among(store, kind, name, scope)
                                           : store.resolve(kind, name, selection.tenant);
    };
    if (!selection.names.empty()) {
        for (const auto& name : selection.names) {
            auto d = find(model::Kind::device, name);
            if (!d) return std::unexpected(d.error());
            keep(std::move(*d));
        }
        return devices;
    }
    if (!selection.group.empty()) {
        auto group = find(model::Kind::device_group, selection.group);
        if (!group) return std::unexpected(group.error());
        auto members = query::group_members(store, *group);
        if (!members) return std::unexpected(members.error());
        for (const auto& name : *members) {
            auto d = store.get(model::Kind::device, group->resource.tenant, name);
            if (!d) return std::unexpected(d.error());
            if (*d) keep(std::move(**d));
        }
        return devices;
    }
    if (!tenant) {
        if (auto scanned = store.scan(model::Kind::device, nullptr, keep); !scanned) return std::unexpected(scanned.error());
        return devices;
    }
    for (const auto& t : scope)
        if (auto scanned = store.scan(model::Kind::device, &t, keep); !scanned) return std::unexpected(scanned.error());
    return devices;
}

/// The target for a device: its endpoints, with credentials looked up in its own tenant only.
Result<Target> target_for(store::Store& store, const model::Object& device)
{
    const auto& r = device.resource;
    transport::CredentialLookup lookup = [&](const std::string& name) -> Result<std::optional<transport::Credential>> {
        auto cred = store.get(model::Kind::credential, r.tenant, name);
        if (!cred) return std::unexpected(cred.error());
        if (!*cred) return std::nullopt;
        return transport::credential_from((*cred)->resource);
    };
    auto endpoints = transport::device_endpoints(r, lookup);
    if (!endpoints) return std::unexpected(endpoints.error());
    Target t;
    static_cast<transport::Endpoints&>(t) = std::move(*endpoints);
    t.tenant = r.tenant;
    t.name = r.name;
    t.version_probe = r.spec.value("versionProbe", "");
    return t;
}


/// True when the outcome shows that a session was established before whatever ended it.
bool session_reached(const transport::Outcome& out)
{
    using transport::Failure;
    return out.ok() || out.failure == Failure::remote || out.failure == Failure::timeout ||
           out.failure == Failure::transfer;
}

/// Calls wait_all; meanwhile, once *interrupted is set, calls cancel (once). The flag is set by a
/// signal handler, which cannot notify: it is looked at every 50 ms until wait_all returns.
void wait_watching(const std::atomic<bool>* interrupted, const std::function<void()>& wait_all,
                   const std::function<void()>& cancel)
{
    if (!interrupted) return wait_all();
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;
    std::jthread watcher([&] {
        std::unique_lock lock(mutex);
        while (!done) {
            if (interrupted->load()) {
                lock.unlock();
                cancel();
                return;
            }
            finished.wait_for(lock, std::chrono::milliseconds(50));
        }
    });
    wait_all();
    {
        std::lock_guard lock(mutex);
        done = true;
    }
    finished.notify_all();
}

/// Runs one SSH job per target (those make_job returns one for); the rest are finished at once
/// with what prepare put into their result. finish completes a result on the worker thread.
std::vector<DeviceResult> run(const std::vector<Target>& targets, const RunOptions& options,
                              const std::function<std::optional<transport::SshJob>(const Target&, DeviceResult&)>& prepare,
                              const std::function<void(const Target&, DeviceResult&)>& finish, const Report& report)
{
    std::vector<DeviceResult> results(targets.size());
    std::mutex report_mutex;
    auto deliver = [&](std::size_t i) {
        finish(targets[i], results[i]);
        std::lock_guard lock(report_mutex);
        report(results[i]);
    };
    transport::SshPool pool(options.max_parallel);
    for (std::size_t i = 0; i < targets.size(); ++i) {
        results[i].tenant = targets[i].tenant;
        results[i].device = targets[i].name;
        if (options.interrupted && options.interrupted->load()) {
            results[i].outcome = transport::failed(transport::Failure::cancelled, "interrupted before it started");
            deliver(i);
            continue;
        }
        auto job = prepare(targets[i], results[i]);
        if (!job) {
            deliver(i);
            continue;
        }
        job->connect_timeout = options.connect_timeout;
        job->command_timeout = options.timeout;
        pool.submit(std::move(*job), [&, i](transport::Outcome out) {
            results[i].outcome = std::move(out);
            results[i].reached = session_reached(results[i].outcome);
            deliver(i);
        });
    }
    wait_watching(options.interrupted, [&] { pool.wait(); }, [&] { pool.cancel(); });
    return results;
}

/// A job for the target's SSH endpoint, or nullopt with the reason in result.
std::optional<transport::SshJob> ssh_job(const Target& t, DeviceResult& result)
{
    if (!t.ssh) {
        result.outcome = transport::failed(transport::Failure::unreachable,
                                fmt::format("{}: no ssh endpoint (spec.ssh is not set)", t.name));
        return std::nullopt;
    }
    if (!t.ssh_problem.empty()) {
        result.outcome = transport::failed(transport::Failure::credential, fmt::format("{}: {}", t.name, t.ssh_problem));
        return std::nullopt;
    }
    transport::SshJob job;
    job.endpoint = *t.ssh;
    return job;
}

std::string trimmed(const std::string& text)
{
    auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

/// "3 devices: 2 ok, 1 unreachable" for one tenant's results.
std::map<std::string, std::string> summaries(const std::vector<DeviceResult>& results)
{
    std::map<std::string, std::map<std::string, int>> counts;
    std::map<std::string, int> totals;
    for (const auto& r : results) {
        ++totals[r.tenant];
        ++counts[r.tenant][r.skipped ? "skipped" : transport::failure_name(r.outcome.failure)];
    }
    std::map<std::string, std::string> out;
    for (const auto& [tenant, by_result] : counts) {
        std::string text = fmt::format("{} device{}:", totals[tenant], totals[tenant] == 1 ? "" : "s");
        bool first = true;
        for (const auto& [name, n] : by_result) {
            text += fmt::format("{} {} {}", first ? "" : ",", n, name);
            first = false;
        }
        out[tenant] = text;
    }
    return out;
}

/// Records each device's output tails under source ("exec", "check"), replacing the last run's;
/// devices never run on (skipped, no usable credential) keep theirs. Inside a write transaction.
Result<void> record_outputs(store::Store& store, const std::string& source, const std::vector<DeviceResult>& results)
{
    std::string now = model::now_utc();
    for (const auto& r : results) {
        if (r.skipped || r.outcome.failure == transport::Failure::credential) continue;
        const auto& o = r.outcome;
        store::DeviceOutput output{r.tenant,      r.device,  source,        source,        now,
                                   transport::failure_name(o.failure), o.exit_status, o.message, o.stdout_tail,
                                   o.stderr_tail};
        if (auto w = store.put_device_output(output); !w) return w;
    }
    return {};
}

} // namespace

Result<std::vector<Target>> resolve(store::Store& store, const Selection& selection)
{
    auto selector = model::Selector::parse(selection.selector);
    if (!selector) return std::unexpected(selector.error());
    auto tx = store.begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto devices = select_devices(store, selection, *selector);
    if (!devices) return std::unexpected(devices.error());
    std::set<std::string> tenants;
    for (const auto& d : *devices) tenants.insert(d.resource.tenant);
    for (const auto& tenant : tenants)
        if (auto allowed = store.permit(store::Action::write, tenant); !allowed) return std::unexpected(allowed.error());
    std::vector<Target> targets;
    targets.reserve(devices->size());
    for (const auto& d : *devices) {
        auto t = target_for(store, d);
        if (!t) return std::unexpected(t.error());
        targets.push_back(std::move(*t));
    }
    return targets;
}

std::vector<DeviceResult> exec(const std::vector<Target>& targets, const RunOptions& options, const Report& report)
{
    auto prepare = [&](const Target& t, DeviceResult& result) {
        auto job = ssh_job(t, result);
        if (job) {
            job->upload_file = options.copy_from;
            job->upload_path = options.copy_to;
            job->command = options.command;
        }
        return job;
    };
    return run(targets, options, prepare, [](const Target&, DeviceResult&) {}, report);
}

std::vector<DeviceResult> check(const std::vector<Target>& targets, const RunOptions& options, const Report& report)
{
    // Devices with only an HTTP endpoint are checked with a GET of their base URL; the rest over SSH.
    auto http_only = [](const Target& t) { return !t.ssh && t.http && !t.http->url.empty(); };
    std::vector<Target> over_ssh;
    for (const auto& t : targets)
        if (!http_only(t)) over_ssh.push_back(t);
    auto prepare = [](const Target& t, DeviceResult& result) -> std::optional<transport::SshJob> {
        auto job = ssh_job(t, result);
        if (job) job->command = t.version_probe;
        return job;
    };
    auto finish = [](const Target& t, DeviceResult& result) {
        if (t.version_probe.empty() || !result.outcome.ok()) return;
        if (auto version = trimmed(result.outcome.stdout_tail); !version.empty()) result.version = version;
    };
    auto ssh_results = run(over_ssh, options, prepare, finish, report);

    std::vector<DeviceResult> results(targets.size());
    std::mutex report_mutex;
    {
        transport::HttpClient http(options.max_parallel);
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const Target& t = targets[i];
            if (!http_only(t)) continue;
            results[i].tenant = t.tenant;
            results[i].device = t.name;
            bool interrupted = options.interrupted && options.interrupted->load();
            if (interrupted || !t.http_problem.empty()) {
                results[i].outcome = interrupted ? transport::failed(transport::Failure::cancelled, "interrupted before it started")
                                                 : transport::failed(transport::Failure::credential,
                                                          fmt::format("{}: {}", t.name, t.http_problem));
                std::lock_guard lock(report_mutex);
                report(results[i]);
                continue;
            }
            transport::HttpJob job;
            job.device = t.name;
            job.base_url = t.http->url;
            job.path = "/";
            job.method = "GET";
            job.credential = t.http->credential;
            job.connect_timeout = options.connect_timeout;
            job.timeout = options.timeout;
            http.submit(std::move(job), [&, i](transport::Outcome out) {
                using transport::Failure;
                // Any answer but a refused credential means the device is there.
                bool answered = out.http_status > 0;
                if (out.failure == Failure::remote && answered) {
                    out.failure = Failure::none;
                    out.message = fmt::format("HTTP {}", out.http_status);
                }
                results[i].reached = answered && out.failure != Failure::auth;
                results[i].outcome = std::move(out);
                std::lock_guard lock(report_mutex);
                report(results[i]);
            });
        }
        wait_watching(options.interrupted, [&] { http.wait(); }, [&] { http.cancel(); });
    }
    std::size_t next = 0;
    for (std::size_t i = 0; i < targets.size(); ++i)
        if (!http_only(targets[i])) results[i] = std::move(ssh_results[next++]);
    return results;
}

namespace {

using Action = std::function<std::vector<DeviceResult>(const std::vector<Target>&, const RunOptions&, const Report&)>;
using Recorder = std::function<Result<void>(store::Store&, const std::vector<DeviceResult>&)>;

Result<Run> run_command(store::Store& store, const Selection& selection, const RunOptions& options,
                        const Observer& observer, const Action& action, const Recorder& record)
{
    auto targets = resolve(store, selection);
    if (!targets) return std::unexpected(targets.error());
    observer.started(*targets);
    Run run;
    if (targets->empty()) return run;
    run.devices = action(*targets, options, observer.finished);
    if (auto recorded = record(store, run.devices); !recorded) run.unrecorded = recorded.error();
    return run;
}

} // namespace

Result<Run> run_exec(store::Store& store, const Selection& selection, const RunOptions& options,
                     const Observer& observer)
{
    return run_command(store, selection, options, observer, exec,
                       [](store::Store& s, const std::vector<DeviceResult>& results) { return audit(s, "exec", results); });
}

Result<Run> run_check(store::Store& store, const Selection& selection, const RunOptions& options,
                      const Observer& observer)
{
    return run_command(store, selection, options, observer, check, record_checks);
}

std::optional<util::Error> interrupted(const std::vector<DeviceResult>& results)
{
    auto cancelled = std::count_if(results.begin(), results.end(),
                                   [](const DeviceResult& r) { return r.outcome.failure == transport::Failure::cancelled; });
    if (cancelled == 0) return std::nullopt;
    return util::Error{ErrorKind::interrupted, fmt::format("interrupted: {} of {} device{} cancelled; the results "
                                                           "above are recorded",
                                                           cancelled, results.size(), results.size() == 1 ? "" : "s")};
}

Result<void> audit(store::Store& store, const std::string& action, const std::vector<DeviceResult>& results)
{
    if (results.empty()) return {};
    auto tx = store.begin(store::TxMode::write);
    if (!tx) return std::unexpected(tx.error());
    for (const auto& [tenant, summary] : summaries(results))
        if (auto r = store.record_event(tenant, action, "devices", summary); !r) return r;
    if (auto r = record_outputs(store, action, results); !r) return r;
    return tx->commit();
}

Result<void> record_checks(store::Store& store, const std::vector<DeviceResult>& results)
{
    if (results.empty()) return {};
    auto tx = store.begin(store::TxMode::write);
    if (!tx) return std::unexpected(tx.error());
    std::string now = model::now_utc();
    for (const auto& r : results) {
        // Not tried or cut short: nothing was learned about the device.
        if (r.skipped || r.outcome.failure == transport::Failure::credential ||
            r.outcome.failure == transport::Failure::cancelled)
            continue;
        store::StatusUpdate update;
        update.reachable = r.reached;
        if (r.reached) update.last_seen = now;
        update.reported_version = r.version;
        if (auto done = store.update_device_status(r.tenant, r.device, update); !done) return done;
    }
    for (const auto& [tenant, summary] : summaries(results))
        if (auto r = store.record_event(tenant, "check", "devices", summary); !r) return r;
    if (auto r = record_outputs(store, "check", results); !r) return r;
    return tx->commit();
}

} // namespace fleet::remote
