#!/usr/bin/env bash
# Installs what is missing, builds fleetadm with AddressSanitizer + UndefinedBehaviorSanitizer
# and warnings as errors, and runs the whole test suite (unit tests and black-box CLI tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${FLEETADM_TEST_BUILD:-build-test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFLEETADM_SANITIZE=ON -DFLEETADM_WERROR=ON >/dev/null
cmake --build "$build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
