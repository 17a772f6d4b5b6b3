#include <catch2/catch.hpp>

#include "core/schema/device_row.hpp"
#include "core/schema/validator.hpp"

using nlohmann::json;

namespace {

fleet::resource::Document row(json spec, json meta = {{"name", "dev-1"}, {"tenant", "acme"}})
{
    json doc = {{"apiVersion", "fleetadm/v1"}, {"kind", "Device"}, {"metadata", meta}, {"spec", spec}};
    fleet::resource::SourceMap marks("rows.csv");
    marks.add("", 7, 0);
    return {doc, marks};
}

} // namespace

TEST_CASE("the compiled CSV row rules and device.schema.json agree", "[schema][csv]")
{
    std::vector<fleet::resource::Document> cases = {
        row({{"deviceType", "rpi4"}}),
        row({{"deviceType", "rpi4"}, {"ssh", {{"host", "10.0.0.1"}, {"port", 22}, {"user", "root"}, {"credential", "k"}}}}),
        row({{"deviceType", "rpi4"}, {"http", {{"url", "https://d:8080"}, {"profile", "swupdate"}}}}),
        row({{"deviceType", "rpi4"}, {"identity", {{"serial", "X1"}, {"mac", "dc:a6:32:00:00:01"}}}}),
        row({{"deviceType", "rpi4"}}, {{"name", "dev-1"}, {"labels", {{"building", "a"}, {"channel", ""}}}}),
        // invalid ones
        row({{"deviceType", ""}}),
        row({{"deviceType", "-x"}}),
        row(json::object()),
        row({{"deviceType", "rpi4"}}, {{"name", "Dev_1"}}),
        row({{"deviceType", "rpi4"}}, {{"name", "dev-1"}, {"tenant", "-bad"}}),
        row({{"deviceType", "rpi4"}, {"ssh", {{"host", "10.0.0.1"}, {"port", 70000}}}}),
        row({{"deviceType", "rpi4"}, {"ssh", {{"host", "10.0.0.1"}, {"port", "ssh"}}}}),
        row({{"deviceType", "rpi4"}, {"ssh", {{"host", "bad host"}}}}),
        row({{"deviceType", "rpi4"}, {"ssh", {{"port", 22}}}}),
        row({{"deviceType", "rpi4"}, {"ssh", {{"host", "h"}, {"user", "-root"}}}}),
        row({{"deviceType", "rpi4"}, {"http", {{"url", "ftp://x"}}}}),
        row({{"deviceType", "rpi4"}, {"http", {{"url", "https://x"}, {"profile", "mender"}}}}),
        row({{"deviceType", "rpi4"}, {"identity", {{"mac", "dc:a6:32:00:00"}}}}),
        row({{"deviceType", "rpi4"}}, {{"name", "dev-1"}, {"labels", {{"k", "has space"}}}}),
        row({{"deviceType", "rpi4"}, {"ssh", {{"host", "h"}, {"credential", "Bad"}}}}),
    };
    fleet::schema::Validator validator;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        fleet::util::Diagnostics by_schema, by_rows;
        bool schema_ok = validator.validate(cases[i], by_schema).has_value();
        bool rows_ok = fleet::schema::validate_device_row(cases[i], by_rows);
        INFO("case " << i << ": " << cases[i].value.dump());
        CHECK(schema_ok == rows_ok);
        CHECK(schema_ok == (i < 5));
        if (!rows_ok) {
            REQUIRE(by_rows.has_errors());
            CHECK(by_rows.items()[0].where.str() == "rows.csv:7");
            CHECK_FALSE(by_rows.items()[0].field.empty());
        }
    }
}
