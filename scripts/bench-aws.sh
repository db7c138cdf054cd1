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
bench=bench-aws.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

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
