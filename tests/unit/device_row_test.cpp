#include <catch2/catch.hpp>

#include <regex>

#include <charconv>
#include <sstream>

#include "core/resource/device_rows.hpp"
#include "core/schema/device_row.hpp"
#include "core/schema/validator.hpp"

using nlohmann::json;
using fleet::resource::DeviceRow;

namespace {

/// The typed rows of a CSV text.
std::vector<DeviceRow> read_rows(const std::string& csv)
{
    std::istringstream in(csv);
    fleet::util::Diagnostics diags;
    std::vector<DeviceRow> rows;
    fleet::resource::read_device_csv(in, "rows.csv", diags, [&](DeviceRow& row) { rows.push_back(row); });
    INFO(csv);
    REQUIRE_FALSE(diags.has_errors());
    return rows;
}

/// The Device document a row stands for, built the way a YAML document is: a JSON tree from the
/// cells, a port that parses as an integer becoming a number.
json document_of(const DeviceRow& row)
{
    static const std::vector<std::pair<DeviceRow::Column, std::string>> pointers = {
        {DeviceRow::name, "/metadata/name"},         {DeviceRow::tenant, "/metadata/tenant"},
        {DeviceRow::device_type, "/spec/deviceType"}, {DeviceRow::ssh_host, "/spec/ssh/host"},
        {DeviceRow::ssh_port, "/spec/ssh/port"},      {DeviceRow::ssh_user, "/spec/ssh/user"},
        {DeviceRow::ssh_credential, "/spec/ssh/credential"}, {DeviceRow::http_url, "/spec/http/url"},
        {DeviceRow::http_credential, "/spec/http/credential"}, {DeviceRow::http_profile, "/spec/http/profile"},
        {DeviceRow::identity_serial, "/spec/identity/serial"}, {DeviceRow::identity_mac, "/spec/identity/mac"},
        {DeviceRow::version_probe, "/spec/versionProbe"},
    };
    json doc = {{"apiVersion", "fleetadm/v1"}, {"kind", "Device"}, {"metadata", json::object()}, {"spec", json::object()}};
    for (const auto& [column, pointer] : pointers) {
        const std::string& value = row[column];
        if (value.empty()) continue;
        json cell = value;
        if (column == DeviceRow::ssh_port) {
            std::int64_t port = 0;
            auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
            if (ec == std::errc() && ptr == value.data() + value.size()) cell = port;
        }
        doc[json::json_pointer(pointer)] = cell;
    }
    if (const auto& jump = row[DeviceRow::ssh_jump]; !jump.empty()) {
        // user@host:port,... read with a regular expression, not with the code under test; what it
        // cannot read goes in as the text, which the schema rejects (not an array).
        static const std::regex hop(R"(^[ \t]*(?:([^@,]+)@)?(\[([^\],]*)\]|[^@:,\[\] \t]*)(?::([^, \t]+))?[ \t]*$)");
        json hops = json::array();
        std::size_t start = 0;
        bool ok = true;
        while (ok) {
            auto comma = jump.find(',', start);
            std::string text = jump.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            std::smatch m;
            ok = std::regex_match(text, m, hop) && (m[3].matched ? m[3].length() > 0 : m[2].length() > 0);
            if (!ok) break;
            json h = {{"host", m[3].matched ? m[3].str() : m[2].str()}};
            if (m[1].matched) h["user"] = m[1].str();
            if (m[4].matched) {
                std::int64_t port = 0;
                auto p = m[4].str();
                auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
                h["port"] = ec == std::errc() && ptr == p.data() + p.size() ? json(port) : json(p);
            }
            hops.push_back(h);
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
        doc["spec"]["ssh"]["jump"] = ok ? hops : json(jump);
    }
    if (!row[DeviceRow::labels].empty()) {
        json labels = json::object();
        std::string text = row[DeviceRow::labels];
        std::size_t start = 0;
        while (start <= text.size()) {
            auto semi = text.find(';', start);
            auto pair = text.substr(start, semi == std::string::npos ? std::string::npos : semi - start);
            if (auto eq = pair.find('='); eq != std::string::npos) labels[pair.substr(0, eq)] = pair.substr(eq + 1);
            if (semi == std::string::npos) break;
            start = semi + 1;
        }
        doc["metadata"]["labels"] = labels;
    }
    return doc;
}

} // namespace

TEST_CASE("the compiled CSV row rules and device.schema.json agree", "[schema][csv]")
{
    const std::string header = "name,tenant,labels,deviceType,ssh.host,ssh.port,ssh.user,ssh.credential,http.url,"
                               "http.profile,identity.serial,identity.mac\n";
    std::vector<std::string> valid = {
        "dev-1,acme,,rpi4,,,,,,,,",
        "dev-1,acme,,rpi4,10.0.0.1,22,root,k,,,,",
        "dev-1,acme,,rpi4,,,,,https://d:8080,swupdate,,",
        "dev-1,acme,,rpi4,,,,,,,X1,dc:a6:32:00:00:01",
        "dev-1,,building=a;channel=,rpi4,,,,,,,,",
    };
    std::vector<std::string> invalid = {
        "dev-1,acme,,,,,,,,,,",
        "dev-1,acme,,-x,,,,,,,,",
        "Dev_1,acme,,rpi4,,,,,,,,",
        "dev-1,-bad,,rpi4,,,,,,,,",
        "dev-1,acme,,rpi4,10.0.0.1,70000,,,,,,",
        "dev-1,acme,,rpi4,10.0.0.1,ssh,,,,,,",
        "dev-1,acme,,rpi4,bad host,,,,,,,",
        "dev-1,acme,,rpi4,,22,,,,,,",
        "dev-1,acme,,rpi4,h,,-root,,,,,",
        "dev-1,acme,,rpi4,,,,,ftp://x,,,",
        "dev-1,acme,,rpi4,,,,,https://x,mender,,",
        "dev-1,acme,,rpi4,,,,,,,,dc:a6:32:00:00",
        "dev-1,acme,k=has space,rpi4,,,,,,,,",
        "dev-1,acme,,rpi4,h,,,Bad,,,,",
    };
    fleet::schema::Validator validator;
    auto check = [&](const std::string& line, bool expected) {
        auto rows = read_rows(header + line + "\n");
        REQUIRE(rows.size() == 1);
        fleet::resource::SourceMap marks("rows.csv");
        marks.add("", 2, 0);
        fleet::resource::Document doc{document_of(rows[0]), marks};
        fleet::util::Diagnostics by_schema, by_rows;
        bool schema_ok = validator.validate(doc, by_schema).has_value();
        bool rows_ok = fleet::schema::validate_device_row(rows[0], {"rows.csv", rows[0].line, 0}, by_rows);
        INFO(line << " → " << doc.value.dump());
        CHECK(schema_ok == rows_ok);
        CHECK(rows_ok == expected);
        if (!rows_ok) {
            REQUIRE(by_rows.has_errors());
            CHECK(by_rows.items()[0].where.str() == "rows.csv:2");
            CHECK_FALSE(by_rows.items()[0].field.empty());
        }
    };
    for (const auto& line : valid) check(line, true);
    for (const auto& line : invalid) check(line, false);
}

TEST_CASE("the ssh.jump column: user@host:port bastions, as the schema's spec.ssh.jump", "[schema][csv]")
{
    const std::string header = "name,deviceType,ssh.host,ssh.jump\n";
    std::vector<std::string> valid = {
        "d,rpi4,10.0.0.5,gw.example.com",
        "d,rpi4,10.0.0.5,ops@gw.example.com:2222",
        "d,rpi4,10.0.0.5,\"ops@gw1:22,root@10.1.0.1,gw3:2200\"",
        "d,rpi4,10.0.0.5,ops@[fd00::1]:22",
        "d,rpi4,10.0.0.5,[fd00::1]",
        "d,rpi4,10.0.0.5,\"a,b,c,d,e,f,g,h\"",
        "d,rpi4,10.0.0.5,\"ops@gw1:22, ops@gw2\"",  // blanks around a bastion, as lists are written
    };
    std::vector<std::string> invalid = {
        "d,rpi4,,gw",                                  // a jump without the device's host
        "d,rpi4,h,gw:0",                               // port out of range
        "d,rpi4,h,gw:ssh",                             // port not a number
        "d,rpi4,h,gw:",                                // empty port
        "d,rpi4,h,@gw",                                // empty user
        "d,rpi4,h,-ops@gw",                            // bad user
        "d,rpi4,h,\"gw,\"",                          // empty hop
        "d,rpi4,h,\"gw,,gw2\"",
        "d,rpi4,h,bad host",                           // bad host
        "d,rpi4,h,[fd00::1",                           // unclosed bracket
        "d,rpi4,h,[fd00::1]x",
        "d,rpi4,h,\"a,b,c,d,e,f,g,h,i\"",            // nine bastions
        "d,rpi4,h,a@b@c",
    };
    fleet::schema::Validator validator;
    auto check = [&](const std::string& line, bool expected) {
        auto rows = read_rows(header + line + "\n");
        REQUIRE(rows.size() == 1);
        fleet::resource::SourceMap marks("rows.csv");
        marks.add("", 2, 0);
        fleet::resource::Document doc{document_of(rows[0]), marks};
        fleet::util::Diagnostics by_schema, by_rows;
        bool schema_ok = validator.validate(doc, by_schema).has_value();
        bool rows_ok = fleet::schema::validate_device_row(rows[0], {"rows.csv", rows[0].line, 0}, by_rows);
        INFO(line << " → " << doc.value.dump() << "\n" << (by_rows.has_errors() ? by_rows.items()[0].str() : ""));
        CHECK(schema_ok == rows_ok);
        CHECK(rows_ok == expected);
        if (rows_ok) {
            CHECK(fleet::resource::canonical_spec(rows[0]) == doc.value["spec"].dump());
        } else {
            REQUIRE(by_rows.has_errors());
            CHECK(by_rows.items()[0].where.str() == "rows.csv:2");
            CHECK(by_rows.items()[0].field.starts_with("spec.ssh"));
        }
    };
    for (const auto& line : valid) check(line, true);
    for (const auto& line : invalid) check(line, false);

    auto rows = read_rows(header + "d,rpi4,h,\"ops@gw1:2222,[fd00::1]\"\n");
    CHECK(fleet::resource::canonical_spec(rows[0]) ==
          R"({"deviceType":"rpi4","ssh":{"host":"h","jump":[{"host":"gw1","port":2222,"user":"ops"},{"host":"fd00::1"}]}})");
    fleet::util::Diagnostics diags;
    auto bad = read_rows(header + "d,rpi4,h,gw:99999\n");
    CHECK_FALSE(fleet::schema::validate_device_row(bad[0], {"rows.csv", 2, 0}, diags));
    CHECK(diags.items()[0].str() == "rows.csv:2: spec.ssh.jump[0].port: must be between 1 and 65535, got 99999");
}

TEST_CASE("CSV rows render the same canonical text as nlohmann's dump of the same document", "[csv][canonical]")
{
    const std::string header = "name,tenant,deviceType,labels,ssh.host,ssh.port,ssh.user,ssh.credential,http.url,"
                               "http.credential,http.profile,identity.serial,identity.mac,versionProbe\n";
    std::string csv = header;
    // Unicode, quotes, backslashes, every control character, DEL, ports as written, labels out of order and repeated.
    csv += "d1,t,rpi4,zeta=1;alpha=2;mid=x;alpha=3,10.0.0.1,022,root,k,,,,\"SN \"\"quoted\"\" \\\\ back\","
           "dc:a6:32:00:00:01,\"cat /etc/os-release | grep 'VERSION=\"\"1\"\"'\"\n";
    std::string controls;
    for (int c = 1; c < 0x20; ++c) controls += static_cast<char>(c);
    controls += '\x7f';
    csv += "d2,t,rpi4,,,,,,\"https://h/ü?q=\"\"x\"\"\",c,swupdate,\"" + controls + "\",,\"Grüße 🚀 日本\"\n";
    csv += "d3,t,rpi4,a.b/c-d=v_1;k=,h,-1,,,,,,,,\n";
    csv += "d4,t,rpi4,,h,ssh,,,,,,,,\n";
    csv += "d5,t,x,,,65535,,,,,generic,,,\n";
    csv += "d6,t,x,,,,,,,,,,,\n";
    auto rows = read_rows(csv);
    REQUIRE(rows.size() == 6);
    for (const auto& row : rows) {
        json doc = document_of(row);
        INFO(doc.dump());
        CHECK(fleet::resource::canonical_spec(row) == doc["spec"].dump());
        CHECK(fleet::resource::canonical_labels(row) == doc["metadata"].value("labels", json::object()).dump());
    }
    std::string escaped;
    fleet::resource::append_json_string(escaped, controls + "\"\\/é");
    CHECK(escaped == json(controls + "\"\\/é").dump());
}

TEST_CASE("invalid UTF-8 in a CSV cell is an error naming the row and field", "[csv][canonical]")
{
    CHECK(fleet::resource::valid_utf8("plain ü 🚀"));
    CHECK_FALSE(fleet::resource::valid_utf8("\xC3"));
    CHECK_FALSE(fleet::resource::valid_utf8("\xC0\x80"));          // overlong
    CHECK_FALSE(fleet::resource::valid_utf8("\xED\xA0\x80"));      // surrogate
    CHECK_FALSE(fleet::resource::valid_utf8("\xF4\x90\x80\x80"));  // beyond U+10FFFF
    auto rows = read_rows("name,deviceType,identity.serial\nd1,rpi4,SN\xFF\n");
    fleet::util::Diagnostics diags;
    CHECK_FALSE(fleet::schema::validate_device_row(rows[0], {"rows.csv", rows[0].line, 0}, diags));
    REQUIRE(diags.has_errors());
    CHECK(diags.items()[0].str() == "rows.csv:2: spec.identity.serial: not valid UTF-8 text");
}

namespace {

/// What a read of CSV text produced: each row's line and cells, then every problem, in order.
struct CsvRead {
    std::vector<std::pair<int, std::vector<std::string>>> rows;
    std::vector<std::string> problems;
    std::size_t highest_part = 0;  ///< the highest part a row came from (parts read)
    bool operator==(const CsvRead& other) const { return rows == other.rows && problems == other.problems; }
};

std::pair<int, std::vector<std::string>> row_of(const DeviceRow& row)
{
    return {row.line, {row.cells.begin(), row.cells.end()}};
}

CsvRead read_sequentially(const std::string& csv)
{
    CsvRead out;
    std::istringstream in(csv);
    fleet::util::Diagnostics diags;
    fleet::resource::read_device_csv(in, "rows.csv", diags, [&](DeviceRow& row) { out.rows.push_back(row_of(row)); });
    for (const auto& d : diags.items()) out.problems.push_back(d.str());
    return out;
}

CsvRead read_in_parts(const std::string& csv, std::size_t parts)
{
    std::vector<std::vector<std::pair<int, std::vector<std::string>>>> rows(parts);
    std::vector<fleet::util::Diagnostics> diags;
    std::size_t kept = fleet::resource::read_device_csv_parts(
        csv, "rows.csv", parts, diags, [&](std::size_t part, DeviceRow& row, fleet::util::Diagnostics& d) {
            if (row[DeviceRow::name] == "bad-row") d.error({"rows.csv", row.line, 0}, "name", "rejected by the sink");
            rows.at(part).push_back(row_of(row));
        });
    CsvRead out;
    for (std::size_t k = 0; k < kept; ++k) {
        if (!rows[k].empty()) out.highest_part = k;
        out.rows.insert(out.rows.end(), rows[k].begin(), rows[k].end());
        for (const auto& d : diags.at(k).items()) out.problems.push_back(d.str());
    }
    return out;
}

/// Rows whose quoted cells hold commas, doubled quotes, LF and CRLF, with blank lines between.
std::string tricky_rows(int count, int first = 0)
{
    std::string csv;
    for (int i = first; i < first + count; ++i) {
        switch (i % 5) {
        case 0: csv += "dev-" + std::to_string(i) + ",t1,rpi4,a=b\n"; break;
        case 1: csv += "\"dev-" + std::to_string(i) + "\",t1,\"say \"\"hi\"\"\",\"x=1;y=2\"\r\n"; break;
        case 2: csv += "dev-" + std::to_string(i) + ",t1,\"two\nlines\",\n\n"; break;
        case 3: csv += "dev-" + std::to_string(i) + ",\"t1\",\"a,b\r\nc\"\"\nd\",k=v\r\n"; break;
        case 4: csv += "\r\ndev-" + std::to_string(i) + ",t1,,\n"; break;
        }
    }
    return csv;
}

} // namespace

TEST_CASE("a CSV text read in parts on several threads gives what one sequential read gives", "[csv][parts]")
{
    const std::string header = "\xEF\xBB\xBFname,tenant,deviceType,labels\r\n";
    std::vector<std::pair<std::string, std::string>> inputs = {
        {"valid, quoted newlines everywhere", header + tricky_rows(400)},
        {"no trailing newline", header + tricky_rows(200) + "last,t1,rpi4,a=b"},
        {"wrong field counts in every part", header + tricky_rows(100) + "short,t1\n" + tricky_rows(100, 100) +
                                                 "long,t1,x,a=b,extra\n" + tricky_rows(100, 200)},
        {"the sink rejects rows in several parts", header + tricky_rows(150) + "bad-row,t1,,\n" + tricky_rows(150, 150) +
                                                       "bad-row,t1,,\n" + tricky_rows(10, 300)},
        {"a stray quote ends the file early", header + tricky_rows(120) + "st\"ray,t1,,\n" + tricky_rows(300, 120)},
        {"a stray quote late in the file", header + tricky_rows(300) + "st\"ray,t1,,\n" + tricky_rows(20, 300)},
        {"an unterminated quote runs to the end", header + tricky_rows(150) + "\"open,t1,,\n" + tricky_rows(150, 150)},
        {"a text after a closing quote", header + tricky_rows(200) + "\"x\"y,t1,,\n" + tricky_rows(100, 200)},
        {"a field over 64 KiB", header + tricky_rows(100) + "big,t1," + std::string(70 * 1024, 'x') + ",\n" +
                                    tricky_rows(200, 100)},
        {"bad labels", header + tricky_rows(100) + "lab,t1,,=v\n" + tricky_rows(200, 100)},
        {"header only", header},
        {"unknown column", "name,colour\nx,red\n"},
        {"empty", ""},
    };
    for (const auto& [what, csv] : inputs) {
        INFO(what);
        CsvRead expected = read_sequentially(csv);
        for (std::size_t parts : {1u, 2u, 3u, 4u, 7u}) {
            INFO(parts << " parts");
            CsvRead got = read_in_parts(csv, parts);
            // The sink's own rejections are the parallel read's; the sequential read has none.
            std::erase_if(got.problems, [](const std::string& p) { return p.find("rejected by the sink") != std::string::npos; });
            CHECK(got == expected);
        }
    }
    // The valid text really is read in parts, and row lines count the newlines inside quotes.
    CsvRead valid = read_in_parts(header + tricky_rows(400), 4);
    CHECK(valid.highest_part == 3);
    CHECK(valid.rows.size() == 400);
    CHECK(valid.rows.back().first == read_sequentially(header + tricky_rows(400)).rows.back().first);
    CHECK(valid.rows.back().first > 400);
    // Problems the sink reports come back in file order, each part's after the one before.
    CsvRead rejected = read_in_parts(header + tricky_rows(150) + "bad-row,t1,,\n" + tricky_rows(150, 150) +
                                         "bad-row,t1,,\n" + tricky_rows(10, 300),
                                     3);
    REQUIRE(rejected.problems.size() == 2);
    CHECK(rejected.problems[0] < rejected.problems[1]);
}
