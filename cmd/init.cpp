// fleetadm init: create the store and the provider tenant.
#include <fmt/format.h>

#include <iostream>

#include "cmd/commands.hpp"
#include "core/model/resource.hpp"

namespace fleet::cli {

namespace {

struct InitOptions {
    std::string provider = "provider";
};

Outcome run_init(const InitOptions& opts, const Globals& g)
{
    if (!model::valid_name(opts.provider))
        return util::fail(util::ErrorKind::usage,
                          fmt::format("--provider \"{}\": names are lower-case letters, digits and '-', 1 to 63 "
                                      "characters, starting and ending with a letter or digit",
                                      opts.provider));
    auto store = open_store(g, true);
    if (!store) return std::unexpected(store.error());
    auto tx = (*store)->begin(store::TxMode::write);
    if (!tx) return std::unexpected(tx.error());
    if (auto r = (*store)->initialize(opts.provider); !r) return std::unexpected(r.error());
    if (auto r = tx->commit(); !r) return std::unexpected(r.error());
    if (!g.quiet)
        std::cout << fmt::format("initialized state store {} with provider tenant \"{}\" (admin: {})\n",
                                 store::display_location(g.state_path()), opts.provider, (*store)->caller().user);
    return util::exit_ok;
}

} // namespace

void setup_init(Context& ctx)
{
    auto opts = std::make_shared<InitOptions>();
    auto* cmd = ctx.root.add_subcommand("init", "Create the state store and the provider tenant; you become its admin");
    cmd->add_option("--provider", opts->provider, "Name of the provider (root) tenant")->capture_default_str();
    cmd->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_init(*opts, g); }; });
}

} // namespace fleet::cli
