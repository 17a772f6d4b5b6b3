// Walks a document beside its schema the way valijson does, but without matching anything: every
// subschema that may apply to a value (through properties, patternProperties, additionalProperties,
// items, local $refs and the allOf/anyOf/oneOf/if/then/else/not branches) is gathered, and a string
// governed by any pattern is measured against the smallest bound among them. Where valijson would
// pick a subschema by matching (patternProperties, additionalProperties), all candidates are taken:
// stricter, never looser.

#include "core/schema/length_guard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace fleet::schema {
namespace {

using nlohmann::json;
using Schemas = std::vector<const json*>;

std::size_t characters(std::string_view s)
{
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

class Guard {
public:
    Guard(const json& root, const resource::Document& doc, util::Diagnostics& diags)
        : m_root(root), m_doc(doc), m_diags(diags)
    {
    }

    std::vector<LongString> run()
    {
        Schemas top;
        expand(&m_root, top, 0);
        walk(m_doc.value, "", top);
        return std::move(m_found);
    }

private:
    const json* deref(const json* node) const
    {
        for (int hops = 0; node && node->is_object() && node->contains("$ref") && hops < 8; ++hops) {
            const json& ref = (*node)["$ref"];
            if (!ref.is_string() || !ref.get_ref<const std::string&>().starts_with("#")) return nullptr;
            try {
                node = &m_root.at(json::json_pointer(ref.get<std::string>().substr(1)));
            } catch (const json::exception&) {
                return nullptr;
            }
        }
        return node;
    }

    /// Adds node and every subschema that applies to the same value with it.
    void expand(const json* node, Schemas& out, int depth) const
    {
        node = deref(node);
        if (!node || !node->is_object() || depth > 16) return;
        out.push_back(node);
        for (const char* list : {"allOf", "anyOf", "oneOf"})
            if (auto it = node->find(list); it != node->end() && it->is_array())
                for (const auto& branch : *it) expand(&branch, out, depth + 1);
        for (const char* single : {"if", "then", "else", "not"})
            if (auto it = node->find(single); it != node->end()) expand(&*it, out, depth + 1);
    }

    /// The bound a patterned schema sets: its maxLength, never above max_pattern_length.
    static std::size_t bound_of(const json& node)
    {
        std::size_t bound = max_pattern_length;
        if (auto it = node.find("maxLength"); it != node.end() && it->is_number_unsigned())
            bound = std::min(bound, it->get<std::size_t>());
        return bound;
    }

    /// The smallest bound among the schemas that match a string against a pattern (or a format).
    static std::optional<std::size_t> string_bound(const Schemas& schemas)
    {
        std::optional<std::size_t> bound;
        for (const json* s : schemas)
            if (s->contains("pattern") || s->contains("format")) bound = std::min(bound.value_or(SIZE_MAX), bound_of(*s));
        return bound;
    }

    /// The smallest bound among the schemas that match an object's keys against a pattern.
    static std::optional<std::size_t> key_bound(const Schemas& schemas)
    {
        std::optional<std::size_t> bound;
        for (const json* s : schemas) {
            if (auto it = s->find("patternProperties"); it != s->end() && it->is_object() && !it->empty())
                bound = std::min(bound.value_or(SIZE_MAX), max_pattern_length);
            if (auto it = s->find("propertyNames"); it != s->end() && it->is_object()) {
                auto key_bound = string_bound({&*it});
                if (key_bound) bound = std::min(bound.value_or(SIZE_MAX), *key_bound);
            }
        }
        return bound;
    }

    void report(const std::string& pointer, std::size_t bound, bool key)
    {
        m_found.push_back({pointer, key});
        m_diags.error(m_doc.marks.locate(pointer), resource::field_path(pointer),
                      fmt::format("longer than {} characters", bound));
    }

    void walk(const json& value, const std::string& pointer, const Schemas& schemas)
    {
        if (schemas.empty()) return;  // nothing governs this value: no pattern will see it
        if (value.is_string()) {
            if (auto bound = string_bound(schemas); bound && characters(value.get_ref<const std::string&>()) > *bound)
                report(pointer, *bound, false);
            return;
        }
        if (value.is_object()) {
            auto keys = key_bound(schemas);
            for (const auto& [key, child] : value.items()) {
                std::string child_pointer = resource::pointer_join(pointer, key);
                if (keys && characters(key) > *keys) {
                    report(child_pointer, *keys, true);
                    continue;
                }
                Schemas under;
                for (const json* s : schemas) {
                    auto props = s->find("properties");
                    if (props != s->end() && props->is_object() && props->contains(key)) {
                        expand(&(*props)[key], under, 0);
                        continue;
                    }
                    if (auto it = s->find("patternProperties"); it != s->end() && it->is_object())
                        for (const auto& sub : *it) expand(&sub, under, 0);
                    if (auto it = s->find("additionalProperties"); it != s->end() && it->is_object())
                        expand(&*it, under, 0);
                }
                walk(child, child_pointer, under);
            }
            return;
        }
        if (value.is_array()) {
            for (std::size_t i = 0; i < value.size(); ++i) {
                Schemas under;
                for (const json* s : schemas) {
                    auto items = s->find("items");
                    if (items != s->end() && items->is_object()) expand(&*items, under, 0);
                    if (items != s->end() && items->is_array()) {
                        if (i < items->size()) expand(&(*items)[i], under, 0);
                        else if (auto more = s->find("additionalItems"); more != s->end()) expand(&*more, under, 0);
                    }
                    if (auto it = s->find("contains"); it != s->end()) expand(&*it, under, 0);
                }
                walk(value[i], resource::pointer_join(pointer, std::to_string(i)), under);
            }
        }
    }

    const json& m_root;
    const resource::Document& m_doc;
    util::Diagnostics& m_diags;
    std::vector<LongString> m_found;
};

} // namespace

std::vector<LongString> check_pattern_lengths(const nlohmann::json& schema, const resource::Document& doc,
                                              util::Diagnostics& diags)
{
    return Guard(schema, doc, diags).run();
}

} // namespace fleet::schema
