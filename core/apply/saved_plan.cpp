#include "core/apply/saved_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <limits>

#include "core/apply/run.hpp"
#include "core/input/loader.hpp"
#include "core/resource/device_rows.hpp"
#include "core/resource/yaml_reader.hpp"
#include "core/util/sha256.hpp"

namespace fleet::apply {

namespace fs = std::filesystem;
using nlohmann::json;
using resource::field_path;
using util::ErrorKind;
using util::fail;

namespace {

constexpr std::string_view digest_prefix = "sha256:";

/// The document a resource is written as: the same envelope a -f file has.
json document_of(const model::Resource& r)
{
    json meta = {{"name", r.name}};
    if (r.kind != model::Kind::tenant) meta["tenant"] = r.tenant;
    if (!r.labels.empty()) meta["labels"] = r.labels;
    if (!r.annotations.empty()) meta["annotations"] = r.annotations;
    json doc = {{"apiVersion", model::api_version}, {"kind", model::kind_name(r.kind)}, {"metadata", meta}};
    if (!r.spec.is_null()) doc["spec"] = r.spec;
    return doc;
}

bool printable(const std::string& s)
{
    return std::ranges::none_of(s, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool commit_id(const std::string& s)
{
    return s.empty() || ((s.size() == 40 || s.size() == 64) &&
                         std::ranges::all_of(s, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));
}

/// Checks the plan's own fields, reporting each wrong one with its position.
class EnvelopeCheck {
public:
    EnvelopeCheck(const resource::Document& doc, util::Diagnostics& diags) : m_doc(doc), m_diags(diags) {}

    /// The member at pointer when it satisfies ok; otherwise reports "expected what" and returns null.
    template <class Ok>
    const json* member(const std::string& pointer, Ok ok, const char* what)
    {
        json::json_pointer p(pointer);
        bool present = false;
        try {
            present = m_doc.value.contains(p);
        } catch (const json::exception&) {  // a parent of the wrong type
        }
        if (!present) {
            m_diags.error(m_doc.marks.locate(pointer), field_path(pointer), fmt::format("missing; expected {}", what));
            return nullptr;
        }
        const json& value = m_doc.value.at(p);
        if (ok(value)) return &value;
        m_diags.error(m_doc.marks.locate(pointer), field_path(pointer), fmt::format("expected {}", what));
        return nullptr;
    }

    /// Reports every member of the object at pointer that is not one of known.
    void only(const std::string& pointer, std::initializer_list<std::string_view> known)
    {
        const json& object = m_doc.value.at(json::json_pointer(pointer));
        for (const auto& [key, value] : object.items())
            if (std::ranges::find(known, key) == known.end()) {
                auto at = resource::pointer_join(pointer, key);
                m_diags.error(m_doc.marks.locate(at), field_path(at), "unknown field");
            }
    }

private:
    const resource::Document& m_doc;
    util::Diagnostics& m_diags;
};

const auto is_string = [](const json& v) { return v.is_string(); };
const auto is_text = [](const json& v) { return v.is_string() && printable(v.get<std::string>()); };
const auto is_bool = [](const json& v) { return v.is_boolean(); };
const auto is_array = [](const json& v) { return v.is_array(); };
const auto is_object = [](const json& v) { return v.is_object(); };
const auto is_count = [](const json& v) { return v.is_number_integer() && v.get<std::int64_t>() >= 0; };
const auto is_commit = [](const json& v) { return v.is_string() && commit_id(v.get<std::string>()); };

/// Reads the one JSON document of a plan file.
std::optional<resource::Document> read_document(const std::string& path, util::Diagnostics& diags)
{
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
        if (fs::is_directory(path, ec))
            diags.error({path, 0, 0}, "",
                        fmt::format("a folder, not a saved plan: to apply the resources in it, run `fleetadm apply -f "
                                    "{} -R`",
                                    path));
        else
            diags.error({path, 0, 0}, "", fs::exists(path, ec) ? "not a regular file" : "no such file");
        return std::nullopt;
    }
    std::ifstream file(path, std::ios::binary);
    std::string text{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    if (!file) {
        diags.error({path, 0, 0}, "", "cannot read plan file");
        return std::nullopt;
    }
    if (auto start = text.find_first_not_of(" \t\r\n"); start == std::string::npos || text[start] != '{') {
        diags.error({path, 1, 1}, "",
                    fmt::format("not a JSON plan file (made by `fleetadm plan --out FILE`); to apply the resources in "
                                "it, run `fleetadm apply -f {}`",
                                path));
        return std::nullopt;
    }
    // Text that is not UTF-8 could not be stored or printed later: refused here, naming its line.
    if (!resource::valid_utf8(text)) {
        int line = 1;
        for (std::size_t begin = 0; begin < text.size(); ++line) {
            auto end = std::min(text.find('\n', begin), text.size());
            if (!resource::valid_utf8(std::string_view(text).substr(begin, end - begin))) break;
            begin = end + 1;
        }
        diags.error({path, line, 0}, "", "not UTF-8 text");
        return std::nullopt;
    }
    // A plan of many devices has more nodes than a hand-written file; JSON cannot hold more nodes
    // than bytes, so the cap follows the file's size (aliases of a YAML impostor stay bounded).
    resource::YamlLimits limits;
    limits.max_nodes = std::max(limits.max_nodes, text.size() / 2);
    std::istringstream in(std::move(text));
    resource::YamlReader reader(in, path, limits);
    auto doc = reader.next(diags);
    if (!doc) {
        if (!diags.has_errors()) diags.error({path, 0, 0}, "", "empty plan file");
        return std::nullopt;
    }
    if (auto extra = reader.next(diags)) diags.error(extra->start(), "", "a plan file holds one JSON document");
    if (diags.has_errors()) return std::nullopt;
    if (!doc->value.is_object()) {
        diags.error(doc->start(), "", "not a JSON plan file (made by `fleetadm plan --out FILE`)");
        return std::nullopt;
    }
    return doc;
}

} // namespace

std::string saved_plan_digest(json body)
{
    if (body.is_object()) body.erase("digest");
    return std::string(digest_prefix) + util::sha256_hex(body.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string saved_plan_text(const Plan& plan)
{
    json body = plan_to_json(plan);
    json objects = json::array();
    for (const auto& r : plan.desired) {
        auto where = r.location();
        objects.push_back({{"document", document_of(r)},
                           {"origin", {{"file", where.file}, {"line", where.line}, {"column", where.column}}}});
    }
    body["objects"] = std::move(objects);
    body["digest"] = saved_plan_digest(body);
    return body.dump(2) + "\n";
}

util::Result<SavedPlan> read_saved_plan(const std::string& path, util::Diagnostics& diags)
{
    auto problems = [&] {
        return fail(ErrorKind::usage, fmt::format("{}: {} problem(s) found in the plan file", path, diags.error_count()));
    };
    auto doc = read_document(path, diags);
    if (!doc) return problems();
    EnvelopeCheck check(*doc, diags);
    check.only("", {"format_version", "apiVersion", "kind", "revision", "source", "commit", "previousCommit", "prune",
                    "confirmPrune", "objects", "changes", "digest"});
    auto api = check.member("/apiVersion", is_string, "\"fleetadm/v1\"");
    auto kind = check.member("/kind", is_string, "\"Plan\"");
    if ((api && *api != model::api_version) || (kind && *kind != "Plan")) {
        diags.error(doc->start(), "",
                    fmt::format("not a fleetadm plan file (apiVersion fleetadm/v1, kind Plan); to apply the resources "
                                "in it, run `fleetadm apply -f {}`",
                                path));
        return problems();
    }
    auto version = check.member("/format_version", is_string, "a format version (\"1.0\")");
    if (version && !version->get_ref<const std::string&>().starts_with("1.")) {
        diags.error(doc->marks.locate("/format_version"), "format_version",
                    fmt::format("plan format {} is newer than this fleetadm reads (1.x); plan again with this version",
                                version->get<std::string>()));
        return problems();
    }
    SavedPlan saved;
    if (auto v = check.member("/revision", is_count, "a revision number (an integer >= 0)"))
        saved.revision = v->get<std::int64_t>();
    if (auto v = check.member("/source", is_text, "a source key (text)")) saved.request.source = v->get<std::string>();
    if (auto v = check.member("/commit", is_commit, "a git commit id or \"\"")) saved.request.commit = v->get<std::string>();
    check.member("/previousCommit", is_commit, "a git commit id or \"\"");
    if (auto v = check.member("/prune", is_bool, "true or false")) saved.request.prune = v->get<bool>();
    if (auto v = check.member("/confirmPrune", is_bool, "true or false")) saved.request.confirm_prune = v->get<bool>();
    if (auto v = check.member("/changes", is_array, "a list of changes")) saved.changes = *v;
    auto digest = check.member("/digest", is_string, "the plan's digest (\"sha256:...\")");
    auto objects = check.member("/objects", is_array, "a list of objects");
    input::LoadRequest load;
    std::vector<util::Location> origins;
    for (std::size_t i = 0; objects && i < objects->size(); ++i) {
        std::string at = fmt::format("/objects/{}", i);
        if (!check.member(at, is_object, "an object with document and origin")) continue;
        check.only(at, {"document", "origin"});
        auto document = check.member(at + "/document", is_object, "a resource document");
        auto file = check.member(at + "/origin/file", is_text, "a file name");
        auto line = check.member(at + "/origin/line", is_count, "a line number");
        auto column = check.member(at + "/origin/column", is_count, "a column number");
        if (!document || !file || !line || !column) continue;
        check.only(at + "/origin", {"file", "line", "column"});
        load.documents.push_back({*document, doc->marks.rebased(at + "/document")});
        constexpr std::int64_t most = std::numeric_limits<int>::max();
        origins.push_back({file->get<std::string>(), static_cast<int>(std::min(line->get<std::int64_t>(), most)),
                           static_cast<int>(std::min(column->get<std::int64_t>(), most))});
    }
    if (diags.has_errors()) return problems();
    if (digest->get<std::string>() != saved_plan_digest(doc->value)) {
        diags.error(doc->marks.locate("/digest"), "digest",
                    "the plan file was changed after `fleetadm plan --out` saved it; make a new plan");
        return problems();
    }
    // Every object again through the -f path: schema, names, semantic checks, artifact hashes.
    saved.request.desired = input::load(load, diags);
    if (diags.has_errors()) return problems();
    if (saved.request.desired.size() != origins.size())
        return fail(ErrorKind::usage, fmt::format("{}: the plan's objects could not all be read", path));
    // Later messages (references, limits) and describe name the file the object came from.
    for (std::size_t i = 0; i < origins.size(); ++i) {
        auto& r = saved.request.desired[i];
        r.marks = resource::SourceMap(origins[i].file);
        r.marks.add("", origins[i].line, origins[i].column);
    }
    return saved;
}

} // namespace fleet::apply
