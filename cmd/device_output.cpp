#include "cmd/device_output.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace fleet::cli {

std::string valid_utf8(const std::string& text)
{
    std::string out;
    out.reserve(text.size());
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t n = text.size();
    for (std::size_t i = 0; i < n;) {
        unsigned char c = s[i];
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        bool ok = len > 0 && i + len <= n;
        for (std::size_t k = 1; ok && k < len; ++k) ok = (s[i + k] & 0xc0) == 0x80;
        if (ok && len == 2) ok = c >= 0xc2;                                         // no overlong forms
        if (ok && len == 3) ok = !(c == 0xe0 && s[i + 1] < 0xa0) && !(c == 0xed && s[i + 1] >= 0xa0);
        if (ok && len == 4) ok = !(c == 0xf0 && s[i + 1] < 0x90) && !(c == 0xf4 && s[i + 1] >= 0x90) && c <= 0xf4;
        if (ok) {
            out.append(text, i, len);
            i += len;
        } else {
            out += "\xef\xbf\xbd";
            ++i;
        }
    }
    return out;
}

nlohmann::json output_json(const store::DeviceOutput& o)
{
    return {{"source", o.source},
            {"step", o.step},
            {"result", o.result},
            {"exitStatus", o.exit_status >= 0 ? nlohmann::json(o.exit_status) : nlohmann::json(nullptr)},
            {"message", valid_utf8(o.message)},
            {"stdout", valid_utf8(o.stdout_tail)},
            {"stderr", valid_utf8(o.stderr_tail)},
            {"at", o.at}};
}

void print_lines(std::ostream& out, const std::string& text, const std::string& prefix)
{
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out << prefix << line << "\n";
        start = end + 1;
    }
}

void print_outputs(std::ostream& out, const std::vector<store::DeviceOutput>& outputs, bool with_device)
{
    bool first = true;
    for (const auto& o : outputs) {
        if (o.stdout_tail.empty() && o.stderr_tail.empty() && o.result == "ok") continue;
        if (first) out << "\nOutput:\n";
        first = false;
        std::string exit = o.exit_status >= 0 ? fmt::format(", exit {}", o.exit_status) : "";
        // "rollout/up install", or just "exec" for a step that is its own source.
        std::string what = o.source == o.step ? o.source : o.source + " " + o.step;
        out << fmt::format("  {}{}: {}{} at {}\n", with_device ? "device/" + o.device + " " : "", what, o.result,
                           exit, o.at);
        if (o.result != "ok" && !o.message.empty()) out << "    " << o.message << "\n";
        print_lines(out, o.stdout_tail, "    stdout | ");
        print_lines(out, o.stderr_tail, "    stderr | ");
    }
}

std::string progress_bar(std::size_t done, std::size_t total, std::size_t width)
{
    std::size_t filled = total ? std::min(done, total) * width / total : width;
    return std::string(filled, '#') + std::string(width - filled, '.');
}

ProgressLine::ProgressLine(std::ostream& out, bool terminal, std::string label, std::size_t total)
    : m_out(out), m_terminal(terminal), m_label(std::move(label)), m_total(total),
      m_start(std::chrono::steady_clock::now())
{
    if (m_terminal && m_total) draw(false);
}

void ProgressLine::add(const std::string& device, bool ok, const std::string& result)
{
    ++(ok ? m_ok : m_failed);
    m_last = device + ": " + result;
    if (m_terminal && std::chrono::steady_clock::now() - m_drawn >= std::chrono::milliseconds(100)) draw(false);
}

void ProgressLine::finish()
{
    if (!m_terminal || !m_total || m_finished) return;
    m_finished = true;
    draw(true);
}

void ProgressLine::draw(bool final)
{
    m_drawn = std::chrono::steady_clock::now();
    std::size_t done = m_ok + m_failed;
    double secs = std::chrono::duration<double>(m_drawn - m_start).count();
    m_out << fmt::format("\r\x1b[2K{} [{}] {}/{}  ok {}  failed {}  left {}  {:.1f}s{}{}", m_label,
                         progress_bar(done, m_total, 20), done, m_total, m_ok, m_failed, m_total - done, secs,
                         final || m_last.empty() ? "" : "  " + valid_utf8(m_last.substr(0, 60)), final ? "\n" : "")
          << std::flush;
}

} // namespace fleet::cli
