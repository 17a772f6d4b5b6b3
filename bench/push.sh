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
# Then the same through one bastion (fleetadm's ssh.jump, OpenSSH's ProxyJump for the others), with
# the same targets and fleetadm via the bastion <= 1.3x fleetadm direct; the bastion's logins per
# tool are printed.
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

# --- sshd on $hosts ports ----------------------------------------------------------------------
# Each device needs a filesystem of its own: uploads go to a temporary name and are renamed over
# the destination, and fifty devices renaming over one shared path would race (one device's
# command could find the file replaced mid-way). As root every port gets its own sshd in its own
# mount namespace with a private tmpfs at $work/dest; otherwise sshd listens on up to 16 ports per
# server and the devices share $work/dest (then only the OpenSSH tools' numbers are reliable).
private_dest=0
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null && private_dest=1
per_server=16
[ "$private_dest" = 1 ] && per_server=1
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
    for first in $(seq 0 "$per_server" $((hosts - 1))); do
        local last=$((first + per_server - 1 < hosts - 1 ? first + per_server - 1 : hosts - 1))
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
        if [ "$private_dest" = 1 ]; then
            unshare --mount --propagation private sh -c 'mount -t tmpfs -o size=64m tmpfs "$1" && exec /usr/sbin/sshd -D -e -f "$2"' \
                sh "$work/dest" "$work/sshd_$first.config" 2>"$work/sshd_$first.log" &
        else
            /usr/sbin/sshd -D -e -f "$work/sshd_$first.config" 2>"$work/sshd_$first.log" &
        fi
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
# Each device checks its own copy: a wrong or missing file fails that device, and so the tool.
cmd="echo '$(sha256sum "$work/payload.bin" | cut -d' ' -f1)  $dest' | sha256sum -c --quiet"

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
# Before each timed run every device's copy is removed (so that no tool finds it in place).
if [ "$private_dest" = 1 ]; then
    reset_dest='parallel-ssh "${pssh_opts[@]}" "rm -f $dest" >/dev/null'
else
    reset_dest='rm -rf "$work/dest"; mkdir -p "$work/dest"'
fi
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
# A login that a busy bastion drops is tried again, as an Ansible user through a bastion would set it.
export ANSIBLE_SSH_RETRIES=3
export ANSIBLE_LOCAL_TEMP="$work/ansible-local" ANSIBLE_SSH_CONTROL_PATH_DIR="$work/ansible-cp"
ansible_push() { ansible-playbook -i "$work/inventory" -f "$parallel" "$work/push.yml"; }

# Each tool must succeed once (and the file arrive) before it is timed.
for tool in fleet_push pssh_push ansible_push; do
    eval "$reset_dest"
    "$tool" >"$work/$tool.log" 2>&1 || { echo "push.sh: $tool failed:" >&2; tail -20 "$work/$tool.log" >&2; exit 1; }
    # Success means every device's own check of its copy passed; with a shared folder, look too.
    [ "$private_dest" = 1 ] || cmp -s "$work/payload.bin" "$dest" || {
        echo "push.sh: $tool did not deliver the file" >&2
        exit 1
    }
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

# --- (d..f) the same through one bastion ------------------------------------------------------
# The devices' ports are reached only via a bastion sshd on its own port: fleetadm from devices
# enrolled with an ssh.jump column (one bastion connection per 32 devices), pssh and Ansible with
# OpenSSH's ProxyJump (one bastion login per device and per command). The bastion allows 1000
# pending logins so that the OpenSSH tools are not refused by MaxStartups' default (10:30:100).
for attempt in 1 2 3 4 5; do
    bport=$((20000 + RANDOM % 30000))
    [ "$bport" -ge "$base" ] && [ "$bport" -lt $((base + hosts)) ] && continue
    sed -e '/^ListenAddress/d' "$work/sshd_0.config" >"$work/bastion.config"
    echo "ListenAddress 127.0.0.1:$bport" >>"$work/bastion.config"
    echo "LogLevel VERBOSE" >>"$work/bastion.config"
    /usr/sbin/sshd -D -e -f "$work/bastion.config" 2>"$work/bastion.log" &
    bastion_pid=$!
    sshd_pids="$sshd_pids $bastion_pid"
    deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ] && ! grep -q "Server listening\|Bind to port\|Cannot bind" "$work/bastion.log"; do
        sleep 0.05
    done
    grep -q "Server listening" "$work/bastion.log" && break
    kill "$bastion_pid" 2>/dev/null || true
    [ "$attempt" = 5 ] && { echo "push.sh: cannot start the bastion: $(cat "$work/bastion.log")" >&2; exit 1; }
done
echo "[127.0.0.1]:$bport $pub" >>"$work/known_hosts"
logins() { grep -c "Accepted publickey" "$work/bastion.log" || true; }

