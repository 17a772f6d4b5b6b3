#pragma once
// Label selectors with kubectl's grammar: k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/util/error.hpp"

namespace fleet::model {

/// A parsed label selector; all requirements must hold (comma means AND).
class Selector {
public:
    /// Parses text; an empty selector matches everything.
    static util::Result<Selector> parse(std::string_view text);
    /// True when the labels (a JSON object of strings) satisfy every requirement.
    bool matches(const nlohmann::json& labels) const;
    /// True when the selector has no requirements.
    bool empty() const { return m_requirements.empty(); }

private:
    enum class Op { equals, not_equals, in, not_in, exists, not_exists };
    struct Requirement {
        std::string key;
        Op op;
        std::vector<std::string> values;
    };
    std::vector<Requirement> m_requirements;
};

} // namespace fleet::model
