#include "core/tenancy/view.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace fleet::tenancy {

std::optional<std::int64_t> device_limit(const nlohmann::json& spec)
{
    auto it = spec.find("deviceLimit");
    if (it == spec.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
}

nlohmann::json TenantView::status(const std::string& name) const
{
    nlohmann::json children = nlohmann::json::array();
    for (const auto& c : tree.children(name)) children.push_back(c);
    auto it = usage.find(name);
    return {{"devices", it == usage.end() ? 0 : it->second}, {"children", children}};
}

util::Result<TenantView> read_view(store::Store& store)
{
    auto provider = store.provider();
    if (!provider) return std::unexpected(provider.error());
    auto tenants = store.list(model::Kind::tenant);
    if (!tenants) return std::unexpected(tenants.error());
    auto direct = store.device_counts();
    if (!direct) return std::unexpected(direct.error());
    std::map<std::string, Link> links;
    std::map<std::string, model::Object> by_name;
    for (auto& t : *tenants) {
        links[t.resource.name] = {t.resource.spec.value("parent", ""), {}};
        std::string name = t.resource.name;
        by_name.emplace(std::move(name), std::move(t));
    }
    Hierarchy tree(std::move(links), *provider);
    auto usage = tree.subtree_usage(*direct);
    return TenantView{std::move(by_name), std::move(tree), std::move(usage)};
}

util::Result<std::vector<std::string>> scope_tenants(store::Store& store, const Scope& scope)
{
    auto missing = [&] { return util::fail(util::ErrorKind::not_found, fmt::format("tenant/{} not found", scope.tenant)); };
    if (!scope.subtree) {
        auto t = store.get(model::Kind::tenant, "", scope.tenant);
        if (!t) return std::unexpected(t.error());
        if (!*t) return missing();
        return std::vector<std::string>{scope.tenant};
    }
    auto provider = store.provider();
    if (!provider) return std::unexpected(provider.error());
    auto tenants = store.list(model::Kind::tenant);  // those the caller can see
    if (!tenants) return std::unexpected(tenants.error());
    std::map<std::string, Link> links;
    for (const auto& t : *tenants) links[t.resource.name] = {t.resource.spec.value("parent", ""), {}};
    if (!links.contains(scope.tenant)) return missing();
    Hierarchy tree(links, *provider);
    std::vector<std::string> out;
    for (auto& name : tree.subtree(scope.tenant))
        if (links.contains(name)) out.push_back(std::move(name));
    std::sort(out.begin(), out.end());
    return out;
}

util::Result<model::Object> resolve_among(store::Store& store, model::Kind kind, const std::string& name,
                                          const std::vector<std::string>& tenants)
{
    auto found = store.find_by_name(kind, name);
    if (!found) return std::unexpected(found.error());
    std::erase_if(*found, [&](const model::Object& o) {
        return !std::binary_search(tenants.begin(), tenants.end(), o.resource.tenant);
    });
    auto ref = fmt::format("{}/{}", model::kind_short(kind), name);
    if (found->empty()) return util::fail(util::ErrorKind::not_found, ref + " not found");
    if (found->size() > 1) {
        std::string where;
        for (const auto& o : *found) where += (where.empty() ? "" : ", ") + o.resource.tenant;
        return util::fail(util::ErrorKind::usage,
                          fmt::format("{} exists in tenants {}; pass --tenant without --subtree to choose one", ref,
                                      where));
    }
    return std::move(found->front());
}

} // namespace fleet::tenancy
