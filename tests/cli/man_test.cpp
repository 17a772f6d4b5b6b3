// The man pages: committed as the binary generates them, one for every command of --help, each
// naming the options its --help lists, rendering without warnings, and installed by cmake.
#include <catch2/catch.hpp>

#include <filesystem>
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
            for (std::string n; std::getline(names, n, ',');) help.options.push_back(n);
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
