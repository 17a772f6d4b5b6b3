#pragma once
// Rendering what steps run on devices printed (the stored 4 KiB tails of stdout and stderr) for
// `rollout status -o wide|json`, `describe device`, `exec` and `device check`.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
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

/// "#####......." of width characters, filled in proportion to done of total.
std::string progress_bar(std::size_t done, std::size_t total, std::size_t width);

/// One line redrawn in place on a terminal while devices finish (`exec`):
/// "exec [######......] 12/50  ok 11  failed 1  left 38  3.2s  dev-7: ok". Redrawn at most ten
/// times a second; finish() draws the final state and ends the line, so that it stays above the
/// results. Draws nothing when out is not a terminal.
class ProgressLine {
public:
    ProgressLine(std::ostream& out, bool terminal, std::string label, std::size_t total);
    /// One device finished.
    void add(const std::string& device, bool ok, const std::string& result);
    void finish();

private:
    void draw(bool final);

    std::ostream& m_out;
    bool m_terminal;
    std::string m_label;
    std::size_t m_total, m_ok = 0, m_failed = 0;
    std::string m_last;
    std::chrono::steady_clock::time_point m_start, m_drawn{};
    bool m_finished = false;
};

} // namespace fleet::cli
