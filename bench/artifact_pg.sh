#!/usr/bin/env bash
# Artifacts on a PostgreSQL store (issue 13), side by side in one run on one throwaway PostgreSQL 15
# server: an artifact of SIZE MiB (random bytes) applied into the database in chunks, and fetched
# back into this machine's cache by a rollout (whose only device refuses the connection, so the run
# ends right after the fetch); beside them the floors: psql's \lo_import and \lo_export of the same
# file (PostgreSQL streaming it as a large object), and the same apply into a local SQLite store
# (a file copy into its area).
# Targets: peak memory of apply and fetch < 64 MiB whatever the size (the bytes are streamed, never
# whole in memory); apply <= 2x \lo_import and fetch <= 2x \lo_export.
# Usage: bench/artifact_pg.sh [SIZE_MIB]
source "$(dirname "$0")/lib.sh"
source "$bench_root/scripts/lib/postgres.sh"
size=${1:-1024}
bench_build

work=$(mktemp -d)
chmod 755 "$work"  # the server's OS user reads the socket folder below it
trap 'postgres_stop; rm -rf "$work"' EXIT
postgres_start "$work/pg"
export HOME="$work/home"
mkdir -p "$HOME"
head -c "$((size * 1024 * 1024))" /dev/urandom >"$work/fw.bin"
chmod 644 "$work/fw.bin"
cat >"$work/site.yaml" <<YAML
apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: site}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {name: d1, tenant: site, labels: {bench: "yes"}}
spec: {deviceType: rpi4, ssh: {host: 127.0.0.1, port: 1, user: root}}
---
apiVersion: fleetadm/v1
kind: Artifact
metadata: {name: fw, tenant: site}
spec: {file: $work/fw.bin, version: "1.0"}
---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {name: up, tenant: site}
spec:
  artifact: fw
  targets: {selector: "bench=yes"}
  schedule: {windows: none}
  install: {ssh: {command: "true"}}
YAML
store=$(postgres_url fleet)
fresh_pg="postgres_fresh fleet; FLEETADM_STATE='$store' $FLEETADM init -q"
fresh_sqlite="rm -rf $work/local; mkdir -p $work/local; FLEETADM_STATE=$work/local/state.db $FLEETADM init -q"
nocache="rm -rf $HOME/.cache; postgres_sql fleet -qc 'DELETE FROM rollout_runs; DELETE FROM rollout_devices' >/dev/null"

lo_fresh="postgres_fresh floor; postgres_sql floor -qc 'CREATE TABLE t (o oid)' >/dev/null"
lo_import=$(best_of 3 "$lo_fresh" postgres_sql floor -qc "\\lo_import '$work/fw.bin'")
oid=$(postgres_sql floor -tAc "SELECT max(oid) FROM pg_largeobject_metadata")
lo_export=$(best_of 3 "rm -f $work/out.bin" postgres_sql floor -qc "\\lo_export $oid '$work/out.bin'")
sqlite_apply=$(best_of 3 "$fresh_sqlite" env FLEETADM_STATE="$work/local/state.db" "$FLEETADM" apply -q -f "$work/site.yaml")
apply=$(best_of 3 "$fresh_pg" env FLEETADM_STATE="$store" "$FLEETADM" apply -q -f "$work/site.yaml")
# The run exits 1 (its device refuses the connection); that is expected here.
run_up() { FLEETADM_STATE="$store" "$FLEETADM" rollout run up --tenant site 2>/dev/null || true; }
fetch=$(best_of 3 "$nocache" run_up)
cmp "$work/fw.bin" "$HOME/.cache/fleetadm/artifacts/$(sha256sum "$work/fw.bin" | cut -d' ' -f1)"
chunks=$(postgres_sql fleet -tAc "SELECT count(*) FROM artifact_chunks")

eval "$fresh_pg"
mem_apply=$(peak_mb env FLEETADM_STATE="$store" "$FLEETADM" apply -q -f "$work/site.yaml")
eval "$nocache"
mem_fetch=$(peak_mb env FLEETADM_STATE="$store" "$FLEETADM" rollout run up --tenant site) || true

echo "bench/artifact_pg.sh: a $size MiB artifact on PostgreSQL $(postgres_sql postgres -tAc 'SHOW server_version') ($chunks chunks), best of 3 runs"
printf '  %-44s %8ss\n' "psql \\lo_import (floor of the apply)" "$lo_import"
printf '  %-44s %8ss\n' "psql \\lo_export (floor of the fetch)" "$lo_export"
printf '  %-44s %8ss\n' "apply into a local SQLite store (area copy)" "$sqlite_apply"
printf '  %-44s %8ss  %5sx \\lo_import  (target <= 2x: %s)\n' "apply into PostgreSQL" "$apply" "$(ratio "$apply" "$lo_import")" "$(verdict "$(ratio "$apply" "$lo_import")" 2)"
printf '  %-44s %8ss  %5sx \\lo_export  (target <= 2x: %s)\n' "fetch into the cache (rollout run)" "$fetch" "$(ratio "$fetch" "$lo_export")" "$(verdict "$(ratio "$fetch" "$lo_export")" 2)"
printf '  %-44s %8s MiB / %s MiB  (target < 64: %s)\n' "peak memory apply / fetch" "$mem_apply" "$mem_fetch" \
    "$(verdict "$(printf '%s\n%s\n' "$mem_apply" "$mem_fetch" | sort -n | tail -1)" 63.99)"
