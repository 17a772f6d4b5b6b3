// Mutation fuzzing through the real binary: mutated YAML, CSV and saved plan files for `apply`
// against a real store. An apply that fails must leave the store and its artifact area
// byte-identical, no apply may write outside them, and none may crash, hang or fail internally.
// Inputs per format: FLEETADM_FUZZ_CLI_INPUTS (default 6, for CI).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <filesystem>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "core/util/sha256.hpp"
#include "tests/fuzz/corpus.hpp"
#include "tests/fuzz/mutator.hpp"
#include "tests/support/process.hpp"

namespace fs = std::filesystem;
using namespace fleet::fuzz;
using fleet::test::RunResult;
using nlohmann::json;

namespace {

// A run of the binary is a hang when killed at kill_after seconds and slow past slow_after. These are wall
// times of a whole process under ASan on a shared 2-core machine, hence far above the 2 s CPU limit per
// input of the in-process harness, which is where hangs are measured precisely.
constexpr int kill_after = 60;
constexpr int slow_after = 30;

/// Path (relative to the sandbox) → SHA-256 of every file, and the target of every link.
using Snapshot = std::map<std::string, std::string>;

/// A store made once (init, then the examples' tenants), copied afresh for each input, in a
/// sandbox whose every other file is watched: root/store (the store and its artifacts), root/home
/// ($HOME), root/inputs (the files given to apply, not watched).
class Sandbox {
public:
    Sandbox()
    {
        fs::create_directories(m_root.path() / "pristine");
        fs::create_directories(m_root.path() / "work" / "home");
        auto init = run({"--state", (m_root.path() / "pristine" / "state.db").string(), "init"});
        REQUIRE(init.exit_code == 0);
        auto tenants = run({"--state", (m_root.path() / "pristine" / "state.db").string(), "apply", "-f",
                            fleet::test::examples_dir() + "/tenants"});
        INFO(tenants.err);
        REQUIRE(tenants.exit_code == 0);
        fs::create_directories(inputs() / "files");
        fs::copy(fs::path(fleet::test::examples_dir()) / "artifacts" / "files", inputs() / "files",
                 fs::copy_options::recursive);
    }

    /// A fresh copy of the pristine store in work/store; whatever an earlier run wrote beside it is removed.
    void reset() const
    {
        for (const auto& entry : fs::directory_iterator(work()))
            if (entry.path().filename() != "inputs") fs::remove_all(entry.path());
        fs::create_directories(work() / "home");
        fs::copy(m_root.path() / "pristine", work() / "store", fs::copy_options::recursive);
    }

    /// Runs fleetadm against work/store with HOME=work/home, killed after kill_after seconds.
    RunResult apply(std::vector<std::string> args) const
    {
        args.insert(args.begin(), {"--state", (work() / "store" / "state.db").string()});
        return run(args);
    }

    /// Every file below work/, except the inputs and SQLite's shared-memory index (rewritten by readers).
    Snapshot snapshot() const
    {
        Snapshot snap;
        for (auto it = fs::recursive_directory_iterator(work()); it != fs::recursive_directory_iterator(); ++it) {
            auto rel = fs::relative(it->path(), work()).string();
            if (rel == "inputs") {
                it.disable_recursion_pending();
                continue;
            }
            if (rel.ends_with("-shm")) continue;
            if (it->is_symlink()) snap[rel] = "link:" + fs::read_symlink(it->path()).string();
            else if (it->is_regular_file()) snap[rel] = fleet::util::sha256_hex(fleet::test::read_file(it->path()));
        }
        return snap;
    }

    fs::path work() const { return m_root.path() / "work"; }
    fs::path inputs() const { return work() / "inputs"; }

private:
    RunResult run(const std::vector<std::string>& args) const
    {
        std::vector<std::string> full{"-s", "KILL", std::to_string(kill_after), FLEETADM_BIN};
        full.insert(full.end(), args.begin(), args.end());
        return fleet::test::run_process("/usr/bin/timeout", full, "", {{"HOME", (work() / "home").string()}});
    }

