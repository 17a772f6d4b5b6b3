#!/usr/bin/env bash
# What the audit log costs: enrolls DEVICES devices (CSV, 1,000 tenants) into a fresh store with
# the normal build and with a build whose audit step is compiled out (FLEETADM_BENCH_WITHOUT_AUDIT),
# best of RUNS each, side by side. Target: with audit at most 1.5x without.
# Usage: bench/audit.sh [DEVICES] [RUNS]
source "$(dirname "$0")/lib.sh"
devices=${1:-100000}
runs=${2:-3}
bench_build
cmake -S "$bench_root" -B "$bench_root/build-bench-noaudit" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLEETADM_TESTS=OFF \
    -DFLEETADM_BENCH_WITHOUT_AUDIT=ON >/dev/null
cmake --build "$bench_root/build-bench-noaudit" --target fleetadm >/dev/null
noaudit="$bench_root/build-bench-noaudit/fleetadm"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$bench_root/bench/gen_fleet.py" "$work" --devices "$devices" --tenants 1000
store="$work/state.db"
fresh() { echo "rm -f $store $store-wal $store-shm; FLEETADM_STATE=$store $1 init -q && FLEETADM_STATE=$store $1 apply -q -f $work/tenants.yaml"; }

with=$(best_of "$runs" "$(fresh "$FLEETADM")" env FLEETADM_STATE="$store" "$FLEETADM" device enroll -q -f "$work/devices.csv")
entries=$(sqlite3 "$store" "SELECT count(*) FROM audit")
without=$(best_of "$runs" "$(fresh "$noaudit")" env FLEETADM_STATE="$store" "$noaudit" device enroll -q -f "$work/devices.csv")

echo "bench/audit.sh: $devices devices enrolled into a fresh store, best of $runs runs"
printf '  %-40s %8ss\n' "without the audit step (baseline)" "$without"
printf '  %-40s %8ss  %sx baseline  (target <= 1.5x: %s)\n' "with the audit log ($entries entries)" "$with" \
    "$(ratio "$with" "$without")" "$(verdict "$(ratio "$with" "$without")" 1.5)"
