#include <catch2/catch.hpp>

#include <sstream>

#include "core/input/loader.hpp"
#include "core/schema/length_guard.hpp"
#include "core/schema/validator.hpp"

namespace {

struct Loaded {
    std::vector<fleet::model::Resource> resources;
    fleet::util::Diagnostics diags;
};

Loaded load(const std::string& text)
{
    Loaded l;
    std::istringstream in(text);
    l.resources = fleet::input::load_stream(in, "t.yaml", l.diags);
    return l;
}

std::string messages(const fleet::util::Diagnostics& diags)
{
    std::string out;
    for (const auto& d : diags.items()) out += d.str() + "\n";
    return out;
}

} // namespace

TEST_CASE("a valid tenant decodes: fleetadm's own metadata and status are ignored", "[schema]")
{
    auto l = load(R"(apiVersion: fleetadm/v1
kind: Tenant
metadata:
  name: acme
  labels: {tier: gold}
  annotations: {fleetadm.io/source: "files:/x", note: kept}
  generation: 4
  creationTimestamp: "2026-01-01T00:00:00Z"
spec:
  deviceLimit: 5
status: {devices: 3}
)");
    INFO(messages(l.diags));
    REQUIRE_FALSE(l.diags.has_errors());
    REQUIRE(l.resources.size() == 1);
    const auto& r = l.resources[0];
    CHECK(r.name == "acme");
    CHECK(r.labels == nlohmann::json{{"tier", "gold"}});
    CHECK(r.annotations == nlohmann::json{{"note", "kept"}});
    CHECK(r.spec == nlohmann::json{{"deviceLimit", 5}});
}

TEST_CASE("every schema violation of every document is reported with its position and field", "[schema]")
{
    auto l = load(R"(apiVersion: fleetadm/v1
kind: Tenant
metadata:
  name: Bad_Name
spec:
  deviceLimit: lots
  colour: blue
---
apiVersion: fleetadm/v1
kind: Tenant
metadata:
  name: ok
spec:
  members:
    - {user: bob, role: king}
)");
    CHECK(l.resources.empty());
    auto text = messages(l.diags);
    INFO(text);
    CHECK(l.diags.error_count() == 4);
    CHECK(text.find("t.yaml:4:3: metadata.name: invalid name \"Bad_Name\"") != std::string::npos);
    CHECK(text.find("t.yaml:6:3: spec.deviceLimit: expected integer, got string \"lots\"") != std::string::npos);
    CHECK(text.find("t.yaml:7:3: spec.colour: unknown field \"colour\"") != std::string::npos);
    CHECK(text.find("t.yaml:15:19: spec.members[0].role: \"king\" is not one of: admin, operator, viewer") !=
          std::string::npos);
}

TEST_CASE("unknown kinds, missing kinds and non-map documents are errors", "[schema]")
{
    auto l = load("apiVersion: fleetadm/v1\nkind: Spaceship\nmetadata: {name: x}\n---\n- 1\n---\nfoo: bar\n");
    auto text = messages(l.diags);
    INFO(text);
    CHECK(l.diags.error_count() == 3);
    CHECK(text.find("t.yaml:2:1: kind: unknown kind \"Spaceship\"") != std::string::npos);
    CHECK(text.find("expected a resource") != std::string::npos);
    CHECK(text.find("\"kind\" is missing") != std::string::npos);
}

TEST_CASE("members listed twice and unknown time zones are caught after the schema", "[schema]")
{
    auto l = load(R"(apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: acme}
spec:
  members:
    - {user: bob, role: admin}
    - {user: bob, role: viewer}
  updatePolicy:
    windows: [{start: "01:00", end: "02:00", timezone: Mars/Olympus}]
)");
    auto text = messages(l.diags);
    INFO(text);
    CHECK(text.find("t.yaml:7:8: spec.members[1].user: user \"bob\" is listed twice") != std::string::npos);
    CHECK(text.find("unknown time zone \"Mars/Olympus\"") != std::string::npos);
}

