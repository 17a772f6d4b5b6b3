#!/usr/bin/env bash
# Installs, by Debian 12 package name, everything fleetadm needs to build, test
# and benchmark. Skips apt entirely when every package is already present.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config git
  # libraries linked by fleetadm
  libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libvalijson-dev
  libsqlite3-dev libssl-dev libfmt-dev libssh-dev libcurl4-openssl-dev libwebsockets-dev libgit2-dev libpq-dev
  # tests and benchmarks; tzdata: fleetadm checks maintenance windows' time zone names against it
  catch2 sqlite3 python3 time tzdata
  # the PostgreSQL backend's tests start their own PostgreSQL 15 server
  postgresql
  # real device endpoints in tests (OpenSSH server, SWUpdate), completion tests, man page checks
  openssh-server openssh-client openssl curl bash-completion zsh fish man-db groff-base
  swupdate
  # sites behind bastions: tests/cli/jump_test.cpp makes network namespaces (ip netns)
  iproute2
  # bench/push.sh compares against these
  pssh ansible-core
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
