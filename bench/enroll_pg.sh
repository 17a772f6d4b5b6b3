#!/usr/bin/env bash
# Bulk enrollment on a PostgreSQL store (issue 13), side by side in one run on one throwaway
# PostgreSQL 15 server: a 100,000-device CSV across 1,000 tenants enrolled into a fresh store, the
# same enroll again (no changes), `get devices -A -o json`, and the store format's floor: psql
# copying exactly the rows the enrollment wrote (device objects, their audit entries) into an
# identical fresh store, with its indexes.
# Targets: enroll <= 1.5x the floor, no-op <= 0.5x the first enroll, get -o json < 1.5 s, peak
# memory < 300 MB.
# Usage: bench/enroll_pg.sh [DEVICES] [TENANTS]
source "$(dirname "$0")/lib.sh"
source "$bench_root/scripts/lib/postgres.sh"
devices=${1:-100000}
tenants=${2:-1000}
bench_build

work=$(mktemp -d)
chmod 755 "$work"  # the server's OS user reads the socket folder below it
trap 'postgres_stop; rm -rf "$work"' EXIT
postgres_start "$work/pg"
python3 "$bench_root/bench/gen_fleet.py" "$work" --devices "$devices" --tenants "$tenants" \
    --device-limit $((2 * devices / tenants + 10)) --yaml-devices 1
export HOME="$work/home"  # artifacts and caches of a URL store live under XDG folders
store=$(postgres_url fleet)
fresh="postgres_fresh fleet; FLEETADM_STATE='$store' $FLEETADM init -q && FLEETADM_STATE='$store' $FLEETADM apply -q -f $work/tenants.yaml"

enroll=$(best_of 3 "$fresh" env FLEETADM_STATE="$store" "$FLEETADM" device enroll -q -f "$work/devices.csv")
noop=$(best_of 3 ":" env FLEETADM_STATE="$store" "$FLEETADM" device enroll -q -f "$work/devices.csv")
getjson=$(best_of 3 ":" env FLEETADM_STATE="$store" "$FLEETADM" get devices -A -o json)
count=$(FLEETADM_STATE="$store" "$FLEETADM" get devices -A -o name | wc -l)

# The floor: the rows the enrollment wrote, taken out beforehand (untimed), then copied by psql into
# a fresh store made the same way, in one transaction, as a COPY from the client.
columns="kind, tenant, name, parent, labels, annotations, spec, source_id, source_file, source_commit, generation, created_at, updated_at"
postgres_sql fleet -qc "\\copy (SELECT * FROM sources WHERE id NOT IN (SELECT source_id FROM objects WHERE kind = 'Tenant' AND source_id IS NOT NULL)) TO '$work/sources.copy'"
postgres_sql fleet -qc "\\copy (SELECT $columns FROM objects WHERE kind = 'Device' ORDER BY id) TO '$work/objects.copy'"
postgres_sql fleet -qc "\\copy (SELECT * FROM audit WHERE object LIKE 'device/%' ORDER BY seq) TO '$work/audit.copy'"
floor_fresh="postgres_fresh floor; FLEETADM_STATE='$(postgres_url floor)' $FLEETADM init -q && FLEETADM_STATE='$(postgres_url floor)' $FLEETADM apply -q -f $work/tenants.yaml"
floor=$(best_of 3 "$floor_fresh" postgres_sql floor -q -c "BEGIN" \
    -c "\\copy sources FROM '$work/sources.copy'" \
    -c "\\copy objects ($columns) FROM '$work/objects.copy'" \
    -c "\\copy audit FROM '$work/audit.copy'" -c "COMMIT")
floor_rows=$(postgres_sql floor -tAc "SELECT count(*) FROM objects WHERE kind = 'Device'")

postgres_fresh fleet
FLEETADM_STATE="$store" "$FLEETADM" init -q && FLEETADM_STATE="$store" "$FLEETADM" apply -q -f "$work/tenants.yaml"
mem_enroll=$(peak_mb env FLEETADM_STATE="$store" "$FLEETADM" device enroll -q -f "$work/devices.csv")
mem_noop=$(peak_mb env FLEETADM_STATE="$store" "$FLEETADM" device enroll -q -f "$work/devices.csv")
mem_get=$(peak_mb env FLEETADM_STATE="$store" "$FLEETADM" get devices -A -o json)

echo "bench/enroll_pg.sh: $devices devices in $tenants tenants ($(du -h "$work/devices.csv" | cut -f1) CSV) on PostgreSQL $(postgres_sql postgres -tAc 'SHOW server_version'), best of 3 runs"
printf '  %-40s %8ss  (%s device rows + their audit entries)\n' "psql COPY of the rows (store floor)" "$floor" "$floor_rows"
printf '  %-40s %8ss  %5sx floor  (target <= 1.5x: %s)\n' "device enroll, fresh store" "$enroll" "$(ratio "$enroll" "$floor")" "$(verdict "$(ratio "$enroll" "$floor")" 1.5)"
printf '  %-40s %8ss  %5sx enroll  (target <= 0.5x: %s)\n' "device enroll again (no changes)" "$noop" "$(ratio "$noop" "$enroll")" "$(verdict "$(ratio "$noop" "$enroll")" 0.5)"
printf '  %-40s %8ss  (target < 1.5s: %s)\n' "get devices -A -o json" "$getjson" "$(verdict "$getjson" 1.5)"
printf '  %-40s %8s\n' "devices listed" "$count"
printf '  %-40s %8s MiB / %s MiB / %s MiB  (target < 300: %s)\n' "peak memory enroll / no-op / get" "$mem_enroll" "$mem_noop" "$mem_get" \
    "$(verdict "$(printf '%s\n%s\n%s\n' "$mem_enroll" "$mem_noop" "$mem_get" | sort -n | tail -1)" 299.99)"
