#include "core/rollout/state.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <sstream>

namespace fleet::rollout {

using nlohmann::json;

std::string hostname()
{
    char buffer[256] = {};
    ::gethostname(buffer, sizeof buffer - 1);
    return buffer;
}

bool lease_owner_dead(const std::string& owner)
{
    auto first = owner.find(' ');
    if (first == std::string::npos) return true;
    if (owner.substr(0, first) != hostname()) return false;
    long pid = std::strtol(owner.c_str() + first + 1, nullptr, 10);
    if (pid <= 0) return true;
    return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

bool lease_live(const std::string& owner, std::int64_t expires, std::int64_t now_unix)
{
    return !owner.empty() && expires > now_unix && !lease_owner_dead(owner);
}

std::string lease_holder(const store::RolloutRun& run, std::int64_t now_unix)
{
    return lease_live(run.lease_owner, run.lease_expires, now_unix) ? describe_owner(run.lease_owner) : "";
}

std::string describe_owner(const std::string& owner)
{
    // The owner is "host pid token", and the runner's name after them when a runner holds it.
    std::istringstream words(owner);
    std::string host, pid, token, name;
    words >> host >> pid >> token;
    std::getline(words >> std::ws, name);
    return fmt::format("{} on {}, pid {}", name.empty() ? "rollout run" : "runner " + name, host, pid);
}

json rollout_windows(const json& rollout_spec, const tenancy::Policy& policy)
{
    json windows = rollout_spec.value(json::json_pointer("/schedule/windows"), json("inherit"));
    if (windows == "inherit") return policy.windows_json();
    if (windows == "none") return json::array();
    return windows;
}

std::pair<std::string, std::string> pick_transport(const json& rollout_spec, const json& device_spec)
{
    auto wanted = rollout_spec.value("transport", "auto");
    const json install = rollout_spec.value("install", json::object());
    // A swupdate device's profile brings its install step (SPEC §7): no install.http needed.
    auto installs = [&](const std::string& t) {
        return install.contains(t) || (t == "http" && device_spec.contains("http") &&
                                       device_spec["http"].value("profile", "generic") == "swupdate");
    };
    auto usable = [&](const char* t) { return device_spec.contains(t) && installs(t); };
    if (wanted == "auto") {
        if (usable("ssh")) return {"ssh", ""};
        if (usable("http")) return {"http", ""};
        return {"", "no endpoint with an install step of this rollout"};
    }
    if (!device_spec.contains(wanted)) return {"", fmt::format("no {} endpoint", wanted)};
    if (!installs(wanted)) return {"", fmt::format("the rollout has no {} install step", wanted)};
    return {wanted, ""};
}

util::Result<State> current_state(store::Store& store, const model::Object& rollout,
                                  const std::optional<store::RolloutRun>& run)
{
    if (!run) return State{"not started", ""};
    const json& spec = rollout.resource.spec;
    Timing timing;
    if (run->state == store::RunState::running) {  // only a runnable rollout depends on the clock
        auto structure = store.tenant_structure();
        if (!structure) return std::unexpected(structure.error());
        timing.windows = rollout_windows(spec, tenancy::effective_policy(rollout.resource.tenant, *structure));
        if (auto nb = spec.value(json::json_pointer("/schedule/notBefore"), json()); nb.is_string())
            if (auto t = parse_utc(nb.get<std::string>())) timing.not_before = *t;
    }
    auto now = std::chrono::system_clock::now();
    auto unix_now = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    bool leased = lease_live(run->lease_owner, run->lease_expires, unix_now);
    return reported_state(store::state_name(run->state), run->reason, leased, timing, now);
}

} // namespace fleet::rollout
