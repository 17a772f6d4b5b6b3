// Hostile input through the real binary: files that used to hang the reader, overflow the stack or
// grow without bound, and bytes that are not text. Each must end in exit 2 naming file:line:column,
// quickly, in bounded memory, with nothing written to the store.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::RunResult;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

/// A run that cannot hang the test: `timeout` kills fleetadm after 20 s (exit 124), and the time taken is kept.
/// The reader's own work is milliseconds; an ASan build starting on a loaded machine takes seconds of wall
/// time (2.8 s at a load average of 20 on 2 cores, 0.7 s of CPU), so the bound checked is fast_enough.
struct Timed {
    RunResult result;
    double seconds = 0;
};

Timed run_bounded(const Fleet& fleet, const std::vector<std::string>& args)
{
    std::vector<std::string> argv{"-k", "2", "20", FLEETADM_BIN, "--state", fleet.location()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto home = fleet.dir().path();
    auto start = std::chrono::steady_clock::now();
    auto r = fleet::test::run_process("/usr/bin/timeout", argv, "",
                                      {{"HOME", home.string()}, {"XDG_CONFIG_HOME", (home / ".config").string()}});
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    return {std::move(r), took.count()};
}

void init(const Fleet& fleet)
{
    auto r = fleet({"init"});
    REQUIRE(r.exit_code == 0);
}

constexpr double fast_enough = 10.0;  // seconds; a hang runs into the 20 s timeout instead

const std::string tenant_doc = "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata:\n  name: acme\nspec:\n  deviceLimit: 10\n";

/// Runs validate, diff, plan, apply --dry-run and apply on file: each exits 2 with expected on stderr,
/// and the store is left as it was.
void refused_everywhere(const Fleet& fleet, const std::filesystem::path& file, const std::string& expected)
{
    auto before = fleet.store_digest();
    for (std::vector<std::string> command : {std::vector<std::string>{"validate"}, {"diff"}, {"plan"},
                                             {"apply", "--dry-run"}, {"apply"}}) {
        command.insert(command.end(), {"-f", file.string()});
        INFO(command.front() << (command.size() > 3 ? " " + command[1] : ""));
        auto run = run_bounded(fleet, command);
        INFO(run.result.err);
        CHECK(run.result.exit_code == 2);
        CHECK(contains(run.result.err, expected));
        CHECK_FALSE(contains(run.result.err, "internal error"));
        CHECK(run.seconds < fast_enough);
    }
    CHECK(fleet.store_digest() == before);
}

} // namespace

TEST_CASE("a YAML file holding only ',' or '{},' exits 2 at once instead of hanging", "[cli][hostile]")
{
    Fleet fleet;
    init(fleet);
    for (auto [text, where] : {std::pair{",", "c.yaml:1:1: "}, std::pair{"{},", "c.yaml:1:3: "},
                               std::pair{"{},\n", "c.yaml:1:3: "}}) {
        INFO(text);
        auto file = fleet.dir().write("c.yaml", text);
        auto run = run_bounded(fleet, {"validate", "-f", file.string()});
        INFO(run.result.err);
        REQUIRE(run.result.exit_code == 2);  // 124: killed by timeout, the reader hung
        CHECK(run.seconds < fast_enough);
        CHECK(contains(run.result.err, std::string(where) + "invalid YAML: unexpected ','"));
        refused_everywhere(fleet, file, std::string(where) + "invalid YAML: unexpected ','");
    }
}

TEST_CASE("a config.yaml holding only ',' makes every command exit 2 naming it, version included", "[cli][hostile]")
{
    Fleet fleet;
    init(fleet);
    auto config = fleet.dir().write(".config/fleetadm/config.yaml", ",");
    for (std::vector<std::string> command : {std::vector<std::string>{"version"}, {"get", "tenants"}}) {
        auto run = run_bounded(fleet, command);
        INFO(run.result.err);
        CHECK(run.result.exit_code == 2);
        CHECK(run.seconds < fast_enough);
        CHECK(contains(run.result.err, config.string() + ":1:1: invalid YAML: unexpected ','"));
    }
    fleet.dir().write(".config/fleetadm/config.yaml", "current-context: \"caf\xe9\"\n");
    auto run = run_bounded(fleet, {"version"});
    INFO(run.result.err);
    CHECK(run.result.exit_code == 2);
    CHECK(contains(run.result.err, config.string() + ":1:22: not UTF-8 text: invalid byte 0xe9"));
}

