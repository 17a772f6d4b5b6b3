#!/usr/bin/env bash
# Bulk enrollment at scale, side by side in one run:
#   a 100,000-device CSV across 1,000 tenants enrolled into a fresh store, the same enroll
#   again (no changes), `get devices -A -o json`, and sqlite3's .import of the same CSV as
#   the floor; then 10,000 Device YAML documents applied, against yaml-cpp's bare parse.
#   It also times sqlite3 itself writing the rows the enrollment wrote (device objects and their
#   audit entries) into a fresh store: the floor of the store format, beside the CSV import's.
# Targets: enroll <= 1.25x the store floor (issue 12, with the identity checks), no-op <= 3x the
# import, get -o json < 1 s, peak memory < 300 MB, YAML apply <= 2x the parse.
# Usage: bench/enroll.sh [DEVICES] [TENANTS] [YAML_DEVICES]
source "$(dirname "$0")/lib.sh"
devices=${1:-100000}
tenants=${2:-1000}
yaml_devices=${3:-10000}
bench_build

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$bench_root/bench/gen_fleet.py" "$work" --devices "$devices" --tenants "$tenants" \
    --device-limit $((2 * devices / tenants + 10)) --yaml-devices "$yaml_devices"
store="$work/state.db"
fresh="rm -f $store $store-wal $store-shm; FLEETADM_STATE=$store $FLEETADM init -q && FLEETADM_STATE=$store $FLEETADM apply -q -f $work/tenants.yaml"
import_db="$work/import.db"
import_fresh="rm -f $import_db"

floor=$(best_of 3 "$import_fresh" sqlite3 -cmd '.mode csv' "$import_db" ".import $work/devices.csv devices")
enroll=$(best_of 3 "$fresh" env FLEETADM_STATE="$store" "$FLEETADM" device enroll -q -f "$work/devices.csv")
noop=$(best_of 3 ":" env FLEETADM_STATE="$store" "$FLEETADM" device enroll -q -f "$work/devices.csv")
# The same without transparent huge pages for the heap (cmd/huge_pages.hpp), to show what they buy.
noop_small_pages=$(best_of 3 ":" env FLEETADM_HUGE_PAGES=0 FLEETADM_STATE="$store" "$FLEETADM" device enroll -q -f "$work/devices.csv")
getjson=$(best_of 3 ":" env FLEETADM_STATE="$store" "$FLEETADM" get devices -A -o json)
count=$(FLEETADM_STATE="$store" "$FLEETADM" get devices -A -o name | wc -l)

# The store's own floor: sqlite3 writing exactly the rows the enrollment wrote (device objects, their
# audit entries) into a fresh store with fleetadm's schema and settings: no parsing, no checks.
cp "$store" "$work/enrolled.db"
floor_store="$work/floor.db"
floor_fresh="rm -f $floor_store $floor_store-wal $floor_store-shm; FLEETADM_STATE=$floor_store $FLEETADM init -q && FLEETADM_STATE=$floor_store $FLEETADM apply -q -f $work/tenants.yaml"
copy_sql="ATTACH '$work/enrolled.db' AS s;
BEGIN IMMEDIATE;
INSERT INTO sources SELECT * FROM s.sources WHERE id NOT IN (SELECT id FROM main.sources);
INSERT INTO objects (kind, tenant, name, parent, labels, annotations, spec, source_id, source_file, source_commit,
                     generation, created_at, updated_at)
  SELECT kind, tenant, name, parent, labels, annotations, spec, source_id, source_file, source_commit, generation,
         created_at, updated_at FROM s.objects WHERE kind = 'Device' ORDER BY id;
INSERT INTO audit SELECT * FROM s.audit WHERE seq > (SELECT max(seq) FROM main.audit) ORDER BY seq;
COMMIT;"
store_floor=$(best_of 3 "$floor_fresh" sqlite3 -cmd 'PRAGMA synchronous=NORMAL' -cmd 'PRAGMA cache_size=-32768' \
    "$floor_store" "$copy_sql")
floor_rows=$(sqlite3 "$floor_store" "SELECT count(*) FROM objects WHERE kind = 'Device'")
eval "$fresh"
mem_enroll=$(peak_mb env FLEETADM_STATE="$store" "$FLEETADM" device enroll -q -f "$work/devices.csv")
mem_noop=$(peak_mb env FLEETADM_STATE="$store" "$FLEETADM" device enroll -q -f "$work/devices.csv")
mem_get=$(peak_mb env FLEETADM_STATE="$store" "$FLEETADM" get devices -A -o json)

yparse=$(best_of 3 ":" "$YAML_BASELINE" "$work/devices.yaml")
yapply=$(best_of 3 "$fresh" env FLEETADM_STATE="$store" "$FLEETADM" apply -q -f "$work/devices.yaml")

echo "bench/enroll.sh: $devices devices in $tenants tenants ($(du -h "$work/devices.csv" | cut -f1) CSV), best of 3 runs"
printf '  %-40s %8ss\n' "sqlite3 .import of the CSV (floor)" "$floor"
printf '  %-40s %8ss  %5sx floor  (%s device rows + their audit entries)\n' "sqlite3 copy of the rows (store floor)" "$store_floor" "$(ratio "$store_floor" "$floor")" "$floor_rows"
printf '  %-40s %8ss  %5sx store floor  (target <= 1.25x: %s; %sx the import)\n' "device enroll, fresh store" "$enroll" "$(ratio "$enroll" "$store_floor")" "$(verdict "$(ratio "$enroll" "$store_floor")" 1.25)" "$(ratio "$enroll" "$floor")"
printf '  %-40s %8ss  %5sx floor  (target <= 3x: %s)\n' "device enroll again (no changes)" "$noop" "$(ratio "$noop" "$floor")" "$(verdict "$(ratio "$noop" "$floor")" 3)"
printf '  %-40s %8ss  %5sx floor  (FLEETADM_HUGE_PAGES=0: 4 KiB heap pages)\n' "device enroll again, small pages" "$noop_small_pages" "$(ratio "$noop_small_pages" "$floor")"
printf '  %-40s %8ss  (target < 1s: %s)\n' "get devices -A -o json" "$getjson" "$(verdict "$getjson" 1)"
printf '  %-40s %8s\n' "devices listed" "$count"
printf '  %-40s %8s MiB / %s MiB / %s MiB  (target < 300: %s)\n' "peak memory enroll / no-op / get" "$mem_enroll" "$mem_noop" "$mem_get" \
    "$(verdict "$(printf '%s\n%s\n%s\n' "$mem_enroll" "$mem_noop" "$mem_get" | sort -n | tail -1)" 299.99)"
echo "bench/enroll.sh: $yaml_devices Device YAML documents ($(du -h "$work/devices.yaml" | cut -f1))"
printf '  %-40s %8ss\n' "yaml-cpp LoadAll (baseline)" "$yparse"
printf '  %-40s %8ss  %5sx baseline  (target <= 2x: %s)\n' "fleetadm apply, fresh store" "$yapply" "$(ratio "$yapply" "$yparse")" "$(verdict "$(ratio "$yapply" "$yparse")" 2)"
