// Every command, every -o value: each prints what it was asked for (parsed back here) or refuses with
// exit 2 naming the formats it does print, and the formats it names are exactly the ones it prints.
// The commands come from --help itself, so a new command without a case here fails this test.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::RunResult;
using nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// The subcommands `fleetadm PATH --help` lists.
std::vector<std::string> subcommands_of(const std::vector<std::string>& path)
{
    auto args = path;
    args.push_back("--help");
    auto r = fleet::test::run_process(FLEETADM_BIN, args);
    REQUIRE(r.exit_code == 0);
    std::vector<std::string> out;
    std::istringstream in(r.out);
    bool listing = false;
    static const std::regex entry(R"(^  ([a-z][a-z-]*)\s)");
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != ' ') listing = line == "Subcommands:";
        std::smatch m;
        if (listing && std::regex_search(line, m, entry)) out.push_back(m[1]);
    }
    return out;
}

/// Every command path of --help ("device enroll"), parents included, depth first.
void collect_commands(const std::vector<std::string>& path, std::vector<std::string>& out)
{
    for (const auto& sub : subcommands_of(path)) {
        auto child = path;
        child.push_back(sub);
        std::string joined;
        for (const auto& w : child) joined += (joined.empty() ? "" : " ") + w;
        out.push_back(joined);
        collect_commands(child, out);
    }
}

/// RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::string& text)
{
    std::vector<std::vector<std::string>> records(1, std::vector<std::string>(1));
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        auto& field = records.back().back();
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += text[++i];
            else if (c == '"') quoted = false;
            else field += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            records.back().emplace_back();
        } else if (c == '\n') {
            records.emplace_back(1);
        } else if (c != '\r') {
            field += c;
        }
    }
    if (records.back().size() == 1 && records.back().front().empty()) records.pop_back();
    return records;
}

/// The JSON documents of an output: one document, or one a line (NDJSON).
std::vector<json> parse_json_documents(const std::string& text)
{
    auto whole = json::parse(text, nullptr, false);
    if (!whole.is_discarded()) return {whole};
    std::vector<json> docs;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        docs.push_back(json::parse(line));  // throws: the output is neither
    }
    return docs;
}

/// Checks that out is a non-empty output in format; returns what is wrong, or "" when it is right.
std::string check_output(const std::string& format, const std::string& out)
{
    if (out.find_first_not_of(" \t\r\n") == std::string::npos) return "no output";
    try {
        if (format == "json" || format == "jsonpath") {
            if (parse_json_documents(out).empty()) return "no JSON document";
        } else if (format == "yaml") {
            auto docs = YAML::LoadAll(out);
            if (docs.empty()) return "no YAML document";
            for (const auto& d : docs)
                if (!d.IsMap() && !d.IsSequence()) return "a YAML document that is neither a mapping nor a list";
        } else if (format == "name") {
            static const std::regex name_line(R"(^[a-z]+/[a-z0-9][a-z0-9._-]*$)");
            std::istringstream in(out);
            for (std::string line; std::getline(in, line);)
                if (!std::regex_match(line, name_line)) return "not a kind/name line: " + line;
        } else if (format == "csv") {
            auto records = parse_csv(out);
            if (records.size() < 2) return "a CSV without rows";
            if (records.front().size() < 2) return "a CSV header of one column";
            for (const auto& r : records)
                if (r.size() != records.front().size()) return "a CSV record whose field count differs from the header's";
        } else if (format == "custom-columns") {
            if (!out.starts_with("DOC")) return "custom-columns without its header";
            if (std::count(out.begin(), out.end(), '\n') < 2) return "custom-columns without rows";
        } else if (format == "table" || format == "wide") {
            // A table is for people; what a script must not get is a document it did not ask for.
            if (out.starts_with("{") || out.starts_with("[")) return "JSON where a table was asked for";
        }
    } catch (const std::exception& e) {
        return std::string("does not parse: ") + e.what();
    }
    return "";
}

