#include "core/apply/run.hpp"

#include <fmt/format.h>

#include <optional>

#include "core/apply/order.hpp"
#include "core/apply/rollout_check.hpp"
#include "core/apply/settings_check.hpp"
#include "core/input/loader.hpp"

namespace fleet::apply {

using nlohmann::json;
using util::ErrorKind;
using util::fail;
using util::Result;

Result<Plan> run(store::Store& store, Request request, const RunOptions& options, util::Diagnostics& diags)
{
    auto tx = store.begin(options.write ? store::TxMode::write : store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto plan = make_plan(store, std::move(request), diags);
    if (!plan) return plan;
    // Both checks report before either fails, so one run names every problem.
    auto settings = check_rollout_settings(store, *plan, diags);
    auto installs = check_rollout_installs(store, *plan, diags);
    if (!settings) return std::unexpected(settings.error());
    if (!installs) return std::unexpected(installs.error());
    // The order apply writes in, also for a dry run, so that both print the same lines.
    order_for_execution(*plan);
    if (options.saved && options.saved->revision != plan->revision)
        return fail(ErrorKind::conflict,
                    fmt::format("the saved plan is stale: the store changed since it was made (revision {} → {}); "
                                "run `fleetadm plan` again",
                                options.saved->revision, plan->revision));
    if (options.saved && plan_to_json(*plan)["changes"] != options.saved->changes)
        return fail(ErrorKind::usage, "the saved plan's changes are not what applying its objects changes: the file "
                                      "was edited; run `fleetadm plan` again");
    // A git source's commit is recorded even when no object changed: objects keep the commit that
    // last changed them, the source the commit it was last synced to.
    bool new_commit = !plan->commit.empty() && plan->commit != plan->previous_commit;
    if (!options.write || (!plan->has_changes() && !new_commit)) return plan;
    store::ArtifactCopies copies;  // removed again unless the commit below succeeds
    if (auto r = execute(store, *plan, copies); !r) return std::unexpected(r.error());
    if (new_commit)
        if (auto r = store.record_source_commit(plan->source, plan->commit, plan->desired); !r)
            return std::unexpected(r.error());
    if (auto r = tx->commit(); !r) return std::unexpected(r.error());
    copies.keep();
    return plan;
}

json plan_to_json(const Plan& plan)
{
    json changes = json::array();
    for (const auto& c : plan.changes) {
        json fields = json::array();
        for (const auto& f : c.fields) {
            json field = {{"path", f.path}};
            if (f.before) field["before"] = *f.before;
            if (f.after) field["after"] = *f.after;
            fields.push_back(std::move(field));
        }
        if (c.op == Op::create) {
            // Like `terraform show -json`, a create lists the fields it sets.
            std::optional<model::Resource> parsed;
            if (!c.resource) parsed = input::device_resource(plan.bulk, *c.record);
            const auto& r = c.resource ? *c.resource : *parsed;
            for (const auto& [key, value] : r.labels.items())
                fields.push_back({{"path", "metadata.labels." + key}, {"after", value}});
            for (const auto& [key, value] : r.spec.items()) fields.push_back({{"path", "spec." + key}, {"after", value}});
        }
        json change = {{"action", op_verb(c.op)}, {"kind", model::kind_name(c.kind())}, {"name", c.name()}};
        if (auto t = c.tenant(); !t.empty()) change["tenant"] = t;
        if (c.op == Op::move) change["fromTenant"] = c.from;
        change["object"] = c.qualified_ref();
        change["fields"] = std::move(fields);
        changes.push_back(std::move(change));
    }
    // format_version: what a policy reading this may rely on; a new minor adds keys, a new major
    // changes or removes them (terraform show -json's rule).
    return {{"format_version", "1.0"},      {"apiVersion", model::api_version}, {"kind", "Plan"},
            {"revision", plan.revision},
            {"source", plan.source},            {"commit", plan.commit},
            {"previousCommit", plan.previous_commit},   {"prune", plan.prune},
            {"confirmPrune", plan.confirm_prune}, {"changes", changes}};
}

} // namespace fleet::apply
