#include "core/schema/validator.hpp"

// GCC 12 at -O2 reports false -Wstringop-overflow and -Wrestrict warnings inside valijson's json_pointer helpers
// (a std::string::replace it cannot bound); the code is the library's, not ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

#include <fmt/format.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include <map>

#include "core/schema/embedded.hpp"
#include "core/schema/length_guard.hpp"

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

/// The schema node that governs the value at pointer, following properties, items and local $refs.
const json* schema_at(const json& root, std::string_view pointer)
{
    const json* node = &root;
    auto deref = [&](const json* n) {
        for (int hops = 0; n && n->is_object() && n->contains("$ref") && hops < 8; ++hops) {
            auto ref = (*n)["$ref"].get<std::string>();
            if (!ref.starts_with("#")) return static_cast<const json*>(nullptr);
            try {
                n = &root.at(json::json_pointer(ref.substr(1)));
            } catch (const json::exception&) {
                return static_cast<const json*>(nullptr);
            }
        }
        return n;
    };
    node = deref(node);
    std::size_t pos = 0;
    while (node && pos < pointer.size()) {
        std::size_t next = pointer.find('/', pos + 1);
        std::string token(pointer.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1));
        if (node->contains("properties") && (*node)["properties"].contains(token))
            node = &(*node)["properties"][token];
        else if (node->contains("items") && !token.empty() && std::isdigit(static_cast<unsigned char>(token[0])))
            node = &(*node)["items"];
        else if (node->contains("patternProperties") && !(*node)["patternProperties"].empty())
            node = &(*node)["patternProperties"].begin().value();
        else if (node->contains("additionalProperties") && (*node)["additionalProperties"].is_object())
            node = &(*node)["additionalProperties"];
        else
            return nullptr;
        node = deref(node);
        if (next == std::string_view::npos) break;
        pos = next;
    }
    return node;
}

std::string type_list(const json& type)
{
    if (type.is_string()) return type.get<std::string>();
    std::string out;
    for (const auto& t : type) out += (out.empty() ? "" : " or ") + t.get<std::string>();
    return out;
}

/// Rewrites a valijson message into the terms users see, using the schema for what was expected.
std::string explain(const std::string& description, std::string& pointer, const json& doc, const json& schema)
{
    static const std::string unknown =
        "Object contains a property that could not be validated using 'properties' or 'additionalProperties' constraints: '";
    if (description.starts_with(unknown)) {
        std::string name = description.substr(unknown.size());
        if (!name.empty() && name.back() == '.') name.pop_back();
        if (!name.empty() && name.back() == '\'') name.pop_back();
        pointer = resource::pointer_join(pointer, name);
        return "unknown field \"" + name + "\"";
    }
    static const std::string missing = "Missing required property '";
    if (description.starts_with(missing)) {
        std::string name = description.substr(missing.size());
        if (auto q = name.find('\''); q != std::string::npos) name.resize(q);
        return "required field \"" + name + "\" is missing";
    }
    const json* value = nullptr;
    try {
        value = &doc.at(json::json_pointer(pointer));
    } catch (const json::exception&) {
    }
    const json* rule = schema_at(schema, pointer);
    std::string got = value ? value->dump() : "the value";
    if (description.starts_with("Value type not permitted by 'type' constraint") && value) {
        std::string actual = value->is_number_integer() ? "integer" : value->is_number() ? "number" : value->type_name();
        if (rule && rule->contains("type"))
            return fmt::format("expected {}, got {} {}", type_list((*rule)["type"]), actual, got);
        return fmt::format("wrong type: got {} {}", actual, got);
    }
    if (rule && rule->contains("enum") && description.find("enum") != std::string::npos) {
        std::string allowed;
        for (const auto& v : (*rule)["enum"]) allowed += (allowed.empty() ? "" : ", ") + v.get<std::string>();
        return fmt::format("{} is not one of: {}", got, allowed);
    }
    if (rule && rule->contains("const") && description.find("const") != std::string::npos)
        return fmt::format("must be {}, got {}", (*rule)["const"].dump(), got);
    if (rule && rule->contains("pattern") && description.find("regex") != std::string::npos) {
        if (rule->value("title", "") == "Name")
            return fmt::format("invalid name {}: use lower-case letters, digits and '-', at most 63 characters, "
                               "starting and ending with a letter or digit",
                               got);
        if (rule->value("title", "") == "Versioned name")
            return fmt::format("invalid name {}: use lower-case letters, digits, '-' and '.', at most 253 characters, "
                               "each part between dots starting and ending with a letter or digit",
                               got);
        return fmt::format("{} does not match the pattern {}", got, (*rule)["pattern"].get<std::string>());
    }
    if (rule && rule->contains("minimum") && description.find("greater") != std::string::npos)
        return fmt::format("must be at least {}, got {}", (*rule)["minimum"].dump(), got);
    if (rule && rule->contains("maxLength") && description.find("characters") != std::string::npos)
        return fmt::format("must be at most {} characters long", (*rule)["maxLength"].dump());
    return description;
}

} // namespace

struct Validator::Impl {
    struct Compiled {
        json text;
        valijson::Schema schema;
    };
    std::map<model::Kind, std::unique_ptr<Compiled>> schemas;
    valijson::Validator validator;  // kept: it caches compiled regular expressions across documents

    const Compiled* schema_for(model::Kind kind)
    {
        if (auto it = schemas.find(kind); it != schemas.end()) return it->second.get();
        auto text = Validator::schema_text(kind);
        if (!text) return nullptr;
        auto compiled = std::make_unique<Compiled>();
        compiled->text = json::parse(*text);
        valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
        valijson::adapters::NlohmannJsonAdapter adapter(compiled->text);
        parser.populateSchema(adapter, compiled->schema);
        return schemas.emplace(kind, std::move(compiled)).first->second.get();
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
    const Impl::Compiled* schema = nullptr;
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

    // valijson matches patterns with std::regex, whose recursion grows with the string: a string too
    // long for its pattern is reported here, and valijson sees a copy in which it is empty (a key:
    // absent), its own findings about those places dropped.
    auto long_strings = check_pattern_lengths(schema->text, doc, diags);
    json trimmed;
    if (!long_strings.empty()) {
        trimmed = value;
        for (const auto& s : long_strings) {
            json::json_pointer at(s.pointer);
            if (s.key)
                trimmed.at(at.parent_pointer()).erase(at.back());
            else
                trimmed.at(at) = "";
        }
    }
    const json& checked = long_strings.empty() ? value : trimmed;
    auto replaced = [&](const std::string& pointer) {
        for (const auto& s : long_strings)
            if (pointer == s.pointer || pointer.starts_with(s.pointer + "/")) return true;
        return false;
    };

    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(checked);
    if (m_impl->validator.validate(schema->schema, target, &results) && long_strings.empty()) return kind;

    std::size_t before = diags.error_count();
    valijson::ValidationResults::Error error;
    while (results.popError(error)) {
        if (is_summary(error.description)) continue;
        std::string pointer = context_pointer(error.context, checked);
        std::string message = explain(error.description, pointer, checked, schema->text);
        if (replaced(pointer)) continue;
        diags.error(doc.marks.locate(pointer), resource::field_path(pointer), message);
    }
    if (!long_strings.empty()) return std::nullopt;
    if (diags.error_count() == before)
        diags.error(doc.start(), "", "document does not match the " + std::string(model::kind_name(*kind)) + " schema");
    return std::nullopt;
}

} // namespace fleet::schema