TEST_CASE("a List document's items are read as resources, positions kept", "[schema]")
{
    auto l = load(R"({"apiVersion": "fleetadm/v1", "kind": "List", "items": [
  {"apiVersion": "fleetadm/v1", "kind": "Tenant", "metadata": {"name": "a"}},
  {"apiVersion": "fleetadm/v1", "kind": "Tenant", "metadata": {"name": "b"}, "spec": {"deviceLimit": "x"}}
]})");
    REQUIRE(l.resources.size() == 1);
    REQUIRE(l.diags.error_count() == 1);
    CHECK(l.diags.items()[0].where.line == 3);
    CHECK(l.diags.items()[0].field == "spec.deviceLimit");
}

TEST_CASE("label and settings keys follow their rules", "[schema]")
{
    auto l = load(R"(apiVersion: fleetadm/v1
kind: Tenant
metadata:
  name: acme
  labels: {"Bad Key": x, example.com/ok: y, -dash: z, "UPPER.com/x": w}
spec:
  settings: {good_key: 1, "9lives": 2}
)");
    auto text = messages(l.diags);
    INFO(text);
    CHECK(l.diags.error_count() == 4);
    CHECK(text.find("metadata.labels.Bad Key: invalid label key") != std::string::npos);
    CHECK(text.find("metadata.labels.-dash: invalid label key") != std::string::npos);
    CHECK(text.find("metadata.labels.UPPER.com/x: invalid label key") != std::string::npos);
    CHECK(text.find("spec.settings.9lives: invalid settings key") != std::string::npos);
}

TEST_CASE("a string too long for its pattern is reported by length and never reaches the regex", "[schema][hostile]")
{
    // 30,000 characters overflowed std::regex's recursion inside valijson.
    std::string huge(30'000, 'a');
    auto l = load("apiVersion: fleetadm/v1\nkind: Device\nmetadata:\n  name: d1\n  tenant: acme\n"
                  "  labels: {tier: " + huge + "}\nspec:\n  deviceType: " + huge +
                  "\n  ssh: {host: " + huge + ", port: 0}\n");
    INFO(messages(l.diags));
    CHECK(l.resources.empty());
    REQUIRE(l.diags.error_count() == 4);  // three lengths and the port
    CHECK(messages(l.diags).find("t.yaml:6:12: metadata.labels.tier: longer than 63 characters\n") != std::string::npos);
    CHECK(messages(l.diags).find("t.yaml:8:3: spec.deviceType: longer than 128 characters\n") != std::string::npos);
    CHECK(messages(l.diags).find("t.yaml:9:9: spec.ssh.host: longer than 253 characters\n") != std::string::npos);
    // The document's other problems are still found.
    CHECK(messages(l.diags).find(": spec.ssh.port: ") != std::string::npos);
}

TEST_CASE("every patterned string of every schema has a maxLength the length guard can hold", "[schema]")
{
    for (auto kind : {fleet::model::Kind::tenant, fleet::model::Kind::device, fleet::model::Kind::device_group,
                      fleet::model::Kind::credential, fleet::model::Kind::artifact, fleet::model::Kind::rollout}) {
        auto text = fleet::schema::Validator::schema_text(kind);
        REQUIRE(text);
        nlohmann::json schema = nlohmann::json::parse(*text);
        std::vector<std::string> unbounded;
        nlohmann::json flat = schema.flatten();
        for (const auto& [pointer, value] : flat.items()) {
            if (!pointer.ends_with("/pattern")) continue;
            std::string node = pointer.substr(0, pointer.size() - 8);
            auto bound = schema.value(nlohmann::json::json_pointer(node + "/maxLength"), nlohmann::json());
            if (!bound.is_number_unsigned() || bound.get<std::size_t>() > fleet::schema::max_pattern_length)
                unbounded.push_back(node);
            CHECK_FALSE(schema.at(nlohmann::json::json_pointer(node)).contains("format"));
        }
        INFO(fleet::model::kind_name(kind));
        CHECK(unbounded.empty());
    }
}
