# Shared by the benchmarks against the emulator (scripts/bench-aws.sh,
# scripts/bench-home-inventory.sh); sourced, not run. Sets `cairn` (CAIRN_BIN, or a release
# build), points AWS_ENDPOINT_URL at the emulator (starting one, stopped at exit, if none
# is set), makes `$work` (removed at exit), and defines `run` and `median`. The caller sets
# `bench` (its name, for messages) first.

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
    bash scripts/moto.sh status >/dev/null 2>&1 || started=1
    # shellcheck disable=SC1090
    source <(bash scripts/moto.sh start)
fi
case "$AWS_ENDPOINT_URL" in
    http://127.0.0.1:* | http://localhost:*) ;;
    *) echo "$bench: AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL is not a local emulator" >&2; exit 2 ;;
esac
work="$(mktemp -d "${TMPDIR:-/tmp}/cairn-$bench.XXXXXX")"
cleanup() {
    rm -rf "$work"
    if [[ -n "$started" ]]; then bash scripts/moto.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

moto_log="${CAIRN_MOTO_DIR:+$CAIRN_MOTO_DIR/log}"
requests() { if [[ -n "$moto_log" && -f "$moto_log" ]]; then grep -c ' HTTP/1\.1' "$moto_log" || true; else echo 0; fi; }

now_ms() { date +%s%3N; }

# run NAME DIR ARGS...: time one cairn command; appends "ms calls requests" to $work/NAME
# (calls: cairn's own count, CAIRN_COUNT_API_CALLS; requests: what moto logged meanwhile)
# and the calls by operation to $work/NAME.ops.
run() {
    local name="$1" dir="$2"
    shift 2
    local before after t0 t1 calls
    before="$(requests)"
    t0="$(now_ms)"
    if ! CAIRN_COUNT_API_CALLS=1 "$cairn" -C "$dir" "$@" >"$work/out" 2>"$work/err"; then
        cat "$work/out" "$work/err" >&2
        echo "$bench: cairn $* failed" >&2
        exit 1
    fi
    t1="$(now_ms)"
    after="$(requests)"
    calls="$(sed -n 's/^aws-api-calls: \([0-9]*\).*/\1/p' "$work/err")"
    sed -n 's/^aws-api-calls: [0-9]* (\(.*\))/\1/p' "$work/err" >"$work/$name.ops"
    echo "$((t1 - t0)) ${calls:-0} $((after - before))" >>"$work/$name"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
