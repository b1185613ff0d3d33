#!/usr/bin/env bash
# repart watch against fauxqs (S3 and SQS on one port):
#  1. --once on a queue holding events for three days (several messages per
#     day in different envelopes, the same event sent twice, an
#     s3:TestEvent, a foreign-bucket key): one batch, each day merged once,
#     exactly the sources' records (python3-avro), the fourth day untouched,
#     the queue empty afterwards (GetQueueAttributes).
#  2. a day that fails (a corrupt source): exit 1; its messages (also one
#     naming a good day as well) and a message that is not an event stay in
#     the queue and are the only ones there; the good day's messages are
#     deleted and the day committed.
#  3. SIGTERM while watch (not --once) works on a larger queue: exit 0; no
#     message of a day that did not commit was deleted; a restarted
#     `watch --once` finishes everything without a duplicate record.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

MK="$REPART_SRC_DIR/tests/helpers/make_event.py"
SQS="$REPART_BUILD_DIR/sqs-tool"
[ -x "$SQS" ] || fail "$SQS not built"
s3_start fauxqs --queues q1,q2,q3 cold out out1 out2 out3
COLD_BUCKET=cold
G="$TEST_TMP/gen"
gen "$G" --from 2023-01-04 --to 2023-01-15 --series 4 --records-per-file 10 --seed 5 >/dev/null
put_tree "$G" cold
src_of() { echo "$G/raw/$(day_part "$1")"; }
keys_of() { (cd "$G" && find "raw/$(day_part "$1")" -name '*.avro' | sort); }
qurl() { echo "$S3_ENDPOINT/000000000000/$1"; }

