#!/usr/bin/env bash
# HTTP push at scale, side by side in one run: COUNT uploads (PUT) of a 1 MiB file to one
# loopback endpoint (tests/support/http_device.py, a ThreadingHTTPServer that reads and drops
# the body), with fleetadm's HttpClient (bench/http_push.cpp) and with `xargs -P curl`, both at
# the same concurrency. Target: fleetadm <= 0.5x xargs+curl.
# Usage: bench/push_http.sh [COUNT] [PARALLEL] [RUNS]
source "$(dirname "$0")/lib.sh"
count=${1:-200}
parallel=${2:-32}
runs=${3:-3}
bench_build
cmake --build "$bench_root/build-bench" --target http-push >/dev/null
HTTP_PUSH="$bench_root/build-bench/http-push"

work=$(mktemp -d)
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
head -c 1048576 /dev/urandom >"$work/artifact.bin"

# The server prints its port once it listens: wait for that line, not for a fixed time.
mkfifo "$work/server.out"
python3 "$bench_root/tests/support/http_device.py" >"$work/server.out" 2>&1 &
server_pid=$!
exec 3<"$work/server.out"  # kept open until the end, so the server never writes into a closed pipe
read -r _ port <&3
url="http://127.0.0.1:$port/discard"

curl_all() {
    seq "$count" | xargs -P "$parallel" -I{} curl -sf -o /dev/null -H 'Expect:' -T "$work/artifact.bin" "$url"
}

fleet=$(best_of "$runs" ":" "$HTTP_PUSH" "$url" "$work/artifact.bin" "$count" "$parallel")
curl=$(best_of "$runs" ":" curl_all)
r=$(ratio "$fleet" "$curl")

echo "bench/push_http.sh: $count uploads of 1 MiB over loopback HTTP, $parallel at once, best of $runs runs"
printf '  %-38s %8ss\n' "xargs -P $parallel curl -T" "$curl"
printf '  %-38s %8ss  %sx xargs+curl  (target <= 0.5x: %s)\n' "fleetadm HttpClient" "$fleet" "$r" "$(verdict "$r" 0.5)"