fleet apply -f - >/dev/null <<EOF
apiVersion: fleetadm/v1
kind: Tenant
metadata: {name: site}
---
apiVersion: fleetadm/v1
kind: Credential
metadata: {name: key, tenant: site}
spec: {type: ssh-key, privateKeyFile: $work/user_key, knownHostsFile: $work/known_hosts, hostKeyPolicy: strict}
EOF
{
    echo "name,tenant,deviceType,ssh.host,ssh.port,ssh.user,ssh.credential,ssh.jump"
    i=0
    for p in $ports; do i=$((i + 1)); echo "site-$i,site,rpi4,127.0.0.1,$p,$user,key,$user@127.0.0.1:$bport"; done
} >"$work/site.csv"
fleet device enroll -f "$work/site.csv" >/dev/null
fleet_bastion_push() {
    fleet --tenant site exec --all --max-parallel "$parallel" --copy "$work/payload.bin:$dest" -- "$cmd"
}
# ProxyJump's own ssh takes no -o options, only the -F file its parent was given (and OpenSSH
# reads ~/.ssh/config from the passwd entry's home, not $HOME): the bastion's key and known_hosts
# come from $work/ssh_config.
cat >"$work/ssh_config" <<EOF
Host 127.0.0.1
    IdentityFile $work/user_key
    UserKnownHostsFile $work/known_hosts
    StrictHostKeyChecking yes
    BatchMode yes
EOF
pssh_bastion_push() {
    parallel-scp "${pssh_opts[@]}" -x "-F $work/ssh_config" -O "ProxyJump=$user@127.0.0.1:$bport" \
        "$work/payload.bin" "$dest" &&
        parallel-ssh "${pssh_opts[@]}" -x "-F $work/ssh_config" -O "ProxyJump=$user@127.0.0.1:$bport" "$cmd"
}
sed -e "s|^ansible_ssh_common_args='|ansible_ssh_common_args='-F $work/ssh_config -o ProxyJump=$user@127.0.0.1:$bport |" \
    "$work/inventory" >"$work/inventory-bastion"
ansible_bastion_push() { ansible-playbook -i "$work/inventory-bastion" -f "$parallel" "$work/push.yml"; }

declare -A bastion_logins
for tool in fleet_bastion_push pssh_bastion_push ansible_bastion_push; do
    eval "$reset_dest"
    before=$(logins)
    "$tool" >"$work/$tool.log" 2>&1 || {
        echo "push.sh: $tool failed:" >&2
        { grep -E "unreachable|timeout|auth|host-key|credential|transfer|remote|FAILED|error" "$work/$tool.log" || tail -20 "$work/$tool.log"; } | head -20 >&2
        exit 1
    }
    # Success means every device's own check of its copy passed; with a shared folder, look too.
    [ "$private_dest" = 1 ] || cmp -s "$work/payload.bin" "$dest" || {
        echo "push.sh: $tool did not deliver the file" >&2
        exit 1
    }
    bastion_logins[$tool]=$(($(logins) - before))
done

echo
echo "SSH push through one bastion: the same, every device reached via 127.0.0.1:$bport, best of $runs"
t_fleet_b=$(best_of "$runs" "$reset_dest" fleet_bastion_push)
t_pssh_b=$(best_of "$runs" "$reset_dest" pssh_bastion_push)
t_ansible_b=$(best_of "$runs" "$reset_dest" ansible_bastion_push)
printf '  %-34s %8.2f s  (%s bastion logins in one run)\n' \
    "fleetadm exec --copy (ssh.jump)" "$t_fleet_b" "${bastion_logins[fleet_bastion_push]}" \
    "parallel-scp + parallel-ssh" "$t_pssh_b" "${bastion_logins[pssh_bastion_push]}" \
    "ansible-playbook (ProxyJump)" "$t_ansible_b" "${bastion_logins[ansible_bastion_push]}"
r_pssh_b=$(ratio "$t_fleet_b" "$t_pssh_b")
r_ansible_b=$(ratio "$t_fleet_b" "$t_ansible_b")
r_direct=$(ratio "$t_fleet_b" "$t_fleet")
echo "  fleetadm / pssh:            ${r_pssh_b}x (target <= 1.0x: $(verdict "$r_pssh_b" 1.0))"
echo "  fleetadm / Ansible:         ${r_ansible_b}x (target <= 0.5x: $(verdict "$r_ansible_b" 0.5))"
echo "  fleetadm bastion / direct:  ${r_direct}x (target <= 1.3x: $(verdict "$r_direct" 1.3))"

# The HTTP half of the push benchmark (200 uploads of 1 MiB, fleetadm vs xargs -P 32 curl).
if [ "${PUSH_SKIP_HTTP:-}" != 1 ]; then
    echo
    "$bench_root/bench/push_http.sh"
fi
