// Completion in real shells: bash with the bash-completion package, zsh's completion system in a
// pseudo-terminal, and fish's `complete -C`, all loading the committed scripts and completing
// names from a real store through the binary's hidden helper.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::run_process;

namespace {

const std::string source_dir = FLEETADM_SOURCE_DIR;
const std::string bin_dir = std::filesystem::path(FLEETADM_BIN).parent_path().string();

using Words = std::vector<std::string>;

Words sorted_lines(const std::string& text, bool cut_at_tab = false)
{
    Words out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (cut_at_tab) line = line.substr(0, line.find('\t'));
        if (!line.empty()) out.push_back(line);
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool has(const Words& words, const std::string& w) { return std::find(words.begin(), words.end(), w) != words.end(); }

std::map<std::string, std::string> shell_env(const Fleet& fleet)
{
    return {{"PATH", bin_dir + ":" + std::getenv("PATH")}, {"HOME", fleet.dir().path().string()}};
}

/// COMPREPLY after completing line (the cursor at its end) with _fleetadm in bash.
Words bash_complete(const Fleet& fleet, const std::string& line)
{
    static const std::string driver = R"(
source /usr/share/bash-completion/bash_completion
source "$1"
COMP_LINE=$2 COMP_POINT=${#2}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_fleetadm fleetadm "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
)";
    auto r = run_process("/usr/bin/bash", {"--norc", "--noprofile", "-c", driver, "bash",
                                           source_dir + "/completions/fleetadm.bash", line},
                         "", shell_env(fleet));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return sorted_lines(r.out);
}

/// The candidates zsh's completion system offers for line.
Words zsh_complete(const Fleet& fleet, const std::string& line)
{
    auto r = run_process("/usr/bin/zsh", {"-f", source_dir + "/tests/support/zsh_complete.zsh",
                                          source_dir + "/completions", bin_dir, line},
                         "", shell_env(fleet));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return sorted_lines(r.out);
}

/// The candidates of `complete -C line` in fish.
Words fish_complete(const Fleet& fleet, const std::string& line)
{
    auto r = run_process("/usr/bin/fish", {"--no-config", "-c", "source $argv[1]; and complete -C $argv[2]",
                                           source_dir + "/completions/fleetadm.fish", line},
                         "", shell_env(fleet));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return sorted_lines(r.out, true);
}

/// A store with tenants acme (alice is its admin) and beta, devices in both, a group and a
/// context "alice" that acts as alice.
void populate(const Fleet& fleet)
{
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", "-"}, R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: acme}
spec: {members: [{user: alice, role: admin}]}
---
apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: beta}
---
apiVersion: fleetadm/v1
kind: DeviceGroup
metadata: {name: acme-all, tenant: acme}
spec: {selector: ""}
)")
                .exit_code == 0);
    REQUIRE(fleet({"device", "enroll", "-f", "-", "--format", "csv"},
                  "name,tenant,deviceType,ssh.host\nacme-1,acme,rpi4,h\nacme-2,acme,rpi4,h\nbeta-1,beta,rpi4,h\n")
                .exit_code == 0);
    REQUIRE(fleet({"config", "set-context", "alice", "--state", fleet.location(), "--user", "alice"}).exit_code == 0);
}

} // namespace

TEST_CASE("the committed completion scripts are what the binary generates", "[cli][completion]")
{
    for (const auto& [shell, file] : std::vector<std::pair<std::string, std::string>>{
             {"bash", "fleetadm.bash"}, {"zsh", "_fleetadm"}, {"fish", "fleetadm.fish"}}) {
        auto r = run_process(FLEETADM_BIN, {"completion", shell});
        REQUIRE(r.exit_code == 0);
        INFO("completions/" << file << " differs from `fleetadm completion " << shell
                            << "`: run scripts/gen-docs.sh and commit the result");
        CHECK(r.out == fleet::test::read_file(source_dir + "/completions/" + file));
    }
    CHECK(run_process(FLEETADM_BIN, {"completion", "tcsh"}).exit_code == 2);
}

TEST_CASE("__complete names prints what the caller can see, and nothing on any error", "[cli][completion]")
{
    Fleet fleet;
    populate(fleet);
    CHECK(sorted_lines(fleet({"__complete", "names", "devices"}).out) == Words{"acme-1", "acme-2", "beta-1"});
    CHECK(sorted_lines(fleet({"__complete", "names", "dev", "acme"}).out) == Words{"acme-1", "acme-2"});
    CHECK(sorted_lines(fleet({"--tenant", "beta", "__complete", "names", "device"}).out) == Words{"beta-1"});
    CHECK(sorted_lines(fleet({"--as", "alice", "__complete", "names", "tenants"}).out) == Words{"acme"});
    CHECK(sorted_lines(fleet({"--as", "alice", "__complete", "names", "devices"}).out) == Words{"acme-1", "acme-2"});
    CHECK(sorted_lines(fleet({"__complete", "names", "groups"}).out) == Words{"acme-all"});
    CHECK(sorted_lines(fleet({"__complete", "names", "context"}).out) == Words{"alice"});
    std::string state = fleet.location();
    for (const Words& args : {Words{"--state", "/nonexistent/state.db", "__complete", "names", "devices"},
                              Words{"--context", "missing", "__complete", "names", "devices"},
                              Words{"--state", state, "--tenant", "no-such", "__complete", "names", "devices"},
                              Words{"--state", state, "__complete", "names", "no-such-kind"}}) {
        auto r = run_process(FLEETADM_BIN, args, "", {{"HOME", fleet.dir().path().string()}});
        INFO(args[0] << " " << args[1]);
        CHECK(r.exit_code == 0);
        CHECK(r.out.empty());
        CHECK(r.err.empty());
    }
}

