// A page is built from the definitions top down: NAME and SYNOPSIS from the command and its
// subcommands, DESCRIPTION from the prose table (or the one-line description), OPTIONS from the
// options, then EXIT STATUS, EXAMPLES and SEE ALSO. Nothing depends on the date or the machine,
// so the committed pages are exactly what the binary prints.
#include "cmd/man_page.hpp"

#include <fmt/format.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "cmd/commands.hpp"
#include "cmd/help_text.hpp"

namespace fleet::cli {

namespace {

/// Escapes plain text for roff: backslashes, hyphens (as minus signs, which options are).
std::string escape(std::string_view text)
{
    std::string out;
    for (char c : text) {
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
    }
    return out;
}

/// Keeps a line from being read as a request.
std::string guard_line(std::string line)
{
    if (!line.empty() && (line.front() == '.' || line.front() == '\'')) line.insert(0, "\\&");
    return line;
}

/// The text with its first letter in lower case, to follow "command: ".
std::string lower_first(std::string_view text)
{
    std::string out(text);
    if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
    return out;
}

std::string bold(std::string_view text) { return "\\fB" + escape(text) + "\\fR"; }
std::string italic(std::string_view text) { return "\\fI" + escape(text) + "\\fR"; }

/// One paragraph with `bold` and *italic* markup; sentences start on new lines, as roff wants
/// (a full stop, a space and a capital letter end one; "e.g. x" does not).
std::string paragraph(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '`' || c == '*') {
            std::size_t end = text.find(c, i + 1);
            if (end != std::string_view::npos) {
                auto inner = text.substr(i + 1, end - i - 1);
                out += c == '`' ? bold(inner) : italic(inner);
                i = end;
                continue;
            }
        }
        if (c == ' ' && i > 1 && text[i - 1] == '.' && text[i - 2] != '.' && i + 1 < text.size() &&
            (std::isupper(static_cast<unsigned char>(text[i + 1])) || text[i + 1] == '`')) {
            out += '\n';
            continue;
        }
        out += c == '\\' ? std::string("\\e") : c == '-' ? std::string("\\-") : std::string(1, c);
    }
    std::string guarded;
    std::size_t from = 0;
    while (from <= out.size()) {
        std::size_t nl = std::min(out.find('\n', from), out.size());
        guarded += guard_line(out.substr(from, nl - from)) + "\n";
        from = nl + 1;
    }
    return guarded;
}

/// A sentence for a man page: the description with a full stop.
std::string sentence(std::string_view text)
{
    std::string s(text);
    if (!s.empty() && s.back() != '.' && s.back() != ')') s += '.';
    if (!s.empty() && s.back() == ')' && s[s.size() - 2] != '.') s += '.';
    return s;
}

std::string page_name(const CommandSpec& top) { return top.path.empty() ? "fleetadm" : "fleetadm-" + top.name; }

/// How a positional argument is written: its type name (FILE), else its name in capitals (KIND).
std::string positional_name(const OptionSpec& o)
{
    std::string name;
    for (char c : o.names.front()) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return italic(o.metavar.empty() ? name : o.metavar);
}

/// The SYNOPSIS words of an option or positional argument.
std::string synopsis_item(const OptionSpec& o)
{
    std::string text;
    if (o.positional) {
        text = positional_name(o);
    } else {
        text = bold(o.names.front());
        if (o.takes_value) text += " " + italic(o.metavar);
    }
    if (o.repeatable) text += "\\&...";
    return o.required ? text : "[" + text + "]";
}

/// The SYNOPSIS of one runnable command.
std::string synopsis(const CommandSpec& c)
{
    std::string out = ".SY fleetadm\n[" + italic("global-options") + "]\n" + bold(c.path) + "\n";
    for (const auto& o : c.options) out += synopsis_item(o) + "\n";
    for (const auto& p : c.positionals) {
        // A command line for the devices (exec's) comes after "--", which ends fleetadm's options.
        if (p.description.find("after --") != std::string::npos) {  // every word after -- is the command's
            auto words = p;
            words.repeatable = true;
            out += bold("--") + "\n" + synopsis_item(words) + "\n";
            continue;
        }
        out += synopsis_item(p) + "\n";
    }
    return out + ".YS\n";
}

/// The runnable commands at and below c, in --help order.
void runnable(const CommandSpec& c, std::vector<const CommandSpec*>& out)
{
    if (!c.needs_subcommand) out.push_back(&c);
    for (const auto& s : c.subcommands)
        if (!s.hidden) runnable(s, out);
}

/// An OPTIONS entry.
std::string option_entry(const std::string& path, const OptionSpec& o)
{
    std::string head;
    if (o.positional) {
        head = positional_name(o);
    } else {
        for (const auto& n : o.names) head += (head.empty() ? "" : ", ") + bold(n);
        if (o.takes_value) head += " " + italic(o.metavar);
    }
    if (o.repeatable && !o.positional) head += "\\&...";
    std::string text = sentence(o.description);
    if (o.required && !o.positional) text += " Required.";
    if (!o.default_value.empty()) text += " Default: `" + o.default_value + "`.";
    if (auto note = help::option_note(path, o.main_name()); !note.empty()) text += " " + std::string(note);
    return ".TP\n" + guard_line(head) + "\n" + paragraph(text);
}

