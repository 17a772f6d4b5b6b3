#include "tests/fuzz/targets.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/apply/run.hpp"
#include "core/apply/saved_plan.hpp"
#include "core/config/contexts.hpp"
#include "core/input/loader.hpp"
#include "core/model/selector.hpp"
#include "core/model/template.hpp"

namespace fleet::fuzz {

namespace {

using nlohmann::json;

/// Serializes what the store would write for each accepted resource: input that validates but cannot
/// be stored (invalid UTF-8, say) fails later, at apply, as an internal error.
Verdict storable(const std::vector<model::Resource>& resources)
{
    for (const auto& r : resources) {
        try {
            (void)r.labels.dump();
            (void)r.annotations.dump();
            (void)r.spec.dump();
            (void)json(r.name).dump();
            (void)json(r.tenant).dump();
        } catch (const json::exception& e) {
            return Verdict::internal(r.ref() + " was accepted but cannot be stored: " + e.what());
        }
    }
    return {};
}

Verdict load_memory_file(std::string_view input, const std::string& path)
{
    input::LoadRequest request;
    request.default_tenant = "acme";
    request.memory_files.push_back({"fuzz:" + path, path, std::string(input)});
    util::Diagnostics diags;
    auto resources = input::load(request, diags);
    return storable(resources);
}

Verdict run_yaml(std::string_view input) { return load_memory_file(input, "fuzz.yaml"); }

Verdict run_json(std::string_view input)
{
    if (auto v = load_memory_file(input, "fuzz.json"); v.failed) return v;
    // The same bytes on stdin, where the format is guessed from the first line.
    std::istringstream in{std::string(input)};
    input::LoadRequest request;
    request.paths = {"-"};
    request.stdin_stream = &in;
    request.default_tenant = "acme";
    util::Diagnostics diags;
    return storable(input::load(request, diags));
}

Verdict run_jsonl(std::string_view input) { return load_memory_file(input, "fuzz.jsonl"); }

Verdict run_csv(std::string_view input)
{
    if (auto v = load_memory_file(input, "fuzz.csv"); v.failed) return v;
    // Bulk enrollment: rows kept as canonical JSON text, which must parse back.
    input::LoadRequest request;
    request.default_tenant = "acme";
    request.memory_files.push_back({"fuzz:fuzz.csv", "fuzz.csv", std::string(input)});
    resource::DeviceBatch batch;
    request.bulk = &batch;
    util::Diagnostics diags;
    auto resources = input::load(request, diags);
    for (const auto& record : batch.records) {
        if (json::parse(record.labels, nullptr, false).is_discarded() || json::parse(record.spec, nullptr, false).is_discarded())
            return Verdict::internal("bulk record at line " + std::to_string(record.line) + " is not valid JSON text");
        resources.push_back(input::device_resource(batch, record));
    }
    if (auto v = storable(resources); v.failed) return v;
    // Reading in parts must give what one sequential read gives (the parts split at record boundaries).
    auto rows_of = [&](std::size_t parts) {
        std::vector<util::Diagnostics> part_diags;
        std::vector<std::vector<int>> lines(parts);
        std::size_t kept = resource::read_device_csv_parts(
            input, "fuzz.csv", parts, part_diags,
            [&](std::size_t part, resource::DeviceRow& row, util::Diagnostics&) { lines[part].push_back(row.line); });
        std::vector<int> all;
        std::size_t errors = 0;
        for (std::size_t k = 0; k < kept; ++k) {
            all.insert(all.end(), lines[k].begin(), lines[k].end());
            errors += part_diags[k].error_count();
        }
        return std::make_pair(all, errors);
    };
    auto sequential = rows_of(1);
    for (std::size_t parts : {2u, 4u})
        if (rows_of(parts) != sequential)
            return Verdict::internal("reading in " + std::to_string(parts) + " parts differs from one sequential read");
    return {};
}

Verdict run_plan_text(std::string_view input);

Verdict run_plan(std::string_view input)
{
    // Most mutations break the digest, and the reader stops there. So each input runs twice: as it
    // is, and (when it is a JSON object) with its digest made right again, the way someone who
    // edits a plan by hand would, so that every check after the digest sees mutated plans too.
    if (auto v = run_plan_text(input); v.failed) return v;
    bool too_deep = false;  // dump() recurses: leave deep documents to the reader's own depth limit
    auto doc = json::parse(input.begin(), input.end(), [&](int depth, json::parse_event_t, json&) {
        too_deep = too_deep || depth > 64;
        return true;
    }, false);
    if (too_deep || doc.is_discarded() || !doc.is_object()) return {};
    doc["digest"] = apply::saved_plan_digest(doc);
    return run_plan_text(doc.dump(-1, ' ', false, json::error_handler_t::replace));
}

Verdict run_plan_text(std::string_view input)
{
    // As `apply FILE` reads a saved plan (cmd/apply.cpp): from a file, through apply::read_saved_plan.
    static const std::string path =
        (std::filesystem::temp_directory_path() / ("fleetadm-fuzz-plan-" + std::to_string(getpid()) + ".json")).string();
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << input;
    }
    util::Diagnostics plan_diags;
    auto plan = apply::read_saved_plan(path, plan_diags);
    std::filesystem::remove(path);
    if (!plan) return {};
    if (auto v = storable(plan->request.desired); v.failed) return v;
    // A saved plan is input too: each object it would write must pass what the same object given
    // with -f passes (schema, names, semantics), or apply writes what validate refuses.
    for (const auto& r : plan->request.desired) {
        json meta = {{"name", r.name}, {"labels", r.labels}, {"annotations", r.annotations}};
        if (r.kind != model::Kind::tenant) meta["tenant"] = r.tenant;
        json doc = {{"apiVersion", model::api_version}, {"kind", model::kind_name(r.kind)}, {"metadata", meta}, {"spec", r.spec}};
        input::LoadRequest request;
        request.memory_files.push_back({"plan-object.json", "plan-object.json", doc.dump()});
        util::Diagnostics diags;
        (void)input::load(request, diags);
        for (const auto& d : diags.items()) {
            // An artifact file that is missing here is this machine's state, not the plan's validity.
            if (d.warning || (d.field == "spec.file" && d.message.find("cannot read") != std::string::npos)) continue;
            return {true, FailureKind::accepted_invalid,
                    r.ref() + " is accepted from a plan file but refused with -f: " + d.str()};
        }
    }
    return {};
}

Verdict run_config(std::string_view input)
{
    static const std::string path =
        (std::filesystem::temp_directory_path() / ("fleetadm-fuzz-config-" + std::to_string(getpid()) + ".yaml")).string();
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << input;
    }
    auto config = config::load(path);
    std::filesystem::remove(path);
    if (config) (void)config->find("prod");
    return {};
}

