#include "core/model/object.hpp"

#include "core/util/duration.hpp"

namespace fleet::model {

nlohmann::json to_json(Object object, nlohmann::json status)
{
    Resource& r = object.resource;
    nlohmann::json meta = {{"name", r.name}};
    if (r.kind != Kind::tenant) meta["tenant"] = r.tenant;
    if (!r.labels.empty()) meta["labels"] = std::move(r.labels);
    nlohmann::json annotations = std::move(r.annotations);
    if (!object.origin.source.empty()) annotations["fleetadm.io/source"] = object.origin.source;
    if (!object.origin.file.empty()) annotations["fleetadm.io/source-file"] = object.origin.file;
    if (const auto& source = object.origin.source; source.starts_with("git:")) {
        // "git:URL#PATH"; a git URL never holds '#' (parse_spec refuses it)
        auto hash = source.find('#');
        annotations["fleetadm.io/git-url"] = source.substr(4, hash == std::string::npos ? hash : hash - 4);
        if (hash != std::string::npos) annotations["fleetadm.io/git-path"] = source.substr(hash + 1);
    }
    if (!object.origin.commit.empty()) annotations["fleetadm.io/git-commit"] = object.origin.commit;
    if (!annotations.empty()) meta["annotations"] = annotations;
    if (!object.created_at.empty()) meta["creationTimestamp"] = object.created_at;
    if (!object.updated_at.empty()) meta["updateTimestamp"] = object.updated_at;
    if (object.generation > 0) meta["generation"] = object.generation;
    nlohmann::json out = nlohmann::json::object();
    out["apiVersion"] = api_version;
    out["kind"] = kind_name(r.kind);
    out["metadata"] = std::move(meta);
    out["spec"] = std::move(r.spec);
    if (!status.is_null()) out["status"] = std::move(status);
    return out;
}

std::string now_utc() { return util::utc_ago(std::chrono::seconds(0)); }

} // namespace fleet::model
