#pragma once
// Commands that change a rollout's stored state without running it (SPEC §8): `rollout start`
// queues it for the runners; pause, resume, abort and retry change the stored run, which every
// runner reads four times a second.

#include <string>

#include "core/store/store.hpp"

namespace fleet::rollout {

/// `rollout start`: freezes the rollout's targets and queues it for the runners (state running, no
/// lease), unless it was started before. Returns a line for people; conflict when the rollout was
/// started before and is paused, aborted or completed.
util::Result<std::string> start(store::Store& store, const std::string& tenant, const std::string& name);

/// pause | resume | abort | retry: changes the stored state (audited); returns a message for people.
util::Result<std::string> control(store::Store& store, const std::string& tenant, const std::string& name,
                                  const std::string& action);

} // namespace fleet::rollout
