#include "core/rollout/lease.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <random>

#include "core/rollout/state.hpp"
#include "core/rollout/tx.hpp"

namespace fleet::rollout {

using store::RolloutRun;
using util::Result;

std::string new_lease_owner(const std::string& runner_name)
{
    std::random_device random;
    auto owner = fmt::format("{} {} {:08x}", hostname(), ::getpid(), random());
    if (!runner_name.empty()) owner += " " + runner_name;
    return owner;
}

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
            if (auto checked = check_templates(b.loaded); !checked) return checked;
            std::string now = model::now_utc();
            b.run = RolloutRun{tenant, name, store::RunState::running, "", 0, "", b.loaded.artifact.resource.spec.value("sha256", ""),
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
            if (b.run.state != store::RunState::running) {
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

Result<void> renew(store::Store& store, const std::string& tenant, const std::string& name, const std::string& owner,
                   bool holds_devices, std::int64_t expires, std::int64_t now)
{
    return write(store, [&]() -> Result<void> {
        if (holds_devices)
            if (auto r = store.renew_claims(tenant, name, owner, expires); !r) return r;
        auto run = store.rollout_run(tenant, name);
        if (!run) return std::unexpected(run.error());
        if (!*run || (*run)->state != store::RunState::running) return {};
        auto stored = **run;
        if (stored.lease_owner != owner && lease_live(stored.lease_owner, stored.lease_expires, now)) return {};
        stored.lease_owner = owner;
        stored.lease_expires = expires;
        return store.put_rollout_run(stored);
    });
}

Result<void> release(store::Store& store, const std::string& tenant, const std::string& name, const std::string& owner)
{
    return write(store, [&]() -> Result<void> {
        auto run = store.rollout_run(tenant, name);
        if (!run) return std::unexpected(run.error());
        if (!*run || (*run)->lease_owner != owner) return {};
        auto stored = **run;
        stored.lease_owner.clear();
        stored.lease_expires = 0;
        return store.put_rollout_run(stored);
    });
}

} // namespace fleet::rollout