/// One way to run a command: its arguments after the command's path.
struct Case {
    std::vector<std::string> args;
    std::set<int> exits = {0, 1};  ///< the exit codes of a run that printed its result
    bool postgres_only = false;    ///< on a local store every run is refused (exit 2) with its reason
};

} // namespace

TEST_CASE("every command prints each -o value it accepts in that format and refuses the others naming exactly "
          "the formats it prints",
          "[cli][output]")
{
    Fleet fleet;
    const auto& dir = fleet.dir();
    const std::string examples = fleet::test::examples_dir();
    REQUIRE(fleet({"init"}).exit_code == 0);
    REQUIRE(fleet({"apply", "-f", examples, "-R"}).exit_code == 0);
    auto fixture = dir.write("fixture.yaml", R"(apiVersion: fleetadm/v1
kind: DeviceGroup
metadata: {name: probe-group, tenant: acme-prod}
spec: {selector: "probe=yes"}
---
apiVersion: fleetadm/v1
kind: DeviceGroup
metadata: {name: probe-spare, tenant: acme-prod}
spec: {selector: "probe=spare"}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: probe-rollout, tenant: acme-prod}
spec:
  artifact: hvac-fw-2.1.0
  targets: {group: probe-group}
  strategy: {phases: [{percent: 100}], maxParallel: 1}
  schedule: {windows: none}
  transport: ssh
  install: {ssh: {command: "true {{artifact.path}}"}}
)");
    // Port 9 on loopback refuses at once: device check, exec and the rollout fail fast, with output.
    auto devices = dir.write("probe.csv", "name,tenant,deviceType,labels,ssh.host,ssh.port,ssh.user,ssh.credential\n"
                                          "probe-1,acme-prod,rpi4,probe=yes,127.0.0.1,9,root,acme-ssh\n"
                                          "probe-2,acme-prod,rpi4,probe=no,127.0.0.1,9,root,acme-ssh\n"
                                          "probe-3,acme-prod,rpi4,probe=no,127.0.0.1,9,root,acme-ssh\n");
    REQUIRE(fleet({"apply", "-f", fixture.string()}).exit_code == 0);
    REQUIRE(fleet({"device", "enroll", "-f", devices.string()}).exit_code == 0);
    auto change = dir.write("change.yaml", "apiVersion: fleetadm/v1\nkind: DeviceGroup\n"
                                           "metadata: {name: never-applied, tenant: acme-prod}\nspec: {selector: \"probe=no\"}\n");
    const std::vector<std::string> prod = {"--tenant", "acme-prod"};
    auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
    };

    // In the order they run: each leaves what the next needs (the rollout control commands a state
    // their one table run accepts; deletions last). {n} is replaced by the format's number, for
    // commands that need a fresh target each run.
    const std::vector<std::pair<std::string, Case>> cases = {
        {"init", {{"--state", (dir.path() / "init-{n}.db").string()}}},
        {"validate", {{"-f", examples, "-R"}}},
        {"diff", {{"-f", change.string()}}},
        {"plan", {{"-f", change.string()}}},
        {"apply", {{"-f", examples, "-R"}}},
        {"get", {{"devices", "-A"}}},
        {"describe", {with({"device", "probe-1"}, prod)}},
        {"explain", {{"device"}}},
        {"tenant tree", {{}}},
        {"device enroll", {{"-f", devices.string()}}},
        {"device check", {with({"probe-1"}, prod)}},
        {"exec", {with({"-l", "probe=yes", "--", "true"}, prod)}},
        {"rollout start", {with({"probe-rollout"}, prod)}},
        {"rollout run", {with({"probe-rollout"}, prod), {0, 1, 5}}},  // 5: paused at its failure threshold
        {"runner", {{"--once"}}},
        {"rollout status", {with({"probe-rollout"}, prod)}},
        {"rollout retry", {with({"probe-rollout"}, prod)}},
        {"rollout pause", {with({"probe-rollout"}, prod)}},
        {"rollout resume", {with({"probe-rollout"}, prod)}},
        {"rollout abort", {with({"probe-rollout"}, prod)}},
        {"audit", {{"-A"}}},
        {"audit verify", {{"-A"}}},
        {"audit checkpoint", {{"-A"}}},
        {"export", {{"-d", (dir.path() / "export-{n}").string()}}},
        {"config set-context", {{"probe-context", "--state", fleet.location()}}},
        {"config use-context", {{"probe-context"}}},
        {"config get-contexts", {{}}},
        {"config current-context", {{}}},
        {"config view", {{}}},
        {"config delete-context", {{"probe-context"}}},
        {"store migrate", {{"--to", (dir.path() / "migrated-{n}.db").string()}}},
        {"user add", {{"probe-login", "--no-password"}, {0}, true}},
        {"user list", {{}, {0}, true}},
        {"user remove", {{"probe-login"}, {0}, true}},
        {"version", {{}}},
        {"completion", {{"bash"}}},
        {"delete", {with({"devicegroup", "probe-spare"}, prod)}},
        {"device move", {{"probe-2", "--to", "acme-staging", "--detach", "--tenant", "acme-prod"}}},
        {"device decommission", {with({"probe-3"}, prod)}},
    };
    // Commands that only group others: run alone they are a usage error.
    const std::set<std::string> groups = {"tenant", "device", "rollout", "config", "store", "user"};

    std::vector<std::string> commands;
    collect_commands({}, commands);
    std::set<std::string> covered;
    for (const auto& [path, c] : cases) covered.insert(path);
    for (const auto& command : commands) {
        INFO("`fleetadm " << command << "` has no case in this test");
        CHECK((covered.contains(command) || groups.contains(command)));
    }

    const std::vector<std::pair<std::string, std::string>> formats = {
        {"table", "table"}, {"wide", "wide"}, {"json", "json"},     {"yaml", "yaml"},
        {"name", "name"},   {"csv", "csv"},   {"jsonpath", "jsonpath={@}{\"\\n\"}"}, {"custom-columns", "custom-columns=DOC:@"},
    };
    const bool local = !fleet.on_postgres();
    for (const auto& [path, c] : cases) {
        std::set<std::string> printed, named;
        for (std::size_t n = 0; n < formats.size(); ++n) {
            const auto& [format, value] = formats[n];
            std::vector<std::string> args;
            std::istringstream words(path);
            for (std::string w; words >> w;) args.push_back(w);
            args.insert(args.end(), {"-o", value});  // before a "--" that ends exec's options
            for (auto a : c.args) {
                if (auto at = a.find("{n}"); at != std::string::npos) a.replace(at, 3, std::to_string(n));
                args.push_back(a);
            }
            RunResult r = path == "init" ? fleet::test::run_process(FLEETADM_BIN, args, "", {{"HOME", dir.path().string()}})
                                         : fleet(args);
            INFO("fleetadm " << path << " -o " << value << " exited " << r.exit_code << "\nstdout: " << r.out
                             << "\nstderr: " << r.err);
            std::string refusal = "-o " + value + ": `fleetadm " + path + "` prints ";
            if (r.exit_code == 2 && contains(r.err, refusal)) {
                CHECK(r.out.empty());
                // "prints table, json, jsonpath or custom-columns" / "prints table only"
                auto list = r.err.substr(r.err.find(refusal) + refusal.size());
                list = list.substr(0, list.find('\n'));
                static const std::regex word(R"([a-z][a-z-]*)");
                for (auto it = std::sregex_iterator(list.begin(), list.end(), word); it != std::sregex_iterator(); ++it)
                    if (it->str() != "or" && it->str() != "only") named.insert(it->str());
                continue;
            }
            printed.insert(format);
            if (c.postgres_only && local) {
                CHECK(r.exit_code == 2);
                CHECK(contains(r.err, "PostgreSQL store"));
                continue;
            }
            CHECK(c.exits.contains(r.exit_code));
            CHECK(check_output(format, r.out) == "");
        }
        INFO("fleetadm " << path);
        CHECK(!printed.empty());
        if (printed.size() < formats.size()) CHECK(named == printed);  // the refusals name exactly what it prints
    }
}
