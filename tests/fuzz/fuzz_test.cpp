// Mutation fuzzing of every parser in worker processes (tests/fuzz/driver.hpp): crashes, hangs over
// 2 s of CPU, runaway memory and internal errors are counted and their inputs saved. Iterations per
// parser come from FLEETADM_FUZZ_ITERATIONS (default 300, for CI), optionally cut short after
// FLEETADM_FUZZ_SECONDS per parser; README "Building by hand" shows the long run.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "tests/fuzz/corpus.hpp"
#include "tests/fuzz/driver.hpp"
#include "tests/fuzz/mutator.hpp"
#include "tests/fuzz/targets.hpp"

namespace fs = std::filesystem;
using namespace fleet::fuzz;

namespace {

/// Where failing inputs and the workers' sanitizer reports go: $FLEETADM_FUZZ_OUT, else a temporary folder.
fs::path out_dir()
{
    const char* env = std::getenv("FLEETADM_FUZZ_OUT");
    fs::path dir = env && *env ? fs::path(env) : fs::temp_directory_path() / "fleetadm-fuzz";
    fs::create_directories(dir);
    return dir;
}

std::uint64_t salt_of(std::string_view name)
{
    std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a: a stable salt per parser
    for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    return h;
}

DriverLimits limits_from_env(std::uint64_t count, const std::string& log_name)
{
    DriverLimits limits;
    limits.first = env_number("FLEETADM_FUZZ_FIRST", 0);
    limits.count = count;
    limits.cpu_limit = std::chrono::milliseconds(env_number("FLEETADM_FUZZ_TIMEOUT_MS", 2000));
    limits.log_file = (out_dir() / (log_name + ".log")).string();
    limits.time_budget = std::chrono::seconds(env_number("FLEETADM_FUZZ_SECONDS", 0));
    std::ofstream(limits.log_file, std::ios::trunc);
    return limits;
}

std::string describe(const Failure& f, const std::string& saved)
{
    return fmt::format("input {} ({}): {} {}{}", f.index, saved, failure_name(f.kind), f.detail,
                       f.kind == FailureKind::crash ? " — sanitizer report in the worker log" : "");
}

/// Runs FLEETADM_FUZZ_ITERATIONS mutated inputs through one parser and checks that none failed,
/// apart from the kinds known_failures.txt tolerates for that parser.
void fuzz_parser(const std::string& name)
{
    const Target& t = target(name);
    KnownFailures known;
    MutationSource source;
    for (auto& seed : load_corpus(name))
        if (!known.contains(seed.name)) source.seeds.push_back(std::move(seed.content));
    source.dictionary = t.dictionary;
    auto limits = limits_from_env(env_number("FLEETADM_FUZZ_ITERATIONS", 300), name);
    auto input_of = [&](std::uint64_t i) { return make_input(source, salt_of(name), i); };
    auto report = run_inputs(input_of, [&](std::string_view in) { return t.run(in); }, limits);

    std::cout << fmt::format("fuzz {}: {} inputs ({}..{}), {} crashes, {} hangs > {} ms, {} internal errors, "
                             "{} over memory, {} invalid accepted, {:.1f} s\n",
                             name, report.inputs, limits.first, limits.first + limits.count - 1,
                             report.count(FailureKind::crash), report.count(FailureKind::hang), limits.cpu_limit.count(),
                             report.count(FailureKind::internal_error), report.count(FailureKind::memory),
                             report.count(FailureKind::accepted_invalid), report.seconds);
    std::size_t saved = 0;
    for (const auto& f : report.failures) {
        fs::path file = out_dir() / fmt::format("{}-{}-{}.bin", name, f.index, failure_name(f.kind));
        if (saved++ < 50) std::ofstream(file, std::ios::binary) << input_of(f.index);
        std::string key = known.match(name, failure_name(f.kind), f.detail);
        if (!key.empty())
            WARN("known (" << known.reason(key) << "): " << describe(f, file.string()));
        else
            FAIL_CHECK(name << " " << describe(f, file.string()) << "; log " << limits.log_file);
    }
    if (limits.time_budget.count() == 0) CHECK(report.inputs == limits.count);
    else CHECK(report.inputs > 0);
}

/// Runs each seed of a parser once, unmutated: the hostile inputs of issue 18 are seeds named issue18-*.
void replay_seeds(const std::string& name)
{
    const Target& t = target(name);
    KnownFailures known;
    auto seeds = load_corpus(name);
    auto limits = limits_from_env(seeds.size(), name + "-seeds");
    limits.first = 0;
    limits.time_budget = {};
    auto report = run_inputs([&](std::uint64_t i) { return seeds[i].content; },
                             [&](std::string_view in) { return t.run(in); }, limits);
    CHECK(report.inputs == seeds.size());
    std::vector<bool> failed(seeds.size());
    for (const auto& f : report.failures) {
        const auto& seed = seeds[f.index];
        failed[f.index] = true;
        if (known.contains(seed.name))
            WARN("known failure " << seed.name << " (" << known.reason(seed.name) << "): " << failure_name(f.kind) << " "
                                  << f.detail);
        else
            FAIL_CHECK(seed.name << ": " << failure_name(f.kind) << " " << f.detail << "; log " << limits.log_file);
    }
    for (std::size_t i = 0; i < seeds.size(); ++i)
        if (!failed[i] && known.contains(seeds[i].name))
            WARN(seeds[i].name << " passes now: remove it from tests/fuzz/known_failures.txt");
}

} // namespace

