#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
#
# Builds into a target directory outside the clone so repeated runs reuse it, starts the
# local AWS emulator when the AWS tests need it, and runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export NO_COLOR=1

cargo test --workspace --locked "$@"
