#pragma once
// Bulk device files: CSV with a header of field paths, and JSONL with one Device per line.
// JSONL lines are Device documents that go through schema validation like YAML. CSV rows are
// read as typed cells (DeviceRow), checked by compiled rules and rendered straight to the
// canonical JSON text of their labels and spec (DeviceRecord): no JSON tree is built per row.

#include <array>
#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/resource/document.hpp"
#include "core/util/diagnostics.hpp"

namespace fleet::resource {

/// The CSV columns a header may name, in the order documentation lists them (and DeviceRow::Column's).
const std::vector<std::string>& csv_columns();

/// One CSV row as typed cells: an empty cell is an absent field.
struct DeviceRow {
    enum Column : std::uint8_t {
        name, tenant, device_type, labels, ssh_host, ssh_port, ssh_user, ssh_credential, ssh_jump, http_url,
        http_credential, http_profile, identity_serial, identity_mac, version_probe, column_count
    };
    std::array<std::string, column_count> cells;
    /// The labels cell split into key and value, sorted by key; a key given twice keeps its last value.
    std::vector<std::pair<std::string, std::string>> label_pairs;
    int line = 0;

    const std::string& operator[](Column c) const { return cells[c]; }
    /// True when any cell of the ssh.* (or http.*) columns is set: the endpoint object exists.
    bool has_ssh() const;
    bool has_http() const;
};

/// One bastion of the ssh.jump column, as written (validated by the row rules).
struct JumpCell {
    std::string user;  ///< empty: not given
    std::string host;  ///< an IPv6 address without its brackets
    std::string port;  ///< empty: not given
};

/// Splits the ssh.jump column, `user@host:port[,user@host:port...]` (user and port optional, an IPv6
/// address in brackets: `root@[fd00::1]:22`; blanks around a bastion ignored), into hops. False with why in error when a hop is empty
/// or not of that form.
bool parse_jump(std::string_view text, std::vector<JumpCell>& hops, std::string& error);

/// A device from a CSV row held as text: its labels and spec as canonical JSON, byte-identical to
/// nlohmann::json::dump() of the same values (what the store keeps and compares).
struct DeviceRecord {
    std::string name;
    std::string tenant;
    std::string labels;           ///< canonical JSON object
    std::string spec;             ///< canonical JSON object
    std::string ssh_credential;   ///< empty: none
    std::string http_credential;  ///< empty: none
    std::string serial;           ///< identity.serial; empty: none
    std::string mac;              ///< identity.mac; empty: none
    std::uint32_t file = 0;       ///< index into DeviceBatch::files
    int line = 0;
};

/// Devices read from CSV files, kept as text for bulk enrollment.
struct DeviceBatch {
    std::vector<std::string> files;
    std::vector<DeviceRecord> records;

    /// "file:line" of a record.
    util::Location location(const DeviceRecord& record) const { return {files[record.file], record.line, 0}; }
};

/// Reads a CSV file of devices; calls sink for each row that parses (its cells still unchecked).
/// Problems of the file and of row syntax go to diags with file:line.
void read_device_csv(std::istream& in, const std::string& file, util::Diagnostics& diags,
                     const std::function<void(DeviceRow&)>& sink);

/// Reads CSV text of devices as read_device_csv does, in up to `parts` pieces split at record
/// boundaries, each on its own thread (the first on the caller's): sink(part, row, diags[part]) is
/// called on that part's thread, in file order within the part. diags gets one collection per part,
/// in file order. Returns how many leading parts count: a malformed record ends the file, so what
/// later parts produced must be dropped (and their diags ignored).
std::size_t read_device_csv_parts(std::string_view text, const std::string& file, std::size_t parts,
                                  std::vector<util::Diagnostics>& diags,
                                  const std::function<void(std::size_t, DeviceRow&, util::Diagnostics&)>& sink);

/// The canonical JSON text of a row's labels: {"k":"v",...} with keys sorted.
std::string canonical_labels(const DeviceRow& row);
/// The canonical JSON text of a row's spec, as nlohmann::json would dump the document the row stands
/// for; an ssh.port cell that is not an integer is rendered as a string (which the row check rejects).
std::string canonical_spec(const DeviceRow& row);
/// Appends s to out as a JSON string literal, escaped exactly as nlohmann::json::dump() does.
/// s must be valid UTF-8 (see valid_utf8).
void append_json_string(std::string& out, std::string_view s);
/// True when s is well-formed UTF-8.
bool valid_utf8(std::string_view s);

/// The deepest nesting of arrays and objects a JSONL line may have (as YAML documents: YamlLimits).
inline constexpr int max_json_depth = 64;

/// Reads a JSONL file (one Device document per line); calls sink for each line's document. A line
/// that is not UTF-8, nests deeper than max_json_depth or is not JSON is reported with line:column.
void read_device_jsonl(std::istream& in, const std::string& file, util::Diagnostics& diags,
                       const std::function<void(Document&&)>& sink);

} // namespace fleet::resource
