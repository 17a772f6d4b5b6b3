#pragma once
// Bulk device files: CSV with a header of field paths, and JSONL with one Device per line.
// Each record becomes a Device document that goes through the same schema validation as YAML.

#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "core/resource/document.hpp"
#include "core/util/diagnostics.hpp"

namespace fleet::resource {

/// The CSV columns a header may name, in the order documentation lists them.
const std::vector<std::string>& csv_columns();

/// Reads a CSV file of devices; calls sink for each row's document. Problems go to diags with file:line.
void read_device_csv(std::istream& in, const std::string& file, util::Diagnostics& diags,
                     const std::function<void(Document&&)>& sink);

/// Reads a JSONL file (one Device document per line); calls sink for each line's document.
void read_device_jsonl(std::istream& in, const std::string& file, util::Diagnostics& diags,
                       const std::function<void(Document&&)>& sink);

} // namespace fleet::resource
