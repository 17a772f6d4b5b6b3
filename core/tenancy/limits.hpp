#pragma once
// Device limits: a tenant's limit holds for the devices of its whole subtree.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/tenancy/hierarchy.hpp"

namespace fleet::tenancy {

/// A proposed change of device counts, to be checked against every tenant's limit.
struct LimitCheck {
    std::map<std::string, std::optional<std::int64_t>> limits;      ///< limits after the change
    std::map<std::string, std::optional<std::int64_t>> old_limits;  ///< limits before the change
    std::map<std::string, std::int64_t> direct;                     ///< devices each tenant owns now
    std::map<std::string, std::int64_t> delta;                      ///< devices added (+) or removed (-) per tenant
};

/// Every limit the change would break, naming the tenant, its limit, its usage and how many more were
/// asked for; empty when all hold. A limit already exceeded before the change and not made worse by it
/// is not reported.
/// visible says which tenants the caller may see: a limit of any other is reported without its name.
std::string limit_violations(const Hierarchy& tree, const LimitCheck& check,
                             const std::function<bool(const std::string&)>& visible);

} // namespace fleet::tenancy
