#include "core/exporter/exporter.hpp"

#include <fmt/format.h>

#include <fstream>
#include <set>

#include "core/resource/yaml_writer.hpp"
#include "core/tenancy/view.hpp"
#include "core/util/safe_path.hpp"

namespace fleet::exporter {

namespace fs = std::filesystem;
using nlohmann::json;
using util::ErrorKind;
using util::fail;
using util::Result;

namespace {

/// The document apply reads back: no status, timestamps, generation or owned annotations.
json document(const model::Resource& r)
{
    json meta = {{"name", r.name}};
    if (r.kind != model::Kind::tenant) meta["tenant"] = r.tenant;
    if (!r.labels.empty()) meta["labels"] = r.labels;
    if (!r.annotations.empty()) meta["annotations"] = r.annotations;
    json doc = json::object();
    doc["apiVersion"] = model::api_version;
    doc["kind"] = model::kind_name(r.kind);
    doc["metadata"] = std::move(meta);
    doc["spec"] = r.spec;
    return doc;
}

Result<void> write_file(const fs::path& path, const std::string& text)
{
    auto temporary = path;
    temporary += ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out.flush())
            return fail(ErrorKind::runtime, fmt::format("cannot write {}", temporary.string()));
    }
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) return fail(ErrorKind::runtime, fmt::format("cannot write {}: {}", path.string(), ec.message()));
    return {};
}

Result<bool> empty_folder(const fs::path& dir)
{
    std::error_code ec;
    if (!fs::exists(dir, ec)) return true;
    if (!fs::is_directory(dir, ec))
        return fail(ErrorKind::usage, fmt::format("{} exists and is not a directory", dir.string()));
    auto it = fs::directory_iterator(dir, ec);
    if (ec) return fail(ErrorKind::runtime, fmt::format("cannot read {}: {}", dir.string(), ec.message()));
    return it == fs::directory_iterator();
}

/// Files of an earlier export's layout in dir that this one did not write.
std::size_t remove_stale(const fs::path& dir, const std::set<fs::path>& written)
{
    std::size_t removed = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        if (it->is_symlink() || !it->is_directory()) continue;  // never follow a link out of dir
        for (const char* name : tree_files) {
            auto file = it->path() / name;
            std::error_code exists_ec;
            if (!written.contains(file) && fs::is_regular_file(file, exists_ec) && fs::remove(file, exists_ec))
                ++removed;
        }
        std::error_code empty_ec;
        if (fs::is_empty(it->path(), empty_ec)) fs::remove(it->path(), empty_ec);
    }
    return removed;
}

} // namespace

Result<Summary> write_tree(store::Store& store, const Options& options)
{
    auto empty = empty_folder(options.dir);
    if (!empty) return std::unexpected(empty.error());
    if (!*empty && !options.force)
        return fail(ErrorKind::conflict,
                    fmt::format("{} is not empty; choose an empty or new folder, or pass --force to overwrite an "
                                "earlier export there",
                                options.dir.string()));

    auto tx = store.begin(store::TxMode::read);
    if (!tx) return std::unexpected(tx.error());
    auto view = tenancy::read_view(store);
    if (!view) return std::unexpected(view.error());
    std::vector<std::string> tenants;
    if (options.tenant.empty()) {
        for (const auto& [name, t] : view->tenants) tenants.push_back(name);
    } else {
        if (!view->tenants.contains(options.tenant))
            return fail(ErrorKind::not_found, fmt::format("tenant/{} not found", options.tenant));
        for (const auto& name : view->tree.subtree(options.tenant))
            if (view->tenants.contains(name)) tenants.push_back(name);
    }

    std::error_code ec;
    fs::create_directories(options.dir, ec);
    if (ec) return fail(ErrorKind::runtime, fmt::format("cannot create {}: {}", options.dir.string(), ec.message()));
    Summary summary;
    std::set<fs::path> written;
    for (const auto& name : tenants) {
        // A tenant name becomes a folder: it must be one path component, whatever wrote it.
        auto child = util::child_path(options.dir, name, "tenant");
        if (!child) return std::unexpected(child.error());
        auto folder = *child;
        if (fs::is_symlink(folder, ec))
            return fail(ErrorKind::conflict,
                        fmt::format("{} is a symbolic link: export writes only into folders of its own", folder.string()));
        fs::create_directories(folder, ec);
        if (ec) return fail(ErrorKind::runtime, fmt::format("cannot create {}: {}", folder.string(), ec.message()));
        ++summary.tenants;
        std::string text = "---\n" + resource::to_yaml(document(view->tenants.at(name).resource));
        ++summary.objects;
        auto file = folder / tree_files[0];
        if (auto w = write_file(file, text); !w) return std::unexpected(w.error());
        written.insert(file);
        const model::Kind kinds[] = {model::Kind::credential, model::Kind::device_group, model::Kind::device,
                                     model::Kind::artifact, model::Kind::rollout};
        for (std::size_t i = 0; i < std::size(kinds); ++i) {
            text.clear();
            std::size_t count = 0;
            auto scanned = store.scan(kinds[i], &name, [&](model::Object&& o) {
                text += "---\n" + resource::to_yaml(document(o.resource));
                ++count;
            });
            if (!scanned) return std::unexpected(scanned.error());
            file = folder / tree_files[i + 1];
            if (count == 0) continue;
            if (auto w = write_file(file, text); !w) return std::unexpected(w.error());
            written.insert(file);
            summary.objects += count;
        }
    }
    summary.files = written.size();
    if (options.force) summary.removed = remove_stale(options.dir, written);
    return summary;
}

} // namespace fleet::exporter
