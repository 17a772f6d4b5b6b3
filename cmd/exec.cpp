// fleetadm exec: run a command (after an optional upload) on matching devices over SSH, in parallel.
// Parses and prints; remote::run_exec resolves, runs, records and audits.
#include <fmt/format.h>

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "cmd/commands.hpp"
#include "cmd/device_output.hpp"
#include "cmd/output.hpp"
#include "core/remote/remote.hpp"
#include "core/util/duration.hpp"

namespace fleet::cli {

namespace {

struct ExecOptions {
    std::string selector;
    std::string group;
    std::string timeout = "5m";
    std::string connect_timeout = "10s";
    std::size_t max_parallel = 32;
    std::string copy;
    std::vector<std::string> names;
    bool all = false;
    bool subtree = false;
    bool dry_run = false;
    std::vector<std::string> command;  ///< never filled: the words after -- reach run_exec as Globals::after_dashes
};

std::string last_line(const std::string& text)
{
    auto end = text.find_last_not_of("\r\n");
    if (end == std::string::npos) return "";
    auto start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

/// The OUTPUT column: the last line of stdout; for a failed command the last line of stderr
/// (else stdout); for a device never run on, why.
std::string output_cell(const transport::Outcome& out)
{
    if (out.ok()) return last_line(out.stdout_tail);
    if (out.failure == transport::Failure::remote || out.failure == transport::Failure::timeout) {
        auto err = last_line(out.stderr_tail);
        if (!err.empty()) return err;
        if (auto line = last_line(out.stdout_tail); !line.empty()) return line;
    }
    return out.message;
}

nlohmann::json result_json(const remote::DeviceResult& r)
{
    const auto& o = r.outcome;
    return {{"device", r.device},
            {"tenant", r.tenant},
            {"result", transport::failure_name(o.failure)},
            {"exit", o.exit_status >= 0 ? nlohmann::json(o.exit_status) : nlohmann::json(nullptr)},
            {"elapsedMs", o.elapsed.count()},
            {"stdout", valid_utf8(o.stdout_tail)},
            {"stderr", valid_utf8(o.stderr_tail)},
            {"message", valid_utf8(o.message)}};
}

/// Splits LOCAL:REMOTE at its last colon; a REMOTE ending in / gets LOCAL's file name.
util::Result<std::pair<std::string, std::string>> copy_paths(const std::string& spec)
{
    auto colon = spec.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
        return util::fail(util::ErrorKind::usage, fmt::format("--copy {}: expected LOCAL:REMOTE", spec));
    std::string local = spec.substr(0, colon), remote = spec.substr(colon + 1);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(local, ec))
        return util::fail(util::ErrorKind::usage, fmt::format("--copy: {} is not a readable file", local));
    if (remote.ends_with('/')) remote += std::filesystem::path(local).filename().string();
    return std::pair{local, remote};
}

/// --dry-run: the devices a run would reach, and how; nothing is connected to.
Outcome print_targets(const std::vector<remote::Target>& targets, const Globals& g)
{
    auto address = [](const remote::Target& t) -> std::string {
        if (!t.ssh) return "-";
        return t.ssh->port > 0 ? fmt::format("{}:{}", t.ssh->host, t.ssh->port) : t.ssh->host;
    };
    auto via = [](const remote::Target& t) {
        std::string hops;
        if (t.ssh)
            for (const auto& h : t.ssh->jump) hops += (hops.empty() ? "" : ",") + (h.port > 0 ? fmt::format("{}:{}", h.host, h.port) : h.host);
        return hops;
    };
    if (g.format() == Format::json) {
        auto list = nlohmann::json::array();
        for (const auto& t : targets)
            list.push_back({{"device", t.name}, {"tenant", t.tenant}, {"ssh", address(t)}, {"via", via(t)},
                            {"problem", t.ssh ? t.ssh_problem : std::string("no spec.ssh")}});
        std::cout << list.dump(2) << "\n";
        return util::exit_ok;
    }
    Table table({"DEVICE", "TENANT", "SSH", "VIA", "PROBLEM"});
    for (const auto& t : targets)
        table.add({t.name, t.tenant, address(t), via(t).empty() ? "-" : via(t),
                   t.ssh ? (t.ssh_problem.empty() ? "-" : t.ssh_problem) : "no spec.ssh"});
    if (g.format() == Format::csv) table.print_csv(std::cout);
    else table.print(std::cout);
    if (!g.quiet) std::cerr << fmt::format("{} device(s) would be reached; --dry-run connected to none\n", targets.size());
    return util::exit_ok;
}

Outcome run_exec(const ExecOptions& opts, const Globals& g)
{
    if (!opts.command.empty())  // the parser put a word there: it came before --, so it names a device
        return util::fail(util::ErrorKind::usage, fmt::format("exec: \"{}\" is not a device option; the command goes "
                                                             "after --: exec [NAME...] -- CMD...",
                                                             opts.command.front()));
    if (opts.names.empty() && opts.selector.empty() && opts.group.empty() && !opts.all)
        return util::fail(util::ErrorKind::usage,
                          "exec: name the devices (NAME..., -l SELECTOR or --group GROUP), or pass --all to run on "
                          "every device of --tenant (else of every tenant you can operate)");
    remote::RunOptions run;
    for (const auto& word : g.after_dashes) run.command += (run.command.empty() ? "" : " ") + word;
    if (!opts.copy.empty()) {
        auto paths = copy_paths(opts.copy);
        if (!paths) return std::unexpected(paths.error());
        std::tie(run.copy_from, run.copy_to) = *paths;
    }
    if (run.command.empty() && run.copy_from.empty() && !opts.dry_run)
        return util::fail(util::ErrorKind::usage, "nothing to do: give a command after --, or --copy LOCAL:REMOTE");
    auto timeout = util::parse_duration(opts.timeout);
    if (!timeout) return std::unexpected(timeout.error());
    auto connect_timeout = util::parse_duration(opts.connect_timeout);
    if (!connect_timeout) return std::unexpected(connect_timeout.error());
    run.timeout = *timeout;
    run.connect_timeout = *connect_timeout;
    run.max_parallel = opts.max_parallel;

    auto scope = tenant_scope(g, false, opts.subtree);
    if (!scope) return std::unexpected(scope.error());
    remote::Selection selection{scope->tenant, opts.names, opts.selector, opts.group, scope->subtree};
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    if (opts.dry_run) {
        auto targets = remote::resolve(**store, selection);
        if (!targets) return std::unexpected(targets.error());
        return print_targets(*targets, g);
    }

    bool json = g.format() == Format::json;
    run.interrupted = &catch_interrupts();
    std::optional<ProgressLine> progress;
    remote::Observer observer;
    observer.started = [&](const std::vector<remote::Target>& targets) {
        if (targets.empty()) return;
        log_verbose(g, fmt::format("running on {} device(s), at most {} at once", targets.size(), run.max_parallel));
        bool terminal = !json && !g.quiet && ::isatty(STDERR_FILENO);
        progress.emplace(std::cerr, terminal, "exec", targets.size());
    };
    observer.finished = [&](const remote::DeviceResult& r) {
        if (json) std::cout << result_json(r).dump() << std::endl;  // one line per device as it finishes
        if (progress) progress->add(r.device, r.outcome.ok(), transport::failure_name(r.outcome.failure));
    };
    auto ran = remote::run_exec(**store, selection, run, observer);
    if (!ran) return std::unexpected(ran.error());
    if (progress) progress->finish();
    const auto& results = ran->devices;
    if (results.empty()) {
        if (!g.quiet) std::cerr << "No matching devices.\n";
        return util::exit_ok;
    }
    if (!json) {
        Table table({"DEVICE", "TENANT", "RESULT", "EXIT", "TIME", "OUTPUT"});
        for (const auto& r : results) {
            const auto& o = r.outcome;
            table.add({r.device, r.tenant, transport::failure_name(o.failure),
                       o.exit_status >= 0 ? std::to_string(o.exit_status) : "-",
                       fmt::format("{:.1f}s", static_cast<double>(o.elapsed.count()) / 1000.0), output_cell(o)});
        }
        if (g.format() == Format::csv) {
            table.print_csv(std::cout);
        } else {
            table.print(std::cout);
            // Then every line each device printed (its last 4 KiB of each stream), device by device.
            for (const auto& r : results) {
                const auto& o = r.outcome;
                if (o.stdout_tail.empty() && o.stderr_tail.empty()) continue;
                std::cout << fmt::format("\n{}/{}: {}{}\n", r.tenant, r.device, transport::failure_name(o.failure),
                                         o.exit_status >= 0 ? fmt::format(", exit {}", o.exit_status) : "");
                print_lines(std::cout, o.stdout_tail, "  stdout | ");
                print_lines(std::cout, o.stderr_tail, "  stderr | ");
            }
        }
    }
    std::cout.flush();
    if (ran->unrecorded) return std::unexpected(*ran->unrecorded);
    if (auto stopped = remote::interrupted(results)) return std::unexpected(*stopped);
    bool all_ok = std::all_of(results.begin(), results.end(), [](const auto& r) { return r.outcome.ok(); });
    return all_ok ? util::exit_ok : util::exit_non_clean;
}

} // namespace

void setup_exec(Context& ctx)
{
    auto opts = std::make_shared<ExecOptions>();
    auto* cmd = ctx.root.add_subcommand("exec", "Run a command on matching devices over SSH, in parallel");
    cmd->add_option("-l,--selector", opts->selector, "Only devices whose labels match")->type_name("SELECTOR");
    cmd->add_option("--group", opts->group, "Only the members of this device group")->type_name("GROUP");
    cmd->add_option("--timeout", opts->timeout, "Time the command may run on each device")
        ->type_name("DURATION")
        ->capture_default_str();
    cmd->add_option("--connect-timeout", opts->connect_timeout, "Time to connect to each device")
        ->type_name("DURATION")
        ->capture_default_str();
    cmd->add_option("--max-parallel", opts->max_parallel, "Devices reached at once")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    cmd->add_option("--copy", opts->copy,
                    "Upload a local file first (to a temporary name in REMOTE's directory, then renamed)")
        ->type_name("LOCAL:REMOTE");
    cmd->add_flag("--all", opts->all, "Run on every device of --tenant (else of every tenant you can operate) when "
                                      "no NAME, -l or --group narrows them");
    add_subtree_flag(*cmd, opts->subtree);
    cmd->add_flag("--dry-run", opts->dry_run, "List the devices a run would reach, and how; connect to none");
    cmd->add_option("names", opts->names, "Devices to run on (with -l or --group: only those of them that match)")
        ->type_name("DEVICE");
    // Documents the words after -- (which app.cpp hands to run_exec itself): never filled here.
    cmd->add_option("command", opts->command, "The command, after --; run by the device's login shell")
        ->type_name("CMD")
        ->expected(0, 1);
    cmd->footer("Devices: NAME..., -l or --group, or --all; of --tenant (with --subtree, and of its descendants), else "
                "of every tenant you can see; needs "
                "operator on each device's tenant. Exit 0 when every device succeeded, 1 when any failed, 130 when "
                "interrupted.");
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_exec(*opts, g); }; });
}

} // namespace fleet::cli
