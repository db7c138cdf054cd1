#!/usr/bin/env bash
# Run moto (the local AWS emulator) in server mode for cairn's tests and demo.
#
#   source <(scripts/moto.sh start)   # start it; exports AWS_ENDPOINT_URL and dummy credentials
#   scripts/moto.sh stop              # stop the server that `start` recorded
#   scripts/moto.sh status            # print the endpoint if it is running
#   scripts/moto.sh python            # the path of the virtualenv's Python (with boto3)
#
# The virtualenv lives in $CAIRN_MOTO_VENV (default $HOME/.cache/cairn-moto-venv-VERSION)
# and is reused. The server is moto's own, started through scripts/moto_server.py, which
# corrects the few answers where moto departs from AWS's documented wire format. The server listens on 127.0.0.1 only, on a free port. Its state (pid, port, log)
# is kept in a directory under $TMPDIR whose path is printed (as CAIRN_MOTO_DIR) on start.
# Everything meant for the caller's shell goes to stdout; progress goes to stderr.
set -euo pipefail

# 5.2.5, the newest release, chosen for coverage: against 5.1.22 it adds what the next
# resource types need (aws-sdk-cloudfront parses its CreateDistribution answer, DSQL keeps
# MultiRegionProperties and has UpdateCluster, KMS UpdateAlias keeps the alias). Its one
# regression for cairn, S3 answers with a `<{Action}Response>` root element where AWS
# documents another (GetBucketVersioning, GetBucketAccelerateConfiguration, ListParts),
# is corrected by scripts/moto_server.py. CAIRN_MOTO_VERSION overrides the version.
MOTO_VERSION="${CAIRN_MOTO_VERSION:-5.2.5}"
VENV="${CAIRN_MOTO_VENV:-$HOME/.cache/cairn-moto-venv-$MOTO_VERSION}"
LAUNCHER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/moto_server.py"
STATE_POINTER="${TMPDIR:-/tmp}/cairn-moto-$(id -u).dir"
WAIT_SECONDS=60

log() { echo "moto.sh: $*" >&2; }

ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating virtualenv $VENV"
        python3 -m venv "$VENV" >&2
    fi
    if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null \
        || [[ ! -x "$VENV/bin/moto_server" ]]; then
        log "installing moto[server]==$MOTO_VERSION into $VENV"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
    fi
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

print_env() {
    local port="$1" dir="$2"
    echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$port"
    echo "export AWS_ACCESS_KEY_ID=testing"
    echo "export AWS_SECRET_ACCESS_KEY=testing"
    echo "export AWS_REGION=us-east-1"
    echo "export AWS_DEFAULT_REGION=us-east-1"
    echo "export CAIRN_MOTO_DIR=$dir"
}

running_dir() {
    # The state directory of a live server, or nothing.
    [[ -f "$STATE_POINTER" ]] || return 1
    local dir
    dir="$(cat "$STATE_POINTER")"
    [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null && [[ "$(cat "$dir/version" 2>/dev/null)" == "$MOTO_VERSION" ]] && echo "$dir"
}

start() {
    local dir
    if dir="$(running_dir)"; then
        log "already running (pid $(cat "$dir/pid"))"
        print_env "$(cat "$dir/port")" "$dir"
        return 0
    fi
    ensure_venv
    dir="$(mktemp -d "${TMPDIR:-/tmp}/cairn-moto.XXXXXX")"
    local port
    port="$(free_port)"
    # ACM issues a DNS-validated certificate some minutes after its validation records
    # exist; moto issues every requested certificate after a fixed wait, without looking at
    # DNS (MOTO_ACM_VALIDATION_WAIT, default 60 s: moto/acm/models.py `check`). A short
    # wait keeps the tests quick and still makes cairn wait for the issue.
    MOTO_IAM_LOAD_MANAGED_POLICIES=true \
        MOTO_ACM_VALIDATION_WAIT="${MOTO_ACM_VALIDATION_WAIT:-3}" \
        nohup "$VENV/bin/python" "$LAUNCHER" -H 127.0.0.1 -p "$port" >"$dir/log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/pid"
    echo "$port" >"$dir/port"
    echo "$MOTO_VERSION" >"$dir/version"
    echo "$dir" >"$STATE_POINTER"
    local deadline=$((SECONDS + WAIT_SECONDS))
    until "$VENV/bin/python" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=2)" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "moto_server exited; its log ($dir/log):"
            tail -n 20 "$dir/log" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "moto_server did not answer on port $port within ${WAIT_SECONDS}s; stopping it (log: $dir/log)"
            kill "$pid" 2>/dev/null || true
            return 1
        fi
        sleep 0.2
    done
    log "moto $MOTO_VERSION listening on http://127.0.0.1:$port (pid $pid, state in $dir)"
    print_env "$port" "$dir"
}

stop() {
    local dir
    if ! dir="$(running_dir)"; then
        log "not running"
        rm -f "$STATE_POINTER"
        return 0
    fi
    local pid
    pid="$(cat "$dir/pid")"
    kill "$pid"
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$STATE_POINTER"
    log "stopped pid $pid (log kept in $dir/log)"
}

status() {
    local dir
    if dir="$(running_dir)"; then
        print_env "$(cat "$dir/port")" "$dir"
    else
        log "not running"
        return 1
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    # The virtualenv's Python (boto3 comes with moto): for scripts that set up what a team
    # makes by hand before its first deploy, on the emulator only.
    python) ensure_venv && echo "$VENV/bin/python" ;;
    *)
        echo "usage: source <(scripts/moto.sh start) | scripts/moto.sh stop | scripts/moto.sh status | scripts/moto.sh python" >&2
        exit 2
        ;;
esac
