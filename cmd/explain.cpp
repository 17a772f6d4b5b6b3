// fleetadm explain KIND[.FIELD...]: the documentation of a kind's fields, from its JSON Schema.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "core/schema/fields.hpp"

namespace fleet::cli {

namespace {

struct ExplainOptions {
    std::string path;
    bool recursive = false;
};

/// The schema's constraints a user must meet, in one line: allowed values, pattern, bounds.
std::string constraints(const nlohmann::json& s)
{
    std::vector<std::string> parts;
    if (s.contains("enum")) {
        std::string values;
        for (const auto& v : s["enum"]) values += (values.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
        parts.push_back("Allowed values: " + values);
    }
    if (s.contains("pattern")) parts.push_back("Pattern: " + s["pattern"].get<std::string>());
    if (s.contains("minimum")) parts.push_back("Minimum: " + s["minimum"].dump());
    if (s.contains("maximum")) parts.push_back("Maximum: " + s["maximum"].dump());
    if (s.contains("maxLength")) parts.push_back("At most " + s["maxLength"].dump() + " characters");
    if (s.contains("maxItems")) parts.push_back("At most " + s["maxItems"].dump() + " items");
    if (s.contains("default")) parts.push_back("Default: " + s["default"].dump());
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
    return out;
}

/// Indents every line of text by indent spaces.
std::string indented(const std::string& text, std::size_t indent)
{
    std::string out, pad(indent, ' ');
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto nl = text.find('\n', pos);
        out += pad + text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos) + "\n";
        if (nl == std::string::npos) break;
        pos = nl + 1;
    }
    return out;
}

void print_fields(std::ostream& out, model::Kind kind, const nlohmann::json& schema, std::size_t indent, bool recursive,
                  int depth)
{
    for (const auto& f : schema::fields_of(kind, schema)) {
        out << std::string(indent, ' ') << f.name << "\t<" << schema::type_text(kind, f.schema) << ">"
            << (f.required ? " -required-" : "") << "\n";
        if (recursive) {
            if (depth < 8) print_fields(out, kind, f.schema, indent + 2, recursive, depth + 1);
            continue;
        }
        std::string about = f.schema.value("description", "");
        if (auto c = constraints(f.schema); !c.empty()) about += (about.empty() ? "" : "\n") + c;
        if (!about.empty()) out << indented(about, indent + 2);
        out << "\n";
    }
}

Outcome run_explain(const ExplainOptions& opts, const Globals& g)
{
    auto dot = opts.path.find('.');
    auto kind = kind_argument(opts.path.substr(0, dot));
    if (!kind) return std::unexpected(kind.error());
    auto path = dot == std::string::npos ? std::vector<std::string>{} : schema::split_field_path(opts.path.substr(dot + 1));
    auto schema = schema::field_schema(*kind, path);
    if (!schema) return std::unexpected(schema.error());
    if (g.format() == Format::json) {
        nlohmann::json out = {{"kind", model::kind_name(*kind)}, {"apiVersion", "fleetadm/v1"},
                              {"field", opts.path.substr(dot == std::string::npos ? opts.path.size() : dot + 1)},
                              {"type", schema::type_text(*kind, *schema)},
                              {"description", schema->value("description", "")}};
        if (auto c = constraints(*schema); !c.empty()) out["constraints"] = c;
        auto fields = nlohmann::json::array();
        for (const auto& f : schema::fields_of(*kind, *schema))
            fields.push_back({{"name", f.name}, {"type", schema::type_text(*kind, f.schema)}, {"required", f.required},
                              {"description", f.schema.value("description", "")}});
        out["fields"] = std::move(fields);
        std::cout << out.dump(2) << "\n";
        return util::exit_ok;
    }
    std::ostream& out = std::cout;
    out << "KIND:     " << model::kind_name(*kind) << "\n";
    out << "VERSION:  fleetadm/v1\n\n";
    if (!path.empty()) out << "FIELD:    " << path.back() << " <" << schema::type_text(*kind, *schema) << ">\n\n";
    out << "DESCRIPTION:\n";
    std::string about = schema->value("description", "");
    if (auto c = constraints(*schema); !c.empty()) about += (about.empty() ? "" : "\n") + c;
    out << indented(about.empty() ? "<empty>" : about, 4);
    if (!schema::fields_of(*kind, *schema).empty()) {
        out << "\nFIELDS:\n";
        print_fields(out, *kind, *schema, 2, opts.recursive, 0);
    }
    return util::exit_ok;
}

} // namespace

void setup_explain(Context& ctx)
{
    auto opts = std::make_shared<ExplainOptions>();
    auto* cmd = ctx.root.add_subcommand("explain", "Document a kind or one of its fields, e.g. explain device.spec.ssh");
    cmd->add_option("field", opts->path, "KIND or KIND.FIELD.FIELD... (arrays and maps are stepped through)")
        ->required()
        ->type_name("KIND[.FIELD...]");
    cmd->add_flag("--recursive", opts->recursive, "List every nested field's name and type, without descriptions");
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_explain(*opts, g); }; });
}

} // namespace fleet::cli
