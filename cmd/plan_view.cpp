#include "cmd/plan_view.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <optional>

#include "cmd/input.hpp"
#include "core/apply/run.hpp"
#include "core/apply/saved_plan.hpp"
#include "core/gitsource/source.hpp"
#include "core/input/loader.hpp"
#include "core/util/files.hpp"

namespace fleet::cli {

using nlohmann::json;

CLI::Validator source_name_check()
{
    return CLI::Validator(
        [](std::string& value) {
            auto key = input::named_source_key(value);
            return key ? std::string() : key.error().message;
        },
        "NAME");
}

void add_source_options(CLI::App& command, SourceOptions& opts)
{
    add_file_options(command, opts.files, opts.recursive, false);
    auto* git = command
                    .add_option("--git", opts.git,
                                "Read the resources from a git remote (file://, https://, ssh://) at --ref, below "
                                "--path, instead of -f; fetched into a cache beside the state store")
                    ->type_name("URL")
                    ->excludes("--filename");
    command.add_option("--ref", opts.ref, "Branch, tag or commit id to read with --git (default: the remote's HEAD)")
        ->type_name("REF")
        ->needs(git);
    command.add_option("--path", opts.path, "Folder inside the git repository, read recursively (default: its root)")
        ->type_name("DIR")
        ->needs(git);
    command
        .add_option("--artifact-dir", opts.artifact_dir,
                    "With --git: a local folder whose files the repository's artifacts may name by an absolute or ~/ "
                    "path (by default an artifact's file must be a file of the commit)")
        ->type_name("DIR")
        ->needs(git);
    command
        .add_option("--source", opts.source,
                    "Name this source for --prune and ownership (default: inside a git work tree its path relative "
                    "to the top, with the origin's URL; elsewhere its absolute path)")
        ->type_name("NAME")
        ->check(source_name_check());
    command.add_flag("--prune", opts.prune, "Also delete objects applied earlier from the same source and no longer in it");
    command.add_flag("--confirm-prune", opts.confirm_prune, "Allow --prune to delete more than 25% of the source's objects");
}

util::Result<std::string> source_identity(const std::string& name, const std::string& default_key)
{
    if (name.empty()) return default_key;
    return input::named_source_key(name);
}

bool has_input(const SourceOptions& opts) { return !opts.files.empty() || !opts.git.empty(); }

util::Result<apply::Request> make_request(const SourceOptions& opts, const Globals& g, util::Diagnostics& diags,
                                          bool bulk)
{
    apply::Request request;
    request.prune = opts.prune;
    request.confirm_prune = opts.confirm_prune;
    if (opts.git.empty()) {
        request.desired = read_resources(opts.files, opts.recursive, g, diags, false,
                                         input::Format::automatic, bulk ? &request.bulk : nullptr);
        auto source = source_identity(opts.source, input::source_key(opts.files));
        if (!source) return std::unexpected(source.error());
        request.source = *source;
        request.legacy_source = input::legacy_source_key(opts.files);
        return request;
    }
    auto spec = gitsource::parse_spec(opts.git, opts.ref, opts.path);
    if (!spec) return std::unexpected(spec.error());
    auto state_dir = store::is_postgres_url(g.state_path()) ? store::local_state_dir(g.state_path())
                                                             : std::filesystem::path(g.state_path()).parent_path();
    auto cache_root = (state_dir.empty() ? "." : state_dir) / "git-cache";
    auto snapshot = gitsource::read_snapshot(*spec, cache_root);
    if (!snapshot) return std::unexpected(snapshot.error());
    log_verbose(g, fmt::format("{} at {}: {} file(s)", gitsource::source_key(*spec), snapshot->commit,
                               snapshot->files.size()));
    input::LoadRequest load;
    load.default_tenant = g.default_tenant();
    load.required_tenant = g.tenant;
    // Artifacts come from the same commit: a repository never names a file of this machine,
    // except inside the folder the operator allows with --artifact-dir.
    load.read_tree_file = [&](const std::string& tree_path) -> util::Result<std::string> {
        auto max_size = util::max_artifact_size();
        if (!max_size) return std::unexpected(max_size.error());
        return gitsource::read_tree_file(*spec, cache_root, snapshot->commit, tree_path, *max_size);
    };
    load.artifact_dir = opts.artifact_dir;
    load.artifact_contents = &request.artifact_contents;
    for (auto& file : snapshot->files)
        load.memory_files.push_back(
            {gitsource::display_name(*spec, snapshot->commit, file.path), file.path, std::move(file.content)});
    request.desired = input::load(load, diags);
    auto source = source_identity(opts.source, gitsource::source_key(*spec));
    if (!source) return std::unexpected(source.error());
    request.source = *source;
    if (request.source != gitsource::source_key(*spec)) request.legacy_source = gitsource::source_key(*spec);
    request.commit = snapshot->commit;
    return request;
}

std::string commit_line(const apply::Plan& plan)
{
    if (plan.commit.empty()) return "";
    std::string line = fmt::format("{} at {}", plan.source, plan.commit);
    if (plan.previous_commit.empty()) return line + " (first apply from this source)";
    if (plan.previous_commit == plan.commit) return line + " (already applied)";
    return line + fmt::format(" (last applied: {})", plan.previous_commit);
}

namespace {

std::string paint(bool color, const char* code, const std::string& text)
{
    return color ? fmt::format("\033[{}m{}\033[0m", code, text) : text;
}

std::string value_text(const std::optional<json>& v) { return v ? v->dump() : "<none>"; }

} // namespace

void print_changes(std::ostream& out, const apply::Plan& plan, bool color)
{
    for (const auto& c : plan.changes) {
        if (c.op == apply::Op::unchanged) continue;
        // A bulk device record (CSV row) is parsed only here, to list its fields.
        std::optional<model::Resource> parsed;
        if (!c.resource) parsed = input::device_resource(plan.bulk, *c.record);
        const auto& r = c.resource ? *c.resource : *parsed;
        switch (c.op) {
        case apply::Op::unchanged: break;
        case apply::Op::create:
            out << paint(color, "32", fmt::format("+ {} (create)", c.qualified_ref())) << "\n";
            for (const auto& [key, value] : r.labels.items())
                out << paint(color, "32", fmt::format("    + metadata.labels.{}: {}", key, value.dump())) << "\n";
            for (const auto& [key, value] : r.spec.items())
                out << paint(color, "32", fmt::format("    + spec.{}: {}", key, value.dump())) << "\n";
            break;
        case apply::Op::configure:
        case apply::Op::move:
            out << paint(color, "33",
                         c.op == apply::Op::move
                             ? fmt::format("~ {} (move from tenant \"{}\" to \"{}\")", c.qualified_ref(), c.from,
                                           r.tenant)
                             : fmt::format("~ {} (configure)", c.qualified_ref()))
                << "\n";
            for (const auto& f : c.fields) {
                if (!f.before)
                    out << paint(color, "32", fmt::format("    + {}: {}", f.path, value_text(f.after))) << "\n";
                else if (!f.after)
                    out << paint(color, "31", fmt::format("    - {}: {}", f.path, value_text(f.before))) << "\n";
                else
                    out << fmt::format("    ~ {}: {} → {}", f.path, value_text(f.before), value_text(f.after)) << "\n";
            }
            break;
        case apply::Op::prune: out << paint(color, "31", fmt::format("- {} (prune)", c.qualified_ref())) << "\n"; break;
        }
    }
}

std::string summary_line(const apply::Plan& plan)
{
    auto c = plan.counts();
    return fmt::format("{} created, {} configured, {} pruned, {} unchanged", c.created, c.configured, c.pruned,
                       c.unchanged);
}

Outcome run_preview(const SourceOptions& opts, const Globals& g, const std::string& out_file, bool plan_style)
{
    if (!has_input(opts)) return util::fail(util::ErrorKind::usage, "no input: pass -f PATH or --git URL");
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    util::Diagnostics diags;
    auto request = make_request(opts, g, diags);
    if (!request) return std::unexpected(request.error());
    if (diags.has_errors()) {
        print_diagnostics(diags);
        return util::fail(util::ErrorKind::usage, fmt::format("{} problem(s) found", diags.error_count()));
    }
    auto plan = apply::run(**store, std::move(*request), {}, diags);
    print_diagnostics(diags);
    if (!plan) return std::unexpected(plan.error());
    if (!out_file.empty()) {
        // Owner-only and replaced atomically, as every file fleetadm writes: a plan names the
        // fleet's devices, hosts and credential files, and a half-written plan is never applied.
        if (auto w = util::write_private_file(out_file, apply::saved_plan_text(*plan)); !w)
            return util::fail(util::ErrorKind::runtime,
                              fmt::format("cannot write plan to {}: {}", out_file, w.error().message));
    }
    if (g.format() == Format::json) {
        std::cout << apply::plan_to_json(*plan).dump(2) << "\n";
    } else if (!g.quiet) {
        if (auto line = commit_line(*plan); !line.empty()) std::cout << line << "\n";
        print_changes(std::cout, *plan, g.color(STDOUT_FILENO));
        if (plan_style) {
            std::cout << (plan->has_changes() ? "Plan: " : "No changes. ") << summary_line(*plan) << "\n";
            if (!out_file.empty())
                std::cout << fmt::format("Saved the plan to {}; apply it with `fleetadm apply {}`.\n", out_file,
                                         out_file);
        }
    }
    return plan->has_changes() ? util::exit_non_clean : util::exit_ok;
}

} // namespace fleet::cli
