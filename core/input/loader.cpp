#include "core/input/loader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "core/gitsource/source.hpp"
#include "core/model/selector.hpp"
#include "core/resource/device_rows.hpp"
#include "core/resource/document.hpp"
#include "core/resource/yaml_reader.hpp"
#include "core/schema/device_row.hpp"
#include "core/schema/validator.hpp"
#include "core/model/template.hpp"
#include "core/util/duration.hpp"
#include "core/util/files.hpp"
#include "core/util/paths.hpp"
#include "core/util/safe_path.hpp"
#include "core/util/sha256.hpp"

namespace fleet::input {
namespace fs = std::filesystem;
using nlohmann::json;
using resource::Document;
using resource::field_path;
using resource::pointer_join;
using resource::read_device_csv;
using resource::read_device_jsonl;
using resource::YamlReader;

namespace {

Format format_of(const fs::path& p)
{
    auto ext = p.extension().string();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") return Format::yaml;
    if (ext == ".csv") return Format::csv;
    if (ext == ".jsonl") return Format::jsonl;
    return Format::automatic;
}

bool hidden(const fs::path& p)
{
    auto name = p.filename().string();
    return !name.empty() && name[0] == '.';
}

/// The files one -f argument stands for, sorted so that runs are repeatable.
std::vector<std::string> expand(const std::string& path, bool recursive, util::Diagnostics& diags)
{
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        diags.error({path, 0, 0}, "", "no such file or directory");
        return {};
    }
    if (!fs::is_directory(status)) return {path};
    std::vector<std::string> files;
    auto consider = [&](const fs::directory_entry& entry) {
        if (entry.is_regular_file() && format_of(entry.path()) != Format::automatic && !hidden(entry.path()))
            files.push_back(entry.path().string());
    };
    if (recursive) {
        for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it->is_directory() && hidden(it->path())) {
                it.disable_recursion_pending();
                continue;
            }
            consider(*it);
        }
    } else {
        for (auto it = fs::directory_iterator(path, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
            consider(*it);
    }
    if (ec) diags.error({path, 0, 0}, "", "cannot read directory: " + ec.message());
    std::sort(files.begin(), files.end());
    return files;
}

/// Credential file fields, resolved relative to the file that names them.
constexpr const char* credential_paths[] = {"privateKeyFile", "tokenFile", "passwordFile", "certFile",
                                            "keyFile",        "caFile",    "knownHostsFile"};

/// Builds a Resource from a document that passed its schema. Relative credential file paths are
/// resolved against the file's folder; a file without one (in memory) reports them instead.
model::Resource decode(model::Kind kind, Document& doc, const std::string& default_tenant, bool in_memory,
                       util::Diagnostics& diags)
{
    model::Resource r;
    r.kind = kind;
    json& meta = doc.value["metadata"];
    r.name = meta["name"].get<std::string>();
    r.tenant = meta.contains("tenant") ? meta["tenant"].get<std::string>() : default_tenant;
    if (meta.contains("labels")) r.labels = std::move(meta["labels"]);
    if (meta.contains("annotations")) {
        for (auto& [key, value] : meta["annotations"].items())
            if (!key.starts_with(model::owned_annotation_prefix)) r.annotations[key] = value;
    }
    if (doc.value.contains("spec") && !doc.value["spec"].is_null()) r.spec = std::move(doc.value["spec"]);
    fs::path base = doc.marks.file() == "<stdin>" || in_memory ? fs::current_path()
                                                               : fs::absolute(doc.marks.file()).parent_path();
    if (kind == model::Kind::artifact && !in_memory) {  // a memory file's artifacts: see check_artifact
        auto value = r.spec["file"].get<std::string>();
        if (!value.starts_with("~") && fs::path(value).is_relative())
            r.spec["file"] = (base / value).lexically_normal().string();
    }
    if (kind == model::Kind::credential) {
        for (const char* field : credential_paths) {
            auto it = r.spec.find(field);
            if (it == r.spec.end()) continue;
            auto value = it->get<std::string>();
            if (value.starts_with("~") || !fs::path(value).is_relative()) continue;
            if (in_memory)
                diags.error(doc.marks.locate(std::string("/spec/") + field), std::string("spec.") + field,
                            fmt::format("relative path \"{}\" cannot be resolved: this file has no folder on this "
                                        "machine; credential files live on the operator's machine, so give an "
                                        "absolute path or one starting with ~/",
                                        value));
            else
                *it = (base / value).lexically_normal().string();
        }
    }
    r.marks = std::move(doc.marks);
    return r;
}

/// Maintenance windows name time zones that this machine knows.
void check_window_zones(const model::Resource& r, const json& windows, const std::string& at, util::Diagnostics& diags)
{
    for (std::size_t i = 0; i < windows.size(); ++i) {
        if (!windows[i].contains("timezone")) continue;
        auto tz = windows[i]["timezone"].get<std::string>();
        std::error_code ec;
        if (tz != "UTC" && fs::is_directory("/usr/share/zoneinfo", ec) &&
            !fs::is_regular_file(fs::path("/usr/share/zoneinfo") / tz, ec)) {
            std::string pointer = fmt::format("{}/{}/timezone", at, i);
            diags.error(r.location(pointer), field_path(pointer), fmt::format("unknown time zone \"{}\"", tz));
        }
    }
}

/// Where an artifact's file may come from: this machine, or (for memory files) the tree they were read from.
struct ArtifactContext {
    const LoadRequest* request = nullptr;
    bool in_memory = false;
    std::string tree_path;  ///< for a memory file: its path in the tree
    bool from_plan = false; ///< a saved plan's object: its file is an absolute path of this machine
};

/// The SHA-256 of a regular file of this machine, read up to the size cap; a FIFO, a device or a
/// file over the cap is refused without waiting on it.
util::Result<std::string> hash_local_file(const std::string& file)
{
    auto max_size = util::max_artifact_size();
    if (!max_size) return std::unexpected(max_size.error());
    auto opened = util::open_regular(file, *max_size);
    if (!opened) return std::unexpected(opened.error());
    util::Sha256 hash;
    auto read = util::read_chunks(opened->fd.get(), *max_size, [&](std::string_view chunk) {
        hash.update(chunk);
        return true;
    });
    if (!read) return util::fail(read.error().kind, fmt::format("cannot read {}: {}", file, read.error().message));
    return util::to_hex(hash.digest());
}

/// The file of a git source's artifact: a path relative to its YAML file, inside the tree; an
/// absolute or ~ path only inside --artifact-dir. Sets spec.file to what apply copies from and
/// returns the SHA-256; the bytes of a tree file go to request.artifact_contents.
util::Result<std::string> hash_source_file(model::Resource& r, const ArtifactContext& ctx)
{
    const LoadRequest& request = *ctx.request;
    auto value = r.spec["file"].get<std::string>();
    if (value.find('\0') != std::string::npos) return util::fail(util::ErrorKind::usage, "the path holds NUL");
    if (value.starts_with("~") || fs::path(value).is_absolute()) {
        if (request.artifact_dir.empty())
            return util::fail(util::ErrorKind::usage,
                              fmt::format("\"{}\" is outside the repository: the artifacts of a git source are files "
                                          "of its commit, named relative to their YAML file; pass --artifact-dir DIR "
                                          "to allow the files of a local folder",
                                          value));
        std::error_code ec;
        auto dir = fs::canonical(util::expand_home(request.artifact_dir), ec);
        if (ec) return util::fail(util::ErrorKind::usage, fmt::format("--artifact-dir {}: {}", request.artifact_dir, ec.message()));
        auto real = fs::canonical(util::expand_home(value), ec);
        if (ec) return util::fail(util::ErrorKind::usage, fmt::format("cannot read {}: {}", value, ec.message()));
        if (!util::lexically_inside(dir, real) || real == dir)
            return util::fail(util::ErrorKind::usage, fmt::format("{} is not inside --artifact-dir {}", value,
                                                                  request.artifact_dir));
        r.spec["file"] = real.string();
        return hash_local_file(real.string());
    }
    auto in_tree = (fs::path(ctx.tree_path).parent_path() / value).lexically_normal();
    if (in_tree.empty() || in_tree.is_absolute() || *in_tree.begin() == ".." || in_tree == ".")
        return util::fail(util::ErrorKind::usage, fmt::format("\"{}\" leaves the repository", value));
    if (!request.read_tree_file)
        return util::fail(util::ErrorKind::usage, "this input has no repository to read the file from");
    auto content = request.read_tree_file(in_tree.generic_string());
    if (!content) return std::unexpected(content.error());
    auto sha256 = util::sha256_hex(*content);
    r.spec["file"] = in_tree.generic_string();
    if (request.artifact_contents) (*request.artifact_contents)[sha256] = std::move(*content);
    return sha256;
}

/// Reads an artifact's file: it must be a regular file, match spec.sha256 when given, and its SHA-256 is
/// recorded in the spec (so that a changed file shows as a change of the artifact).
void check_artifact(model::Resource& r, const ArtifactContext& ctx, util::Diagnostics& diags)
{
    if (ctx.from_plan) {
        auto value = r.spec["file"].get<std::string>();
        if (!value.starts_with("~") && fs::path(value).is_relative()) {
            diags.error(r.location("/spec/file"), "spec.file",
                        fmt::format("{}: \"{}\" is not a file of this machine (a plan of a git source): apply "
                                    "the source again instead of the saved plan",
                                    r.ref(), value));
            return;
        }
    }
    auto hashed = ctx.in_memory && !ctx.from_plan
                      ? hash_source_file(r, ctx)
                      : hash_local_file(util::expand_home(r.spec["file"].get<std::string>()));
    if (!hashed) {
        diags.error(r.location("/spec/file"), "spec.file", fmt::format("{}: {}", r.ref(), hashed.error().message));
        return;
    }
    auto file = r.spec["file"].get<std::string>();
    const auto& actual = *hashed;
    if (auto given = r.spec.find("sha256"); given != r.spec.end() && given->get<std::string>() != actual) {
        diags.error(r.location("/spec/sha256"), "spec.sha256",
                    fmt::format("{}: {} has SHA-256 {}, not the {} given", r.ref(), file, actual,
                                given->get<std::string>()));
        return;
    }
    r.spec["sha256"] = actual;
}

/// Durations, templates and phases of a rollout.
void check_rollout(const model::Resource& r, util::Diagnostics& diags)
{
    const json& spec = r.spec;
    auto check_duration = [&](const std::string& pointer) {
        auto value = spec.value(json::json_pointer(pointer.substr(5)), json());
        if (!value.is_string()) return;
        if (auto d = util::parse_duration(value.get<std::string>()); !d)
            diags.error(r.location(pointer), field_path(pointer), d.error().message);
    };
    check_duration("/spec/strategy/deviceTimeout");
    if (spec.contains("strategy") && spec["strategy"].contains("phases")) {
        const json& phases = spec["strategy"]["phases"];
        std::int64_t last_count = 0, last_percent = 0;
        for (std::size_t i = 0; i < phases.size(); ++i) {
            std::string pointer = fmt::format("/spec/strategy/phases/{}", i);
            check_duration(pointer + "/soak");
            for (auto [key, last] : {std::pair{"count", &last_count}, std::pair{"percent", &last_percent}}) {
                if (!phases[i].contains(key)) continue;
                auto value = phases[i][key].get<std::int64_t>();
                if (value < *last)
                    diags.error(r.location(pointer + "/" + key), field_path(pointer + "/" + key),
                                fmt::format("phases are cumulative: {} {} is less than an earlier phase's {}", key,
                                            value, *last));
                *last = value;
            }
        }
    }
    for (const char* pointer : {"/spec/install/ssh/command", "/spec/install/ssh/uploadDir", "/spec/install/http/path",
                                "/spec/verify/ssh/command", "/spec/verify/ssh/expect", "/spec/verify/http/path",
                                "/spec/verify/http/expect"}) {
        auto value = spec.value(json::json_pointer(std::string(pointer).substr(5)), json());
        if (!value.is_string()) continue;
        bool shell = std::string_view(pointer).ends_with("/command");
        auto problems = model::template_problems(value.get<std::string>());
        for (const auto& problem : problems) diags.error(r.location(pointer), field_path(pointer), problem);
        if (!problems.empty()) continue;
        if (auto t = model::check_template(value.get<std::string>(), shell); !t)
            diags.error(r.location(pointer), field_path(pointer), t.error().message);
        else if (std::string_view(pointer).ends_with("/uploadDir") &&
                 model::template_uses(value.get<std::string>(), "artifact.path"))
            diags.error(r.location(pointer), field_path(pointer),
                        "uploadDir cannot use {{artifact.path}}: the path is made from uploadDir");
    }
    if (auto windows = spec.value(json::json_pointer("/schedule/windows"), json()); windows.is_array())
        check_window_zones(r, windows, "/spec/schedule/windows", diags);
}

void check_credential(const model::Resource& r, util::Diagnostics& diags)
{
    const json& spec = r.spec;
    auto type = spec.value("type", "");
    auto has = [&](const char* f) { return spec.contains(f); };
    auto need = [&](bool ok, const std::string& what) {
        if (!ok) diags.error(r.location("/spec/type"), "spec", fmt::format("type {} needs {}", type, what));
    };
    if (type == "ssh-key") need(has("privateKeyFile") || has("fromEnv"), "privateKeyFile or fromEnv");
    if (type == "http-bearer") need(has("tokenFile") || has("fromEnv"), "tokenFile or fromEnv");
    if (type == "http-basic") need(has("username") && (has("passwordFile") || has("fromEnv")),
                                   "username and passwordFile or fromEnv");
    if (type == "tls-client") need(has("certFile") && (has("keyFile") || has("fromEnv")), "certFile and keyFile or fromEnv");
    const char* allowed_for[][2] = {{"privateKeyFile", "ssh-key"}, {"tokenFile", "http-bearer"},
                                    {"username", "http-basic"},    {"passwordFile", "http-basic"},
                                    {"certFile", "tls-client"},    {"keyFile", "tls-client"}};
    for (const auto& [field, owner] : allowed_for)
        if (has(field) && type != owner)
            diags.error(r.location(std::string("/spec/") + field), std::string("spec.") + field,
                        fmt::format("{} is not used by type {}", field, type));
    for (const char* field : {"knownHostsFile", "hostKeyPolicy"})
        if (has(field) && !type.starts_with("ssh-"))
            diags.error(r.location(std::string("/spec/") + field), std::string("spec.") + field,
                        fmt::format("{} is only used by SSH credentials", field));
}

/// Checks that a schema cannot express (or that valijson would make slow: keys by pattern).
void check_semantics(model::Resource& r, util::Diagnostics& diags)
{
    for (const auto& [key, value] : r.labels.items()) {
        if (model::valid_label_key(key)) continue;
        std::string pointer = pointer_join("/metadata/labels", key);
        diags.error(r.location(pointer), field_path(pointer),
                    fmt::format("invalid label key \"{}\": an optional DNS-subdomain prefix and '/', then up to 63 "
                                "letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
                                key));
    }
    if (r.kind != model::Kind::tenant && r.tenant.empty())
        diags.error(r.location("/metadata"), "metadata.tenant",
                    fmt::format("{} names no tenant: set metadata.tenant or pass --tenant", r.ref()));
    if (r.kind == model::Kind::credential) check_credential(r, diags);
    if (r.kind == model::Kind::rollout) check_rollout(r, diags);
    if (r.kind == model::Kind::device_group && r.spec.contains("selector")) {
        auto selector = model::Selector::parse(r.spec["selector"].get<std::string>());
        if (!selector) diags.error(r.location("/spec/selector"), "spec.selector", selector.error().message);
    }
    if (r.kind != model::Kind::tenant) return;
    if (auto settings = r.spec.find("settings"); settings != r.spec.end()) {
        for (const auto& [key, value] : settings->items()) {
            if (model::valid_setting_key(key)) continue;
            std::string pointer = pointer_join("/spec/settings", key);
            diags.error(r.location(pointer), field_path(pointer),
                        fmt::format("invalid settings key \"{}\": a letter or '_', then letters, digits, '_', '.' "
                                    "or '-'",
                                    key));
        }
    }
    if (auto members = r.spec.find("members"); members != r.spec.end()) {
        std::map<std::string, std::size_t> seen;
        for (std::size_t i = 0; i < members->size(); ++i) {
            auto user = (*members)[i]["user"].get<std::string>();
            if (auto [it, fresh] = seen.emplace(user, i); !fresh) {
                std::string pointer = fmt::format("/spec/members/{}/user", i);
                diags.error(r.location(pointer), field_path(pointer),
                            fmt::format("user \"{}\" is listed twice (also at spec.members[{}])", user, it->second));
            }
        }
    }
    if (auto policy = r.spec.find("updatePolicy"); policy != r.spec.end() && policy->contains("windows"))
        check_window_zones(r, (*policy)["windows"], "/spec/updatePolicy/windows", diags);
}

/// Validates documents and turns them into resources.
class Reader {
public:
    Reader(const LoadRequest& request, util::Diagnostics& diags)
        : m_request(request), m_rows(request.bulk ? *request.bulk : m_local), m_diags(diags)
    {
    }

    /// A CSV row: its typed cells are checked by the compiled Device rules instead of valijson, and
    /// rendered straight to canonical text; with bulk it goes to records, else to the resources read.
    /// Safe to call from several threads with their own diags and records.
    void accept_row(resource::DeviceRow& row, util::Diagnostics& diags, std::vector<resource::DeviceRecord>* records)
    {
        using C = resource::DeviceRow::Column;
        util::Location where{m_rows.files.back(), row.line, 0};
        ++m_documents;
        if (!schema::validate_device_row(row, where, diags)) return;
        resource::DeviceRecord record;
        record.name = row[C::name];
        record.tenant = row[C::tenant].empty() ? m_request.default_tenant : row[C::tenant];
        if (!m_request.required_tenant.empty() && record.tenant != m_request.required_tenant) {
            diags.error(where, "metadata.tenant", other_tenant(record.tenant));
            return;
        }
        if (record.tenant.empty()) {
            diags.error(where, "metadata.tenant",
                          fmt::format("device/{} names no tenant: set metadata.tenant or pass --tenant", record.name));
            return;
        }
        record.labels = resource::canonical_labels(row);
        record.spec = resource::canonical_spec(row);
        record.ssh_credential = row[C::ssh_credential];
        record.http_credential = row[C::http_credential];
        record.serial = row[C::identity_serial];
        record.mac = row[C::identity_mac];
        record.file = static_cast<std::uint32_t>(m_rows.files.size() - 1);
        record.line = row.line;
        if (records)
            records->push_back(std::move(record));
        else
            m_out.push_back(device_resource(m_rows, record));
    }

    /// A CSV file for bulk enrollment, read whole and parsed in parts on up to four threads (one part
    /// under 1 MiB): rows and problems are gathered per part and kept in file order.
    void read_bulk_csv(std::istream& in, const std::string& name)
    {
        std::string text;
        std::array<char, 1 << 16> buffer;
        while (auto n = in.rdbuf()->sgetn(buffer.data(), buffer.size())) text.append(buffer.data(), n);
        std::size_t parts = text.size() < (1u << 20) ? 1 : std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
        std::vector<std::vector<resource::DeviceRecord>> records(parts);
        std::vector<util::Diagnostics> diags;
        std::size_t kept = resource::read_device_csv_parts(
            text, name, parts, diags,
            [&](std::size_t part, resource::DeviceRow& row, util::Diagnostics& d) { accept_row(row, d, &records[part]); });
        for (std::size_t k = 0; k < kept; ++k) {  // kept <= parts
            m_diags.merge(diags[k]);
            std::move(records[k].begin(), records[k].end(), std::back_inserter(m_rows.records));
        }
    }

    void accept(Document& doc, bool devices_only)
    {
        ++m_documents;
        if (devices_only && doc.value.is_object() && doc.value.value("kind", json()) != "Device") {
            m_diags.error(doc.start(), "kind", "only Device records may appear here");
            return;
        }
        if (auto kind = m_validator.validate(doc, m_diags)) {
            m_out.push_back(decode(*kind, doc, m_request.default_tenant, m_in_memory, m_diags));
            const auto& r = m_out.back();
            if (r.kind != model::Kind::tenant && !m_request.required_tenant.empty() &&
                r.tenant != m_request.required_tenant)
                m_diags.error(r.location("/metadata/tenant"), "metadata.tenant", other_tenant(r.tenant));
            check_semantics(m_out.back(), m_diags);
            if (*kind == model::Kind::artifact)
                check_artifact(m_out.back(), {&m_request, m_in_memory, m_tree_path, m_from_plan}, m_diags);
        }
    }

    void read(std::istream& in, const std::string& name, Format format)
    {
        auto sink = [&](Document&& doc) { accept(doc, true); };
        if (format == Format::csv) {
            m_rows.files.push_back(name);
            if (m_request.bulk) return read_bulk_csv(in, name);
            return read_device_csv(in, name, m_diags,
                                   [&](resource::DeviceRow& row) { accept_row(row, m_diags, nullptr); });
        }
        if (format == Format::jsonl) return read_device_jsonl(in, name, m_diags, sink);
        YamlReader reader(in, name);
        while (auto doc = reader.next(m_diags)) {
            // A `kind: List` (as `get -o json` prints) holds its documents under items.
            if (doc->value.is_object() && doc->value.value("kind", json()) == "List" &&
                doc->value.contains("items") && doc->value["items"].is_array()) {
                auto& items = doc->value["items"];
                for (std::size_t i = 0; i < items.size(); ++i) {
                    Document item{std::move(items[i]), doc->marks.rebased(fmt::format("/items/{}", i))};
                    accept(item, m_request.devices_only);
                }
                continue;
            }
            accept(*doc, m_request.devices_only);
        }
    }

    std::vector<model::Resource> take() { return std::move(m_out); }

    /// Documents (and CSV rows) read, valid or not.
    std::size_t documents() const { return m_documents; }

    /// Whether the files read next are in memory (see LoadRequest::memory_files).
    void set_in_memory(bool in_memory) { m_in_memory = in_memory; }
    /// Whether the documents accepted next are a saved plan's objects (see LoadRequest::documents).
    void set_from_plan(bool from_plan) { m_from_plan = from_plan; }
    /// The path in its tree of the memory file read next.
    void set_tree_path(std::string path) { m_tree_path = std::move(path); }

private:
    std::string other_tenant(const std::string& tenant) const
    {
        return fmt::format("tenant \"{}\" is not the tenant given with --tenant ({}); drop one of them",
                           tenant, m_request.required_tenant);
    }

    bool m_in_memory = false;
    bool m_from_plan = false;
    std::atomic<std::size_t> m_documents = 0;  // CSV parts count their rows on their own threads
    std::string m_tree_path;
    const LoadRequest& m_request;
    resource::DeviceBatch m_local;
    resource::DeviceBatch& m_rows;  // the CSV files read, and with request.bulk their records
    util::Diagnostics& m_diags;
    schema::Validator m_validator;
    std::vector<model::Resource> m_out;
};

/// Guesses the format of stdin from its first line.
Format sniff(const std::string& text)
{
    auto start = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
    if (start == std::string::npos) return Format::yaml;
    if (text[start] == '{') {
        // One JSON object per line is JSONL; a single (multi-line) JSON document is YAML's business.
        auto end = text.find('\n', start);
        auto first = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        return json::accept(first) ? Format::jsonl : Format::yaml;
    }
    auto end = text.find('\n', start);
    auto first = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (first.find(',') != std::string::npos && first.find(':') == std::string::npos) return Format::csv;
    return Format::yaml;
}

} // namespace

