#include "core/query/field_selector.hpp"

#include <fmt/format.h>

#include "core/schema/fields.hpp"

namespace fleet::query {

using nlohmann::json;
using util::ErrorKind;
using util::fail;

namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

/// A value as a field selector compares it: strings as they are, true/false, numbers in JSON.
std::string text_of(const json* v)
{
    if (!v || v->is_null()) return "";
    if (v->is_string()) return v->get<std::string>();
    return v->dump();
}

const json* lookup(const json& root, const std::vector<std::string>& path, std::size_t from)
{
    const json* at = &root;
    for (std::size_t i = from; i < path.size(); ++i) {
        if (!at->is_object()) return nullptr;
        auto it = at->find(path[i]);
        if (it == at->end()) return nullptr;
        at = &*it;
    }
    return at;
}

} // namespace

util::Result<FieldSelector> FieldSelector::parse(std::string_view text, model::Kind kind)
{
    FieldSelector out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t comma = text.find(',', pos);
        std::string_view term_text = trim(text.substr(pos, comma == std::string_view::npos ? text.size() - pos : comma - pos));
        pos = comma == std::string_view::npos ? text.size() : comma + 1;
        if (term_text.empty()) continue;
        Term term;
        std::size_t op = term_text.find_first_of("!=");
        if (op == std::string_view::npos || op == 0)
            return fail(ErrorKind::usage, fmt::format("--field-selector: \"{}\" is not FIELD=VALUE, FIELD==VALUE or "
                                                      "FIELD!=VALUE",
                                                      term_text));
        std::string_view key = trim(term_text.substr(0, op));
        std::string_view rest = term_text.substr(op);
        if (rest.starts_with("!=")) term.equal = false, rest.remove_prefix(2);
        else if (rest.starts_with("==")) rest.remove_prefix(2);
        else if (rest.starts_with("=")) rest.remove_prefix(1);
        else
            return fail(ErrorKind::usage, fmt::format("--field-selector: \"{}\": '!' must be followed by '='", term_text));
        term.value = std::string(trim(rest));
        term.path = schema::split_field_path(key);
        const auto& head = term.path.empty() ? std::string() : term.path[0];
        bool known = false;
        if (head == "spec" && term.path.size() > 1) {
            auto field = schema::field_schema(kind, term.path);
            if (!field) return fail(ErrorKind::usage, "--field-selector: " + field.error().message);
            known = true;
        } else if (head == "status" && term.path.size() > 1) {
            known = true;  // status fields are fleetadm's own, shown by `get -o json`
        } else if (head == "metadata" && term.path.size() == 2) {
            known = term.path[1] == "name" || term.path[1] == "tenant" || term.path[1] == "generation" ||
                    term.path[1] == "creationTimestamp" || term.path[1] == "updateTimestamp";
        } else if (head == "metadata" && term.path.size() == 3) {
            known = term.path[1] == "labels" || term.path[1] == "annotations";
        }
        if (!known)
            return fail(ErrorKind::usage,
                        fmt::format("--field-selector: \"{}\" is not a field of {} (use metadata.name, metadata.tenant, "
                                    "metadata.labels.KEY, spec.FIELD or status.FIELD as `get -o json` shows them)",
                                    key, model::kind_name(kind)));
        out.m_terms.push_back(std::move(term));
    }
    return out;
}

bool FieldSelector::matches(const model::Object& object, const json& status) const
{
    const auto& r = object.resource;
    for (const auto& term : m_terms) {
        std::string value;
        const auto& head = term.path[0];
        if (head == "spec") value = text_of(lookup(r.spec, term.path, 1));
        else if (head == "status") value = text_of(lookup(status, term.path, 1));
        else if (term.path[1] == "name") value = r.name;
        else if (term.path[1] == "tenant") value = r.kind == model::Kind::tenant ? "" : r.tenant;
        else if (term.path[1] == "generation") value = object.generation > 0 ? std::to_string(object.generation) : "";
        else if (term.path[1] == "creationTimestamp") value = object.created_at;
        else if (term.path[1] == "updateTimestamp") value = object.updated_at;
        else if (term.path[1] == "labels") value = text_of(lookup(r.labels, term.path, 2));
        else if (term.path[1] == "annotations") value = text_of(lookup(r.annotations, term.path, 2));
        if ((value == term.value) != term.equal) return false;
    }
    return true;
}

} // namespace fleet::query
