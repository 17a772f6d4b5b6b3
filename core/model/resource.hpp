#pragma once
// The in-memory form of every fleetadm object, whether read from a file or from the store.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/resource/document.hpp"

namespace fleet::model {

/// The apiVersion every resource carries.
inline constexpr std::string_view api_version = "fleetadm/v1";
/// Prefix of annotations that fleetadm sets itself and ignores on input.
inline constexpr std::string_view owned_annotation_prefix = "fleetadm.io/";

/// The kinds of object fleetadm manages.
enum class Kind { tenant, device, device_group, credential, artifact, rollout };

/// The canonical name of a kind, as written in `kind:` ("Tenant").
std::string_view kind_name(Kind kind);
/// The lower-case plural used in tables and `-o name` ("tenant").
std::string_view kind_short(Kind kind);
/// Parses a kind as written in a document ("Tenant") or on the command line ("tenants", "dev", ...).
std::optional<Kind> parse_kind(std::string_view text);
/// The spellings of kinds offered on the command line (singular, plural, short form), for completion.
std::vector<std::string> kind_spellings();

/// Where an object came from, recorded when it is applied.
struct Origin {
    std::string source;  ///< the source key prune works on (file set or git URL + path)
    std::string file;    ///< file:line of the document that defined it
    std::string commit;  ///< git commit, when applied from git
};

/// One object: the envelope fields and its spec; status is computed, never stored here.
struct Resource {
    Kind kind = Kind::tenant;
    std::string name;
    std::string tenant;             ///< owning tenant; for a Tenant: empty
    nlohmann::json labels = nlohmann::json::object();
    nlohmann::json annotations = nlohmann::json::object();  ///< user annotations only
    nlohmann::json spec = nlohmann::json::object();
    resource::SourceMap marks;      ///< positions, for objects read from files

    /// "tenant/acme", as printed by apply and `-o name`.
    std::string ref() const;
    /// Where the object was defined, when read from a file.
    util::Location location(std::string_view pointer = "") const { return marks.locate(pointer); }
};

/// The name rule for every object (SPEC §1): a DNS label of at most 63 characters.
bool valid_name(std::string_view name);
/// kubectl's label key rule: [DNS-subdomain prefix "/"] name of at most 63 characters.
bool valid_label_key(std::string_view key);
/// The rule for tenant settings keys: a letter or '_', then letters, digits, '_', '.' or '-'; at most 128.
bool valid_setting_key(std::string_view key);

} // namespace fleet::model