model::Resource device_resource(const resource::DeviceBatch& batch, const resource::DeviceRecord& record)
{
    model::Resource r;
    r.kind = model::Kind::device;
    r.name = record.name;
    r.tenant = record.tenant;
    r.labels = json::parse(record.labels);
    r.spec = json::parse(record.spec);
    r.marks = resource::SourceMap(batch.files[record.file]);
    r.marks.add("", record.line, 0);
    return r;
}

std::vector<model::Resource> load_stream(std::istream& in, const std::string& name, util::Diagnostics& diags,
                                         const std::string& default_tenant)
{
    LoadRequest request;
    request.default_tenant = default_tenant;
    Reader reader(request, diags);
    reader.read(in, name, Format::yaml);
    return reader.take();
}

std::vector<model::Resource> load(const LoadRequest& request, util::Diagnostics& diags)
{
    Reader reader(request, diags);
    for (const auto& path : request.paths) {
        if (path == "-") {
            if (!request.stdin_stream) continue;
            Format format = request.stdin_format;
            if (format == Format::automatic) {
                std::stringstream buffered;
                buffered << request.stdin_stream->rdbuf();
                format = sniff(buffered.str());
                reader.read(buffered, "<stdin>", format);
            } else {
                reader.read(*request.stdin_stream, "<stdin>", format);
            }
            continue;
        }
        for (const auto& file : expand(path, request.recursive, diags)) {
            std::ifstream in(file, std::ios::binary);
            if (!in) {
                diags.error({file, 0, 0}, "", "cannot open file");
                continue;
            }
            Format format = format_of(file);
            reader.read(in, file, format == Format::automatic ? Format::yaml : format);
        }
    }
    reader.set_in_memory(true);
    for (const auto& file : request.memory_files) {
        std::istringstream in(file.content);
        reader.set_tree_path(file.path);
        Format format = format_of(file.path);
        reader.read(in, file.name, format == Format::automatic ? Format::yaml : format);
    }
    reader.set_from_plan(true);
    for (const auto& document : request.documents) {
        Document copy = document;
        reader.accept(copy, request.devices_only);
    }
    // An empty input is a mistake (a folder of folders without -R, an empty file), never "nothing to
    // do": with --prune it would delete everything the source applied.
    if (reader.documents() == 0 && !diags.has_errors()) {
        std::string where = request.paths.empty() ? "input" : request.paths.front();
        bool folder = false;
        for (const auto& path : request.paths) {
            std::error_code ec;
            folder = folder || fs::is_directory(path, ec);
        }
        diags.error({where, 0, 0}, "",
                    folder && !request.recursive
                        ? "no resource document read: a folder given with -f is read for the .yaml, .yml, .json, "
                          ".csv and .jsonl files directly in it; -R also reads its subfolders"
                        : "no resource document read");
    }
    return reader.take();
}