TEST_CASE("a ',' file in a git source makes diff --git exit 2 instead of hanging", "[cli][hostile][git]")
{
    Fleet fleet;
    init(fleet);
    auto repo = fleet.dir().path() / "repo";
    auto git = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"-C", repo.string()});
        auto r = fleet::test::run_process("/usr/bin/git", args, "",
                                          {{"HOME", fleet.dir().path().string()}, {"GIT_CONFIG_NOSYSTEM", "1"},
                                           {"GIT_AUTHOR_NAME", "t"}, {"GIT_AUTHOR_EMAIL", "t@t.invalid"},
                                           {"GIT_COMMITTER_NAME", "t"}, {"GIT_COMMITTER_EMAIL", "t@t.invalid"}});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    };
    std::filesystem::create_directories(repo);
    git({"init", "-q", "-b", "main"});
    fleet.dir().write("repo/tenants.yaml", tenant_doc);
    fleet.dir().write("repo/bad.yaml", "{},");
    git({"add", "-A"});
    git({"commit", "-q", "-m", "hostile"});
    auto before = fleet.store_digest();
    for (const char* command : {"diff", "apply"}) {
        auto run = run_bounded(fleet, {command, "--git", "file://" + repo.string(), "--ref", "main"});
        INFO(command << ": " << run.result.err);
        CHECK(run.result.exit_code == 2);
        CHECK(run.seconds < fast_enough);
        CHECK(contains(run.result.err, ":bad.yaml:1:3: invalid YAML: unexpected ','"));
    }
    CHECK(fleet.store_digest() == before);
}

