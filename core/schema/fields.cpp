#include "core/schema/fields.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/schema/validator.hpp"

namespace fleet::schema {

using nlohmann::json;
using util::ErrorKind;
using util::fail;

namespace {

const json& root_of(model::Kind kind)
{
    static std::map<model::Kind, json> roots;
    auto it = roots.find(kind);
    if (it != roots.end()) return it->second;
    auto text = Validator::schema_text(kind);
    return roots.emplace(kind, text ? json::parse(*text) : json::object()).first->second;
}

/// node with its $ref (a local "#/definitions/x") replaced by the definition; the node's own
/// keywords (a description, mostly) win over the definition's.
json resolved(const json& root, const json& node)
{
    if (!node.is_object() || !node.contains("$ref")) return node;
    const auto& ref = node["$ref"].get_ref<const std::string&>();
    const std::string prefix = "#/definitions/";
    json out = json::object();
    if (ref.starts_with(prefix) && root.contains("definitions"))
        if (auto it = root["definitions"].find(ref.substr(prefix.size())); it != root["definitions"].end())
            out = resolved(root, *it);
    for (const auto& [k, v] : node.items())
        if (k != "$ref") out[k] = v;
    return out;
}

/// An array's items, until the node is no array.
json element_of(const json& root, json node)
{
    for (int depth = 0; depth < 8 && node.value("type", json()) == "array" && node.contains("items"); ++depth)
        node = resolved(root, node["items"]);
    return node;
}

} // namespace

std::vector<std::string> split_field_path(std::string_view path)
{
    std::vector<std::string> out{""};
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '\\' && i + 1 < path.size() && path[i + 1] == '.') out.back() += '.', ++i;
        else if (path[i] == '.') out.emplace_back();
        else out.back() += path[i];
    }
    if (out.size() == 1 && out[0].empty()) return {};
    return out;
}

std::vector<Field> fields_of(model::Kind kind, const json& schema)
{
    const json& root = root_of(kind);
    json node = element_of(root, resolved(root, schema));
    std::vector<Field> out;
    auto add_from = [&](const json& n) {
        if (!n.is_object() || !n.contains("properties")) return;
        std::vector<std::string> required;
        for (const auto& r : n.value("required", json::array())) required.push_back(r.get<std::string>());
        for (const auto& [name, field] : n["properties"].items()) {
            if (std::any_of(out.begin(), out.end(), [&](const Field& f) { return f.name == name; })) continue;
            bool req = std::find(required.begin(), required.end(), name) != required.end();
            out.push_back(Field{name, resolved(root, field), req});
        }
    };
    add_from(node);
    for (const char* choice : {"oneOf", "anyOf"})
        for (const auto& alternative : node.value(choice, json::array())) add_from(resolved(root, alternative));
    return out;
}

std::string type_text(model::Kind kind, const json& schema)
{
    const json& root = root_of(kind);
    json node = resolved(root, schema);
    if (node.contains("const")) return node["const"].is_string() ? "string" : node["const"].type_name();
    auto type = node.value("type", json());
    if (type.is_string()) {
        const auto& t = type.get_ref<const std::string&>();
        if (t == "array") return "[]" + (node.contains("items") ? type_text(kind, node["items"]) : std::string("any"));
        if (t == "object" && !node.contains("properties") && node.value("additionalProperties", json()).is_object())
            return "map[string]" + type_text(kind, node["additionalProperties"]);
        return t;
    }
    if (type.is_array()) {
        std::string out;
        for (const auto& t : type) out += (out.empty() ? "" : " | ") + t.get<std::string>();
        return out;
    }
    for (const char* choice : {"oneOf", "anyOf"})
        if (node.contains(choice)) {
            std::string out;
            for (const auto& alternative : node[choice]) {
                auto t = type_text(kind, alternative);
                if (t == "any" || out.find(t) != std::string::npos) continue;
                out += (out.empty() ? "" : " | ") + t;
            }
            if (!out.empty()) return out;
        }
    if (node.contains("enum") && !node["enum"].empty()) return node["enum"][0].is_string() ? "string" : "any";
    if (node.contains("properties")) return "object";
    return "any";
}

util::Result<json> field_schema(model::Kind kind, const std::vector<std::string>& path)
{
    const json& root = root_of(kind);
    json node = root;
    std::string walked;
    for (const auto& segment : path) {
        node = element_of(root, resolved(root, node));
        auto fields = fields_of(kind, node);
        auto it = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == segment; });
        if (it != fields.end()) {
            node = it->schema;
        } else if (node.value("additionalProperties", json()).is_object()) {
            node = resolved(root, node["additionalProperties"]);  // a map's value: labels.env
        } else {
            std::string known;
            for (const auto& f : fields) known += (known.empty() ? "" : ", ") + f.name;
            std::string where = walked.empty() ? std::string(model::kind_name(kind)) : walked;
            if (known.empty())
                return fail(ErrorKind::usage, fmt::format("{} has no field \"{}\" ({} has no fields)", where, segment, where));
            return fail(ErrorKind::usage, fmt::format("{} has no field \"{}\" (its fields: {})", where, segment, known));
        }
        walked += (walked.empty() ? std::string(model::kind_name(kind)) : std::string()) + "." + segment;
    }
    return resolved(root, node);
}

} // namespace fleet::schema