std::string options_block(const CommandSpec& c)
{
    std::string out;
    for (const auto& p : c.positionals) out += option_entry(c.path, p);
    for (const auto& o : c.options) out += option_entry(c.path, o);
    return out;
}

/// Paragraphs separated by blank lines.
std::string paragraphs(std::string_view text)
{
    std::string out;
    std::size_t from = 0;
    while (from <= text.size()) {
        std::size_t end = std::min(text.find("\n\n", from), text.size());
        out += (out.empty() ? "" : ".PP\n") + paragraph(text.substr(from, end - from));
        from = end + 2;
    }
    return out;
}

std::string description_of(const CommandSpec& c)
{
    const help::Prose* prose = help::prose_for(c.path);
    return paragraphs(prose && !prose->description.empty() ? std::string(prose->description) : sentence(c.description));
}

/// A term of a definition list with its text.
struct Entry {
    std::string term;
    std::string text;
};

std::string terms(const std::vector<Entry>& items, bool bold_terms)
{
    std::string out;
    for (const auto& t : items)
        out += ".TP\n" + guard_line(bold_terms ? bold(t.term) : italic(t.term)) + "\n" + paragraph(t.text);
    return out;
}

std::string examples(const std::vector<help::Example>& items)
{
    std::string out;
    for (const auto& e : items) {
        out += (out.empty() ? "" : ".PP\n") + paragraph(e.text) + ".PP\n.RS 4\n.nf\n";
        std::string_view cmd = e.command;
        std::size_t from = 0;
        while (from <= cmd.size()) {
            std::size_t nl = std::min(cmd.find('\n', from), cmd.size());
            out += guard_line(escape(cmd.substr(from, nl - from))) + "\n";
            from = nl + 1;
        }
        out += ".fi\n.RE\n";
    }
    return out;
}

std::string header(const std::string& name, std::string_view version)
{
    std::string upper;
    for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return fmt::format(".\\\" Generated by `fleetadm __man` from fleetadm's command definitions and cmd/help_text.cpp:\n"
                       ".\\\" do not edit, run scripts/gen-docs.sh.\n"
                       ".TH {} 1 \"\" \"fleetadm {}\" \"fleetadm Manual\"\n"
                       ".ad l\n",
                       escape(upper), version);
}

/// The pages named in text as "fleetadm NAME" (or fleetadm-NAME(1)), for SEE ALSO.
void mentioned_pages(const std::string& text, const CommandSpec& root, std::set<std::string>& out)
{
    for (const auto& top : root.subcommands) {
        if (top.hidden) continue;
        if (text.find("fleetadm " + top.name) != std::string::npos ||
            text.find("fleetadm-" + top.name + "(1)") != std::string::npos)
            out.insert(page_name(top));
    }
}

std::string see_also(const std::set<std::string>& pages)
{
    std::string out = ".SH \"SEE ALSO\"\n";
    std::size_t i = 0;
    for (const auto& p : pages) out += fmt::format(".BR {} (1){}\n", escape(p), ++i < pages.size() ? "," : "");
    return out;
}

std::string command_page(const CommandSpec& top, const CommandSpec& root, std::string_view version)
{
    std::string name = page_name(top);
    std::string out = header(name, version);
    out += ".SH NAME\n" + escape(name) + " \\- " + escape(top.description) + "\n";
    std::vector<const CommandSpec*> forms;
    runnable(top, forms);
    out += ".SH SYNOPSIS\n";
    for (const auto* f : forms) out += synopsis(*f);
    out += ".SH DESCRIPTION\n" + description_of(top);
    std::vector<const CommandSpec*> subs;
    for (const auto* f : forms)
        if (f != &top) subs.push_back(f);
    if (!subs.empty()) {
        out += ".SH COMMANDS\n";
        for (const auto* s : subs) {
            out += ".SS \"" + escape(s->path) + "\"\n" + description_of(*s);
            if (!s->options.empty() || !s->positionals.empty()) out += ".PP\n" + options_block(*s);
        }
    }
    out += ".SH OPTIONS\n";
    if (!top.options.empty() || !top.positionals.empty()) out += options_block(top) + ".PP\n";
    out += paragraph("The global options of fleetadm(1) (`--state`, `--tenant`, `--as`, `--context`, `-o`, `-q`, `-v`, "
                     "`--no-color`, `-h`) are accepted too, before or after the command.");
    for (const auto* f : forms) {
        if (f->needs_subcommand) continue;
        std::string list;
        for (std::size_t i = 0; i < f->formats.size(); ++i)
            list += (i == 0 ? "" : i + 1 == f->formats.size() ? " or " : ", ") + ("`" + f->formats[i] + "`") +
                    (i == 0 && f->formats.size() > 1 ? " (the default)" : "");
        out += paragraph("`fleetadm " + f->path + "` prints " + list +
                         (f->formats.size() == 1 ? " only; any other `-o` is refused (exit 2)."
                                                 : " with `-o`; any other format is refused (exit 2)."));
    }

    std::vector<Entry> codes;
    std::vector<help::Example> ex;
    std::string all_text = top.description;
    for (const auto* f : forms) {
        all_text += " " + f->description;
        if (const auto* p = help::prose_for(f->path)) {
            all_text += " " + std::string(p->description);
            for (const auto& t : p->exit_status)
                codes.push_back({std::string(t.term),
                                 forms.size() > 1 ? "`" + f->path + "`: " + lower_first(t.text) : std::string(t.text)});
            for (const auto& e : p->examples) {
                ex.push_back(e);
                all_text += " " + std::string(e.command) + " " + std::string(e.text);
            }
        }
        for (const auto& o : f->options) all_text += " " + o.description;
        for (const auto& o : f->positionals) all_text += " " + o.description;
    }
    out += ".SH \"EXIT STATUS\"\n";
    if (!codes.empty()) out += terms(codes, true) + ".PP\n";
    out += paragraph(std::string(codes.empty() ? "0" : "Otherwise 0") +
                     " on success; on failure one of the codes listed in fleetadm(1): 2 for invalid input, "
                     "3 permission denied, 4 not found, 5 conflict, 6 runtime failure.");
    if (!ex.empty()) out += ".SH EXAMPLES\n" + examples(ex);
    std::set<std::string> pages{"fleetadm"};
    mentioned_pages(all_text, root, pages);
    pages.erase(name);
    out += see_also(pages);
    return out;
}