void warn_missing_credential_files(const std::vector<model::Resource>& resources, util::Diagnostics& diags)
{
    for (const auto& r : resources) {
        if (r.kind != model::Kind::credential) continue;
        for (const char* field : credential_paths) {
            auto it = r.spec.find(field);
            if (it == r.spec.end()) continue;
            auto path = util::expand_home(it->get<std::string>());
            std::error_code ec;
            if (!fs::exists(path, ec))
                diags.warn(r.location(std::string("/spec/") + field), std::string("spec.") + field,
                           fmt::format("{}: {} does not exist on this machine (it is read when the credential is used)",
                                       r.ref(), it->get<std::string>()));
        }
    }
}

namespace {

/// "files:" and the keys of each path, sorted and without repeats, comma-separated.
std::string files_key(std::vector<std::string> keys)
{
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::string out = "files:";
    for (std::size_t i = 0; i < keys.size(); ++i) out += (i ? "," : "") + keys[i];
    return out;
}

std::string absolute_key(const std::string& p)
{
    std::error_code ec;
    auto abs = fs::weakly_canonical(fs::absolute(p), ec);
    return ec ? p : abs.string();
}

} // namespace

std::string source_key(const std::vector<std::string>& paths)
{
    // One path in a git work tree is the same source as `--git ORIGIN --path REL`.
    if (paths.size() == 1 && paths[0] != "-")
        if (auto key = gitsource::worktree_source_key(paths[0])) return *key;
    std::vector<std::string> keys;
    for (const auto& p : paths) {
        if (p == "-") {
            keys.emplace_back("stdin");
            continue;
        }
        auto key = gitsource::worktree_source_key(p);
        keys.push_back(key ? *key : absolute_key(p));
    }
    return files_key(std::move(keys));
}

std::string legacy_source_key(const std::vector<std::string>& paths)
{
    std::vector<std::string> keys;
    for (const auto& p : paths) keys.push_back(p == "-" ? "stdin" : absolute_key(p));
    return files_key(std::move(keys));
}

util::Result<std::string> named_source_key(const std::string& name)
{
    bool printable = !name.empty() && name.size() <= 200 &&
                     std::all_of(name.begin(), name.end(), [](unsigned char c) { return c >= 0x21 && c < 0x7f; });
    if (!printable)
        return util::fail(util::ErrorKind::usage,
                          "--source NAME: 1 to 200 printable ASCII characters without spaces (e.g. acme-fleet/prod)");
    return "source:" + name;
}

} // namespace fleet::input
