#include "tests/fuzz/driver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace fleet::fuzz {

namespace {

using Clock = std::chrono::steady_clock;

/// What the worker tells the parent without a system call per input.
struct Shared {
    std::atomic<std::uint64_t> current;  // the input being run
};

/// Shared memory that outlives a killed worker.
class SharedPage {
public:
    SharedPage()
    {
        void* p = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
        m_shared = new (p) Shared{};
    }
    ~SharedPage() { munmap(m_shared, sizeof(Shared)); }
    SharedPage(const SharedPage&) = delete;
    SharedPage& operator=(const SharedPage&) = delete;
    Shared* operator->() const { return m_shared; }
    Shared* get() const { return m_shared; }

private:
    Shared* m_shared;
};

/// User plus system CPU time of a process, from /proc/PID/stat.
std::chrono::milliseconds cpu_time(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream fields(text.substr(close + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) fields >> skip;  // fields 3..13: state .. cmajflt
    long long utime = 0, stime = 0;
    fields >> utime >> stime;
    static const long ticks = sysconf(_SC_CLK_TCK);
    return std::chrono::milliseconds((utime + stime) * 1000 / ticks);
}

/// Resident memory of a process in MiB, from /proc/PID/statm.
std::size_t resident_mb(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
    std::size_t size = 0, resident = 0;
    in >> size >> resident;
    static const long page = sysconf(_SC_PAGESIZE);
    return resident * static_cast<std::size_t>(page) / (1024 * 1024);
}

/// One line of the worker's report pipe: "INDEX\tKIND\tDETAIL".
void send_failure(int fd, std::uint64_t index, FailureKind kind, std::string detail)
{
    for (char& c : detail)
        if (c == '\n' || c == '\t' || c == '\0') c = ' ';
    if (detail.size() > 300) detail.resize(300);
    std::string line = std::to_string(index) + "\t" + std::to_string(static_cast<int>(kind)) + "\t" + detail + "\n";
    for (std::size_t done = 0; done < line.size();) {
        ssize_t n = write(fd, line.data() + done, line.size() - done);
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

[[noreturn]] void worker(const std::function<std::string(std::uint64_t)>& input_of,
                         const std::function<Verdict(std::string_view)>& target, std::uint64_t from,
                         std::uint64_t to, Shared* shared, int report_fd, const std::string& log_file,
                         std::optional<Clock::time_point> deadline)
{
    // The test framework's fatal-signal handler would report a crash of this worker as the parent's
    // failed test: the worker's output goes to the log, and an abort ends it at once.
    std::signal(SIGABRT, SIG_DFL);
    if (!log_file.empty()) {
        int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
    }
    for (std::uint64_t i = from; i < to; ++i) {
        shared->current.store(i);
        if (deadline && Clock::now() > *deadline) _exit(0);  // the parent reads "stopped at i"
        Verdict verdict;
        try {
            verdict = target(input_of(i));
        } catch (const std::exception& e) {
            verdict = Verdict::internal(std::string("exception escaped: ") + e.what());
        } catch (...) {
            verdict = Verdict::internal("unknown exception escaped");
        }
        if (verdict.failed) send_failure(report_fd, i, verdict.kind, verdict.detail);
    }
    shared->current.store(to);
    _exit(0);  // no atexit handlers: the parent's Catch2 and LeakSanitizer belong to the parent
}

/// What a sanitizer report in log (from offset on) says about where the crash was: the library whose
/// recursion overflowed the stack, else its SUMMARY line.
std::string crash_signature(const std::string& log, std::streamoff offset)
{
    std::ifstream in(log, std::ios::binary);
    in.seekg(offset);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("std::__detail::_Executor") != std::string::npos) return "stack overflow in std::regex";
    if (text.find("nlohmann::") != std::string::npos && text.find("SEGV") != std::string::npos)
        return "stack overflow in nlohmann::json (depth)";
    if (text.find("YAML::") != std::string::npos && text.find("SEGV") != std::string::npos)
        return "stack overflow in yaml-cpp (depth)";
    auto summary = text.find("SUMMARY:");
    if (summary == std::string::npos) return "";
    return text.substr(summary, std::min<std::size_t>(text.find('\n', summary) - summary, 200));
}

/// Reads the report lines available on fd into failures; partial is the unfinished last line.
void drain(int fd, std::string& partial, std::vector<Failure>& failures)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        partial.append(buf, static_cast<std::size_t>(n));
    }
    for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
        std::string line = partial.substr(0, nl);
        partial.erase(0, nl + 1);
        auto tab = line.find('\t');
        auto tab2 = line.find('\t', tab + 1);
        failures.push_back({std::stoull(line.substr(0, tab)),
                            static_cast<FailureKind>(std::stoi(line.substr(tab + 1, tab2 - tab - 1))),
                            line.substr(tab2 + 1)});
    }
}

} // namespace

