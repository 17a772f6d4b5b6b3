// fleetadm device enroll|move|decommission: bulk enrollment and the life of a device.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "cmd/input.hpp"
#include "core/apply/device_ops.hpp"
#include "core/apply/run.hpp"

namespace fleet::cli {

namespace {

struct EnrollOptions {
    std::vector<std::string> files;
    bool dry_run = false;
    bool skip_invalid = false;
    std::string format = "auto";
};

struct MoveOptions {
    std::vector<std::string> names;
    std::string to;
    bool dry_run = false;
};

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
    request.desired = read_resources(opts.files, false, g.default_tenant(), diags, true, parse_format(opts.format),
                                     &request.bulk);
    request.source = input::source_key(opts.files);
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
    auto* cmd = ctx.root.add_subcommand("device", "Enroll, move and decommission devices");
    cmd->require_subcommand(1);

    auto enroll = std::make_shared<EnrollOptions>();
    auto* e = cmd->add_subcommand("enroll", "Enroll devices in bulk from CSV, JSONL or YAML (idempotent)");
    e->add_option("-f,--filename", enroll->files, "CSV, JSONL or YAML file, or - for stdin; repeatable")
        ->required()
        ->type_name("PATH");
    e->add_option("--format", enroll->format, "Format of stdin (files go by their extension)")
        ->check(CLI::IsMember({"auto", "csv", "jsonl", "yaml"}))
        ->capture_default_str();
    e->add_flag("--dry-run", enroll->dry_run, "Check everything, limits included; write nothing");
    e->add_flag("--skip-invalid", enroll->skip_invalid,
                "Enroll the valid records and report the rejected ones (exit 1) instead of enrolling nothing");
    e->callback([enroll, &ctx] { ctx.runner = [enroll, &g = ctx.globals] { return run_enroll(*enroll, g); }; });

    auto move = std::make_shared<MoveOptions>();
    auto* m = cmd->add_subcommand("move", "Move devices to another tenant (limits checked on the destination)");
    m->add_option("names", move->names, "Devices to move")->required();
    m->add_option("--to", move->to, "Destination tenant")->required()->type_name("TENANT");
    m->add_flag("--dry-run", move->dry_run, "Check; write nothing");
    m->callback([move, &ctx] {
        ctx.runner = [move, &g = ctx.globals]() -> Outcome {
            auto store = open_store(g);
            if (!store) return std::unexpected(store.error());
            return print_lines(apply::move_devices(**store, {move->names, g.default_tenant(), move->dry_run}, move->to),
                               g, move->dry_run);
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
}

} // namespace fleet::cli
