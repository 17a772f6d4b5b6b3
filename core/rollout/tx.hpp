#pragma once
// Store transactions of the rollout code, timed for the benchmark's bookkeeping share (RunStats).

#include <chrono>
#include <cstddef>

#include "core/store/store.hpp"

namespace fleet::rollout {

/// Where a run's time went, for the benchmark's bookkeeping share.
struct RunStats {
    std::chrono::nanoseconds store{0};  ///< inside store transactions (reads and commits)
    std::size_t transactions = 0;
};

/// The stats of the run on this thread (set by run() for its duration); null: not counted.
inline thread_local RunStats* t_stats = nullptr;

/// Adds the time from its construction to its destruction to this thread's run's store time.
struct StoreTimer {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    StoreTimer() = default;
    StoreTimer(const StoreTimer&) = delete;
    StoreTimer& operator=(const StoreTimer&) = delete;
    ~StoreTimer()
    {
        if (!t_stats) return;
        t_stats->store += std::chrono::steady_clock::now() - start;
        ++t_stats->transactions;
    }
};

/// Runs body in a transaction of mode and commits it (rolled back when body fails).
template <class Body>
util::Result<void> in_transaction(store::Store& store, store::TxMode mode, Body body)
{
    StoreTimer timer;
    auto tx = store.begin(mode);
    if (!tx) return std::unexpected(tx.error());
    if (auto r = body(); !r) return r;
    return tx->commit();
}

/// Runs body in a write transaction and commits it.
template <class Body>
util::Result<void> write(store::Store& store, Body body)
{
    return in_transaction(store, store::TxMode::write, std::move(body));
}

} // namespace fleet::rollout
