#!/usr/bin/env bash
# State persistence cost on the S3 backend (docs/benchmarks.md, "State persistence on S3").
#
# Runs crates/cairn-state/examples/s3_step_cost.rs against moto: bytes written and time
# per step for N synthetic resources (2N journal entries) appended in batches of 1 and of
# 16, against rewriting the whole snapshot at every step. Prints a markdown table.
#
#   scripts/bench-state.sh          # N = 1000
#   scripts/bench-state.sh 5000     # another N
#   BENCH_PROFILE=dev scripts/bench-state.sh   # skip the release build (I/O-bound anyway)
#
# Uses a running moto if there is one (scripts/moto.sh start reuses it) and stops only a
# server it started itself.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
n="${1:-1000}"
profile="${BENCH_PROFILE:-release}"

cargo build --locked --profile "$profile" -p cairn-state --example s3_step_cost
dir="$profile"
[[ "$profile" == dev ]] && dir=debug
bin="$CARGO_TARGET_DIR/$dir/examples/s3_step_cost"

started=0
if ! bash scripts/moto.sh status >/dev/null 2>&1; then
    started=1
fi
# shellcheck disable=SC1090
source <(bash scripts/moto.sh start)
if ((started)); then
    trap 'bash scripts/moto.sh stop >/dev/null 2>&1 || true' EXIT
fi

"$bin" "$n"
