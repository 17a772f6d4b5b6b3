#!/usr/bin/env bash
# Rollout throughput and bookkeeping share: a 2,000-device rollout of a small artifact with a
# trivial install command, over real OpenSSH servers on loopback. Prints devices per second and
# the share of the run spent in the state store (target: bookkeeping under 10%).
# Usage: bench/rollout.sh [DEVICES] [SERVERS] [MAX_PARALLEL]
source "$(dirname "$0")/lib.sh"
source "$bench_root/scripts/lib/loopback.sh"
devices=${1:-2000}
servers=${2:-4}
parallel=${3:-32}
bench_build
work=$(mktemp -d)
trap 'loopback_stop_all; rm -rf "$work"' EXIT
export HOME="$work/home" FLEETADM_STATE="$work/state.db"
mkdir -p "$HOME"
ssh-keygen -q -t ed25519 -N '' -f "$work/key"
ports=()
for i in $(seq 1 "$servers"); do
  port=$(loopback_free_port)
  loopback_sshd "$work/sshd-$i" "$port" "$work/key.pub" >> "$work/known_hosts"
  ports+=("$port")
done
head -c 4096 /dev/urandom > "$work/fw.bin"
user=$(id -un)
{
  cat <<YAML
apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: bench}
---
apiVersion: fleetadm/v1
kind: Credential
metadata: {name: key, tenant: bench}
spec: {type: ssh-key, privateKeyFile: $work/key, knownHostsFile: $work/known_hosts}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: bench}
spec: {file: $work/fw.bin, version: "1.0"}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: bench, tenant: bench}
spec:
  artifact: fw
  targets: {selector: "bench=yes"}
  strategy: {phases: [{percent: 10}, {percent: 100}], maxParallel: $parallel, retries: 2, failureThreshold: "5%"}
  schedule: {windows: none}
  install: {ssh: {uploadDir: $work/upload, command: "true"}}
YAML
} > "$work/fleet.yaml"
mkdir -p "$work/upload"
{
  echo "name,tenant,deviceType,labels,ssh.host,ssh.port,ssh.user,ssh.credential"
  for i in $(seq 1 "$devices"); do
    echo "dev-$i,bench,x,bench=yes,127.0.0.1,${ports[$(( i % servers ))]},$user,key"
  done
} > "$work/devices.csv"
"$FLEETADM" init >/dev/null
"$FLEETADM" apply -f "$work/fleet.yaml" >/dev/null
"$FLEETADM" device enroll -f "$work/devices.csv" >/dev/null
echo "rollout of $devices devices over $servers loopback sshd, maxParallel $parallel:"
set +o pipefail
result=$("$FLEETADM" rollout run bench -o json | tail -1)
set -o pipefail
python3 - "$result" "$devices" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); n = int(sys.argv[2])
secs, store = r["elapsedSeconds"], r["storeSeconds"]
share = 100 * store / secs
print(f"  {r['state']}: succeeded {r['succeeded']}/{n}, failed {r['failed']}")
print(f"  elapsed {secs:.2f} s = {n / secs:.1f} devices/s")
print(f"  store {store:.2f} s in {r['storeTransactions']} transactions = {share:.1f}% of the run (target < 10%: {'ok' if share < 10 else 'MISSED'})")
PY
