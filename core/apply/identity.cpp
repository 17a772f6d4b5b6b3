// One device, one tenant.
//
// A physical device must never be stored twice, in one tenant or in two. Two things tie an input
// device to a stored one in another tenant: its identity (serial number, MAC address), unique across
// the store and checked through the store's identity indexes; and, for a device without identity,
// its source and name: a source that declares hvac-0001 in tenant b, after declaring it in a, moved
// it. `device move --detach` leaves a mark on the device, so that the source it was detached from
// cannot create it again. Every check runs inside the plan's write transaction, so concurrent
// enrollments of one serial into two tenants serialize and the second one sees the first.

#include "core/apply/identity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>

namespace fleet::apply {

using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

/// Several conflicts as one message: the first few, then how many more.
Result<void> conflicts(const std::vector<std::string>& found)
{
    if (found.empty()) return {};
    constexpr std::size_t shown = 3;
    std::string message;
    for (std::size_t i = 0; i < found.size() && i < shown; ++i) message += (i ? "; " : "") + found[i];
    if (found.size() > shown) message += fmt::format(" (and {} more)", found.size() - shown);
    return fail(ErrorKind::conflict, message);
}

std::string where_prefix(const DeviceClaim& c)
{
    auto at = c.where.str();
    return at.empty() ? "" : at + ": ";
}

} // namespace

Result<void> find_moves(store::Store& store, const std::string& source, std::vector<DeviceClaim>& claims,
                        const Declared& declared)
{
    if (source.empty() || std::none_of(claims.begin(), claims.end(), [](const auto& c) { return c.created; }))
        return {};
    auto devices = store.source_devices(source);
    if (!devices) return std::unexpected(devices.error());
    if (devices->empty()) return {};
    std::unordered_multimap<std::string_view, const store::SourceDevice*> by_name;
    for (const auto& d : *devices) by_name.emplace(d.name, &d);
    std::vector<std::string> found;
    std::set<const store::SourceDevice*> moving;  // a stored device moves to one place only
    for (auto& claim : claims) {
        if (!claim.created) continue;
        auto [first, last] = by_name.equal_range(claim.name);
        if (first == last) continue;
        std::string name(claim.name);
        std::vector<const store::SourceDevice*> before;
        // A stored device whose serial or MAC differs from the claim's is another physical device.
        auto differs = [](std::string_view stored, const std::string& claimed) {
            return !stored.empty() && !claimed.empty() && stored != claimed;
        };
        std::string mac = lower(claim.mac);
        for (auto it = first; it != last; ++it) {
            const auto* d = it->second;
            if (d->tenant != claim.tenant && !declared(d->tenant, name) && !moving.contains(d) &&
                !differs(d->serial, std::string(claim.serial)) && !differs(d->mac, mac))
                before.push_back(d);
        }
        if (before.empty()) continue;
        auto ref = fmt::format("{}device/{} in tenant \"{}\"", where_prefix(claim), name, claim.tenant);
        const auto* d = before.front();
        bool seen = store.visible(d->tenant);
        if (before.size() > 1) {
            found.push_back(fmt::format("{}: this source has {} devices of that name in other tenants, so which one "
                                        "moves is unclear; decommission the ones that are not this device",
                                        ref, before.size()));
        } else if (d->detached) {
            found.push_back(fmt::format("{}: this device was taken out of this source by `device move --detach`{}; "
                                        "remove it from the source, or declare it in the tenant it is in now",
                                        ref, seen ? fmt::format(" and is in tenant \"{}\" now", d->tenant) : ""));
        } else if (!seen) {
            found.push_back(fmt::format("{}: this source's device of that name is in a tenant you cannot manage, so "
                                        "you cannot move it",
                                        ref));
        } else {
            claim.moved_from = d->tenant;
            moving.insert(d);
        }
    }
    return conflicts(found);
}

Result<void> check_identities(store::Store& store, const std::vector<DeviceClaim>& claims, const Leaving& leaving,
                              util::Diagnostics& diags)
{
    // Each value ("s" or "m", then the value) to the claim that takes it; a bulk enrollment has one per row.
    std::unordered_map<std::string, const DeviceClaim*> taken;
    taken.reserve(claims.size());
    std::vector<std::string> serials, macs;
    std::size_t errors = diags.error_count();
    std::string key;
    for (const auto& claim : claims) {
        for (bool serial : {true, false}) {
            std::string value = serial ? std::string(claim.serial) : lower(claim.mac);
            if (value.empty()) continue;
            key.assign(serial ? "s" : "m").append(value);
            auto [it, fresh] = taken.emplace(key, &claim);
            if (!fresh) {
                const auto* other = it->second;
                const char* field = serial ? "serial" : "mac";
                diags.error(claim.where, fmt::format("spec.identity.{}", field),
                            fmt::format("device/{} in tenant \"{}\": identity.{} \"{}\" is also given to device/{} in "
                                        "tenant \"{}\" (at {}); one device is in exactly one tenant",
                                        claim.name, claim.tenant, field, serial ? claim.serial : claim.mac, other->name,
                                        other->tenant, other->where.str()));
                continue;
            }
            (serial ? serials : macs).push_back(std::move(value));
        }
    }
    if (diags.error_count() != errors) return fail(ErrorKind::usage, "a device identity is given twice");
    if (serials.empty() && macs.empty()) return {};
    auto holders = store.identity_holders(serials, macs);
    if (!holders) return std::unexpected(holders.error());
    std::vector<std::string> found;
    for (const auto& h : *holders) {
        bool serial = h.field == "serial";
        const DeviceClaim* claim = taken.at((serial ? "s" : "m") + h.value);
        if (h.tenant == claim->tenant && h.name == claim->name) continue;     // itself
        if (h.name == claim->name && h.tenant == claim->moved_from) continue;  // itself, moving
        if (leaving(h.tenant, h.name)) continue;                               // pruned
        // A holder that the plan changes or moves holds what its own claim says from now on: if that
        // were this value, the two claims would have collided above.
        if (std::any_of(claims.begin(), claims.end(), [&](const DeviceClaim& c) {
                return c.name == h.name && (c.tenant == h.tenant || c.moved_from == h.tenant);
            }))
            continue;
        std::string holder = store.visible(h.tenant) ? fmt::format("device/{} in tenant \"{}\"", h.name, h.tenant)
                                                     : std::string("a device in another tenant");
        found.push_back(fmt::format("{}device/{} in tenant \"{}\": identity.{} \"{}\" belongs to {}; a device is in "
                                    "exactly one tenant: move that one instead",
                                    where_prefix(*claim), claim->name, claim->tenant, h.field,
                                    serial ? claim->serial : claim->mac, holder));
    }
    return conflicts(found);
}

} // namespace fleet::apply