TEST_CASE("fuzz: mutated YAML documents (reader, schema validation, -f loading)", "[fuzz][fuzz-yaml]") { fuzz_parser("yaml"); }
TEST_CASE("fuzz: mutated JSON documents (.json files and stdin)", "[fuzz][fuzz-json]") { fuzz_parser("json"); }
TEST_CASE("fuzz: mutated JSONL device records", "[fuzz][fuzz-jsonl]") { fuzz_parser("jsonl"); }
TEST_CASE("fuzz: mutated CSV device rows (sequential, in parts, bulk)", "[fuzz][fuzz-csv]") { fuzz_parser("csv"); }
TEST_CASE("fuzz: mutated saved plan files", "[fuzz][fuzz-plan]") { fuzz_parser("plan"); }
TEST_CASE("fuzz: mutated config.yaml", "[fuzz][fuzz-config]") { fuzz_parser("config"); }
TEST_CASE("fuzz: mutated label selectors", "[fuzz][fuzz-selector]") { fuzz_parser("selector"); }
TEST_CASE("fuzz: mutated templates", "[fuzz][fuzz-template]") { fuzz_parser("template"); }

TEST_CASE("fuzz: every seed, the hostile inputs of issue 18 included, passes unmutated", "[fuzz][fuzz-seeds]")
{
    for (const auto& t : targets()) {
        INFO("parser " << t.name);
        replay_seeds(t.name);
    }
}

TEST_CASE("fuzz harness: inputs are a pure function of their number: seeds come first", "[fuzz][fuzz-harness]")
{
    MutationSource source{{"apiVersion: fleetadm/v1\nkind: Tenant\n", "a=b,c in (d)"}, {"&a "}};
    CHECK(make_input(source, 7, 0) == source.seeds[0]);
    CHECK(make_input(source, 7, 1) == source.seeds[1]);
    std::size_t changed = 0;
    for (std::uint64_t i = 2; i < 200; ++i) {
        CHECK(make_input(source, 7, i) == make_input(source, 7, i));
        changed += make_input(source, 7, i) != source.seeds[0] && make_input(source, 7, i) != source.seeds[1];
    }
    CHECK(changed > 190);
    CHECK(expand_generated("# comment\n2 ab\n1 \\x41\\n\n3 [\n") == "ababA\n[[[");
}

TEST_CASE("fuzz harness: a crash, a hang, runaway memory and an escaping exception are each counted and named",
          "[fuzz][fuzz-harness]")
{
    std::vector<std::string> inputs{"ok", "crash", "ok", "hang", "throw", "memory", "internal", "ok"};
    DriverLimits limits;
    limits.count = inputs.size();
    limits.cpu_limit = std::chrono::milliseconds(1000);
    limits.memory_limit_mb = 40;  // page faults on a loaded machine run at ~100 MB/s: well within the CPU limit
    limits.log_file = (out_dir() / "harness-self-test.log").string();
    auto report = run_inputs([&](std::uint64_t i) { return inputs[i]; },
                             [](std::string_view in) -> Verdict {
                                 if (in == "crash") std::abort();
                                 if (in == "hang") {
                                     std::atomic<std::uint64_t> spin = 0;
                                     for (;;) spin.fetch_add(1, std::memory_order_relaxed);
                                 }
                                 if (in == "throw") throw std::runtime_error("boom");
                                 if (in == "memory") {
                                     std::vector<std::string> hog;
                                     for (;;) hog.emplace_back(1 << 20, 'x');
                                 }
                                 if (in == "internal") return Verdict::internal("bad");
                                 return {};
                             },
                             limits);
    CHECK(report.inputs == inputs.size());
    REQUIRE(report.failures.size() == 5);
    std::map<std::uint64_t, FailureKind> by_index;
    for (const auto& f : report.failures) by_index[f.index] = f.kind;
    CHECK(by_index == std::map<std::uint64_t, FailureKind>{{1, FailureKind::crash},
                                                           {3, FailureKind::hang},
                                                           {4, FailureKind::internal_error},
                                                           {5, FailureKind::memory},
                                                           {6, FailureKind::internal_error}});
}
