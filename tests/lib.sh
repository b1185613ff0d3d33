# Helpers for integration tests (tests/it_*.sh). Source it:
#   . "$(dirname "$0")/lib.sh"
#
# Gives: TEST_TMP (a temp dir, removed on exit), REPART_SRC_DIR and
# REPART_BUILD_DIR (defaults: the repo and <repo>/build), s3_start, fail,
# assert_eq, assert_contains, note. An EXIT trap stops every server that
# s3_start started and removes TEST_TMP, so a test leaves no process behind
# (and the servers also exit by themselves once this shell is gone).
set -Eeuo pipefail
# Name the command that stopped a test under set -e (on the original
# stderr, even when the failing command's stderr went to a file).
exec {_LIB_STDERR}>&2
trap 'echo "FAIL: ${BASH_SOURCE[0]##*/}:$LINENO: \"$BASH_COMMAND\" exited $?" >&$_LIB_STDERR' ERR

REPART_SRC_DIR="${REPART_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
REPART_BUILD_DIR="${REPART_BUILD_DIR:-$REPART_SRC_DIR/build}"
export REPART_SRC_DIR REPART_BUILD_DIR

TEST_NAME="$(basename "${0%.sh}")"
TEST_TMP="$(mktemp -d "${TMPDIR:-/tmp}/repart-$TEST_NAME.XXXXXX")"
_LIB_SERVER_DIRS=()
_LIB_EXIT_HOOKS=()

_lib_cleanup() {
    local rc=$?
    local h d
    for h in "${_LIB_EXIT_HOOKS[@]+"${_LIB_EXIT_HOOKS[@]}"}"; do
        eval "$h" || true
    done
    for d in "${_LIB_SERVER_DIRS[@]+"${_LIB_SERVER_DIRS[@]}"}"; do
        if [ "$rc" -ne 0 ] && [ -f "$d/server.log" ]; then
            echo "--- last lines of $d/server.log" >&2
            tail -n 20 "$d/server.log" >&2 || true
        fi
        "$REPART_SRC_DIR/scripts/s3-server" stop --dir "$d" || true
    done
    rm -rf "$TEST_TMP"
    exit "$rc"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a shell snippet at exit (before servers stop), e.g. to kill a helper.
on_exit() { _LIB_EXIT_HOOKS+=("$1"); }

note() { echo "# $*" >&2; }

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# assert_eq GOT EXPECTED [what]
assert_eq() {
    if [ "$1" != "$2" ]; then
        fail "${3:-value}: got '$1', expected '$2'"
    fi
}

# assert_contains HAYSTACK NEEDLE [what]
assert_contains() {
    case "$1" in
        *"$2"*) ;;
        *) fail "${3:-output}: '$1' does not contain '$2'" ;;
    esac
}

# s3_start [fauxqs|s3rver] [--queues q1,q2] BUCKET...
# Starts a server and sets S3_KIND, S3_PORT, S3_PID, S3_DIR,
# S3_ENDPOINT=http://127.0.0.1:PORT; exports AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY (S3RVER/S3RVER for s3rver, which checks signatures;
# dummies for fauxqs), AWS_REGION=us-east-1, and unsets AWS_SESSION_TOKEN and
# AWS_PROFILE so that no real credentials are used. A second call starts a
# second server (the variables then describe the newest one).
s3_start() {
    local kind=fauxqs queues=""
    case "${1:-}" in fauxqs|s3rver) kind="$1"; shift ;; esac
    if [ "${1:-}" = --queues ]; then queues="$2"; shift 2; fi
    local buckets
    buckets="$(IFS=,; echo "$*")"
    local dir="$TEST_TMP/server-$kind-${#_LIB_SERVER_DIRS[@]}"
    _LIB_SERVER_DIRS+=("$dir")
    local out
    out="$("$REPART_SRC_DIR/scripts/s3-server" start --kind "$kind" --dir "$dir" \
        --buckets "$buckets" --queues "$queues" --owner $$)" || fail "s3_start $kind"
    S3_KIND="$kind"
    S3_PORT="${out%% *}"
    S3_PID="${out##* }"
    S3_DIR="$dir"
    S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
    if [ "$kind" = s3rver ]; then
        export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
    else
        export AWS_ACCESS_KEY_ID=test-access-key AWS_SECRET_ACCESS_KEY=test-secret-key
    fi
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
    export S3_ENDPOINT S3_PORT
}

# s3_stop: stops the newest server now (the EXIT trap does it otherwise).
s3_stop() {
    "$REPART_SRC_DIR/scripts/s3-server" stop --dir "$S3_DIR"
}

# chaos_start PLAN: starts tests/chaos-proxy.mjs in front of the newest
# server (S3_PORT) with a fault plan (see that file), sets CHAOS_ENDPOINT
# and CHAOS_LOG (one line per request). Stopped at exit. A second call
# replaces the first proxy.
chaos_start() {
    local plan="$1"
    [ -z "${CHAOS_PID:-}" ] || chaos_stop
    local dir="$TEST_TMP/chaos-${#_LIB_SERVER_DIRS[@]}-$RANDOM"
    mkdir -p "$dir"
    "${REPART_LOCAL_DIR:-$REPART_SRC_DIR/.local}/node_modules/.bin/node" "$REPART_SRC_DIR/tests/chaos-proxy.mjs" \
        --upstream "$S3_PORT" --dir "$dir" --owner $$ --plan "$plan" \
        </dev/null >"$dir/proxy.log" 2>&1 &
    CHAOS_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        [ -s "$dir/port" ] && break
        kill -0 "$CHAOS_PID" 2>/dev/null || { cat "$dir/proxy.log" >&2; fail "chaos proxy died"; }
        sleep 0.1
    done
    [ -s "$dir/port" ] || fail "chaos proxy did not start"
    CHAOS_ENDPOINT="http://127.0.0.1:$(cat "$dir/port")"
    CHAOS_LOG="$dir/requests.log"
    : >"$CHAOS_LOG"
}

chaos_stop() {
    if [ -n "${CHAOS_PID:-}" ]; then
        kill "$CHAOS_PID" 2>/dev/null || true
        wait "$CHAOS_PID" 2>/dev/null || true
        CHAOS_PID=""
    fi
}
on_exit chaos_stop
