#include "core/tenancy/view.hpp"

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

} // namespace fleet::tenancy
