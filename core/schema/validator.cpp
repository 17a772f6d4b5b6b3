#include "core/schema/validator.hpp"

#include <fmt/format.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <map>

#include "core/schema/embedded.hpp"

namespace fleet::schema {
namespace {

using nlohmann::json;

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// Turns valijson's context ("<root>", "[spec]", "[members]", "[0]") into a JSON pointer of doc.
std::string context_pointer(const std::vector<std::string>& context, const json& doc)
{
    std::string pointer;
    const json* node = &doc;
    for (const auto& part : context) {
        if (part.size() < 2 || part.front() != '[' || part.back() != ']') continue;
        std::string token = part.substr(1, part.size() - 2);
        pointer = resource::pointer_join(pointer, token);
        if (node && node->is_object() && node->contains(token))
            node = &(*node)[token];
        else if (node && node->is_array() && !token.empty() && std::isdigit(static_cast<unsigned char>(token[0])))
            node = std::stoul(token) < node->size() ? &(*node)[std::stoul(token)] : nullptr;
        else
            node = nullptr;
    }
    return pointer;
}

/// valijson reports every failing parent ("Failed to validate against ...") besides the
/// failing field itself; only the innermost cause helps users.
bool is_summary(const std::string& description) { return description.starts_with("Failed to validate"); }

/// Rewrites a valijson message into the terms users see, and finds the exact field for unknown properties.
std::string explain(const std::string& description, std::string& pointer, const json& node)
{
    static const std::string unknown =
        "Object contains a property that could not be validated using 'properties' or 'additionalProperties' constraints: '";
    if (description.starts_with(unknown)) {
        std::string name = description.substr(unknown.size());
        if (!name.empty() && name.back() == '.') name.pop_back();
        if (!name.empty() && name.back() == '\'') name.pop_back();
        bool keyed_map = pointer.ends_with("/labels") || pointer.ends_with("/settings");
        pointer = resource::pointer_join(pointer, name);
        if (keyed_map) return "invalid key \"" + name + "\"";
        return "unknown field \"" + name + "\"";
    }
    static const std::string missing = "Missing required property '";
    if (description.starts_with(missing)) {
        std::string name = description.substr(missing.size());
        if (auto q = name.find('\''); q != std::string::npos) name.resize(q);
        return "required field \"" + name + "\" is missing";
    }
    if (description.starts_with("Value type not permitted by 'type' constraint")) {
        const json* value = nullptr;
        try {
            value = &node.at(json::json_pointer(pointer));
        } catch (const json::exception&) {
        }
        return fmt::format("wrong type{}", value ? std::string(": got ") + value->type_name() : "");
    }
    return description;
}

} // namespace

struct Validator::Impl {
    std::map<model::Kind, std::unique_ptr<valijson::Schema>> schemas;

    const valijson::Schema* schema_for(model::Kind kind)
    {
        if (auto it = schemas.find(kind); it != schemas.end()) return it->second.get();
        auto text = Validator::schema_text(kind);
        if (!text) return nullptr;
        json doc = json::parse(*text);
        auto schema = std::make_unique<valijson::Schema>();
        valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
        valijson::adapters::NlohmannJsonAdapter adapter(doc);
        parser.populateSchema(adapter, *schema);
        return schemas.emplace(kind, std::move(schema)).first->second.get();
    }
};

Validator::Validator() : m_impl(std::make_unique<Impl>()) {}
Validator::~Validator() = default;

std::optional<std::string_view> Validator::schema_text(model::Kind kind)
{
    std::string stem = lower(model::kind_name(kind));
    for (const auto& s : embedded_schemas())
        if (s.stem == stem) return s.text;
    return std::nullopt;
}

std::optional<model::Kind> Validator::validate(const resource::Document& doc, util::Diagnostics& diags)
{
    const json& value = doc.value;
    if (!value.is_object()) {
        diags.error(doc.start(), "", fmt::format("expected a resource (a map with apiVersion and kind), got {}",
                                                 value.type_name()));
        return std::nullopt;
    }
    auto kind_it = value.find("kind");
    if (kind_it == value.end() || !kind_it->is_string()) {
        diags.error(doc.start(), "kind", "required field \"kind\" is missing or not a string");
        return std::nullopt;
    }
    auto kind = model::parse_kind(kind_it->get<std::string>());
    const valijson::Schema* schema = nullptr;
    if (kind && model::kind_name(*kind) == kind_it->get<std::string>()) schema = m_impl->schema_for(*kind);
    if (!schema) {
        std::string known;
        for (const auto& s : embedded_schemas()) {
            auto k = model::parse_kind(s.stem);
            if (!k) continue;
            if (!known.empty()) known += ", ";
            known += model::kind_name(*k);
        }
        diags.error(doc.marks.locate("/kind"), "kind",
                    fmt::format("unknown kind \"{}\" (this version handles: {})", kind_it->get<std::string>(), known));
        return std::nullopt;
    }

    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(value);
    if (validator.validate(*schema, target, &results)) return kind;

    std::size_t before = diags.error_count();
    valijson::ValidationResults::Error error;
    while (results.popError(error)) {
        if (is_summary(error.description)) continue;
        std::string pointer = context_pointer(error.context, value);
        std::string message = explain(error.description, pointer, value);
        diags.error(doc.marks.locate(pointer), resource::field_path(pointer), message);
    }
    if (diags.error_count() == before)
        diags.error(doc.start(), "", "document does not match the " + std::string(model::kind_name(*kind)) + " schema");
    return std::nullopt;
}

} // namespace fleet::schema
