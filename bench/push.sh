#!/usr/bin/env bash
# Push benchmark (issue #5), SSH part, then the HTTP part (bench/push_http.sh; PUSH_SKIP_HTTP=1
# skips it): copy a 1 MiB file to HOSTS loopback SSH endpoints (sshd servers listening
# on up to 16 ports each) and run a command there, with
#   (a) fleetadm exec --copy FILE:DEST -- CMD
#   (b) parallel-scp, then parallel-ssh (Debian pssh)
#   (c) ansible-playbook with the copy and command modules
# in one run, against the same hosts, with the same concurrency and strict host key checking
# against the same known_hosts file. Prints each time (best of RUNS) and fleetadm's ratios.
# Targets: fleetadm <= 1.0x pssh and <= 0.5x Ansible.
#
# usage: bench/push.sh [HOSTS] [PARALLEL] [RUNS]
source "$(dirname "$0")/lib.sh"
hosts=${1:-50}
parallel=${2:-50}
runs=${3:-3}

bench_build
for tool in /usr/sbin/sshd parallel-scp parallel-ssh ansible-playbook; do
    command -v "$tool" >/dev/null || { echo "push.sh: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/fleetadm-push-XXXXXX)
sshd_pids=""
cleanup() {
    stop_sshd
    rm -rf "$work"
}
trap cleanup EXIT
export HOME="$work/home"   # every tool reads its ~/.ssh here, not the caller's
mkdir -p "$HOME" "$work/dest"
user=$(id -un)

# --- sshd on $hosts ports (sshd listens on at most 16 sockets: one server per 16 ports) -----
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/user_key"
cp "$work/user_key.pub" "$work/authorized_keys"
[ "$(id -u)" = 0 ] && mkdir -p -m 0755 /run/sshd   # sshd's privilege separation directory, as root
stop_sshd() {
    for pid in $sshd_pids; do kill "$pid" 2>/dev/null || true; done
    for pid in $sshd_pids; do wait "$pid" 2>/dev/null || true; done
    sshd_pids=""
}
start_sshd() {
    local base=$1 first
    for first in $(seq 0 16 $((hosts - 1))); do
        local last=$((first + 15 < hosts - 1 ? first + 15 : hosts - 1))
        {
            for i in $(seq "$first" "$last"); do echo "ListenAddress 127.0.0.1:$((base + i))"; done
            cat <<EOF
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
UsePAM no
StrictModes no
PidFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 1000
MaxSessions 100
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
        } >"$work/sshd_$first.config"
        /usr/sbin/sshd -D -e -f "$work/sshd_$first.config" 2>"$work/sshd_$first.log" &
        sshd_pids="$sshd_pids $!"
    done
    # Ready when they report listening on every port (or one gives up): polled, with a deadline.
    local deadline=$((SECONDS + 30))
    while [ $SECONDS -lt $deadline ]; do
        local up
        up=$(cat "$work"/sshd_*.log | grep -c "Server listening" || true)
        [ "$up" -eq "$hosts" ] && return 0
        grep -q "Bind to port\|Cannot bind" "$work"/sshd_*.log && break
        sleep 0.05
    done
    stop_sshd
    return 1
}
for attempt in 1 2 3 4 5; do
    base=$((20000 + RANDOM % 30000))
    start_sshd "$base" && break
    [ "$attempt" = 5 ] && { echo "push.sh: cannot start sshd: $(cat "$work"/sshd_*.log)" >&2; exit 1; }
done
ports=$(seq "$base" $((base + hosts - 1)))
pub=$(cut -d' ' -f1,2 "$work/host_key.pub")
for p in $ports; do echo "[127.0.0.1]:$p $pub"; done >"$work/known_hosts"

head -c $((1024 * 1024)) /dev/urandom >"$work/payload.bin"
dest="$work/dest/payload.bin"
cmd="sha256sum $dest"
reset_dest='rm -rf "$work/dest"; mkdir -p "$work/dest"'

# --- (a) fleetadm ----------------------------------------------------------------------------
state="$work/state.db"
fleet() { "$FLEETADM" --state "$state" "$@"; }
fleet init >/dev/null
fleet apply -f - >/dev/null <<EOF
apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: bench}
---
apiVersion: fleetadm/v1
kind: Credential
metadata: {name: key, tenant: bench}
spec: {type: ssh-key, privateKeyFile: $work/user_key, knownHostsFile: $work/known_hosts, hostKeyPolicy: strict}
EOF
{
    echo "name,tenant,deviceType,ssh.host,ssh.port,ssh.user,ssh.credential"
    i=0
    for p in $ports; do i=$((i + 1)); echo "dev-$i,bench,rpi4,127.0.0.1,$p,$user,key"; done
} >"$work/devices.csv"
fleet device enroll -f "$work/devices.csv" >/dev/null
fleet_push() { fleet exec --all --max-parallel "$parallel" --copy "$work/payload.bin:$dest" -- "$cmd"; }

