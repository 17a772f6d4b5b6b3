#include "core/query/query.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/model/selector.hpp"
#include "core/rollout/state.hpp"
#include "core/tenancy/view.hpp"

namespace fleet::query {

using nlohmann::json;
using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

json device_status_json(const store::DeviceStatus* s)
{
    json out = json::object();
    if (!s) return out;
    if (!s->reported_version.empty()) out["reportedVersion"] = s->reported_version;
    if (!s->last_seen.empty()) out["lastSeen"] = s->last_seen;
    if (s->reachable) out["reachable"] = *s->reachable;
    if (!s->last_rollout.empty()) out["lastRollout"] = s->last_rollout;
    return out;
}

} // namespace

Result<std::vector<std::string>> group_members(store::Store& store, const model::Object& group)
{
    const auto& spec = group.resource.spec;
    const auto& tenant = group.resource.tenant;
    std::vector<std::string> members;
    if (spec.contains("selector")) {
        auto selector = model::Selector::parse(spec["selector"].get<std::string>());
        if (!selector) return std::unexpected(selector.error());
        auto r = store.scan(model::Kind::device, &tenant, [&](model::Object&& d) {
            if (selector->matches(d.resource.labels)) members.push_back(d.resource.name);
        });
        if (!r) return std::unexpected(r.error());
        return members;
    }
    for (const auto& name : spec.value("devices", json::array())) {
        auto found = store.get(model::Kind::device, tenant, name.get<std::string>());
        if (!found) return std::unexpected(found.error());
        if (*found) members.push_back(name.get<std::string>());
    }
    return members;
}

Result<std::size_t> for_each(store::Store& store, const ListRequest& request,
                             const std::function<void(model::Object&&, json&&)>& visit)
{
    auto selector = model::Selector::parse(request.selector);
    if (!selector) return std::unexpected(selector.error());
    auto tx = store.begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());

    const std::string* tenant = request.tenant.empty() ? nullptr : &request.tenant;
    // With --subtree: the tenants read, sorted (objects come in (tenant, name) order, one scan each).
    std::vector<std::string> scope;
    if (tenant && request.subtree) {
        auto tenants = tenancy::scope_tenants(store, {request.tenant, true});
        if (!tenants) return std::unexpected(tenants.error());
        scope = std::move(*tenants);
    } else if (tenant && request.kind != model::Kind::tenant) {
        auto t = store.get(model::Kind::tenant, "", *tenant);
        if (!t) return std::unexpected(t.error());
        if (!*t) return fail(ErrorKind::not_found, fmt::format("tenant/{} not found", *tenant));
    }
    auto in_scope = [&](const std::string& name) { return std::binary_search(scope.begin(), scope.end(), name); };

    std::optional<tenancy::TenantView> view;
    std::map<std::pair<std::string, std::string>, store::DeviceStatus> statuses;
    if (request.kind == model::Kind::tenant) {
        auto v = tenancy::read_view(store);
        if (!v) return std::unexpected(v.error());
        view = std::move(*v);
    } else if (request.kind == model::Kind::device) {
        for (std::size_t i = 0; i < std::max<std::size_t>(scope.size(), 1); ++i) {
            auto s = store.device_status(scope.empty() ? tenant : &scope[i]);
            if (!s) return std::unexpected(s.error());
            statuses.merge(*s);
        }
    }
    auto status_of = [&](const model::Object& o) -> Result<json> {
        switch (o.resource.kind) {
        case model::Kind::tenant: return view->status(o.resource.name);
        case model::Kind::device: {
            auto it = statuses.find({o.resource.tenant, o.resource.name});
            return device_status_json(it == statuses.end() ? nullptr : &it->second);
        }
        case model::Kind::device_group: {
            auto members = group_members(store, o);
            if (!members) return std::unexpected(members.error());
            return json{{"devices", members->size()}, {"members", *members}};
        }
        case model::Kind::rollout: {
            auto run = store.rollout_run(o.resource.tenant, o.resource.name);
            if (!run) return std::unexpected(run.error());
            if (!*run) return json{{"state", "not started"}};
            auto devices = store.rollout_devices(o.resource.tenant, o.resource.name);
            if (!devices) return std::unexpected(devices.error());
            std::map<std::string, std::size_t> counts;
            for (const auto& d : *devices) ++counts[store::state_name(d.state)];
            // As `rollout status` reports it: queued, waiting or running depend on the clock and
            // on whether a live runner holds the lease, not only on what the last runner stored.
            auto state = rollout::current_state(store, o, *run);
            if (!state) return std::unexpected(state.error());
            json status = {{"state", state->state}, {"targets", devices->size() - counts["skipped"]},
                           {"succeeded", counts["succeeded"]}, {"failed", counts["failed"]},
                           {"skipped", counts["skipped"]}, {"startedAt", (*run)->started_at}};
            if (!state->reason.empty()) status["reason"] = state->reason;
            auto now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
            if (auto holder = rollout::lease_holder(**run, now); !holder.empty()) status["runner"] = holder;
            return status;
        }
        default: return json::object();
        }
    };

    std::size_t count = 0;
    if (!request.names.empty()) {
        std::vector<model::Object> named;
        for (const auto& name : request.names) {
            auto o = request.subtree && tenant && request.kind != model::Kind::tenant
                         ? tenancy::resolve_among(store, request.kind, name, scope)
                         : store.resolve(request.kind, name, request.tenant);
            if (o && request.subtree && request.kind == model::Kind::tenant && !in_scope(o->resource.name))
                o = fail(ErrorKind::not_found, fmt::format("tenant/{} not found in the subtree of tenant/{}", name,
                                                           request.tenant));
            if (!o) return std::unexpected(o.error());
            named.push_back(std::move(*o));
        }
        for (auto& o : named) {
            auto status = status_of(o);
            if (!status) return std::unexpected(status.error());
            if (request.fields && !request.fields->matches(o, *status)) continue;
            visit(std::move(o), std::move(*status));
            ++count;
        }
        return count;
    }
    // A group's status scans its devices from inside this scan: the store allows it (Backend's contract).
    util::Error failure;
    bool failed = false;
    auto each = [&](model::Object&& o) {
        if (failed || !selector->matches(o.resource.labels)) return;
        auto status = status_of(o);
        if (!status) {
            failure = status.error();
            failed = true;
            return;
        }
        if (request.fields && !request.fields->matches(o, *status)) return;
        visit(std::move(o), std::move(*status));
        ++count;
    };
    util::Result<void> scanned;
    if (scope.empty())
        scanned = store.scan(request.kind, tenant, each);
    else if (request.kind == model::Kind::tenant)
        scanned = store.scan(request.kind, nullptr, [&](model::Object&& o) {
            if (in_scope(o.resource.name)) each(std::move(o));
        });
    else
        for (const auto& t : scope)
            if (scanned = store.scan(request.kind, &t, each); !scanned) break;
    if (!scanned) return std::unexpected(scanned.error());
    if (failed) return std::unexpected(failure);
    return count;
}

