#include "core/apply/diff.hpp"

namespace fleet::apply {

using nlohmann::json;

namespace {

std::string join(const std::string& prefix, const std::string& key)
{
    return prefix.empty() ? key : prefix + "." + key;
}

} // namespace

void diff_json(const json& before, const json& after, const std::string& prefix, std::vector<FieldChange>& out)
{
    if (before == after) return;
    if (before.is_object() && after.is_object()) {
        for (const auto& [key, value] : before.items()) {
            auto it = after.find(key);
            if (it == after.end())
                out.push_back({join(prefix, key), value, std::nullopt});
            else
                diff_json(value, *it, join(prefix, key), out);
        }
        for (const auto& [key, value] : after.items())
            if (!before.contains(key)) out.push_back({join(prefix, key), std::nullopt, value});
        return;
    }
    if (before.is_array() && after.is_array() && before.size() == after.size()) {
        for (std::size_t i = 0; i < before.size(); ++i)
            diff_json(before[i], after[i], prefix + "[" + std::to_string(i) + "]", out);
        return;
    }
    out.push_back({prefix, before, after});
}

} // namespace fleet::apply
