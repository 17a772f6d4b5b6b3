#pragma once
// Test support: a server process started by a test, ready once it printed a given line, and
// killed (with its whole process group) when the object dies.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fleet::test {

/// A process running in its own process group; a thread drains its stdout and stderr (one pipe)
/// so that a chatty server never blocks on a full pipe.
class BackgroundProcess {
public:
    /// Starts program with args; env entries are added to the environment.
    BackgroundProcess(const std::string& program, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {});
    ~BackgroundProcess();
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;

    /// Reads output until a line contains needle and returns that line; throws on exit or timeout.
    std::string wait_for_line(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /// Everything read from the process so far.
    std::string output();
    /// Sends a signal to the process (not its group).
    void kill(int signal);
    /// Waits for the process to end: its exit code, or minus the signal that ended it.
    int wait();

private:
    pid_t m_pid = -1;
    int m_out = -1;
    std::thread m_reader;
    std::mutex m_mutex;  // guards the three members below
    std::condition_variable m_changed;
    std::string m_output;
    bool m_ended = false;
    std::size_t m_scanned = 0;
};

/// A loopback TCP port nothing listens on right now.
int free_port();

/// The HTTP device endpoint script (tests/support/http_device.py) as a running server.
class HttpDevice {
public:
    /// Starts the server; extra arguments as http_device.py takes them (--cert, --state, ...).
    explicit HttpDevice(const std::vector<std::string>& args = {});
    /// The port it listens on (127.0.0.1).
    int port() const { return m_port; }

private:
    BackgroundProcess m_process;
    int m_port = 0;
};

} // namespace fleet::test