# --- (b) pssh --------------------------------------------------------------------------------
for p in $ports; do echo "127.0.0.1:$p"; done >"$work/pssh_hosts"
pssh_opts=(-h "$work/pssh_hosts" -p "$parallel" -l "$user" -O "IdentityFile=$work/user_key"
           -O "UserKnownHostsFile=$work/known_hosts" -O StrictHostKeyChecking=yes -O BatchMode=yes)
pssh_push() {
    parallel-scp "${pssh_opts[@]}" "$work/payload.bin" "$dest" && parallel-ssh "${pssh_opts[@]}" "$cmd"
}

# --- (c) Ansible -----------------------------------------------------------------------------
{
    echo "[devices]"
    i=0
    for p in $ports; do i=$((i + 1)); echo "dev-$i ansible_host=127.0.0.1 ansible_port=$p"; done
    echo "[devices:vars]"
    echo "ansible_user=$user"
    echo "ansible_ssh_private_key_file=$work/user_key"
    echo "ansible_ssh_common_args='-o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes'"
    echo "ansible_python_interpreter=/usr/bin/python3"
} >"$work/inventory"
cat >"$work/push.yml" <<EOF
- hosts: devices
  gather_facts: false
  tasks:
    - copy: {src: $work/payload.bin, dest: $dest}
    - command: $cmd
EOF
export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PIPELINING=True ANSIBLE_FORKS="$parallel" ANSIBLE_NOCOLOR=1
export ANSIBLE_LOCAL_TEMP="$work/ansible-local" ANSIBLE_SSH_CONTROL_PATH_DIR="$work/ansible-cp"
ansible_push() { ansible-playbook -i "$work/inventory" -f "$parallel" "$work/push.yml"; }

# Each tool must succeed once (and the file arrive) before it is timed.
for tool in fleet_push pssh_push ansible_push; do
    eval "$reset_dest"
    "$tool" >"$work/$tool.log" 2>&1 || { echo "push.sh: $tool failed:" >&2; tail -20 "$work/$tool.log" >&2; exit 1; }
    cmp -s "$work/payload.bin" "$dest" || { echo "push.sh: $tool did not deliver the file" >&2; exit 1; }
done

echo "SSH push: 1 MiB file + command on $hosts loopback endpoints, $parallel at once, best of $runs"
t_fleet=$(best_of "$runs" "$reset_dest" fleet_push)
t_pssh=$(best_of "$runs" "$reset_dest" pssh_push)
t_ansible=$(best_of "$runs" "$reset_dest" ansible_push)
printf '  %-34s %8.2f s\n' "fleetadm exec --copy" "$t_fleet" "parallel-scp + parallel-ssh" "$t_pssh" \
    "ansible-playbook (copy + command)" "$t_ansible"
r_pssh=$(ratio "$t_fleet" "$t_pssh")
r_ansible=$(ratio "$t_fleet" "$t_ansible")
echo "  fleetadm / pssh:    ${r_pssh}x (target <= 1.0x: $(verdict "$r_pssh" 1.0))"
echo "  fleetadm / Ansible: ${r_ansible}x (target <= 0.5x: $(verdict "$r_ansible" 0.5))"

# The HTTP half of the push benchmark (200 uploads of 1 MiB, fleetadm vs xargs -P 32 curl).
if [ "${PUSH_SKIP_HTTP:-}" != 1 ]; then
    echo
    "$bench_root/bench/push_http.sh"
fi
