#!/usr/bin/env bash
# Regenerates the committed completions/ and man/ from the fleetadm binary, which generates them
# from its command definitions and cmd/help_text.cpp. Run it after changing a command, an
# option or the prose; tests/cli/completion_test.cpp and man_test.cpp fail until then.
#
#   scripts/gen-docs.sh [BINARY]    (default: builds build/fleetadm)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [[ -z $bin ]]; then
    cmake -S . -B build -G Ninja >/dev/null
    cmake --build build --target fleetadm
    bin=build/fleetadm
fi
mkdir -p completions man
"$bin" completion bash >completions/fleetadm.bash
"$bin" completion zsh >completions/_fleetadm
"$bin" completion fish >completions/fleetadm.fish
rm -f man/fleetadm.1 man/fleetadm-*.1
"$bin" __man man
echo "regenerated completions/ and man/ ($(ls man | wc -l) pages)"
