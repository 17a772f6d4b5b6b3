#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install what is missing, build, apply examples/ to a
# throwaway store, start real device endpoints on loopback (one OpenSSH server per ACME device, an
# HTTP endpoint for Globex's gateways), run the examples' rollouts in two tenants with the progress
# display, and show the result, the tenant tree and the verified audit log.
# With --postgres the store is a database on a throwaway PostgreSQL 15 server started for the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
postgres=no
case ${1:-} in
  --postgres) postgres=yes ;;
  "") ;;
  *) echo "usage: scripts/demo.sh [--postgres]" >&2; exit 2 ;;
esac
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target fleetadm
source scripts/lib/loopback.sh
source scripts/lib/postgres.sh
work=$(mktemp -d)
trap 'loopback_stop_all; postgres_stop; rm -rf "$work"' EXIT
state="$work/state.db"
if [ "$postgres" = yes ]; then
  chmod 755 "$work"  # the server's OS user reaches its socket folder below it
  postgres_start "$work/pg"
  postgres_fresh fleet
  state=$(postgres_url fleet)
  echo "state store: PostgreSQL database \"fleet\" on a throwaway server (socket in $work/pg)"
fi
export HOME="$work/home" FLEETADM_STATE="$state" GLOBEX_EU_TOKEN=demo-token GLOBEX_US_TOKEN=demo-token
mkdir -p "$HOME/.fleet"
fleetadm() { "$src/build/fleetadm" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "A fresh store, and the examples applied to it"
fleetadm init --provider provider
fleetadm validate -f examples/ -R
fleetadm plan -f examples/ -R || true      # exit 1: there are changes to make
fleetadm apply -f examples/ -R
fleetadm apply -f examples/ -R             # again: nothing changes

step "Real devices on loopback"
# The operator's key that examples/credentials names (~/.fleet/acme_ed25519), and one sshd per ACME
# device, each with its own host key and its own 'flash' (a directory its fw-install tool writes).
ssh-keygen -q -t ed25519 -N '' -f "$HOME/.fleet/acme_ed25519"
: > "$HOME/.fleet/acme_known_hosts"
csv="$work/loopback.csv"
echo "name,tenant,deviceType,labels,ssh.host,ssh.port,ssh.user,ssh.credential,http.url,http.credential,http.profile" > "$csv"
user=$(id -un)
for dev in hvac-0001:building=a\;channel=stable hvac-0002:building=a\;channel=beta hvac-0003:building=b\;channel=stable; do
  name=${dev%%:*} labels=${dev#*:}
  dir="$work/devices/$name"
  mkdir -p "$dir/bin" "$dir/flash"
  cat > "$dir/bin/fw-install" <<TOOL
#!/bin/sh
# A device's update tool: installs a firmware file, or tells the installed version.
flash="$dir/flash"
if [ "\$1" = --installed ]; then cat "\$flash/version" 2>/dev/null || echo none; exit 0; fi
file=\$1; shift; version=
while [ \$# -gt 0 ]; do case \$1 in --version) version=\$2; shift;; esac; shift; done
[ -s "\$file" ] || { echo "no firmware at \$file" >&2; exit 2; }
cp "\$file" "\$flash/firmware.bin" && printf '%s\n' "\$version" > "\$flash/version"
TOOL
  chmod +x "$dir/bin/fw-install"
  port=$(loopback_free_port)
  loopback_sshd "$dir/sshd" "$port" "$HOME/.fleet/acme_ed25519.pub" "$dir/bin" >> "$HOME/.fleet/acme_known_hosts"
  echo "$name,acme-prod,rpi4,$labels,127.0.0.1,$port,$user,acme-ssh,,," >> "$csv"
  echo "device/$name: OpenSSH on 127.0.0.1:$port"
done
loopback_http http_port "$src"
echo "gateways: HTTP endpoint on 127.0.0.1:$http_port"
for gw in gw-eu-01:role=gateway\;site=rotterdam gw-eu-02:role=gateway\;site=hamburg; do
  echo "${gw%%:*},globex-eu,imx8,${gw#*:},,,,,http://127.0.0.1:$http_port,globex-http,generic" >> "$csv"
done
# The same devices, now reachable here: an enrollment updates their endpoints.
fleetadm device enroll -f "$csv"
# The demo does not wait for acme-prod's weekend maintenance window.
sed 's/windows: inherit/windows: none/' examples/rollouts/rollouts.yaml > "$work/rollouts.yaml"
fleetadm apply -f "$work/rollouts.yaml"
fleetadm get devices -o wide

step "Rollouts in two tenants"
fleetadm rollout run hvac-2.1.0 --tenant acme-prod
fleetadm rollout run gateway-5.4.0 --tenant globex-eu
fleetadm rollout status hvac-2.1.0 --tenant acme-prod -o wide
fleetadm get rollouts
fleetadm get devices

step "The result"
fleetadm tenant tree
fleetadm audit --tenant acme-prod --action rollout-device-succeeded
fleetadm audit verify -A

if [ "$postgres" = yes ]; then
  step "The store moved to a local file and back into a second database: the same store"
  fleetadm store migrate --to "$work/local/state.db"
  postgres_fresh copy
  FLEETADM_STATE="$work/local/state.db" fleetadm store migrate --to "$(postgres_url copy)"
  for s in "$state" "$work/local/state.db" "$(postgres_url copy)"; do
    FLEETADM_STATE="$s" fleetadm audit verify -A -q
    FLEETADM_STATE="$s" fleetadm export -q -d "$work/export-$(echo "$s" | md5sum | cut -c1-8)"
  done
  exports=("$work"/export-*)
  diff -r "${exports[0]}" "${exports[1]}" && diff -r "${exports[0]}" "${exports[2]}"
  echo "export of the original, the local copy and the second database: identical; every audit chain verifies"
  # Artifact bytes: the local copy's files against the chunks of both databases.
  for f in "$work"/local/artifacts/*/*; do
    tenant=$(basename "$(dirname "$f")") sha=$(basename "$f")
    [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$sha" ]
    for db in fleet copy; do
      [ "$(postgres_sql "$db" -tAc "SELECT encode(sha256(string_agg(data, ''::bytea ORDER BY seq)), 'hex') FROM artifact_chunks WHERE tenant = '$tenant' AND sha256 = '$sha'")" = "$sha" ]
    done
  done
  echo "artifact bytes: identical in all three stores ($(ls "$work"/local/artifacts/*/* | wc -l) artifacts)"
fi
