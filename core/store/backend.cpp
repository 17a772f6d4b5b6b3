#include "core/store/backend.hpp"

#include <fmt/format.h>

namespace fleet::store {

namespace {

util::Error no_artifacts()
{
    return util::Error{util::ErrorKind::runtime,
                       "this store keeps artifacts in files beside it, not in the store (Backend::holds_artifacts)"};
}

} // namespace

util::Result<bool> Backend::has_artifact(const std::string&, const std::string&) { return std::unexpected(no_artifacts()); }

util::Result<void> Backend::put_artifact(const std::string&, const std::string&,
                                         const std::function<util::Result<std::string_view>()>&)
{
    return std::unexpected(no_artifacts());
}

util::Result<void> Backend::read_artifact(const std::string&, const std::string&,
                                          const std::function<bool(std::string_view)>&)
{
    return std::unexpected(no_artifacts());
}

util::Result<std::vector<std::string>> Backend::artifacts(const std::string&) { return std::unexpected(no_artifacts()); }

namespace {

util::Error no_logins()
{
    return util::Error{util::ErrorKind::usage, "users are database logins of a PostgreSQL store; on a local store the "
                                               "caller is the OS user, and tenants' spec.members name OS users"};
}

} // namespace

util::Result<std::vector<std::string>> Backend::logins() { return std::unexpected(no_logins()); }

util::Result<bool> Backend::add_login(const std::string&, const std::optional<std::string>&)
{
    return std::unexpected(no_logins());
}

util::Result<void> Backend::remove_login(const std::string&, bool) { return std::unexpected(no_logins()); }

namespace {

constexpr std::array<std::pair<RunState, const char*>, 4> run_states{
    {{RunState::running, "running"}, {RunState::paused, "paused"}, {RunState::aborted, "aborted"},
     {RunState::completed, "completed"}}};
constexpr std::array<std::pair<DeviceState, const char*>, 7> device_states{
    {{DeviceState::pending, "pending"},
     {DeviceState::transferring, "transferring"},
     {DeviceState::installing, "installing"},
     {DeviceState::verifying, "verifying"},
     {DeviceState::succeeded, "succeeded"},
     {DeviceState::failed, "failed"},
     {DeviceState::skipped, "skipped"}}};

template <class State, std::size_t N>
const char* name_of(const std::array<std::pair<State, const char*>, N>& names, State state)
{
    for (const auto& [s, name] : names)
        if (s == state) return name;
    return "unknown";
}

template <class State, std::size_t N>
std::optional<State> parse(const std::array<std::pair<State, const char*>, N>& names, std::string_view text)
{
    for (const auto& [s, name] : names)
        if (text == name) return s;
    return std::nullopt;
}

} // namespace

const char* state_name(RunState state) { return name_of(run_states, state); }
const char* state_name(DeviceState state) { return name_of(device_states, state); }
std::optional<RunState> parse_run_state(std::string_view text) { return parse(run_states, text); }
std::optional<DeviceState> parse_device_state(std::string_view text) { return parse(device_states, text); }

std::string bad_state(const std::string& what, std::string_view text)
{
    std::string shown;
    for (unsigned char c : text.substr(0, 64))
        shown += c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
    return fmt::format("the store holds an unknown state \"{}\" for {}; only fleetadm should write rollout state", shown, what);
}

} // namespace fleet::store
