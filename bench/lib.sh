# Shared helpers for bench/*.sh: build, timing (best of N runs) and peak memory.
set -euo pipefail
bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Builds the release binaries into build-bench/ once.
bench_build() {
    "$bench_root/scripts/install-deps.sh"
    cmake -S "$bench_root" -B "$bench_root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLEETADM_TESTS=OFF >/dev/null
    cmake --build "$bench_root/build-bench" --target fleetadm yaml-parse-baseline >/dev/null
    FLEETADM="$bench_root/build-bench/fleetadm"
    YAML_BASELINE="$bench_root/build-bench/yaml-parse-baseline"
}

# best_of N SETUP CMD...: runs SETUP (a shell string, untimed) then CMD, N times; prints the best wall time in
# seconds. A run that fails ends the benchmark (exit 1).
best_of() {
    local runs=$1 setup=$2
    shift 2
    local best=""
    for _ in $(seq "$runs"); do
        eval "$setup"
        local start end
        start=$(date +%s.%N)
        # A failed run is no figure: stop the benchmark instead of timing it.
        "$@" >"${TMPDIR:-/tmp}/best_of.out" 2>&1 || {
            echo "best_of: '$*' failed:" >&2
            grep -v -E '^\s*$' "${TMPDIR:-/tmp}/best_of.out" | grep -i -E 'fail|error|unreachable' | head -10 >&2
            exit 1
        }
        end=$(date +%s.%N)
        best=$(awk -v s="$start" -v e="$end" -v b="$best" 'BEGIN { t = e - s; if (b == "" || t < b) b = t; printf "%.4f", b }')
    done
    echo "$best"
}

# peak_mb CMD...: peak resident memory of CMD in MiB.
peak_mb() {
    /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{ printf "%.1f", $1 / 1024 }'
}

# ratio A B: A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# verdict RATIO TARGET: "ok" when RATIO <= TARGET.
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "ok" : "MISSED" }'; }
