#pragma once
// Rendering what steps run on devices printed (the stored 4 KiB tails of stdout and stderr) for
// `rollout status -o wide|json`, `describe device`, `exec` and `device check`.

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "core/store/backend.hpp"

namespace fleet::cli {

/// text with every byte sequence that is not UTF-8 (binary output, a character cut by the 4 KiB
/// tail) replaced by U+FFFD, so that JSON can hold it.
std::string valid_utf8(const std::string& text);

/// One step's output as JSON: {source, step, result, exitStatus, message, stdout, stderr, at}.
nlohmann::json output_json(const store::DeviceOutput& output);

/// Prints each output with something to say (output, or a failure) as a header line and its
/// stdout and stderr lines, indented; with_device names the device in each header.
void print_outputs(std::ostream& out, const std::vector<store::DeviceOutput>& outputs, bool with_device);

/// Prints every line of text, each prefixed by prefix; nothing for empty text.
void print_lines(std::ostream& out, const std::string& text, const std::string& prefix);

} // namespace fleet::cli
