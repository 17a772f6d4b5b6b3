# Real device endpoints on 127.0.0.1 for the demo and the benchmarks: OpenSSH servers with their
# own host keys and one authorized key, and the HTTP device endpoint of the test suite.
# Source this file; every server started here is stopped by loopback_stop_all (call it from a trap).

loopback_pids=()

# A TCP port on 127.0.0.1 that nothing listens on right now.
loopback_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# loopback_sshd DIR PORT AUTHORIZED_PUBKEY [PATH_PREFIX]
# Starts sshd on 127.0.0.1:PORT with state in DIR (host key DIR/host_key); sessions get PATH_PREFIX
# in front of the default PATH. Waits until it listens. Prints the known_hosts line on stdout.
loopback_sshd() {
  local dir=$1 port=$2 pubkey=$3 path_prefix=${4:-}
  mkdir -p "$dir"
  [ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" >/dev/null
  cp "$pubkey" "$dir/authorized_keys"
  if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then mkdir -p /run/sshd && chmod 755 /run/sshd; fi
  {
    echo "Port $port"
    echo "ListenAddress 127.0.0.1"
    echo "HostKey $dir/host_key"
    echo "AuthorizedKeysFile $dir/authorized_keys"
    echo "UsePAM no"
    echo "StrictModes no"
    echo "PidFile none"
    echo "PermitRootLogin prohibit-password"
    echo "MaxStartups 1000"
    echo "MaxSessions 100"
    echo "Subsystem sftp /usr/lib/openssh/sftp-server"
    [ -n "$path_prefix" ] && echo "SetEnv PATH=$path_prefix:/usr/local/bin:/usr/bin:/bin"
  } > "$dir/sshd_config"
  /usr/sbin/sshd -D -e -f "$dir/sshd_config" 2> "$dir/sshd.log" &
  loopback_pids+=($!)
  local i
  for i in $(seq 1 100); do
    grep -q "Server listening" "$dir/sshd.log" 2>/dev/null && break
    sleep 0.05
  done
  grep -q "Server listening" "$dir/sshd.log" || { cat "$dir/sshd.log" >&2; return 1; }
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")"
}

# loopback_http VAR SOURCE_DIR [ARGS...]: starts tests/support/http_device.py and sets VAR to its
# port. (A variable, not stdout: in a $(...) subshell the server's pid would not reach
# loopback_pids, and loopback_stop_all would leave the server running.)
loopback_http() {
  local var=$1 src=$2; shift 2
  local log
  log=$(mktemp)
  python3 "$src/tests/support/http_device.py" "$@" > "$log" 2>&1 &
  loopback_pids+=($!)
  local i
  for i in $(seq 1 100); do
    grep -q "^PORT " "$log" && break
    sleep 0.05
  done
  printf -v "$var" '%s' "$(grep "^PORT " "$log" | head -1 | cut -d' ' -f2)"
  rm -f "$log"
  [ -n "${!var}" ] || { echo "loopback_http: the HTTP endpoint did not start" >&2; return 1; }
}

loopback_stop_all() {
  local pid
  for pid in "${loopback_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
