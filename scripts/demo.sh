#!/usr/bin/env bash
# The main job: build cairn, then deploy an example stack and show its preview and outputs.
#
#   scripts/demo.sh                 # examples/hello, stack development
#   scripts/demo.sh EXAMPLE STACK   # another example or stack
#
# The state goes to the example's own .cairn/ directory. To remove what it deployed:
#   target/cairn -C examples/EXAMPLE destroy --stack STACK --yes   (the script prints it)
set -euo pipefail
cd "$(dirname "$0")/.."

example="${1:-hello}"
stack="${2:-development}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"

echo "==> building cairn (release)" >&2
cargo build --release --locked -p cairn-cli >&2
cairn="$CARGO_TARGET_DIR/release/cairn"

echo "==> cairn preview -C examples/$example --stack $stack" >&2
"$cairn" -C "examples/$example" preview --stack "$stack"

echo "==> cairn up -C examples/$example --stack $stack --yes" >&2
"$cairn" -C "examples/$example" up --stack "$stack" --yes

echo "==> cairn stack output -C examples/$example --stack $stack --json" >&2
"$cairn" -C "examples/$example" stack output --stack "$stack" --json

echo >&2
echo "Deployed. To remove it: $cairn -C examples/$example destroy --stack $stack --yes" >&2