TEST_CASE("bash completes commands, options, values and names from the store", "[cli][completion][bash]")
{
    Fleet fleet;
    populate(fleet);
    // Quoted as a user types it: a URL's '&' would end the command.
    std::string state = " --state '" + fleet.location() + "'";
    CHECK(bash_complete(fleet, "fleetadm de") == Words{"delete", "describe", "device"});
    CHECK(bash_complete(fleet, "fleetadm device ") == Words{"check", "decommission", "enroll", "move"});
    CHECK(bash_complete(fleet, "fleetadm config u") == Words{"use-context"});
    CHECK(bash_complete(fleet, "fleetadm -q device enroll --f") == Words{"--filename", "--format"});
    auto options = bash_complete(fleet, "fleetadm delete --");
    CHECK(has(options, "--cascade"));
    CHECK(has(options, "--state"));  // global options are accepted after the command
    CHECK(!has(options, "--prune"));
    CHECK(bash_complete(fleet, "fleetadm get -o ") == Words{"csv", "json", "name", "table", "wide", "yaml"});
    CHECK(bash_complete(fleet, "fleetadm device enroll --format j") == Words{"jsonl"});
    CHECK(bash_complete(fleet, "fleetadm completion ") == Words{"bash", "fish", "zsh"});
    CHECK(bash_complete(fleet, "fleetadm get cr") == Words{"cred", "credential", "credentials"});
    auto files = fleet.dir().write("resources/tenants.yaml", "");
    CHECK(bash_complete(fleet, "fleetadm apply -f " + files.parent_path().string() + "/ten") ==
          Words{files.string()});

    CHECK(bash_complete(fleet, "fleetadm" + state + " get devices ") == Words{"acme-1", "acme-2", "beta-1"});
    CHECK(bash_complete(fleet, "fleetadm" + state + " describe dev acme-") == Words{"acme-1", "acme-2"});
    CHECK(bash_complete(fleet, "fleetadm" + state + " --tenant beta get devices ") == Words{"beta-1"});
    CHECK(bash_complete(fleet, "fleetadm" + state + " device move acme-1 --to ") == Words{"acme", "beta", "provider"});
    CHECK(bash_complete(fleet, "fleetadm" + state + " tenant tree ") == Words{"acme", "beta", "provider"});
    CHECK(bash_complete(fleet, "fleetadm config use-context ") == Words{"alice"});
    // alice holds no role in beta: its devices and beta itself are not offered
    CHECK(bash_complete(fleet, "fleetadm" + state + " --as alice get devices ") == Words{"acme-1", "acme-2"});
    CHECK(bash_complete(fleet, "fleetadm --context alice device move acme-1 --to ") == Words{"acme"});
    CHECK(bash_complete(fleet, "fleetadm --state /nonexistent/state.db get devices ").empty());
}

TEST_CASE("zsh completes commands, options, values and names from the store", "[cli][completion][zsh]")
{
    Fleet fleet;
    populate(fleet);
    CHECK(zsh_complete(fleet, "fleetadm de") == Words{"delete", "describe", "device"});
    CHECK(zsh_complete(fleet, "fleetadm device enroll --f") == Words{"--filename", "--format"});
    CHECK(zsh_complete(fleet, "fleetadm get -o ") == Words{"csv", "json", "name", "table", "wide", "yaml"});
    CHECK(zsh_complete(fleet, "fleetadm --state '" + fleet.location() + "' get devices ") ==
          Words{"acme-1", "acme-2", "beta-1"});
    CHECK(zsh_complete(fleet, "fleetadm --context alice get devices ") == Words{"acme-1", "acme-2"});
}

TEST_CASE("fish completes commands, options, values and names from the store", "[cli][completion][fish]")
{
    Fleet fleet;
    populate(fleet);
    CHECK(fish_complete(fleet, "fleetadm de") == Words{"delete", "describe", "device"});
    CHECK(fish_complete(fleet, "fleetadm config ") ==
          Words{"current-context", "delete-context", "get-contexts", "set-context", "use-context", "view"});
    CHECK(fish_complete(fleet, "fleetadm device enroll --f") == Words{"--filename", "--format"});
    CHECK(fish_complete(fleet, "fleetadm get -o ") == Words{"csv", "json", "name", "table", "wide", "yaml"});
    CHECK(fish_complete(fleet, "fleetadm --state '" + fleet.location() + "' get devices ") ==
          Words{"acme-1", "acme-2", "beta-1"});
    CHECK(fish_complete(fleet, "fleetadm --context alice get devices ") == Words{"acme-1", "acme-2"});
    CHECK(fish_complete(fleet, "fleetadm --context alice tenant tree ") == Words{"acme"});
}