Verdict run_selector(std::string_view input)
{
    auto selector = model::Selector::parse(input);
    if (!selector) return {};
    static const json labels[] = {json::object(), {{"env", "prod"}, {"tier", "web"}},
                                  {{"app.kubernetes.io/name", "x"}, {"a", ""}}};
    for (const auto& l : labels) (void)selector->matches(l);
    return {};
}

Verdict run_template(std::string_view input)
{
    if (!model::check_template(input)) return {};
    model::TemplateValues values;
    values.values = {{"artifact.path", "/tmp/a b"}, {"artifact.name", "fw"},  {"artifact.version", "1.0"},
                     {"artifact.sha256", "00"},     {"device.name", "d-1"},   {"device.type", "rpi4"},
                     {"tenant.name", "acme"}};
    values.settings = {{"timezone", "Europe/Berlin"}, {"x", "$(touch PWNED)'\";"}};
    (void)model::render_template(input, values, true);
    (void)model::render_template(input, values, false);
    return {};
}

} // namespace

const std::vector<Target>& targets()
{
    static const std::vector<Target> all{
        {"yaml",
         {"apiVersion: fleetadm/v1\n", "kind: Device\n", "kind: Tenant\n", "kind: List\nitems:\n", "metadata:\n",
          "  name: ", "  tenant: ", "spec:\n", "  labels: {", "&a ", "*a", "<<: ", "!!binary ", "deviceType: ", "---\n"},
         run_yaml},
        {"json", {"{\"apiVersion\":\"fleetadm/v1\",", "\"kind\":\"List\",\"items\":[", "\"metadata\":{", "\"spec\":",
                  "\\u00e9", "\\ud800", "\\\"", "[[[[", "]]]]", "1e400", "-0.0"},
         run_json},
        {"jsonl", {"{\"apiVersion\":\"fleetadm/v1\",\"kind\":\"Device\",", "\"metadata\":{\"name\":\"d\"}", "\n", "\\u0000",
                   "[[[[", "]]]]", "\"spec\":{", "\"labels\":{"},
         run_jsonl},
        {"csv", {",", "\"", "\"\"", "\r\n", "\n", ";", "=", "name,tenant,deviceType\n", "ssh.port", "labels", "\xef\xbb\xbf"},
         run_csv},
        {"plan", {"\"kind\":\"Plan\"", "\"revision\":", "\"objects\":[", "\"tenant\":\"../../ESCAPED\"", "\"tenant\":\"a/.\"",
                  "\"spec\":{}", "\"deviceType\":5", "\"labels\":5", "null", "[[[[", "]]]]"},
         run_plan},
        {"config", {"current-context: ", "contexts:\n", "- name: ", "  state: ", "  tenant: ", "  user: ", "{},"}, run_config},
        {"selector", {"=", "==", "!=", " in ", " notin ", "(", ")", ",", "!", "a.b/c", "-", "_"}, run_selector},
        {"template", {"{{", "}}", "artifact.path", "tenant.settings.", "device.name", "'", "\"", "$(", "\\", " "}, run_template},
    };
    return all;
}

const Target& target(std::string_view name)
{
    for (const auto& t : targets())
        if (t.name == name) return t;
    throw std::invalid_argument("no fuzz target " + std::string(name));
}

} // namespace fleet::fuzz
