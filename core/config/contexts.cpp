#include "core/config/contexts.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/resource/yaml_reader.hpp"
#include "core/resource/yaml_writer.hpp"
#include "core/util/files.hpp"

namespace fleet::config {

namespace fs = std::filesystem;
using nlohmann::json;
using util::ErrorKind;
using util::fail;

const Context* Config::find(const std::string& name) const
{
    for (const auto& c : contexts)
        if (c.name == name) return &c;
    return nullptr;
}

std::string default_path()
{
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return std::string(xdg) + "/fleetadm/config.yaml";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.config/fleetadm/config.yaml";
}

util::Result<Config> load(const std::string& path)
{
    Config config;
    // Not a regular file (a FIFO, a device, a folder): opening or reading it could block or never end.
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (!ec && fs::exists(status) && !fs::is_regular_file(status))
        return fail(ErrorKind::usage, fmt::format("{}: not a regular file", path));
    std::ifstream in(path, std::ios::binary);
    if (!in) return config;
    util::Diagnostics diags;
    resource::YamlReader reader(in, path);
    auto doc = reader.next(diags);
    if (diags.has_errors()) return fail(ErrorKind::usage, diags.items()[0].str());
    if (!doc) return config;
    const json& v = doc->value;
    auto bad = [&](const std::string& pointer, const std::string& what) {
        return fail(ErrorKind::usage, fmt::format("{}: {}", doc->marks.locate(pointer).str(), what));
    };
    if (!v.is_object()) return bad("", "expected a map with current-context and contexts");
    for (const auto& [key, value] : v.items())
        if (key != "current-context" && key != "contexts") return bad("/" + key, "unknown field \"" + key + "\"");
    if (v.contains("current-context")) {
        if (!v["current-context"].is_string()) return bad("/current-context", "expected a string");
        config.current = v["current-context"].get<std::string>();
    }
    if (v.contains("contexts")) {
        if (!v["contexts"].is_array()) return bad("/contexts", "expected a list");
        for (std::size_t i = 0; i < v["contexts"].size(); ++i) {
            const json& c = v["contexts"][i];
            std::string at = fmt::format("/contexts/{}", i);
            if (!c.is_object() || !c.contains("name") || !c["name"].is_string())
                return bad(at, "a context needs a name");
            Context ctx{c["name"].get<std::string>(), "", "", ""};
            for (const auto& [key, value] : c.items()) {
                if (!value.is_string()) return bad(at + "/" + key, "expected a string");
                if (key == "state") ctx.state = value.get<std::string>();
                else if (key == "tenant") ctx.tenant = value.get<std::string>();
                else if (key == "user") ctx.user = value.get<std::string>();
                else if (key != "name") return bad(at + "/" + key, "unknown field \"" + key + "\"");
            }
            config.contexts.push_back(std::move(ctx));
        }
    }
    return config;
}

util::Result<void> save(const std::string& path, const Config& config)
{
    json contexts = json::array();
    for (const auto& c : config.contexts) {
        json entry = {{"name", c.name}};
        if (!c.state.empty()) entry["state"] = c.state;
        if (!c.tenant.empty()) entry["tenant"] = c.tenant;
        if (!c.user.empty()) entry["user"] = c.user;
        contexts.push_back(std::move(entry));
    }
    json doc = {{"contexts", contexts}};
    if (!config.current.empty()) doc["current-context"] = config.current;
    // Owner-only: contexts name stores and users (SPEC §5).
    if (auto made = util::make_private_dirs(fs::path(path).parent_path()); !made) return made;
    return util::write_private_file(path, "# fleetadm contexts; edit with `fleetadm config set-context` and "
                                          "`use-context`\n" + resource::to_yaml(doc));
}

} // namespace fleet::config
