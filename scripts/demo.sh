#!/usr/bin/env bash
# The main job: build cairn, then deploy an example stack and show its preview and outputs.
#
#   scripts/demo.sh                 # examples/pipeweave, stack development
#   scripts/demo.sh EXAMPLE STACK   # another example or stack (examples/hello needs no AWS)
#
# Where AWS_ENDPOINT_URL is not set, the demo deploys to the local AWS emulator (moto,
# started through scripts/moto.sh on a loopback port, with dummy credentials) and leaves it
# running; it prints how to destroy the stack and how to stop the emulator. To deploy to a
# real account instead, export AWS_ENDPOINT_URL yourself (or use cairn directly).
#
# The state goes to the example's own .cairn/ directory (on the emulator, also for an
# example whose project names a team's S3 bucket as its backend, like examples/tap).
set -euo pipefail
cd "$(dirname "$0")/.."

example="${1:-pipeweave}"
stack="${2:-development}"
dir="examples/$example"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"

[[ -f "$dir/Cairn.yaml" ]] || { echo "demo.sh: no project at $dir" >&2; exit 2; }

echo "==> building cairn (dev profile: the quickest build; the same artifacts as scripts/test.sh)" >&2
cargo build --locked -p cairn-cli >&2
cairn="$CARGO_TARGET_DIR/debug/cairn"

started_emulator=""
if [[ -z "${AWS_ENDPOINT_URL:-}" ]] && grep -rqs "AWS::" "$dir"/*.yaml "$dir"/components; then
    echo "==> starting the local AWS emulator (scripts/moto.sh start)" >&2
    already_running=""
    bash scripts/moto.sh status >/dev/null 2>&1 && already_running=1
    # shellcheck disable=SC1090
    source <(bash scripts/moto.sh start)
    [[ -z "$already_running" ]] && started_emulator=1
    export CAIRN_BACKEND="file://$PWD/$dir/.cairn"
    # What an example needs from the environment, with values for the emulator only (a
    # passphrase, a database password), where the caller has not set them.
    if [[ -f "$dir/demo.env" ]]; then
        # shellcheck disable=SC1091
        source "$dir/demo.env"
    fi
    # A new emulator is empty: forget whatever an earlier demo recorded against another one.
    if [[ -n "$started_emulator" && -d "$dir/.cairn/stacks/$stack" ]]; then
        echo "==> cairn -C $dir refresh --stack $stack --yes   (a fresh emulator: drop stale state)" >&2
        "$cairn" -C "$dir" refresh --stack "$stack" --yes >&2
    fi
fi

echo "==> cairn -C $dir preview --stack $stack" >&2
"$cairn" -C "$dir" preview --stack "$stack"

echo "==> cairn -C $dir up --stack $stack --yes" >&2
"$cairn" -C "$dir" up --stack "$stack" --yes

echo "==> cairn -C $dir preview --stack $stack --expect-no-changes" >&2
"$cairn" -C "$dir" preview --stack "$stack" --expect-no-changes >/dev/null
echo "no changes after up" >&2

echo "==> cairn -C $dir stack output --stack $stack --json" >&2
"$cairn" -C "$dir" stack output --stack "$stack" --json

echo >&2
if [[ -n "${AWS_ENDPOINT_URL:-}" && -n "${CAIRN_MOTO_DIR:-}" ]]; then
    echo "Deployed to the local AWS emulator at $AWS_ENDPOINT_URL (still running)." >&2
    echo "To remove the stack:" >&2
    demo_env=""
    [[ -f "$dir/demo.env" ]] && demo_env="source $dir/demo.env && "
    echo "  source <(scripts/moto.sh status) && $demo_env${CAIRN_BACKEND:+CAIRN_BACKEND=$CAIRN_BACKEND }$cairn -C $dir destroy --stack $stack --yes" >&2
    echo "To stop the emulator (it keeps everything in memory: what it holds is lost):" >&2
    echo "  scripts/moto.sh stop" >&2
else
    echo "Deployed. To remove it: $cairn -C $dir destroy --stack $stack --yes" >&2
fi
