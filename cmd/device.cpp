// fleetadm device enroll|move|decommission|check: bulk enrollment, the life of a device, reaching it.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/device_output.hpp"
#include "cmd/input.hpp"
#include "cmd/plan_view.hpp"
#include "core/apply/device_ops.hpp"
#include "core/apply/run.hpp"
#include "core/remote/remote.hpp"
#include "core/util/duration.hpp"

namespace fleet::cli {

namespace {

struct EnrollOptions {
    std::vector<std::string> files;
    bool dry_run = false;
    bool skip_invalid = false;
    std::string format = "auto";
    std::string source;  ///< --source NAME
};

struct MoveOptions {
    std::vector<std::string> names;
    std::string to;
    bool dry_run = false;
    bool detach = false;
};

struct CheckOptions {
    std::vector<std::string> names;
    std::string selector;
    bool subtree = false;
    std::string timeout = "30s";
    std::size_t max_parallel = 32;
};

/// "acme/hvac-1: reachable, version 2.1.0" and the like.
std::string check_line(const remote::DeviceResult& r)
{
    std::string line = r.tenant + "/" + r.device + ": ";
    const auto& o = r.outcome;
    if (r.skipped) return line + o.message;
    if (o.ok()) return line + "reachable" + (r.version ? ", version " + *r.version : "");
    if (r.reached) return line + "reachable; version probe failed: " + o.message;
    return line + transport::failure_name(o.failure) + ": " + o.message;
}

Outcome run_check(const CheckOptions& opts, const Globals& g)
{
    auto timeout = util::parse_duration(opts.timeout);
    if (!timeout) return std::unexpected(timeout.error());
    auto scope = tenant_scope(g, false, opts.subtree);
    if (!scope) return std::unexpected(scope.error());
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    remote::RunOptions run;
    run.timeout = *timeout;
    run.connect_timeout = std::min<std::chrono::milliseconds>(*timeout, std::chrono::seconds(10));
    run.max_parallel = opts.max_parallel;
    run.interrupted = &catch_interrupts();
    remote::Observer observer;
    observer.finished = [&](const remote::DeviceResult& r) {
        if (g.format() == Format::json) {
            nlohmann::json line{{"device", r.device},
                                {"tenant", r.tenant},
                                {"result", r.skipped ? "skipped" : transport::failure_name(r.outcome.failure)},
                                {"reachable", r.skipped ? nlohmann::json(nullptr) : nlohmann::json(r.reached)},
                                {"version", r.version ? nlohmann::json(*r.version) : nlohmann::json(nullptr)},
                                {"elapsedMs", r.outcome.elapsed.count()},
                                {"exit", r.outcome.exit_status >= 0 ? nlohmann::json(r.outcome.exit_status)
                                                                    : nlohmann::json(nullptr)},
                                {"stdout", valid_utf8(r.outcome.stdout_tail)},
                                {"stderr", valid_utf8(r.outcome.stderr_tail)},
                                {"message", valid_utf8(r.outcome.message)}};
            std::cout << line.dump() << std::endl;
        } else if (!g.quiet) {
            std::cout << check_line(r) << "\n";
            // A failed probe: every line it printed, so that the failure says why.
            if (!r.skipped && !r.outcome.ok()) {
                print_lines(std::cout, r.outcome.stdout_tail, "  stdout | ");
                print_lines(std::cout, r.outcome.stderr_tail, "  stderr | ");
            }
            std::cout << std::flush;
        }
    };
    auto ran = remote::run_check(**store, {scope->tenant, opts.names, opts.selector, "", scope->subtree}, run, observer);
    if (!ran) return std::unexpected(ran.error());
    const auto& results = ran->devices;
    if (results.empty()) {
        if (!g.quiet) std::cerr << "No matching devices.\n";
        return util::exit_ok;
    }
    if (ran->unrecorded) return std::unexpected(*ran->unrecorded);
    if (auto stopped = remote::interrupted(results)) return std::unexpected(*stopped);
    bool clean = std::all_of(results.begin(), results.end(), [](const auto& r) { return r.skipped || r.outcome.ok(); });
    return clean ? util::exit_ok : util::exit_non_clean;
}

input::Format parse_format(const std::string& text)
{
    if (text == "csv") return input::Format::csv;
    if (text == "jsonl") return input::Format::jsonl;
    if (text == "yaml") return input::Format::yaml;
    return input::Format::automatic;
}

Outcome run_enroll(const EnrollOptions& opts, const Globals& g)
{
    util::Diagnostics diags;
    apply::Request request;
    request.desired = read_resources(opts.files, false, g, diags, true, parse_format(opts.format),
                                     &request.bulk);
    auto source = source_identity(opts.source, input::source_key(opts.files));
    if (!source) return std::unexpected(source.error());
    request.source = *source;
    request.legacy_source = input::legacy_source_key(opts.files);
    request.skip_invalid = opts.skip_invalid;
    std::size_t rejected = diags.error_count();
    if (diags.has_errors() && !opts.skip_invalid) {
        print_diagnostics(diags);
        return util::fail(util::ErrorKind::usage,
                          fmt::format("{} problem(s) found; nothing was enrolled (--skip-invalid enrolls the valid "
                                      "records)",
                                      diags.error_count()));
    }
    print_diagnostics(diags);
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    util::Diagnostics plan_diags;
    auto plan = apply::run(**store, std::move(request), {!opts.dry_run, std::nullopt}, plan_diags);
    print_diagnostics(plan_diags);
    if (!plan) {
        plan.error().message += "; nothing was enrolled";
        return std::unexpected(plan.error());
    }
    print_diagnostics(plan->rejected);
    rejected += plan->rejected.error_count();
    auto c = plan->counts();
    const char* dry = opts.dry_run ? " (dry run)" : "";
    if (g.format() == Format::json) {
        std::cout << nlohmann::json{{"enrolled", c.created},
                                    {"updated", c.configured},
                                    {"unchanged", c.unchanged},
                                    {"rejected", rejected},
                                    {"dryRun", opts.dry_run}}
                         .dump(2)
                  << "\n";
    } else if (!g.quiet) {
        std::cout << fmt::format("{} enrolled, {} updated, {} unchanged, {} rejected{}\n", c.created, c.configured,
                                 c.unchanged, rejected, dry);
    }
    return rejected ? util::exit_non_clean : util::exit_ok;
}

Outcome print_lines(const util::Result<std::vector<std::string>>& lines, const Globals& g, bool dry_run)
{
    if (!lines) return std::unexpected(lines.error());
    if (!g.quiet)
        for (const auto& line : *lines) std::cout << line << (dry_run ? " (dry run)" : "") << "\n";
    return util::exit_ok;
}

} // namespace

void setup_device(Context& ctx)
{
    auto* cmd = ctx.root.add_subcommand("device", "Enroll, move, decommission and check devices");
    cmd->require_subcommand(1);

    auto enroll = std::make_shared<EnrollOptions>();
    auto* e = cmd->add_subcommand("enroll", "Enroll devices in bulk from CSV, JSONL or YAML (idempotent)");
    e->add_option("-f,--filename", enroll->files, "CSV, JSONL or YAML file, or - for stdin; repeatable")
        ->required()
        ->type_name("PATH");
    e->add_option("--format", enroll->format, "Format of stdin (files go by their extension)")
        ->check(CLI::IsMember({"auto", "csv", "jsonl", "yaml"}))
        ->capture_default_str();
    e->add_option("--source", enroll->source,
                  "Name this source for ownership (default: inside a git work tree the file's path relative to the "
                  "top, with the origin's URL; elsewhere its absolute path)")
        ->type_name("NAME")
        ->check(source_name_check());
    e->add_flag("--dry-run", enroll->dry_run, "Check everything, limits included; write nothing");
    e->add_flag("--skip-invalid", enroll->skip_invalid,
                "Enroll the valid records and report the rejected ones (exit 1) instead of enrolling nothing");
    e->callback([enroll, &ctx] { ctx.runner = [enroll, &g = ctx.globals] { return run_enroll(*enroll, g); }; });

    auto move = std::make_shared<MoveOptions>();
    auto* m = cmd->add_subcommand("move", "Move devices to another tenant (limits checked on the destination)");
    m->add_option("names", move->names, "Devices to move")->required();
    m->add_option("--to", move->to, "Destination tenant")->required()->type_name("TENANT");
    m->add_flag("--dry-run", move->dry_run, "Check; write nothing");
    m->add_flag("--detach", move->detach,
                "Take devices applied from a source out of it, so that its next apply cannot create them again");
    m->callback([move, &ctx] {
        ctx.runner = [move, &g = ctx.globals]() -> Outcome {
            auto store = open_store(g);
            if (!store) return std::unexpected(store.error());
            apply::DeviceSelection selection{move->names, g.default_tenant(), move->dry_run, move->detach};
            return print_lines(apply::move_devices(**store, selection, move->to), g, move->dry_run);
        };
    });

    auto retire = std::make_shared<MoveOptions>();
    auto* d = cmd->add_subcommand("decommission", "Retire devices: remove them and free their tenants' quota");
    d->add_option("names", retire->names, "Devices to decommission")->required();
    d->add_flag("--dry-run", retire->dry_run, "Check; write nothing");
    d->callback([retire, &ctx] {
        ctx.runner = [retire, &g = ctx.globals]() -> Outcome {
            auto store = open_store(g);
            if (!store) return std::unexpected(store.error());
            return print_lines(
                apply::decommission_devices(**store, {retire->names, g.default_tenant(), retire->dry_run}), g,
                retire->dry_run);
        };
    });

    auto check = std::make_shared<CheckOptions>();
    auto* c = cmd->add_subcommand("check", "Reach devices, run their version probe, record reachability and version");
    c->add_option("names", check->names, "Devices to check; default: all (of --tenant, else every visible tenant)");
    c->add_option("-l,--selector", check->selector, "Only devices whose labels match")->type_name("SELECTOR");
    add_subtree_flag(*c, check->subtree);
    c->add_option("--timeout", check->timeout, "Time the version probe may run on each device")
        ->type_name("DURATION")
        ->capture_default_str();
    c->add_option("--max-parallel", check->max_parallel, "Devices reached at once")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    c->footer("Needs operator on each device's tenant (it records status). Exit 1 when any device was not "
              "reached or its probe failed.");
    c->callback([check, &ctx] { ctx.runner = [check, &g = ctx.globals] { return run_check(*check, g); }; });
}

} // namespace fleet::cli
