// The man pages: committed as the binary generates them, one for every command of --help, each
// naming the options its --help lists, rendering without warnings, and installed by cmake.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/process.hpp"

using fleet::test::run_process;
using fleet::test::TempDir;

namespace {

const std::string source_dir = FLEETADM_SOURCE_DIR;

/// The subcommands and option names that `fleetadm PATH --help` lists.
struct Help {
    std::vector<std::string> subcommands;
    std::vector<std::string> options;
    std::vector<std::vector<std::string>> option_names;  ///< per option: its names ("-f", "--filename")
};

Help help_of(const std::vector<std::string>& path)
{
    auto args = path;
    args.push_back("--help");
    auto r = run_process(FLEETADM_BIN, args);
    REQUIRE(r.exit_code == 0);
    Help help;
    std::istringstream in(r.out);
    std::string section;
    static const std::regex entry(R"(^  (\S+))");
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != ' ') section = line;
        std::smatch m;
        if (!std::regex_search(line, m, entry)) continue;
        if (section == "Subcommands:") help.subcommands.push_back(m[1]);
        if (section == "Options:" && m[1].str() != "-h,--help") {
            std::stringstream names(m[1]);
            help.option_names.emplace_back();
            for (std::string n; std::getline(names, n, ',');) {
                help.options.push_back(n);
                help.option_names.back().push_back(n);
            }
        }
    }
    return help;
}

/// A name as roff writes it: every '-' escaped.
std::string roff(const std::string& text) { return std::regex_replace(text, std::regex("-"), "\\-"); }

std::set<std::string> page_files(const std::filesystem::path& dir)
{
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".1") out.insert(e.path().filename().string());
    return out;
}

} // namespace