TEST_CASE("a 30,000-character string in any patterned field exits 2 with its location, no stack overflow",
          "[cli][hostile]")
{
    Fleet fleet;
    init(fleet);
    REQUIRE(fleet({"apply", "-f", fleet.dir().write("t.yaml", tenant_doc).string()}).exit_code == 0);
    const std::string huge(30'000, 'a');
    const std::string device = "apiVersion: fleetadm/v1\nkind: Device\nmetadata:\n  name: d1\n  tenant: acme\n";
    struct Case {
        std::string text;
        std::string expected;
    };
    for (const auto& c : {
             Case{device + "spec:\n  deviceType: " + huge + "\n", "x.yaml:7:3: spec.deviceType: longer than 128 characters"},
             Case{device + "  labels:\n    tier: " + huge + "\nspec:\n  deviceType: rpi4\n",
                  "x.yaml:7:5: metadata.labels.tier: longer than 63 characters"},
             Case{device + "spec:\n  deviceType: rpi4\n  ssh:\n    host: " + huge + "\n",
                  "x.yaml:9:5: spec.ssh.host: longer than 253 characters"},
             Case{device + "spec:\n  deviceType: rpi4\n  http:\n    url: http://" + huge + "\n",
                  "x.yaml:9:5: spec.http.url: longer than 1024 characters"},
             Case{"apiVersion: fleetadm/v1\nkind: Device\nmetadata:\n  name: " + huge + "\nspec:\n  deviceType: rpi4\n",
                  "x.yaml:4:3: metadata.name: longer than 63 characters"},
             Case{"apiVersion: fleetadm/v1\nkind: Tenant\nmetadata:\n  name: globex\nspec:\n  updatePolicy:\n"
                  "    windows:\n      - days: [mon]\n        start: \"02:00\"\n        end: \"04:00\"\n        timezone: " +
                      huge + "\n",
                  "x.yaml:11:9: spec.updatePolicy.windows[0].timezone: longer than 128 characters"},
             Case{"apiVersion: fleetadm/v1\nkind: Rollout\nmetadata:\n  name: r1\n  tenant: acme\nspec:\n"
                  "  artifact: fw-1\n  targets: {selector: \"tier=gold\"}\n  install:\n    ssh:\n      command: x\n"
                  "      uploadDir: /" + huge + "\n",
                  "x.yaml:12:7: spec.install.ssh.uploadDir: longer than 1024 characters"},
         }) {
        INFO(c.expected);
        auto file = fleet.dir().write("x.yaml", c.text);
        refused_everywhere(fleet, file, c.expected);
    }
}

TEST_CASE("deep nesting in JSONL and JSON exits 2 with its location, no stack overflow", "[cli][hostile]")
{
    Fleet fleet;
    init(fleet);
    std::string deep = std::string(20'000, '[') + std::string(20'000, ']');
    auto jsonl = fleet.dir().write("d.jsonl", "{\"metadata\":{\"name\":\"d1\",\"tenant\":\"acme\"},\"spec\":" + deep + "}\n");
    refused_everywhere(fleet, jsonl, "d.jsonl:1:113: nesting deeper than 64 levels");
    auto json = fleet.dir().write("d.json", "{\"spec\": " + deep + "}\n");
    refused_everywhere(fleet, json, "d.json:1:");
}

TEST_CASE("bytes that are not UTF-8 exit 2 at read time with file:line:column", "[cli][hostile]")
{
    Fleet fleet;
    init(fleet);
    auto yaml = fleet.dir().write("t.yaml", "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata:\n  name: acme\n"
                                            "  labels: {owner: \"Jos\xe9\"}\nspec:\n  deviceLimit: 10\n");
    refused_everywhere(fleet, yaml, "t.yaml:5:23: not UTF-8 text: invalid byte 0xe9");
    auto json = fleet.dir().write("t.json", "{\"apiVersion\": \"fleetadm/v1\", \"kind\": \"Tenant\",\n"
                                            " \"metadata\": {\"name\": \"acme\", \"annotations\": {\"n\": \"\xc3\x28\"}}}\n");
    refused_everywhere(fleet, json, "t.json:2:53: not UTF-8 text: invalid byte 0xc3");
    auto jsonl = fleet.dir().write("d.jsonl", "{\"metadata\":{\"name\":\"d1\",\"tenant\":\"acme\",\"labels\":{\"a\":\"\xff\"}},"
                                              "\"spec\":{\"deviceType\":\"rpi4\"}}\n");
    refused_everywhere(fleet, jsonl, "d.jsonl:1:57: not UTF-8 text: invalid byte 0xff");
}

TEST_CASE("an alias bomb with a 100 KB leaf exits 2 with its location in bounded memory", "[cli][hostile]")
{
    Fleet fleet;
    init(fleet);
    std::string bomb = "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata:\n  name: acme\n  annotations:\n"
                       "    leaf: &l " + std::string(100'000, 'x') + "\n";
    std::string prev = "l";
    for (char c = 'a'; c <= 'h'; ++c) {
        bomb += std::string("    ") + c + ": &" + c + " [";
        for (int i = 0; i < 10; ++i) bomb += (i ? ", *" : "*") + prev;
        bomb += "]\n";
        prev = std::string(1, c);
    }
    auto file = fleet.dir().write("bomb.yaml", bomb);
    auto before = fleet.store_digest();
    // Peak RSS from /usr/bin/time, for the bomb and for `version`: an ASan build starts at about 220 MiB,
    // so what the document may add is checked against that baseline.
    auto peak_kib = [&](std::vector<std::string> args, RunResult& run) {
        args.insert(args.begin(), {"-v", "/usr/bin/timeout", "-k", "2", "60", FLEETADM_BIN, "--state",
                                   fleet.location()});
        run = fleet::test::run_process("/usr/bin/time", args, "", {{"HOME", fleet.dir().path().string()}});
        const std::string label = "Maximum resident set size (kbytes): ";
        auto at = run.err.find(label);
        REQUIRE(at != std::string::npos);
        return std::stol(run.err.substr(at + label.size()));
    };
    RunResult baseline_run, run;
    auto baseline = peak_kib({"version"}, baseline_run);
    auto peak = peak_kib({"apply", "-f", file.string()}, run);
    INFO(run.err);
    CHECK(run.exit_code == 2);
    CHECK(contains(run.err, "bomb.yaml:9:"));
    CHECK(contains(run.err, "document is larger than 64 MiB (aliases expanded)"));
    WARN("peak RSS: apply on the alias bomb " << peak / 1024 << " MiB, version " << baseline / 1024 << " MiB");
    CHECK(peak - baseline < 128 * 1024);  // 74 MiB measured; 5.9 GB before the byte budget
    CHECK(fleet.store_digest() == before);
}