# sqs_count Q: visible + in flight
sqs_count() {
    "$SQS" "$(qurl "$1")" attrs | awk '$1 == "visible" || $1 == "not_visible" { n += $2 } END { print n + 0 }'
}
# sqs_drain Q FILE: receives every message (waiting for those in flight to
# come back), writes their bodies to FILE (one JSON line each), then hands
# them back (visibility 0) so that they stay in the queue
sqs_drain() {
    local q; q=$(qurl "$1")
    : >"$2"
    : >"$TEST_TMP/drain.handles"
    local i
    for ((i = 0; i < 60; i++)); do
        "$SQS" "$q" receive --max 10 --wait 1 --visibility 120 >"$TEST_TMP/drain.out"
        cat "$TEST_TMP/drain.out" >>"$2"
        [ "$(sqs_count "$1")" -eq "$(wc -l <"$2")" ] && break
    done
    "$PY" -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["receipt"])' "$2" >"$TEST_TMP/drain.handles"
    if [ -s "$TEST_TMP/drain.handles" ]; then
        mapfile -t hs <"$TEST_TMP/drain.handles"
        local j
        for ((j = 0; j < ${#hs[@]}; j += 10)); do
            "$SQS" "$q" visibility-batch 0 "${hs[@]:j:10}" >/dev/null
        done
    fi
}
# days named by the bodies in FILE (S3 notification records), one per line, sorted
days_in() {
    "$PY" - "$1" <<'EOF'
import json, re, sys, urllib.parse
days = []
for l in open(sys.argv[1]):
    for m in re.finditer(r"startYear(?:=|%3D)(\d+)/startMonth(?:=|%3D)(\d+)/startDay(?:=|%3D)(\d+)/",
                         json.loads(l)["body"]):
        days.append("%04d-%02d-%02d" % tuple(int(x) for x in m.groups()))
print("\n".join(sorted(days)))
EOF
}
write_config "$TEST_TMP/c0.yml"
indexed() { bucket_ls "$1" "index/$(day_part "$2")/" | grep -c timeseries.txt || true; }
send() { local q=$1; shift; "$SQS" "$(qurl "$q")" send "$@" >/dev/null; }

# a queue that does not exist: configuration error, named
run_repart -c "$TEST_TMP/c0.yml" watch --queue "$(qurl nope)" --once
assert_eq "$RC" 2 "missing queue exit"
assert_contains "$ERR" "$(qurl nope)"

# ------------------------------------------------- 1. three days, --once
CFG="$TEST_TMP/c1.yml"
OUT_BUCKET=out1 write_config "$CFG" "watch: { batch_messages: 100, quiet_seconds: 1, batch_seconds: 60, visibility_timeout: 30 }"
DAYS=(2023-01-04 2023-01-05 2023-01-06)
n=0
for d in "${DAYS[@]}"; do
    mapfile -t ks < <(keys_of "$d")
    for i in 0 1 2 3; do send q1 "$("$PY" "$MK" s3 "cold:${ks[$i]}")"; n=$((n + 1)); done
    send q1 "$("$PY" "$MK" sns "cold:${ks[4]}")"
    send q1 "$("$PY" "$MK" eventbridge "cold:${ks[5]}")"
    n=$((n + 2))
done
dup="$("$PY" "$MK" s3 "cold:$(keys_of 2023-01-05 | tail -1)")"
send q1 "$dup" "$dup"
send q1 "$("$PY" "$MK" --test-event)"
send q1 "$("$PY" "$MK" s3 "someone-else:$(keys_of 2023-01-07 | head -1)")"
n=$((n + 4))
assert_eq "$(sqs_count q1)" "$n" "messages sent"

run_repart -c "$CFG" watch --queue "$(qurl q1)" --once
assert_eq "$RC" 0 "watch --once exit ($ERR)"
assert_eq "$(sqs_count q1)" 0 "queue after watch --once"
assert_contains "$OUT" "batch 1: $n message(s), 3 day(s): 2023-01-04, 2023-01-05, 2023-01-06"
assert_contains "$OUT" "batch 1: $n message(s) (2 ignored, 0 bad, 0 duplicate), 3 day(s): 3 committed, 0 failed; $n message(s) deleted, 0 left"
assert_eq "$(grep -c '^batch [0-9]*: .* day(s): [0-9]* committed' <<<"$OUT")" 1 "batches"
assert_contains "$OUT" "s3://someone-else/raw/startYear=2023/startMonth=1/startDay=7/"
for d in "${DAYS[@]}"; do
    IFS=- read -r y m dd <<<"$d"
    assert_eq "$(grep -c "Reviewing --> year: $y, month: $((10#$m)), day: $((10#$dd))\$\|Reviewing --> year: $y, month: $((10#$m)), day: $((10#$dd)):" <<<"$OUT")" 1 "$d processed once"
    check_day out1 "$d" "$(src_of "$d")"
done
assert_eq "$(indexed out1 2023-01-07)" 0 "day not named by any event"
assert_eq "$(bucket_ls out1 | grep -c 'startDay=7/' || true)" 0 "nothing of 2023-01-07"
note "[${SECONDS}s] 1: three days from $n messages in one batch; queue empty"

# ---------------------------------------------- 2. a failing day, --once
CFG2="$TEST_TMP/c2.yml"
OUT_BUCKET=out2 write_config "$CFG2" "watch: { batch_messages: 100, quiet_seconds: 1, batch_seconds: 60, visibility_timeout: 2 }"
bad="raw/$(day_part 2023-01-08)/seriesBucket=00/raw_corrupt_1673136000_GOOD.avro"
mkdir -p "$TEST_TMP/badsrc/$(dirname "$bad")"
head -c 200 "$G/$(keys_of 2023-01-08 | head -1)" >"$TEST_TMP/badsrc/$bad"
put_tree "$TEST_TMP/badsrc" cold
mapfile -t k6 < <(keys_of 2023-01-06)
mapfile -t k8 < <(keys_of 2023-01-08)
for i in 0 1 2; do send q2 "$("$PY" "$MK" s3 "cold:${k6[$i]}")"; done
send q2 "$("$PY" "$MK" s3 "cold:$bad")"
for i in 0 1; do send q2 "$("$PY" "$MK" sns "cold:${k8[$i]}")"; done
send q2 "$("$PY" "$MK" s3 "cold:${k6[3]}" "cold:${k8[2]}")"     # names a good and the failing day
send q2 '{"Records":[{"eventSource":"aws:s3",'                   # not an event
run_repart -c "$CFG2" watch --queue "$(qurl q2)" --once
assert_eq "$RC" 1 "watch --once with a failing day ($ERR)"
assert_contains "$ERR" "raw_corrupt_1673136000_GOOD.avro"
assert_contains "$ERR" "sqs message"
assert_contains "$ERR" "2 day(s): 1 committed, 1 failed; 3 message(s) deleted, 5 left in the queue"
check_day out2 2023-01-06 "$(src_of 2023-01-06)"
assert_eq "$(indexed out2 2023-01-08)" 0 "failed day committed nothing"
# exactly the failing day's four messages and the bad one are left
sqs_drain q2 "$TEST_TMP/left2"
assert_eq "$(wc -l <"$TEST_TMP/left2")" 5 "messages left"
assert_eq "$(days_in "$TEST_TMP/left2" | sort -u | tr '\n' ' ')" "2023-01-06 2023-01-08 " "days of the messages left"
assert_eq "$(days_in "$TEST_TMP/left2" | grep -c 2023-01-08)" 4 "failing day's messages left"
assert_eq "$(days_in "$TEST_TMP/left2" | grep -c 2023-01-06)" 1 "good day only in the mixed message"
grep -q "eventSource" "$TEST_TMP/left2" || fail "bad message not left"
note "[${SECONDS}s] 2: a failing day's messages and a bad message stay; the rest is deleted"

# ------------------------------------------------------- 3. SIGTERM
# Sources are read through a proxy that delays each GET of a source object,
# so that a batch takes a while and the signal most likely lands while its
# pipeline runs (the assertions hold wherever it lands).
fault_proxy_start --rate 1 --faults slow --slow-ms 700 --only GET --only-path-regex '^/cold/raw/'
CFG3="$TEST_TMP/c3.yml"
OUT_BUCKET=out3 write_config "$CFG3" "watch: { batch_messages: 4, quiet_seconds: 1, batch_seconds: 10, visibility_timeout: 3 }"
sed -i "s#endpoint_url: .*#endpoint_url: $FAULT_ENDPOINT#" "$CFG3"
grep -q "bucket_name: out3" "$CFG3" || fail "config 3"
DAYS3=(2023-01-09 2023-01-10 2023-01-11 2023-01-12 2023-01-13 2023-01-14 2023-01-15)
for d in "${DAYS3[@]}"; do
    mapfile -t ks < <(keys_of "$d")
    send q3 "$("$PY" "$MK" s3 "cold:${ks[0]}")" "$("$PY" "$MK" s3 "cold:${ks[1]}")"
done
assert_eq "$(sqs_count q3)" 14 "messages sent"
: >"$TEST_TMP/w3.out"
"$REPART" -c "$CFG3" watch --queue "$(qurl q3)" >"$TEST_TMP/w3.out" 2>"$TEST_TMP/w3.err" &
WPID=$!
on_exit "kill -KILL $WPID 2>/dev/null || true"
for ((i = 0; i < 600; i++)); do
    grep -q '^batch 1: ' "$TEST_TMP/w3.out" && break
    kill -0 "$WPID" 2>/dev/null || break
    sleep 0.05
done
grep -q '^batch 1: ' "$TEST_TMP/w3.out" || { cat "$TEST_TMP/w3.err" >&2; fail "watch did not start a batch"; }
kill -TERM "$WPID"
RC=0
wait "$WPID" || RC=$?
assert_eq "$RC" 0 "watch exit after SIGTERM ($(cat "$TEST_TMP/w3.err"))"
assert_contains "$(cat "$TEST_TMP/w3.out" "$TEST_TMP/w3.err")" "stopped by a signal"
# every day that did not commit still has both its messages in the queue
sqs_drain q3 "$TEST_TMP/left3"
committed=0
for d in "${DAYS3[@]}"; do
    if [ "$(indexed out3 "$d")" -eq 1 ]; then
        committed=$((committed + 1))
        check_day out3 "$d" "$(src_of "$d")"
    else
        assert_eq "$(days_in "$TEST_TMP/left3" | grep -c "$d")" 2 "messages of uncommitted $d"
    fi
done
note "[${SECONDS}s] 3: SIGTERM: exit 0, $committed day(s) committed, $(wc -l <"$TEST_TMP/left3") message(s) left"
# restarted without the slow proxy: everything, no record twice
sed -i "s#endpoint_url: .*#endpoint_url: $S3_ENDPOINT#" "$CFG3"
run_repart -c "$CFG3" watch --queue "$(qurl q3)" --once
assert_eq "$RC" 0 "restarted watch --once ($ERR)"
assert_eq "$(sqs_count q3)" 0 "queue after the restart"
for d in "${DAYS3[@]}"; do check_day out3 "$d" "$(src_of "$d")"; done

# --------------------------------------------------------- 4. heartbeat
# A batch that runs longer than the visibility timeout (3 s; sources delayed
# 2 s each, 16 of them at 8 at a time): the heartbeat keeps its messages
# hidden, so another consumer polling meanwhile gets none of them.
fault_proxy_stop
fault_proxy_start --rate 1 --faults slow --slow-ms 2000 --only GET --only-path-regex '^/cold/raw/'
CFG4="$TEST_TMP/c4.yml"
write_config "$CFG4" "watch: { batch_messages: 10, quiet_seconds: 1, batch_seconds: 10, visibility_timeout: 3 }"
sed -i "s#endpoint_url: .*#endpoint_url: $FAULT_ENDPOINT#" "$CFG4"
mapfile -t k7 < <(keys_of 2023-01-07)
send q3 "$("$PY" "$MK" s3 "cold:${k7[0]}")" "$("$PY" "$MK" s3 "cold:${k7[1]}")" "$("$PY" "$MK" s3 "cold:${k7[2]}")"
: >"$TEST_TMP/w4.out"
"$REPART" -v -c "$CFG4" watch --queue "$(qurl q3)" --once >"$TEST_TMP/w4.out" 2>"$TEST_TMP/w4.err" &
WPID=$!
on_exit "kill -KILL $WPID 2>/dev/null || true"
for ((i = 0; i < 600; i++)); do
    grep -q '^batch 1: ' "$TEST_TMP/w4.out" && break
    kill -0 "$WPID" 2>/dev/null || break
    sleep 0.05
done
grep -q '^batch 1: 3 message' "$TEST_TMP/w4.out" || { cat "$TEST_TMP/w4.out" "$TEST_TMP/w4.err" >&2; fail "watch did not start the batch"; }
: >"$TEST_TMP/stolen"
while kill -0 "$WPID" 2>/dev/null; do
    "$SQS" "$(qurl q3)" receive --max 10 --wait 1 --visibility 60 >>"$TEST_TMP/stolen"
done
RC=0
wait "$WPID" || RC=$?
assert_eq "$RC" 0 "watch --once exit ($(cat "$TEST_TMP/w4.err"))"
assert_eq "$(wc -l <"$TEST_TMP/stolen")" 0 "messages another consumer received while the batch ran"
assert_contains "$(cat "$TEST_TMP/w4.out")" "visibility of 3 message(s) extended to 3 s"
assert_eq "$(sqs_count q3)" 0 "queue after the long batch"
check_day out 2023-01-07 "$(src_of 2023-01-07)"
echo ok
