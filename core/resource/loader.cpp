#include "core/resource/loader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/resource/yaml_reader.hpp"
#include "core/schema/validator.hpp"

namespace fleet::resource {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool is_resource_file(const fs::path& p)
{
    auto ext = p.extension().string();
    return ext == ".yaml" || ext == ".yml" || ext == ".json";
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
        if (entry.is_regular_file() && is_resource_file(entry.path()) && !hidden(entry.path()))
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

/// Builds a Resource from a document that passed its schema.
model::Resource decode(model::Kind kind, Document& doc)
{
    model::Resource r;
    r.kind = kind;
    json& meta = doc.value["metadata"];
    r.name = meta["name"].get<std::string>();
    if (meta.contains("tenant")) r.tenant = meta["tenant"].get<std::string>();
    if (meta.contains("labels")) r.labels = std::move(meta["labels"]);
    if (meta.contains("annotations")) {
        for (auto& [key, value] : meta["annotations"].items())
            if (!key.starts_with(model::owned_annotation_prefix)) r.annotations[key] = value;
    }
    if (doc.value.contains("spec") && !doc.value["spec"].is_null()) r.spec = std::move(doc.value["spec"]);
    r.marks = std::move(doc.marks);
    return r;
}

/// Checks that a schema cannot express (or that valijson would make slow: keys by pattern).
void check_semantics(const model::Resource& r, util::Diagnostics& diags)
{
    for (const auto& [key, value] : r.labels.items()) {
        if (model::valid_label_key(key)) continue;
        std::string pointer = pointer_join("/metadata/labels", key);
        diags.error(r.location(pointer), field_path(pointer),
                    fmt::format("invalid label key \"{}\": an optional DNS-subdomain prefix and '/', then up to 63 "
                                "letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
                                key));
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
    if (auto policy = r.spec.find("updatePolicy"); policy != r.spec.end() && policy->contains("windows")) {
        const json& windows = (*policy)["windows"];
        for (std::size_t i = 0; i < windows.size(); ++i) {
            if (!windows[i].contains("timezone")) continue;
            auto tz = windows[i]["timezone"].get<std::string>();
            std::error_code ec;
            if (tz != "UTC" && fs::is_directory("/usr/share/zoneinfo", ec) &&
                !fs::is_regular_file(fs::path("/usr/share/zoneinfo") / tz, ec)) {
                std::string pointer = fmt::format("/spec/updatePolicy/windows/{}/timezone", i);
                diags.error(r.location(pointer), field_path(pointer), fmt::format("unknown time zone \"{}\"", tz));
            }
        }
    }
}

void read_stream(std::istream& in, const std::string& name, schema::Validator& validator,
                 std::vector<model::Resource>& out, util::Diagnostics& diags)
{
    YamlReader reader(in, name);
    auto accept = [&](Document& doc) {
        if (auto kind = validator.validate(doc, diags)) {
            out.push_back(decode(*kind, doc));
            check_semantics(out.back(), diags);
        }
    };
    while (auto doc = reader.next(diags)) {
        // A `kind: List` (as `get -o json` prints) holds its documents under items.
        if (doc->value.is_object() && doc->value.value("kind", json()) == "List" && doc->value.contains("items") &&
            doc->value["items"].is_array()) {
            auto& items = doc->value["items"];
            for (std::size_t i = 0; i < items.size(); ++i) {
                Document item{std::move(items[i]), doc->marks.rebased(fmt::format("/items/{}", i))};
                accept(item);
            }
            continue;
        }
        accept(*doc);
    }
}

} // namespace

std::vector<model::Resource> load_stream(std::istream& in, const std::string& name, util::Diagnostics& diags)
{
    schema::Validator validator;
    std::vector<model::Resource> out;
    read_stream(in, name, validator, out, diags);
    return out;
}

std::vector<model::Resource> load(const LoadRequest& request, util::Diagnostics& diags)
{
    schema::Validator validator;
    std::vector<model::Resource> out;
    for (const auto& path : request.paths) {
        if (path == "-") {
            if (request.stdin_stream) read_stream(*request.stdin_stream, "<stdin>", validator, out, diags);
            continue;
        }
        for (const auto& file : expand(path, request.recursive, diags)) {
            std::ifstream in(file, std::ios::binary);
            if (!in) {
                diags.error({file, 0, 0}, "", "cannot open file");
                continue;
            }
            read_stream(in, file, validator, out, diags);
        }
    }
    return out;
}

std::string source_key(const std::vector<std::string>& paths)
{
    std::vector<std::string> keys;
    for (const auto& p : paths) {
        if (p == "-") {
            keys.emplace_back("stdin");
            continue;
        }
        std::error_code ec;
        auto abs = fs::weakly_canonical(fs::absolute(p), ec);
        keys.push_back(ec ? p : abs.string());
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::string out = "files:";
    for (std::size_t i = 0; i < keys.size(); ++i) out += (i ? "," : "") + keys[i];
    return out;
}

} // namespace fleet::resource
