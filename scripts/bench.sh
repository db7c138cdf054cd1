#!/usr/bin/env bash
# The engine benchmarks of DESIGN.md "Performance targets" (see docs/benchmarks.md).
#
# Builds cairn-bench in release mode into the same target directory as scripts/test.sh,
# runs every scenario in a process of its own (so peak memory is per scenario), each
# BENCH_RUNS times (default 1; medians are reported), and prints a markdown table of the
# results against the targets. Exits non-zero when a target is missed.
#
#   scripts/bench.sh                 # all scenarios once
#   BENCH_RUNS=3 scripts/bench.sh    # medians of three runs
#   BENCH_JSON=out.jsonl scripts/bench.sh   # also keep the raw JSON lines
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
runs="${BENCH_RUNS:-1}"

cargo build --release --locked -p cairn-bench
bin="$CARGO_TARGET_DIR/release/cairn-bench"

results="$(mktemp)"
trap 'rm -f "$results"' EXIT

scenarios=(
  "engine-up 1000"
  "engine-up 10000"
  "engine-preview 1000"
  "engine-preview 10000"
  "engine-destroy 10000"
  "sleep 1000 32 50"
  "refresh 1000 32 50"
)
for ((i = 1; i <= runs; i++)); do
  for s in "${scenarios[@]}"; do
    # shellcheck disable=SC2086 # the scenario's words are its arguments
    "$bin" $s >>"$results"
  done
done

if [[ -n "${BENCH_JSON:-}" ]]; then
  cp "$results" "$BENCH_JSON"
fi
echo
echo "cairn-bench, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -sr)"
echo
"$bin" report <"$results"
