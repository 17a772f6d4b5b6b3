#pragma once
// kubectl's --field-selector over what `get -o json` shows of an object: `FIELD=VALUE`,
// `FIELD==VALUE` and `FIELD!=VALUE`, joined by commas (every one must hold). FIELD is
// metadata.name, metadata.tenant, metadata.labels.KEY (also annotations), a spec field the kind's
// schema declares (spec.deviceType, spec.ssh.host) or any status field (status.reachable). A field
// the object lacks reads as empty: `status.reachable=false` skips devices never checked, and
// `status.reportedVersion!=2.1.0` keeps them.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/model/object.hpp"
#include "core/util/error.hpp"

namespace fleet::query {

class FieldSelector {
public:
    /// Parses text for objects of kind; a spec field the schema lacks is a usage error naming it.
    static util::Result<FieldSelector> parse(std::string_view text, model::Kind kind);

    /// True when the object (with the status fleetadm computes for it) satisfies every term.
    bool matches(const model::Object& object, const nlohmann::json& status) const;
    bool empty() const { return m_terms.empty(); }

private:
    struct Term {
        std::vector<std::string> path;  ///< {"spec", "ssh", "host"}
        bool equal = true;
        std::string value;
    };
    std::vector<Term> m_terms;
};

} // namespace fleet::query
