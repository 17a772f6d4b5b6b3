#include "core/apply/device_ops.hpp"

#include "core/apply/in_use.hpp"

#include <fmt/format.h>

#include <set>

#include "core/tenancy/limits.hpp"
#include "core/tenancy/view.hpp"

namespace fleet::apply {

using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

Result<std::vector<model::Object>> resolve_all(store::Store& store, const DeviceSelection& selection)
{
    std::vector<model::Object> devices;
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& name : selection.names) {
        auto device = store.resolve(model::Kind::device, name, selection.tenant);
        if (!device) return std::unexpected(device.error());
        if (seen.insert({device->resource.tenant, name}).second) devices.push_back(std::move(*device));
    }
    return devices;
}

} // namespace

Result<std::vector<std::string>> move_devices(store::Store& store, const DeviceSelection& selection,
                                              const std::string& to)
{
    auto tx = store.begin(selection.dry_run ? store::TxMode::read : store::TxMode::write);
    if (!tx) return std::unexpected(tx.error());
    auto view = tenancy::read_view(store);
    if (!view) return std::unexpected(view.error());
    if (!view->tenants.contains(to)) return fail(ErrorKind::not_found, fmt::format("tenant/{} not found", to));
    auto devices = resolve_all(store, selection);
    if (!devices) return std::unexpected(devices.error());

    auto all = store.tenant_structure();
    if (!all) return std::unexpected(all.error());
    tenancy::LimitCheck check;
    std::map<std::string, tenancy::Link> links;
    for (const auto& t : *all) {
        links[t.resource.name] = {t.resource.spec.value("parent", ""), {}};
        check.limits[t.resource.name] = check.old_limits[t.resource.name] = tenancy::device_limit(t.resource.spec);
    }
    tenancy::Hierarchy tree(std::move(links), view->tree.provider());
    auto direct = store.device_counts();
    if (!direct) return std::unexpected(direct.error());
    check.direct = *direct;
    std::vector<std::string> lines;
    for (const auto& d : *devices) {
        const auto& r = d.resource;
        if (r.tenant == to) continue;
        if (!d.origin.source.empty() && !selection.detach)
            return fail(ErrorKind::conflict,
                        fmt::format("{} in tenant \"{}\" is applied from source \"{}\", whose next apply would create "
                                    "it there again: change its metadata.tenant in the source and apply, or pass "
                                    "--detach to take it out of the source",
                                    r.ref(), r.tenant, d.origin.source));
        auto clash = store.get(model::Kind::device, to, r.name);
        if (!clash) return std::unexpected(clash.error());
        if (*clash)
            return fail(ErrorKind::conflict, fmt::format("tenant \"{}\" already has a device named \"{}\"", to, r.name));
        for (const auto& ref : credential_references(r.spec)) {
            const auto& credential = ref.name;
            auto found = store.get(model::Kind::credential, to, credential);
            if (!found) return std::unexpected(found.error());
            if (!*found)
                return fail(ErrorKind::conflict,
                            fmt::format("{} uses credential \"{}\", which tenant \"{}\" does not have; a device is "
                                        "only reached with its own tenant's credentials: create it there first",
                                        r.ref(), credential, to));
        }
        --check.delta[r.tenant];
        ++check.delta[to];
        lines.push_back(fmt::format("{} moved from {} to {}{}", r.ref(), r.tenant, to,
                                    d.origin.source.empty() ? "" : " (detached from its source)"));
    }
    if (auto over = tenancy::limit_violations(tree, check, [&](const std::string& t) { return store.visible(t); });
        !over.empty())
        return fail(ErrorKind::conflict, over);
    if (selection.dry_run) return lines;
    for (const auto& d : *devices)
        if (d.resource.tenant != to)
            if (auto r = store.move_device(d, to, selection.detach); !r) return std::unexpected(r.error());
    if (auto r = tx->commit(); !r) return std::unexpected(r.error());
    return lines;
}

Result<std::vector<std::string>> decommission_devices(store::Store& store, const DeviceSelection& selection)
{
    auto tx = store.begin(selection.dry_run ? store::TxMode::read : store::TxMode::write);
    if (!tx) return std::unexpected(tx.error());
    auto devices = resolve_all(store, selection);
    if (!devices) return std::unexpected(devices.error());
    std::vector<std::string> lines;
    for (const auto& d : *devices) {
        if (!selection.dry_run)
            if (auto r = store.remove(d, "decommissioned"); !r) return std::unexpected(r.error());
        lines.push_back(fmt::format("{} decommissioned from {}", d.resource.ref(), d.resource.tenant));
    }
    if (!selection.dry_run)
        if (auto r = tx->commit(); !r) return std::unexpected(r.error());
    return lines;
}

} // namespace fleet::apply
