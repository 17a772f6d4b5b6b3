#include "cmd/cli_model.hpp"

#include <algorithm>
#include <cctype>

#include "cmd/common.hpp"
#include "cmd/help_text.hpp"
#include "core/model/resource.hpp"

namespace fleet::cli {

namespace {

/// Option::get_type_name() is "NAME" followed by ":DESCRIPTION" for each validator; a set
/// validator (CLI::IsMember) describes itself as "{a,b,c}".
void read_type_name(const CLI::Option& opt, OptionSpec& spec)
{
    std::string full = opt.get_type_name();
    // CLI11 appends ":" and each validator's description to the type name; a type name may hold ':'
    // itself (LOCAL:REMOTE), so only the validators' part is cut off.
    std::string name = full;
    auto& editable = const_cast<CLI::Option&>(opt);  // get_validator has no const overload
    for (int i = 0;; ++i) {
        const CLI::Validator* v = nullptr;
        try {
            v = editable.get_validator(i);
        } catch (const CLI::OptionNotFound&) {
            break;
        }
        if (std::string d = v->get_description(); !d.empty() && name.ends_with(":" + d)) name.resize(name.size() - d.size() - 1);
    }
    std::size_t at = full.find(":{");
    if (at != std::string::npos) {
        std::size_t end = full.find('}', at);
        std::string set = full.substr(at + 2, end == std::string::npos ? std::string::npos : end - at - 2);
        for (std::size_t from = 0; from <= set.size();) {
            std::size_t comma = std::min(set.find(',', from), set.size());
            if (comma > from) spec.choices.push_back(set.substr(from, comma - from));
            from = comma + 1;
        }
    }
    if (!name.empty() && name != "TEXT") {
        spec.metavar = name;
    } else if (!spec.choices.empty()) {
        for (const auto& c : spec.choices) spec.metavar += (spec.metavar.empty() ? "" : "|") + c;
    } else {
        std::string base = spec.main_name();
        base.erase(0, base.find_first_not_of('-'));
        for (char c : base) spec.metavar += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
}

ValueHint hint_from_metavar(const std::string& metavar)
{
    if (metavar == "PATH" || metavar == "FILE") return ValueHint::file;
    if (metavar == "DIR") return ValueHint::directory;
    if (metavar == "KIND") return ValueHint::kind;
    if (metavar == "TENANT") return ValueHint::tenant;
    if (metavar == "DEVICE") return ValueHint::device;
    if (metavar == "GROUP") return ValueHint::group;
    if (metavar == "CREDENTIAL") return ValueHint::credential;
    if (metavar == "ROLLOUT") return ValueHint::rollout;
    if (metavar == "CONTEXT") return ValueHint::context;
    return ValueHint::none;
}

OptionSpec read_option(const CLI::Option& opt, const std::string& path)
{
    OptionSpec spec;
    spec.positional = !opt.nonpositional();
    if (spec.positional) {
        spec.names.push_back(opt.get_name(true));
    } else {
        for (const auto& s : opt.get_snames()) spec.names.push_back("-" + s);
        for (const auto& l : opt.get_lnames()) spec.names.push_back("--" + l);
    }
    spec.description = opt.get_description();
    spec.takes_value = opt.get_items_expected_max() > 0;  // flags expect 0 items
    spec.required = opt.get_required();
    spec.repeatable = opt.get_items_expected_max() > 1;
    spec.default_value = opt.get_default_str();
    if (!spec.takes_value) return spec;
    read_type_name(opt, spec);
    spec.hint = hint_from_metavar(spec.metavar);
    if (!spec.choices.empty()) spec.hint = ValueHint::choices;
    for (const auto& rule : help::hint_rules())
        if (rule.path == path && rule.option == spec.main_name()) spec.hint = rule.hint;
    return spec;
}

CommandSpec read_command(const CLI::App& app, const std::string& path)
{
    CommandSpec spec;
    spec.name = app.get_parent() ? app.get_name() : "";
    spec.path = path;
    spec.description = app.get_description();
    spec.needs_subcommand = app.get_require_subcommand_min() > 0;
    spec.hidden = app.get_parent() && app.get_group().empty();
    for (Format f : formats_of(&app)) spec.formats.emplace_back(format_name(f));
    const CLI::Option* help = app.get_help_ptr();
    for (const CLI::Option* opt : app.get_options()) {
        // -h/--help is on every command: listed once, with the root's (global) options.
        if ((opt == help && app.get_parent()) || opt->get_group().empty()) continue;
        OptionSpec o = read_option(*opt, path);
        (o.positional ? spec.positionals : spec.options).push_back(std::move(o));
    }
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        spec.subcommands.push_back(read_command(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name()));
    return spec;
}

void collect(const CommandSpec& c, bool include_hidden, std::vector<const CommandSpec*>& out)
{
    for (const auto& sub : c.subcommands) {
        if (sub.hidden && !include_hidden) continue;
        out.push_back(&sub);
        collect(sub, include_hidden, out);
    }
}

} // namespace

std::string_view hint_name(ValueHint hint)
{
    switch (hint) {
    case ValueHint::none: return "";
    case ValueHint::choices: return "choices";
    case ValueHint::file: return "file";
    case ValueHint::directory: return "directory";
    case ValueHint::kind: return "kind";
    case ValueHint::object: return "object";
    case ValueHint::tenant: return "tenant";
    case ValueHint::device: return "device";
    case ValueHint::group: return "group";
    case ValueHint::credential: return "credential";
    case ValueHint::rollout: return "rollout";
    case ValueHint::context: return "context";
    }
    return "";
}

const std::string& OptionSpec::main_name() const
{
    for (const auto& n : names)
        if (n.starts_with("--")) return n;
    return names.front();
}

const CommandSpec* CommandSpec::find(const std::string& rel) const
{
    if (rel.empty()) return this;
    std::size_t space = rel.find(' ');
    std::string first = rel.substr(0, space);
    for (const auto& sub : subcommands)
        if (sub.name == first) return space == std::string::npos ? &sub : sub.find(rel.substr(space + 1));
    return nullptr;
}

CommandSpec describe_cli(const CLI::App& app) { return read_command(app, ""); }

std::vector<const CommandSpec*> all_commands(const CommandSpec& root, bool include_hidden)
{
    std::vector<const CommandSpec*> out;
    collect(root, include_hidden, out);
    return out;
}

std::vector<std::string> kind_words()
{
    std::vector<std::string> out;
    for (auto& word : model::kind_spellings())
        if (kind_argument(word)) out.push_back(std::move(word));
    return out;
}

} // namespace fleet::cli
