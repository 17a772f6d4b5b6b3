#include "core/apply/run.hpp"

#include <fmt/format.h>

#include "core/apply/order.hpp"
#include "core/apply/settings_check.hpp"

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
    if (auto c = check_rollout_settings(store, *plan, diags); !c) return std::unexpected(c.error());
    // The order apply writes in, also for a dry run, so that both print the same lines.
    order_for_execution(*plan);
    if (options.expect_revision && *options.expect_revision != plan->revision)
        return fail(ErrorKind::conflict,
                    fmt::format("the saved plan is stale: the store changed since it was made (revision {} → {}); "
                                "run `fleetadm plan` again",
                                *options.expect_revision, plan->revision));
    // A git source's commit is recorded even when no object changed: objects keep the commit that
    // last changed them, the source the commit it was last synced to.
    bool new_commit = !plan->commit.empty() && plan->commit != plan->previous_commit;
    if (!options.write || (!plan->has_changes() && !new_commit)) return plan;
    ArtifactCopies copies;  // removed again unless the commit below succeeds
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
    json objects = json::array();
    for (const auto& r : plan.desired) {
        auto where = r.location();
        json o = {{"kind", model::kind_name(r.kind)}, {"name", r.name},         {"labels", r.labels},
                  {"annotations", r.annotations},     {"spec", r.spec},         {"file", where.file},
                  {"line", where.line},               {"column", where.column}};
        if (r.kind != model::Kind::tenant) o["tenant"] = r.tenant;
        objects.push_back(std::move(o));
    }
    json changes = json::array();
    for (const auto& c : plan.changes) {
        json fields = json::array();
        for (const auto& f : c.fields) {
            json field = {{"path", f.path}};
            if (f.before) field["before"] = *f.before;
            if (f.after) field["after"] = *f.after;
            fields.push_back(std::move(field));
        }
        changes.push_back({{"op", op_verb(c.op)}, {"object", c.ref()}, {"fields", fields}});
    }
    return {{"apiVersion", model::api_version}, {"kind", "Plan"},          {"revision", plan.revision},
            {"source", plan.source},            {"commit", plan.commit},
            {"previousCommit", plan.previous_commit},   {"prune", plan.prune},
            {"confirmPrune", plan.confirm_prune}, {"objects", objects},    {"changes", changes}};
}

Result<std::pair<Request, std::int64_t>> plan_from_json(const json& saved)
{
    try {
        if (saved.at("kind") != "Plan" || saved.at("apiVersion") != model::api_version)
            return fail(ErrorKind::usage, "not a fleetadm plan file");
        Request request;
        request.source = saved.at("source").get<std::string>();
        request.commit = saved.value("commit", "");
        request.prune = saved.at("prune").get<bool>();
        request.confirm_prune = saved.value("confirmPrune", false);
        for (const auto& o : saved.at("objects")) {
            model::Resource r;
            auto kind = model::parse_kind(o.at("kind").get<std::string>());
            if (!kind) return fail(ErrorKind::usage, "plan file names an unknown kind");
            r.kind = *kind;
            r.name = o.at("name").get<std::string>();
            r.tenant = o.value("tenant", "");
            r.labels = o.at("labels");
            r.annotations = o.at("annotations");
            r.spec = o.at("spec");
            r.marks = resource::SourceMap(o.value("file", ""));
            r.marks.add("", o.value("line", 0), o.value("column", 0));
            request.desired.push_back(std::move(r));
        }
        return std::make_pair(std::move(request), saved.at("revision").get<std::int64_t>());
    } catch (const json::exception& e) {
        return fail(ErrorKind::usage, std::string("malformed plan file: ") + e.what());
    }
}

} // namespace fleet::apply
