// fleetadm completion SHELL: print the completion script; and the hidden helper the scripts call,
// `fleetadm __complete names KIND [PREFIX]`, which prints the names the caller can see.
#include <algorithm>
#include <iostream>
#include <set>

#include "cmd/cli_model.hpp"
#include "cmd/commands.hpp"
#include "cmd/completion_scripts.hpp"
#include "core/config/contexts.hpp"

namespace fleet::cli {

namespace {

struct NamesOptions {
    std::string kind;
    std::string prefix;
};

/// The names of kind (or of contexts) that start with prefix, sorted and once each.
util::Result<std::set<std::string>> visible_names(const NamesOptions& opts, const Globals& g)
{
    std::set<std::string> names;
    auto keep = [&](const std::string& name) {
        if (name.starts_with(opts.prefix)) names.insert(name);
    };
    if (opts.kind == "context" || opts.kind == "contexts") {
        auto cfg = config::load(config::default_path());
        if (!cfg) return std::unexpected(cfg.error());
        for (const auto& c : cfg->contexts) keep(c.name);
        return names;
    }
    auto kind = kind_argument(opts.kind);
    if (!kind) return std::unexpected(kind.error());
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto tx = (*store)->begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    // Names come from the key index, authorized like every read; no object is read.
    auto tenants = (*store)->names(model::Kind::tenant, "");
    if (!tenants) return std::unexpected(tenants.error());
    if (*kind == model::Kind::tenant) {
        for (const auto& t : *tenants) keep(t);
        return names;
    }
    std::vector<std::string> owners{g.default_tenant()};
    if (owners.front().empty()) owners = *tenants;
    for (const auto& owner : owners) {
        auto objects = (*store)->names(*kind, owner);
        if (!objects) return std::unexpected(objects.error());
        for (const auto& name : *objects) keep(name);
    }
    return names;
}

} // namespace

void setup_completion(Context& ctx)
{
    auto shell = std::make_shared<std::string>();
    auto* cmd = ctx.root.add_subcommand("completion", "Print the shell completion script for bash, zsh or fish");
    cmd->add_option("shell", *shell, "The shell")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
    cmd->callback([shell, &ctx] {
        ctx.runner = [shell, &root = ctx.root]() -> Outcome {
            std::cout << *completion_script(*shell, describe_cli(root));
            return util::exit_ok;
        };
    });

    // Called by the scripts on every Tab: silent, exit 0 whatever happens, and offers only what
    // the caller could read with get (the store's authorization filters the names).
    auto* helper = ctx.root.add_subcommand("__complete", "Print completion candidates (for the completion scripts)");
    helper->group("");
    helper->require_subcommand(1);
    auto names = std::make_shared<NamesOptions>();
    auto* n = helper->add_subcommand("names", "Print the names of objects of KIND (or of contexts) that the caller "
                                              "can see and that start with PREFIX");
    n->add_option("kind", names->kind, "tenant, device, group, credential, rollout, or context")->required();
    n->add_option("prefix", names->prefix, "The start of the name typed so far");
    n->callback([names, &ctx] {
        ctx.globals.silent = true;
        ctx.runner = [names, &g = ctx.globals]() -> Outcome {
            if (auto found = visible_names(*names, g))
                for (const auto& name : *found) std::cout << name << "\n";
            return util::exit_ok;
        };
    });
}

} // namespace fleet::cli
