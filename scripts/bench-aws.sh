#!/usr/bin/env bash
# AWS on the emulator: the wall time and the AWS API calls of `cairn up --yes` and
# `cairn destroy --yes` of examples/pipeweave, stack development, on moto.
#
#   scripts/bench-aws.sh [RUNS]     # default 5 runs; prints a Markdown table
#   CAIRN_BIN=path/to/cairn scripts/bench-aws.sh   # time that binary, build nothing
#
# Builds cairn in release. Uses the emulator that AWS_ENDPOINT_URL points at, or starts
# one through scripts/moto.sh (and stops it at the end if it started it). Each run deploys a
# fresh copy of the example under a project name of its own, so runs never share names.
# API calls are counted by cairn itself (CAIRN_COUNT_API_CALLS=1: one per SDK operation,
# retries not counted again); the HTTP requests moto logged in the same interval are shown
# as a cross-check (they include retries, and other clients' requests if the emulator is
# shared).
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
export NO_COLOR=1

if [[ -n "${CAIRN_BIN:-}" ]]; then
    cairn="$CAIRN_BIN" # a cairn built elsewhere (the figures are for a release build)
else
    echo "==> building cairn (release)" >&2
    cargo build --release --locked -p cairn-cli >&2
    cairn="$CARGO_TARGET_DIR/release/cairn"
fi

started=""
if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
    # shellcheck disable=SC1090
    bash scripts/moto.sh status >/dev/null 2>&1 || started=1
    source <(bash scripts/moto.sh start)
fi
case "$AWS_ENDPOINT_URL" in
    http://127.0.0.1:* | http://localhost:*) ;;
    *) echo "bench-aws.sh: AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL is not a local emulator" >&2; exit 2 ;;
esac
work="$(mktemp -d "${TMPDIR:-/tmp}/cairn-bench-aws.XXXXXX")"
cleanup() {
    rm -rf "$work"
    if [[ -n "$started" ]]; then bash scripts/moto.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

moto_log="${CAIRN_MOTO_DIR:+$CAIRN_MOTO_DIR/log}"
requests() { if [[ -n "$moto_log" && -f "$moto_log" ]]; then grep -c ' HTTP/1\.1' "$moto_log" || true; else echo 0; fi; }

now_ms() { date +%s%3N; }

# run NAME DIR ARGS...: time one cairn command; appends "ms calls requests" to $work/NAME.
run() {
    local name="$1" dir="$2"
    shift 2
    local before after t0 t1 calls
    before="$(requests)"
    t0="$(now_ms)"
    if ! CAIRN_COUNT_API_CALLS=1 "$cairn" -C "$dir" "$@" >"$work/out" 2>"$work/err"; then
        cat "$work/out" "$work/err" >&2
        echo "bench-aws.sh: cairn $* failed" >&2
        exit 1
    fi
    t1="$(now_ms)"
    after="$(requests)"
    calls="$(sed -n 's/^aws-api-calls: \([0-9]*\).*/\1/p' "$work/err")"
    sed -n 's/^aws-api-calls: [0-9]* (\(.*\))/\1/p' "$work/err" >"$work/$name.ops"
    echo "$((t1 - t0)) ${calls:-0} $((after - before))" >>"$work/$name"
}

for i in $(seq 1 "$runs"); do
    project="bench-$i-$RANDOM" # short: the bucket name holds it twice (63 characters at most)
    dir="$work/$project"
    cp -r examples/pipeweave "$dir"
    rm -rf "$dir/.cairn"
    sed -i "s/^name: pipeweave$/name: $project/" "$dir/Cairn.yaml"
    run up "$dir" up --stack development --yes
    run destroy "$dir" destroy --stack development --yes
    echo "run $i: up $(tail -n1 "$work/up" | cut -d' ' -f1) ms, destroy $(tail -n1 "$work/destroy" | cut -d' ' -f1) ms" >&2
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo
echo "examples/pipeweave, stack development, $runs runs on moto ($(uname -m), $(nproc) cores), cairn release build:"
echo
echo "| command | median wall time | AWS API calls (cairn's count) | HTTP requests moto logged (median) |"
echo "| --- | --- | --- | --- |"
for name in up destroy; do
    ms="$(cut -d' ' -f1 "$work/$name" | median)"
    calls="$(cut -d' ' -f2 "$work/$name" | sort -u | paste -sd/ -)"
    reqs="$(cut -d' ' -f3 "$work/$name" | median)"
    echo "| \`cairn $name --yes\` | $ms ms | $calls | $reqs |"
done
echo
for name in up destroy; do
    echo "- calls of \`$name\` (last run): $(cat "$work/$name.ops")"
done
