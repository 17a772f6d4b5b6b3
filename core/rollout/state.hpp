#pragma once
// What a rollout's state is now, for every command that shows it (`rollout status`, `get
// rollouts`, `describe rollout`, `tenant tree`): the state its runs stored, read against the clock
// (notBefore, maintenance windows) and against whether a live runner holds its lease (SPEC §8).

#include <optional>
#include <string>
#include <utility>

#include "core/model/object.hpp"
#include "core/rollout/schedule.hpp"
#include "core/store/store.hpp"
#include "core/tenancy/inheritance.hpp"

namespace fleet::rollout {

/// This machine's host name, as lease owners record it.
std::string hostname();

/// True when a lease owner ("host pid token") is a process of this host that no longer exists.
bool lease_owner_dead(const std::string& owner);

/// True when a lease or claim of owner, expiring at expires (Unix seconds), is held at now_unix:
/// there is an owner, the time has not passed, and it is not a process of this host that is gone.
bool lease_live(const std::string& owner, std::int64_t expires, std::int64_t now_unix);

/// A lease or claim owner ("host pid token [name]") for people: "runner NAME on HOST, pid P" or
/// "rollout run on HOST, pid P".
std::string describe_owner(const std::string& owner);

/// Who runs a rollout now, for people: "runner NAME on HOST, pid P" (a `fleetadm runner`) or
/// "rollout run on HOST, pid P"; empty when no live runner holds its lease at now_unix.
std::string lease_holder(const store::RolloutRun& run, std::int64_t now_unix);

/// The windows a rollout's schedule asks for: its own list, none, or (inherit) its tenant's
/// effective windows, which may come from an ancestor.
nlohmann::json rollout_windows(const nlohmann::json& rollout_spec, const tenancy::Policy& policy);

/// The transport a device is reached by for this rollout ("ssh" or "http"), or empty with why
/// not. A swupdate device's profile brings its install step (SPEC §7): no install.http needed.
std::pair<std::string, std::string> pick_transport(const nlohmann::json& rollout_spec,
                                                   const nlohmann::json& device_spec);

/// The state of a rollout now (reported_state), from its object and its stored run (nullopt when
/// it never ran). Runs in the caller's transaction; reads the tenant structure for inherited windows.
util::Result<State> current_state(store::Store& store, const model::Object& rollout,
                                  const std::optional<store::RolloutRun>& run);

} // namespace fleet::rollout
