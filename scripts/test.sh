#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
#
# Builds into a target directory outside the clone so repeated runs reuse it, starts the
# local AWS emulator (moto, on a free loopback port: scripts/moto.sh) for the tests that
# talk to AWS, runs every test of the workspace, and stops the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export NO_COLOR=1

# Build first, so that the emulator is not kept waiting through a long compile.
cargo test --workspace --locked --no-run

# Reuse a running emulator (and leave it running); stop only one this script started.
if bash scripts/moto.sh status >/dev/null 2>&1; then
    # shellcheck disable=SC1090
    source <(bash scripts/moto.sh start)
else
    # shellcheck disable=SC1090
    source <(bash scripts/moto.sh start)
    trap 'bash scripts/moto.sh stop >/dev/null 2>&1 || true' EXIT
fi
# Tests that need the emulator fail (rather than skip) when it is missing.
export CAIRN_REQUIRE_EMULATOR=1

cargo test --workspace --locked --no-fail-fast "$@"
