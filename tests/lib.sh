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
# stderr, even when the failing command's stderr went to a file). Bash runs
# the ERR trap whether errexit is on or not: where a test turned it off (set
# +e, to take a status itself) nothing stopped, so nothing is printed.
exec {_LIB_STDERR}>&2
trap '_lib_rc=$?; [[ $- != *e* ]] || echo "FAIL: ${BASH_SOURCE[0]##*/}:$LINENO: \"$BASH_COMMAND\" exited $_lib_rc" >&$_LIB_STDERR' ERR

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

# --- test proxies (tests/helpers/faultproxy.mjs, condproxy.mjs) -------------
# Both listen on 127.0.0.1 (a free port), exit by themselves once this shell is
# gone or after PROXY_MAX_SECONDS (default 600; --max-seconds N overrides), and
# are stopped by the EXIT trap. Each writes DIR/log.jsonl, one JSON line per
# request (see the .mjs headers and docs/testing.md).
_LIB_PROXY_N=0
_LIB_NODE="${REPART_LOCAL_DIR:-$REPART_SRC_DIR/.local}/node_modules/.bin/node"

# pid_alive PID: true if the process exists and is not a zombie (an orphan
# that exited stays a zombie, visible to kill -0, where PID 1 does not reap).
pid_alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local st
    st="$(sed -n 's/^.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)"
    [ "$st" != Z ] && [ "$st" != X ]
}

# proxy_stop PID: SIGTERM, then SIGKILL after 5 s. No-op if already gone.
proxy_stop() {
    local pid="$1" i
    pid_alive "$pid" || return 0
    # Only one of our helpers: a proxy that ended already may have left its
    # pid to another process (pid_max is small; the suite starts thousands)
    grep -qa "tests/helpers/" "/proc/$pid/cmdline" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# _lib_proxy_start NAME [--upstream URL] [options]: sets _LIB_PROXY_DIR,
# _LIB_PROXY_PORT, _LIB_PROXY_PID. Upstream defaults to $S3_ENDPOINT.
_lib_proxy_start() {
    local name="$1"; shift
    local upstream="${S3_ENDPOINT:-}" args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --upstream) upstream="$2"; shift 2 ;;
            *) args+=("$1"); shift ;;
        esac
    done
    [ -n "$upstream" ] || fail "$name: no upstream (call s3_start first or pass --upstream)"
    [ -x "$_LIB_NODE" ] || fail "$name: no $_LIB_NODE (run scripts/setup)"
    local dir="$TEST_TMP/$name-$_LIB_PROXY_N"
    _LIB_PROXY_N=$((_LIB_PROXY_N + 1))
    mkdir -p "$dir"
    # Started from a subshell so that it is not a job of this shell (a bare
    # `wait` in a test must not wait for it); stdin/stdout redirected so that
    # a caller's $(...) does not wait for it either.
    (
        "$_LIB_NODE" "$REPART_SRC_DIR/tests/helpers/$name.mjs" --upstream "$upstream" \
            --dir "$dir" --owner $$ --max-seconds "${PROXY_MAX_SECONDS:-600}" \
            "${args[@]+"${args[@]}"}" </dev/null >"$dir/proxy.log" 2>&1 &
        echo $! >"$dir/launch.pid"
    )
    local pid
    pid="$(cat "$dir/launch.pid")"
    on_exit "proxy_stop $pid"
    local i
    for ((i = 0; i < 200; i++)); do
        [ -s "$dir/port" ] && break
        if ! pid_alive "$pid"; then
            cat "$dir/proxy.log" >&2 || true
            fail "$name exited before listening"
        fi
        sleep 0.05
    done
    [ -s "$dir/port" ] || fail "$name did not listen within 10 s"
    _LIB_PROXY_DIR="$dir"
    _LIB_PROXY_PORT="$(cat "$dir/port")"
    _LIB_PROXY_PID="$pid"
}

# fault_proxy_start [--upstream URL] [faultproxy.mjs options: --rate R --seed N
#   --faults 500,503,reset,truncate,slow,stall,corrupt --slow-ms N --only GET,PUT
#   --only-path-regex RE --skip N --max-faults N --max-per-path N --errors-after-forward
#   --max-seconds N]
# Sets FAULT_ENDPOINT=http://127.0.0.1:PORT, FAULT_PORT, FAULT_PID, FAULT_DIR,
# FAULT_LOG (FAULT_DIR/log.jsonl). Upstream: $S3_ENDPOINT unless given (e.g.
# $COND_ENDPOINT to chain: client -> faults -> conditions -> server).
fault_proxy_start() {
    _lib_proxy_start faultproxy "$@"
    FAULT_DIR="$_LIB_PROXY_DIR"
    FAULT_PORT="$_LIB_PROXY_PORT"
    FAULT_PID="$_LIB_PROXY_PID"
    FAULT_ENDPOINT="http://127.0.0.1:$FAULT_PORT"
    FAULT_LOG="$FAULT_DIR/log.jsonl"
    export FAULT_ENDPOINT FAULT_PORT FAULT_DIR FAULT_LOG
}

# fault_proxy_stop: stops the newest fault proxy now (its log stays).
fault_proxy_stop() { proxy_stop "$FAULT_PID"; }

# cond_proxy_start [--upstream URL] [condproxy.mjs options: --conflict
#   --hold-ms N --if-match-missing 404|412 --max-seconds N]
# Sets COND_ENDPOINT, COND_PORT, COND_PID, COND_DIR, COND_LOG.
cond_proxy_start() {
    _lib_proxy_start condproxy "$@"
    COND_DIR="$_LIB_PROXY_DIR"
    COND_PORT="$_LIB_PROXY_PORT"
    COND_PID="$_LIB_PROXY_PID"
    COND_ENDPOINT="http://127.0.0.1:$COND_PORT"
    COND_LOG="$COND_DIR/log.jsonl"
    export COND_ENDPOINT COND_PORT COND_DIR COND_LOG
}

# cond_proxy_stop: stops the newest conditional-write proxy now.
cond_proxy_stop() { proxy_stop "$COND_PID"; }

# proxy_log_count LOG [--method M] [--path-regex RE] [--query-regex RE]
#   [--fault F|none|any] [--result R] [--status N|none]: prints how many log
#   lines match all filters. fault_log_count / cond_log_count: the same on
#   the newest proxy's log.
proxy_log_count() {
    "$_LIB_NODE" "$REPART_SRC_DIR/tests/helpers/proxylog.mjs" "$@"
}
fault_log_count() { proxy_log_count "$FAULT_LOG" "$@"; }
cond_log_count() { proxy_log_count "$COND_LOG" "$@"; }

# await DESC SECS CMD...: polls CMD every 50 ms until it succeeds (a ready
# file, a proxy log line); fails the test after SECS seconds.
await() {
    local desc=$1 secs=$2
    shift 2
    poll "$secs" "$@" || fail "waited ${secs}s for: $desc"
}

# poll SECS CMD...: 0 as soon as CMD succeeds (tried every 50 ms), 1 after
# SECS seconds (await and lib_eo's wait_for say what failed).
poll() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 20; i++)); do
        if "$@"; then return 0; fi
        sleep 0.05
    done
    return 1
}
