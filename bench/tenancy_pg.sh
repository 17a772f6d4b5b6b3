#!/usr/bin/env bash
# The cost of the database-enforced tenancy (issue 14), side by side in one run on one throwaway
# PostgreSQL 15 server: 10,000 customer tenants under the provider (each with its own admin login)
# and 1,000,000 devices (100 per customer, written with COPY), then, as a customer admin and as the
# provider admin, `get devices -A -o json`, `tenant tree` and the bare SQL count of the devices the
# login sees; and the same with row-level security disabled on every table, for comparison.
# Target: a customer admin's `get devices -A -o json` of its 100 devices < 100 ms.
# Usage: bench/tenancy_pg.sh [DEVICES] [TENANTS]   (FLEETADM=path skips the release build: for a smoke run)
source "$(dirname "$0")/lib.sh"
source "$bench_root/scripts/lib/postgres.sh"
devices=${1:-1000000}
tenants=${2:-10000}
if [ -z "${FLEETADM:-}" ]; then bench_build; fi

work=$(mktemp -d)
chmod 755 "$work"  # the server's OS user reads the socket folder below it
trap 'postgres_stop; rm -rf "$work"' EXIT
postgres_start "$work/pg"
export HOME="$work/home"
postgres_fresh fleet
store=$(postgres_url fleet)
customer=$(printf 'c%05d' $((tenants / 2)))  # one customer admin, in the middle of the list
customer_store="postgresql://$customer@/fleet?host=$postgres_dir&port=$postgres_port"
export FLEETADM_STATE="$store"
"$FLEETADM" init -q

python3 - "$work" "$devices" "$tenants" <<'PY'
import sys
work, devices, tenants = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f"{work}/tenants.yaml", "w") as f:
    for t in range(tenants):
        name = f"c{t:05d}"
        f.write(f"---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {{name: {name}}}\nspec:\n  parent: provider\n"
                f"  deviceLimit: {2 * devices // tenants + 10}\n  members: [{{user: {name}, role: admin}}]\n")
now = "2026-12-01T00:00:00Z"
with open(f"{work}/devices.copy", "w") as f:
    for d in range(devices):
        t = d % tenants
        f.write(f"Device\tc{t:05d}\td{d:07d}\t{{}}\t{{}}\t{{\"deviceType\":\"rpi4\",\"ssh\":{{\"host\":\"10.{t // 256 % 256}.{t % 256}.{d % 250 + 1}\"}}}}\t1\t{now}\t{now}\n")
PY
apply_s=$(best_of 1 ":" "$FLEETADM" apply -q -f "$work/tenants.yaml")
copy_s=$(best_of 1 ":" postgres_sql fleet -qc "\\copy objects (kind, tenant, name, labels, annotations, spec, generation, created_at, updated_at) FROM '$work/devices.copy'")
postgres_sql fleet -qc "ANALYZE" >/dev/null
"$FLEETADM" user add "$customer" --no-password -q

measure() {  # measure LABEL: one line per query
    local label=$1
    local c_get c_tree p_get p_tree c_sql c_one p_sql c_n p_n
    c_get=$(best_of 3 ":" env FLEETADM_STATE="$customer_store" "$FLEETADM" get devices -A -o json)
    c_tree=$(best_of 3 ":" env FLEETADM_STATE="$customer_store" "$FLEETADM" tenant tree)
    c_sql=$(best_of 3 ":" psql -X -q -h "$postgres_dir" -p "$postgres_port" -U "$customer" -d fleet -c "SELECT count(*) FROM objects WHERE kind = 'Device'")
    c_one=$(best_of 3 ":" psql -X -q -h "$postgres_dir" -p "$postgres_port" -U "$customer" -d fleet -c "SELECT 1")
    c_n=$(env FLEETADM_STATE="$customer_store" "$FLEETADM" get devices -A -o name | wc -l)
    p_get=$(best_of 1 ":" "$FLEETADM" get devices -A -o json)
    p_tree=$(best_of 3 ":" "$FLEETADM" tenant tree)
    p_sql=$(best_of 3 ":" psql -X -q -h "$postgres_dir" -p "$postgres_port" -U "$(id -un)" -d fleet -c "SELECT count(*) FROM objects WHERE kind = 'Device'")
    p_n=$(psql -X -tA -h "$postgres_dir" -p "$postgres_port" -U "$(id -un)" -d fleet -c "SELECT count(*) FROM objects WHERE kind = 'Device'")
    printf '  %-52s %8ss  (%s devices)\n' "$label customer admin: get devices -A -o json" "$c_get" "$c_n"
    printf '  %-52s %8ss\n' "$label customer admin: psql SELECT 1 (a connection)" "$c_one"
    printf '  %-52s %8ss\n' "$label customer admin: tenant tree" "$c_tree"
    printf '  %-52s %8ss\n' "$label customer admin: psql SELECT count(*) devices" "$c_sql"
    printf '  %-52s %8ss  (%s devices)\n' "$label provider admin: get devices -A -o json" "$p_get" "$p_n"
    printf '  %-52s %8ss\n' "$label provider admin: tenant tree" "$p_tree"
    printf '  %-52s %8ss\n' "$label provider admin: psql SELECT count(*) devices" "$p_sql"
    echo "$c_get" > "$work/c_get.$label"
}

echo "bench/tenancy_pg.sh: $devices devices in $tenants customer tenants on PostgreSQL $(postgres_sql postgres -tAc 'SHOW server_version'); best of 3 (provider get: 1 run)"
printf '  %-52s %8ss\n' "apply of the $tenants tenants (with members)" "$apply_s"
printf '  %-52s %8ss\n' "psql COPY of the $devices devices (counts kept by triggers)" "$copy_s"
measure "RLS on: "
tables="objects sources device_status audit audit_heads rollout_runs rollout_devices device_outputs artifacts artifact_chunks meta"
for t in $tables; do postgres_sql fleet -qc "ALTER TABLE $t NO FORCE ROW LEVEL SECURITY; ALTER TABLE $t DISABLE ROW LEVEL SECURITY"; done
measure "RLS off:"
with=$(cat "$work/c_get.RLS on: ")
printf '  %-52s %8s  (target < 0.1 s: %s)\n' "customer admin get -A -o json, RLS on" "${with}s" "$(verdict "$with" 0.1)"
