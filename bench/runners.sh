#!/usr/bin/env bash
# Runners side by side (SPEC §10): one 2,000-device rollout over simulated HTTP devices on loopback
# (tests/support/http_device.py, answering each upload after 100 ms), worked by 1, 2 and 4
# `fleetadm runner` processes at --max-parallel 16 each (the rollout's maxParallel is 16 per
# runner). Target: 4 runners >= 3.5x the throughput of 1. Then the same devices answering at once,
# run by one runner in the foreground (`rollout run -o json`, the same code path), for a runner's
# own overhead: target >= 300 devices/s with the store under 10% of the run.
# With --pg the store is a throwaway PostgreSQL 15 server (the shared store that runners on several
# machines use) instead of a SQLite file.
# Usage: bench/runners.sh [--pg] [DEVICES] [SERVERS]   (figures print side by side)
source "$(dirname "$0")/lib.sh"
backend=sqlite
if [ "${1:-}" = --pg ]; then
    backend=postgres
    shift
    source "$bench_root/scripts/lib/postgres.sh"
fi
devices=${1:-2000}
servers=${2:-4}
bench_build
work=$(mktemp -d)
chmod 755 "$work"  # with --pg the server's OS user reads the socket folder below it
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ "$backend" = sqlite ] || postgres_stop
    rm -rf "$work"
}
trap cleanup EXIT
export HOME="$work/home"
mkdir -p "$HOME"
[ "$backend" = sqlite ] || postgres_start "$work/pg"

# The device endpoints: each prints its port once it listens.
ports=()
for i in $(seq 1 "$servers"); do
    mkfifo "$work/server-$i.out"
    python3 "$bench_root/tests/support/http_device.py" >"$work/server-$i.out" 2>&1 &
    pids+=($!)
    exec {fd}<"$work/server-$i.out"
    read -r _ port <&"$fd"
    ports+=("$port")
done
head -c 1024 /dev/urandom >"$work/fw.bin"

# A fresh store with the rollout `up` over DEVICES devices whose install path is PATH.
fresh_store() {
    local path=$1
    if [ "$backend" = sqlite ]; then
        export FLEETADM_STATE="$work/state-$RANDOM.db"
    else
        postgres_fresh fleet
        export FLEETADM_STATE=$(postgres_url fleet)
    fi
    cat >"$work/fleet.yaml" <<YAML
apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: bench}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: bench}
spec: {file: $work/fw.bin, version: "1.0"}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: up, tenant: bench}
spec:
  artifact: fw
  targets: {selector: "bench=yes"}
  strategy: {maxParallel: 16, failureThreshold: "1%"}
  schedule: {windows: none}
  install: {http: {method: PUT, path: $path}}
YAML
    {
        echo "name,tenant,deviceType,labels,http.url"
        for i in $(seq 1 "$devices"); do
            echo "d-$i,bench,gw,bench=yes,http://127.0.0.1:${ports[$((i % servers))]}"
        done
    } >"$work/devices.csv"
    "$FLEETADM" init >/dev/null
    "$FLEETADM" apply -f "$work/fleet.yaml" >/dev/null
    "$FLEETADM" device enroll -f "$work/devices.csv" >/dev/null
    "$FLEETADM" rollout start up --tenant bench >/dev/null
}

# runners N: N runner processes on the queued rollout until it is done; prints the wall seconds.
runners() {
    local n=$1 start end
    local list=()
    start=$(date +%s.%N)
    for r in $(seq 1 "$n"); do
        "$FLEETADM" runner --once --name "r$r" --max-parallel 16 --poll 1s >"$work/runner-$r.log" 2>&1 &
        list+=($!)
    done
    for p in "${list[@]}"; do wait "$p"; done
    end=$(date +%s.%N)
    local done
    done=$("$FLEETADM" rollout status up --tenant bench -o json | python3 -c \
        'import json,sys; s=json.load(sys.stdin); print(sum(p["succeeded"] for p in s["phases"]), s["state"])')
    [ "$done" = "$devices completed" ] || { echo "runners $n: rollout ended as: $done" >&2; exit 1; }
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }'
}

echo "bench/runners.sh: $devices simulated HTTP devices over $servers loopback endpoints, each runner --max-parallel 16, $backend store"
declare -A secs
for n in 1 2 4; do
    fresh_store /slow/100
    secs[$n]=$(runners "$n")
    worked=$(grep -l " succeeded" "$work"/runner-*.log 2>/dev/null | wc -l)
    echo "  $n runner(s), 100 ms installs: ${secs[$n]} s = $(awk -v d="$devices" -v s="${secs[$n]}" 'BEGIN { printf "%.0f", d / s }') devices/s ($worked of $n runners installed devices)"
done
speedup=$(ratio "${secs[1]}" "${secs[4]}")
two=$(ratio "${secs[1]}" "${secs[2]}")
ideal=$(awk -v d="$devices" 'BEGIN { printf "%.2f", d / 16 * 0.1 }')
echo "  ideal for 1 runner (16 at once x 100 ms): $ideal s"
echo "  2 runners / 1: ${two}x; 4 runners / 1: ${speedup}x (target >= 3.5x: $(awk -v r="$speedup" 'BEGIN { print (r >= 3.5) ? "ok" : "MISSED" }'))"

fresh_store /discard
set +o pipefail
result=$("$FLEETADM" rollout run up --tenant bench --max-parallel 16 -o json | tail -1)
set -o pipefail
python3 - "$result" "$devices" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); n = int(sys.argv[2])
secs, store = r["elapsedSeconds"], r["storeSeconds"]
share = 100 * store / secs
rate = n / secs
print(f"  1 runner, instant devices: {r['state']}, succeeded {r['succeeded']}/{n} in {secs:.2f} s = {rate:.0f} devices/s "
      f"(target >= 300: {'ok' if rate >= 300 else 'MISSED'})")
print(f"  store {store:.2f} s in {r['storeTransactions']} transactions = {share:.1f}% of the run "
      f"(target < 10%: {'ok' if share < 10 else 'MISSED'}); {1e6 * store / n:.0f} us of store per device, "
      f"which at 300 devices/s would be {100 * 300 * store / n:.1f}% of a run")
PY