std::string root_page(const CommandSpec& root, std::string_view version)
{
    const help::Prose* prose = help::prose_for("");
    std::string description = root.description;
    if (description.starts_with("fleetadm: ")) description.erase(0, 10);
    std::string out = header("fleetadm", version);
    out += ".SH NAME\nfleetadm \\- " + escape(description) + "\n";
    out += ".SH SYNOPSIS\n.SY fleetadm\n[" + italic("global-options") + "]\n" + italic("command") + "\n[" +
           italic("options") + "]\n.YS\n";
    out += ".SH DESCRIPTION\n" + description_of(root);
    out += ".SH COMMANDS\n";
    std::set<std::string> pages;
    for (const auto& top : root.subcommands) {
        if (top.hidden) continue;
        std::vector<const CommandSpec*> forms;
        runnable(top, forms);
        for (const auto* f : forms)
            out += ".TP\n" + bold(f->path) + "\n" + paragraph(sentence(f->description) + " See " + page_name(top) + "(1).");
        pages.insert(page_name(top));
    }
    out += ".SH \"GLOBAL OPTIONS\"\n" + options_block(root);
    if (prose) {
        for (const auto& s : prose->sections) out += ".SH " + std::string(s.title) + "\n" + paragraphs(s.text);
        auto entries = [](const std::vector<help::Term>& items) {
            std::vector<Entry> out;
            for (const auto& t : items) out.push_back({std::string(t.term), std::string(t.text)});
            return out;
        };
        out += ".SH \"EXIT STATUS\"\n" + terms(entries(prose->exit_status), true);
        out += ".SH ENVIRONMENT\n" + terms(entries(prose->environment), true);
        out += ".SH FILES\n" + terms(entries(prose->files), false);
        out += ".SH EXAMPLES\n" + examples(prose->examples);
    }
    out += see_also(pages);
    return out;
}

struct ManOptions {
    std::string dir;
};

} // namespace

std::vector<std::pair<std::string, std::string>> man_pages(const CommandSpec& root, std::string_view version)
{
    std::vector<std::pair<std::string, std::string>> pages{{"fleetadm.1", root_page(root, version)}};
    for (const auto& top : root.subcommands)
        if (!top.hidden) pages.emplace_back(page_name(top) + ".1", command_page(top, root, version));
    return pages;
}

void setup_man(Context& ctx)
{
    auto opts = std::make_shared<ManOptions>();
    auto* cmd = ctx.root.add_subcommand("__man", "Write the man pages to DIR (for scripts/gen-docs.sh)");
    cmd->group("");
    cmd->add_option("dir", opts->dir, "Directory to write fleetadm.1 and fleetadm-COMMAND.1 into")
        ->required()
        ->type_name("DIR");
    cmd->callback([opts, &ctx] {
        ctx.runner = [opts, &root = ctx.root]() -> Outcome {
            CommandSpec tree = describe_cli(root);
            if (auto stale = help::stale_entries(tree); !stale.empty()) {
                for (const auto& s : stale) std::cerr << "fleetadm: error: " << s << "\n";
                return util::fail(util::ErrorKind::usage, "the help text names commands or options that do not exist");
            }
            std::error_code ec;
            std::filesystem::create_directories(opts->dir, ec);
            for (const auto& [file, text] : man_pages(tree, FLEETADM_VERSION)) {
                auto path = std::filesystem::path(opts->dir) / file;
                std::ofstream out(path, std::ios::binary);
                out << text;
                if (!out.flush())
                    return util::fail(util::ErrorKind::runtime, fmt::format("{}: cannot write", path.string()));
            }
            return util::exit_ok;
        };
    });
}

} // namespace fleet::cli