TEST_CASE("the committed man pages are what the binary generates", "[cli][man]")
{
    TempDir dir;
    auto r = run_process(FLEETADM_BIN, {"__man", dir.path().string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto generated = page_files(dir.path());
    INFO("man/ differs from what `fleetadm __man` generates: run scripts/gen-docs.sh and commit the result");
    REQUIRE(page_files(source_dir + "/man") == generated);
    for (const auto& page : generated) {
        INFO(page);
        CHECK(fleet::test::read_file(dir.path() / page) == fleet::test::read_file(source_dir + "/man/" + page));
    }
}

TEST_CASE("every command of --help has a man page listing its options", "[cli][man]")
{
    std::string root_page = fleet::test::read_file(source_dir + "/man/fleetadm.1");
    for (const auto& option : help_of({}).options) {
        INFO("fleetadm(1) lacks the global option " << option);
        CHECK(root_page.find("\\fB" + roff(option) + "\\fR") != std::string::npos);
    }
    auto top = help_of({}).subcommands;
    REQUIRE(top.size() >= 13);
    for (const auto& command : top) {
        auto file = source_dir + "/man/fleetadm-" + command + ".1";
        INFO("fleetadm " << command << " has no page " << file);
        REQUIRE(std::filesystem::exists(file));
        std::string page = fleet::test::read_file(file);
        CHECK(root_page.find("fleetadm\\-" + command + "(1)") != std::string::npos);
        auto help = help_of({command});
        for (const auto& option : help.options) {
            INFO("option " << option);
            CHECK(page.find("\\fB" + roff(option) + "\\fR") != std::string::npos);
        }
        for (const auto& sub : help.subcommands) {
            INFO("subcommand " << sub);
            CHECK(page.find(".SS \"" + roff(command + " " + sub) + "\"") != std::string::npos);
            for (const auto& option : help_of({command, sub}).options) {
                INFO("option " << option);
                CHECK(page.find("\\fB" + roff(option) + "\\fR") != std::string::npos);
            }
        }
    }
}

TEST_CASE("every man page renders without warnings", "[cli][man]")
{
    auto pages = page_files(source_dir + "/man");
    REQUIRE(!pages.empty());
    for (const auto& page : pages) {
        std::string path = source_dir + "/man/" + page;
        INFO(page);
        auto man = run_process("/usr/bin/man", {"--warnings", "-l", path}, "", {{"MANWIDTH", "80"}, {"MANPAGER", "cat"}});
        CHECK(man.exit_code == 0);
        CHECK(man.err.empty());
        CHECK(man.out.find("SYNOPSIS") != std::string::npos);
        auto groff = run_process("/usr/bin/groff", {"-ww", "-man", "-Tutf8", "-z", path});
        CHECK(groff.exit_code == 0);
        CHECK(groff.err.empty());
    }
}

TEST_CASE("cmake --install puts the man pages and completions in place", "[cli][man]")
{
    TempDir prefix;
    auto build_dir = std::filesystem::path(FLEETADM_BIN).parent_path().string();
    auto r = run_process("/usr/bin/cmake", {"--install", build_dir, "--prefix", prefix.path().string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(page_files(prefix.path() / "share/man/man1") == page_files(source_dir + "/man"));
    for (const char* file : {"share/bash-completion/completions/fleetadm", "share/zsh/vendor-completions/_fleetadm",
                             "share/fish/vendor_completions.d/fleetadm.fish"})
        CHECK(std::filesystem::exists(prefix.path() / file));
}

namespace {

/// The README's command table ("## What works today"): for each command path it names, the option
/// names its rows mention. A row's first cell holds one or more `…` spans; `fleetadm a b …` names a
/// command, a span without `fleetadm` a sibling of the span before it (`use-context NAME`) or a
/// command from the top (`user remove NAME`), and `pause\|resume` alternatives.
std::map<std::string, std::set<std::string>> readme_commands(const std::set<std::string>& known)
{
    std::string readme = fleet::test::read_file(source_dir + "/README.md");
    auto start = readme.find("| command | does |");
    REQUIRE(start != std::string::npos);
    std::map<std::string, std::set<std::string>> out;
    std::istringstream in(readme.substr(start));
    std::string line;
    std::getline(in, line);
    std::getline(in, line);  // |---|---|
    static const std::regex span("`([^`]*)`");
    static const std::regex option(R"((?:^|[\s\[|(])(--?[A-Za-z][A-Za-z-]*))");
    while (std::getline(in, line) && line.starts_with("| ")) {
        auto cell_end = line.find(" | ", 2);
        while (cell_end != std::string::npos && line[cell_end - 1] == '\\') cell_end = line.find(" | ", cell_end + 1);
        std::string cell = line.substr(2, cell_end - 2);
        std::vector<std::string> parent;  // the words before the last command word of the previous span
        for (auto it = std::sregex_iterator(cell.begin(), cell.end(), span); it != std::sregex_iterator(); ++it) {
            std::string text = std::regex_replace((*it)[1].str(), std::regex(R"(\\\|)"), "|");
            std::istringstream words(text);
            std::vector<std::string> w;
            for (std::string x; words >> x;) w.push_back(x);
            std::vector<std::vector<std::string>> paths;
            std::size_t i = 0;
            if (!w.empty() && w[0] == "fleetadm") {
                paths = {{}};
                i = 1;
            } else {  // a sibling of the span before (`use-context`), or a path from the top (`user remove`)
                std::string sibling;
                for (const auto& x : parent) sibling += x + " ";
                paths = {!w.empty() && known.contains(sibling + w[0]) ? parent : std::vector<std::string>{}};
            }
            // Command words: each a command (or |-separated alternatives) below the paths so far.
            for (; i < w.size(); ++i) {
                std::vector<std::vector<std::string>> next;
                std::stringstream alternatives(w[i]);
                for (std::string a; std::getline(alternatives, a, '|');)
                    for (const auto& p : paths) {
                        auto candidate = p;
                        candidate.push_back(a);
                        std::string joined;
                        for (const auto& x : candidate) joined += (joined.empty() ? "" : " ") + x;
                        if (known.contains(joined)) next.push_back(candidate);
                    }
                if (next.empty()) break;
                paths = next;
            }
            if (paths.size() == 1 && paths.front().empty()) {
                out[text];  // names no command: the test reports it
                continue;
            }
            std::set<std::string> options;
            for (auto o = std::sregex_iterator(text.begin(), text.end(), option); o != std::sregex_iterator(); ++o)
                options.insert((*o)[1].str());
            for (const auto& p : paths) {
                std::string joined;
                for (const auto& x : p) joined += (joined.empty() ? "" : " ") + x;
                if (joined.empty()) continue;
                out[joined].insert(options.begin(), options.end());
                parent.assign(p.begin(), p.end() - 1);
            }
        }
    }
    return out;
}

} // namespace

TEST_CASE("the README's command table lists every command and option of --help and no other", "[cli][man]")
{
    // The commands of --help, with their options; the global options are the root's.
    std::map<std::string, Help> commands;
    std::vector<std::vector<std::string>> queue = {{}};
    while (!queue.empty()) {
        auto path = queue.back();
        queue.pop_back();
        auto help = help_of(path);
        for (const auto& sub : help.subcommands) {
            auto child = path;
            child.push_back(sub);
            queue.push_back(child);
        }
        std::string joined;
        for (const auto& x : path) joined += (joined.empty() ? "" : " ") + x;
        commands[joined] = help;
    }
    std::set<std::string> global(commands[""].options.begin(), commands[""].options.end());
    std::set<std::string> known;
    for (const auto& [path, help] : commands)
        if (!path.empty()) known.insert(path);
    auto readme = readme_commands(known);
    for (const auto& [path, options] : readme) {
        INFO("the README's command table names `" << path << "`, which --help does not list");
        CHECK(known.contains(path));
    }

    for (const auto& [path, help] : commands) {
        if (path.empty() || (!help.subcommands.empty() && help.option_names.empty())) continue;  // a group only
        INFO("fleetadm " << path);
        auto row = readme.find(path);
        CHECK(row != readme.end());
        if (row == readme.end()) continue;
        for (const auto& names : help.option_names) {
            bool listed = std::any_of(names.begin(), names.end(), [&](const std::string& n) { return row->second.contains(n); });
            INFO("the README's row does not name its option " << names.back());
            CHECK(listed);
        }
        for (const auto& name : row->second) {
            bool exists = global.contains(name) || std::any_of(help.options.begin(), help.options.end(),
                                                               [&](const std::string& o) { return o == name; });
            INFO("the README's row names " << name << ", which --help does not list");
            CHECK(exists);
        }
    }
}