    fleet::test::TempDir m_root;
};

/// What went wrong with one run, or "" when nothing did.
struct Check {
    std::string kind;    ///< crash, hang, internal-error, partial-write, escape
    std::string detail;
};

std::vector<Check> check_run(const RunResult& r, double seconds, const Snapshot& before, const Snapshot& after)
{
    std::vector<Check> problems;
    if (r.err.find("Sanitizer") != std::string::npos || r.err.find("runtime error:") != std::string::npos ||
        (r.exit_code >= 128 && seconds < kill_after))
        problems.push_back({"crash", fmt::format("exit {}: {}", r.exit_code, r.err.substr(0, 400))});
    if (seconds >= kill_after) problems.push_back({"hang", fmt::format("killed after {} s", kill_after)});
    else if (seconds > slow_after) problems.push_back({"hang", fmt::format("took {:.1f} s", seconds)});
    if (r.err.find("internal error") != std::string::npos) problems.push_back({"internal-error", r.err.substr(0, 400)});
    for (const auto& [path, digest] : after) {
        if (!path.starts_with("store/")) problems.push_back({"escape", "wrote " + path + " outside the store"});
    }
    if (r.exit_code != 0 && before != after) {
        std::string changed;
        for (const auto& [path, digest] : after)
            if (!before.contains(path) || before.at(path) != digest) changed += " " + path;
        for (const auto& [path, digest] : before)
            if (!after.contains(path)) changed += " -" + path;
        problems.push_back({"partial-write", fmt::format("exit {} but changed:{}", r.exit_code, changed)});
    }
    return problems;
}

/// Runs one input file through `apply`; returns the problems found.
std::vector<Check> apply_input(const Sandbox& box, const std::string& file_name, const std::string& content, bool plan,
                               RunResult* result = nullptr)
{
    box.reset();
    auto file = box.inputs() / file_name;
    { std::ofstream(file, std::ios::binary | std::ios::trunc) << content; }
    auto before = box.snapshot();
    auto start = std::chrono::steady_clock::now();
    auto r = plan ? box.apply({"apply", file.string()}) : box.apply({"apply", "-f", file.string()});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (result) *result = r;
    return check_run(r, seconds, before, box.snapshot());
}

/// A plan of all the examples against the pristine store, as `plan --out` saves it.
std::string make_plan(const Sandbox& box)
{
    box.reset();
    auto out = box.inputs() / "made-plan.json";
    auto r = box.apply({"plan", "-f", fleet::test::examples_dir(), "-R", "--out", out.string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 1);  // plan: changes found
    return fleet::test::read_file(out);
}

struct Format {
    std::string name;       ///< "yaml", "csv", "plan"
    std::string extension;
    std::vector<std::string> seeds;
};

} // namespace

TEST_CASE("fuzz cli: a failed apply of a mutated YAML, CSV or plan file leaves the store and artifacts untouched",
          "[fuzz][fuzz-cli]")
{
    Sandbox box;
    KnownFailures known;
    std::vector<Format> formats{{"yaml", ".yaml", {}}, {"csv", ".csv", {}}, {"plan", ".json", {make_plan(box)}}};
    for (const char* f : {"tenants/customers.yaml", "credentials/credentials.yaml", "groups/groups.yaml",
                          "rollouts/rollouts.yaml"})
        formats[0].seeds.push_back(fleet::test::read_file(fs::path(fleet::test::examples_dir()) / f));
    // Artifacts name their files relative to their own folder: the copy in inputs/files.
    formats[0].seeds.push_back(fleet::test::read_file(fs::path(fleet::test::examples_dir()) / "artifacts/artifacts.yaml"));
    formats[1].seeds.push_back(fleet::test::read_file(fs::path(fleet::test::examples_dir()) / "devices/devices.csv"));
    for (auto& seed : load_corpus("csv"))
        if (!known.contains(seed.name)) formats[1].seeds.push_back(seed.content);

    const auto count = env_number("FLEETADM_FUZZ_CLI_INPUTS", 6);
    const auto first = env_number("FLEETADM_FUZZ_FIRST", 0);
    for (const auto& format : formats) {
        MutationSource source{format.seeds, {}};
        std::map<std::string, std::size_t> counts;
        auto start = std::chrono::steady_clock::now();
        for (std::uint64_t i = first; i < first + count; ++i) {
            // Numbers past the seeds: every input is mutated.
            std::string input = make_input(source, 0xc11 + format.name.size(), source.seeds.size() + i);
            for (const auto& p : apply_input(box, "input" + format.extension, input, format.name == "plan")) {
                ++counts[p.kind];
                std::string key = known.match("cli-" + format.name, p.kind, p.detail);
                if (!key.empty())
                    WARN("known (" << known.reason(key) << "): " << format.name << " input " << i << ": " << p.detail);
                else
                    FAIL_CHECK(format.name << " input " << i << ": " << p.kind << ": " << p.detail);
            }
        }
        std::cout << fmt::format("fuzz cli {}: {} inputs, {} crashes, {} hangs, {} internal errors, {} partial writes, "
                                 "{} escapes, {:.1f} s\n",
                                 format.name, count, counts["crash"], counts["hang"], counts["internal-error"],
                                 counts["partial-write"], counts["escape"],
                                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
}

// The hostile saved plans of issue 18 (names that escape, wrong types, an empty Artifact spec, deep
// nesting) are tests/cli/plan_hostile_test.cpp's: they need the plan format with documents and digest.
