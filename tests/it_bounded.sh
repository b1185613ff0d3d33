#!/usr/bin/env bash
# Bounded waits (s3.h: min_speed_*, deadline_secs; unreachable endpoints):
#  1. every source GET trickles (1 byte/s through the fault proxy): each fails
#     within the minimum-speed window (REPART_S3_MIN_SPEED_BPS over
#     REPART_S3_MIN_SPEED_SECS), is retried, and the day fails in seconds,
#     nothing committed (the old no-progress timeout never fired: bytes move);
#  2. a trickle faster than the minimum speed is ended by the per-request
#     deadline (REPART_S3_DEADLINE_SECS);
#  3. an endpoint that refuses connections fails the run fast: the days in
#     flight fail, the others are not started (named in the rerun command),
#     instead of each retrying in turn.
#  4. a source that grew after the listing: its GET stops at the first byte
#     past the listed size (a body is never read unbounded), the day fails
#     before its index, the rerun merges the new content.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
G="$TEST_TMP/gen"
gen "$G" --from 2023-08-01 --to 2023-08-01 --series 4 --records-per-file 40 --seed 9 >/dev/null
put_tree "$G" cold
export REPART_S3_MAX_RETRIES=1 REPART_S3_RETRY_BASE_MS=10

# 1. trickle below the minimum speed
fault_proxy_start --rate 1 --faults trickle --only GET --only-path-regex '^/cold/raw/.*\.avro'
write_config "$TEST_TMP/t.yml" "locking: off"
sed -i "s|endpoint_url: .*|endpoint_url: $FAULT_ENDPOINT|" "$TEST_TMP/t.yml"
t0=$SECONDS
REPART_S3_MIN_SPEED_BPS=100 REPART_S3_MIN_SPEED_SECS=2 run_repart -c "$TEST_TMP/t.yml" all --days 2023-08-01
took=$((SECONDS - t0))
assert_eq "$RC" 1 "exit when every source trickles"
assert_contains "$ERR" "too slow" "the slow transfer named"
assert_contains "$ERR" "nothing of this day was committed"
[ "$(fault_log_count --fault trickle)" -ge 2 ] || fail "no GET was retried after a trickle"
[ "$took" -le 20 ] || fail "a trickled day took $took s to fail (window 2 s)"
assert_eq "$(bucket_ls out)" "" "objects after trickled GETs"
note "trickle at 1 byte/s: the day failed after $took s"

# 2. a trickle above the minimum speed, ended by the deadline
fault_proxy_stop
fault_proxy_start --rate 1 --faults trickle --trickle-ms 50 --only GET --only-path-regex '^/cold/raw/.*\.avro'
sed -i "s|endpoint_url: .*|endpoint_url: $FAULT_ENDPOINT|" "$TEST_TMP/t.yml"
t0=$SECONDS
REPART_S3_MIN_SPEED_BPS=1 REPART_S3_DEADLINE_SECS=2 run_repart -c "$TEST_TMP/t.yml" all --days 2023-08-01
took=$((SECONDS - t0))
assert_eq "$RC" 1 "exit when every source outlives the deadline"
assert_contains "$ERR" "timed out after" "the deadline named"
[ "$took" -le 20 ] || fail "a day past its deadline took $took s to fail"
assert_eq "$(bucket_ls out)" "" "objects after GETs past their deadline"

# 3. an endpoint that refuses connections (a port nobody listens on)
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
sed "s|endpoint_url: .*|endpoint_url: http://127.0.0.1:$port|" "$TEST_TMP/t.yml" >"$TEST_TMP/refused.yml"
unset REPART_S3_MAX_RETRIES
t0=$SECONDS
run_repart -c "$TEST_TMP/refused.yml" all --from 2023-01-01 --to 2023-01-30 --report "$TEST_TMP/r.json"
took=$((SECONDS - t0))
assert_eq "$RC" 1 "exit when the endpoint refuses connections"
assert_contains "$ERR" "cannot be reached" "unreachable endpoint named"
tried=$( (grep -o '^error: 2023-01-..: ' <<<"$ERR" || true) | sort -u | wc -l)
[ "$tried" -le 4 ] || fail "$tried days were tried against an endpoint refusing connections"
assert_eq "$(json_get "$TEST_TMP/r.json" 'd["totals"]["stopped"] + d["totals"]["failed"]')" 30 "days to rerun"
assert_contains "$(json_get "$TEST_TMP/r.json" 'd["rerun"]')" "2023-01-01,2023-01-02" "rerun names the days"
assert_contains "$OUT" "not started (the S3 endpoint cannot be reached)" "summary"
note "refused connections: $tried day(s) tried, the run ended after $took s"

# 4. a source overwritten by a bigger one between the listing and its GET
#    (the run holds after its listing and creates held)
W="$TEST_TMP/grown.yml"
write_config "$W" "locking: off"
src=$(cd "$G" && find raw -name '*.avro' | sort | sed -n 1p)
big=$(find "$G" -name '*.avro' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
rm -f "$TEST_TMP/held"
REPART_TEST_PAUSE_AT=after_scan:8000:"$TEST_TMP/held" "$REPART" -c "$W" all --days 2023-08-01 \
    >"$TEST_TMP/grown.out" 2>"$TEST_TMP/grown.err" &
held_pid=$!
await "the run past its listing" 60 test -e "$TEST_TMP/held"
mkdir -p "$TEST_TMP/grow/$(dirname "$src")"
cat "$big" "$big" >"$TEST_TMP/grow/$src"      # longer than listed (not valid Avro: never read)
put_tree "$TEST_TMP/grow" cold
rc=0; wait "$held_pid" || rc=$?
assert_eq "$rc" 1 "exit when a source grew after the listing"
assert_contains "$(cat "$TEST_TMP/grown.err")" "body longer than the" "the GET stopped at the listed size"
assert_contains "$(cat "$TEST_TMP/grown.err")" "nothing of this day was committed"
note "it_bounded: all checks passed"