std::string_view failure_name(FailureKind kind)
{
    switch (kind) {
    case FailureKind::crash: return "crash";
    case FailureKind::hang: return "hang";
    case FailureKind::memory: return "memory";
    case FailureKind::internal_error: return "internal-error";
    case FailureKind::accepted_invalid: return "accepted-invalid";
    }
    return "?";
}

std::size_t DriverReport::count(FailureKind kind) const
{
    std::size_t n = 0;
    for (const auto& f : failures) n += f.kind == kind;
    return n;
}

DriverReport run_inputs(const std::function<std::string(std::uint64_t)>& input_of,
                        const std::function<Verdict(std::string_view)>& target, const DriverLimits& limits)
{
    DriverReport report;
    auto started = Clock::now();
    SharedPage shared;
    std::optional<Clock::time_point> deadline;
    if (limits.time_budget.count() > 0) deadline = started + limits.time_budget;
    const std::uint64_t end = limits.first + limits.count;
    std::uint64_t next = limits.first;
    std::uint64_t done = limits.first;  // inputs before this number have run
    while (next < end) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK)) throw std::runtime_error("pipe failed");
        shared->current.store(next);
        std::fflush(nullptr);
        std::error_code ec;
        auto log_offset = limits.log_file.empty() ? 0 : static_cast<std::streamoff>(std::filesystem::file_size(limits.log_file, ec));
        if (ec) log_offset = 0;
        pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            close(fds[0]);
            worker(input_of, target, next, end, shared.get(), fds[1], limits.log_file, deadline);
        }
        close(fds[1]);
        std::string partial;
        std::uint64_t watched = UINT64_MAX;
        auto cpu_start = std::chrono::milliseconds(0);
        auto wall_start = Clock::now();
        std::size_t base_mb = 0;
        for (;;) {
            pollfd p{fds[0], POLLIN, 0};
            poll(&p, 1, 10);
            drain(fds[0], partial, report.failures);
            int status = 0;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                drain(fds[0], partial, report.failures);
                std::uint64_t at = shared->current.load();
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                    next = end;
                    done = at;  // at < end: stopped by the time budget
                } else {
                    std::string how = WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                          : "exit status " + std::to_string(WEXITSTATUS(status));
                    if (!limits.log_file.empty())
                        if (auto signature = crash_signature(limits.log_file, log_offset); !signature.empty())
                            how += ": " + signature;
                    report.failures.push_back({at, FailureKind::crash, how});
                    next = done = at + 1;
                }
                break;
            }
            std::uint64_t at = shared->current.load();
            auto cpu = cpu_time(pid);
            std::size_t mb = resident_mb(pid);
            if (at != watched) {  // growth is measured per input: ASan's quarantine keeps freed memory for a while
                watched = at;
                base_mb = mb;
                cpu_start = cpu;
                wall_start = Clock::now();
                continue;
            }
            std::optional<Failure> failure;
            auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - wall_start);
            if (cpu - cpu_start > limits.cpu_limit || wall > limits.wall_limit)
                failure = Failure{at, FailureKind::hang,
                                  std::to_string((cpu - cpu_start).count()) + " ms CPU, " + std::to_string(wall.count()) +
                                      " ms wall"};
            else if (mb > base_mb + limits.memory_limit_mb)
                failure = Failure{at, FailureKind::memory, std::to_string(mb - base_mb) + " MiB more resident memory"};
            if (failure) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                drain(fds[0], partial, report.failures);
                report.failures.push_back(*failure);
                next = done = at + 1;
                break;
            }
        }
        close(fds[0]);
        if (next < end && deadline && Clock::now() > *deadline) break;
    }
    report.inputs = done - limits.first;
    report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return report;
}

} // namespace fleet::fuzz