Result<std::map<std::string, RolloutHealth>> rollout_health(store::Store& store)
{
    auto rollouts = store.list(model::Kind::rollout);
    if (!rollouts) return std::unexpected(rollouts.error());
    std::map<std::string, RolloutHealth> out;
    for (const auto& r : *rollouts) {
        auto& h = out[r.resource.tenant];
        auto run = store.rollout_run(r.resource.tenant, r.resource.name);
        if (!run) return std::unexpected(run.error());
        if (!*run) {
            ++h.not_started;
            continue;
        }
        auto current = rollout::current_state(store, r, *run);
        if (!current) return std::unexpected(current.error());
        const auto& state = current->state;
        if (state == "running") ++h.running;
        else if (state == "queued") ++h.queued;
        else if (state == "waiting") ++h.waiting;
        else if (state == "paused") ++h.paused;
        else if (state == "aborted") ++h.aborted;
        else ++h.completed;
        auto devices = store.rollout_devices(r.resource.tenant, r.resource.name);
        if (!devices) return std::unexpected(devices.error());
        for (const auto& d : *devices) h.failed_devices += d.state == store::DeviceState::failed ? 1 : 0;
    }
    return out;
}

std::string health_text(const RolloutHealth& h)
{
    std::vector<std::string> parts;
    for (auto [n, what] : {std::pair{h.running, "running"}, std::pair{h.queued, "queued"},
                           std::pair{h.waiting, "waiting"}, std::pair{h.paused, "paused"},
                           std::pair{h.aborted, "aborted"}, std::pair{h.completed, "completed"},
                           std::pair{h.not_started, "not started"}})
        if (n) parts.push_back(fmt::format("{} {}", n, what));
    if (parts.empty()) return "-";
    std::string text = fmt::format("{}", fmt::join(parts, ", "));
    if (h.failed_devices) text += fmt::format(" ({} failed device(s))", h.failed_devices);
    return text;
}

} // namespace fleet::query
