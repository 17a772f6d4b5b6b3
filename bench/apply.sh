#!/usr/bin/env bash
# Applies 1,000 tenants to a fresh store and compares the time with yaml-cpp alone parsing the
# same files (YAML::LoadAll in a program that does nothing else). Target: within 2x.
# Usage: bench/apply.sh [TENANTS] [RUNS]
source "$(dirname "$0")/lib.sh"
tenants=${1:-1000}
runs=${2:-5}
bench_build

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree"
# 1/10 of the tenants are customers under the provider; the rest are their environments.
python3 - "$work/tree" "$tenants" <<'PY'
import sys
out, n = sys.argv[1], int(sys.argv[2])
customers = max(1, n // 10)
with open(f"{out}/tenants.yaml", "w") as f:
    for i in range(n):
        parent = "provider" if i < customers else f"customer-{(i - customers) % customers:04d}"
        name = f"customer-{i:04d}" if i < customers else f"env-{i:05d}"
        f.write(f"""---
apiVersion: fleetadm/v1
kind: Tenant
metadata:
  name: {name}
  labels: {{tier: gold, region: eu-{i % 3}}}
spec:
  parent: {parent}
  displayName: "Tenant {i} of the benchmark"
  deviceLimit: {1000 + i}
  members:
    - {{user: admin-{i}, role: admin}}
    - {{user: ci-{i}, role: operator}}
  settings:
    timezone: Europe/Berlin
    channel: stable
  updatePolicy:
    windows:
      - {{days: [mon, tue, wed, thu, fri], start: "02:00", end: "04:00", timezone: Europe/Berlin}}
""")
PY
file="$work/tree/tenants.yaml"
store="$work/state.db"
fresh="rm -rf $store $store-wal $store-shm; FLEETADM_STATE=$store $FLEETADM init -q"

parse=$(best_of "$runs" ":" "$YAML_BASELINE" "$file")
apply=$(best_of "$runs" "$fresh" env FLEETADM_STATE="$store" "$FLEETADM" apply -q -f "$file")
noop=$(best_of "$runs" ":" env FLEETADM_STATE="$store" "$FLEETADM" apply -q -f "$file")
mem=$(eval "$fresh"; peak_mb env FLEETADM_STATE="$store" "$FLEETADM" apply -q -f "$file")
count=$(FLEETADM_STATE="$store" "$FLEETADM" get tenants -o name | wc -l)

echo "bench/apply.sh: $tenants tenants ($(du -h "$file" | cut -f1) of YAML), best of $runs runs"
printf '  %-38s %8ss\n' "yaml-cpp LoadAll (baseline)" "$parse"
printf '  %-38s %8ss  %sx baseline  (target <= 2x: %s)\n' "fleetadm apply, fresh store" "$apply" \
    "$(ratio "$apply" "$parse")" "$(verdict "$(ratio "$apply" "$parse")" 2)"
printf '  %-38s %8ss  %sx baseline\n' "fleetadm apply again (no changes)" "$noop" "$(ratio "$noop" "$parse")"
printf '  %-38s %8s MiB\n' "peak memory of apply" "$mem"
printf '  %-38s %8s\n' "tenants in store after apply" "$count"
