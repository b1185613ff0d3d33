#!/usr/bin/env bash
# Graceful stop (src/util/stop.h) of a real `repart all`, signals sent at known
# moments (the run creates a ready file at a test hook and holds there until
# the stop; no sleep decides when), through a logging proxy in front of the
# conditional-write proxy (locking on):
#  1. SIGTERM while four days each have a multipart upload open: exit 143,
#     every upload created is aborted (seen at the proxy), nothing completed,
#     no index, no lease left; the two days not started and the four stopped
#     are in the --report with the rerun command, which then does them
#     exactly (every record once: python3-avro on the small days, verify on all);
#  2. SIGINT right after a day's lease was taken: exit 130, the lease is
#     released, nothing committed; the rerun is exact;
#  3. a second SIGTERM while the first stop waits on a request (an abort
#     held by the proxy) ends the process at once, without the report;
#  4. the upload that run left open is aborted by the next run of its day
#     (ListMultipartUploads: answered by the conditional-write proxy, which
#     tracks the uploads made through it and reports them two hours old);
#  5. the same for the `upload` stage, and (6) `verify --repair`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
cond_proxy_start --track-uploads --initiated-age-secs 7200
fault_proxy_start --upstream "$COND_ENDPOINT"   # rate 0: logs every request
LOG1="$FAULT_LOG"
G="$TEST_TMP/gen"
# four days whose merged file (> 5 MiB) is a multipart upload, two small ones
gen "$G" --from 2023-07-01 --to 2023-07-04 --series 20 --records-per-file 4000 --seed 4 >/dev/null
gen "$G" --from 2023-07-05 --to 2023-07-06 --series 10 --records-per-file 40 --seed 5 >/dev/null
put_tree "$G" cold
DAYS=(2023-07-01 2023-07-02 2023-07-03 2023-07-04 2023-07-05 2023-07-06)
CFG="$TEST_TMP/config.yml"
write_config "$CFG" "locking: on"
sed -i "s|endpoint_url: .*|endpoint_url: $FAULT_ENDPOINT|" "$CFG"

no_leftovers() {  # what: no index, no lease, no day file in the bucket
    local objs
    objs=$(bucket_ls out)
    [ -z "$objs" ] || fail "$1: objects left in the bucket: $objs"
}

# runs the report's rerun command (with this build's binary); must exit 0
rerun_from_report() {
    local cmd
    cmd=$(json_get "$1" 'd["rerun"]')
    [ "${cmd%% *}" = repart ] || fail "rerun command: $cmd"
    run_repart ${cmd#repart }
    assert_eq "$RC" 0 "rerun exit ($ERR)"
}

# 1. SIGTERM with four multipart uploads open.
READY="$TEST_TMP/ready1"
REPART_TEST_READY_AT="mpu_created:$READY" "$REPART" -c "$CFG" all --from 2023-07-01 \
    --to 2023-07-06 --report "$TEST_TMP/stop1.json" >"$TEST_TMP/s1.out" 2>"$TEST_TMP/s1.err" &
pid=$!
await "a multipart upload open" 60 test -e "$READY"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq "$rc" 143 "exit after SIGTERM ($(cat "$TEST_TMP/s1.err"))"
ERR1=$(cat "$TEST_TMP/s1.err")
assert_contains "$ERR1" "stopped by SIGTERM" "stop named"
assert_contains "$ERR1" "nothing of this day was committed" "stopped day"
assert_contains "$ERR1" "to rerun only the" "rerun line"
created=$(fault_log_count --method POST --query-regex '^uploads' --status 200)
[ "$created" -ge 1 ] || fail "no multipart upload was created"
assert_eq "$(fault_log_count --method DELETE --query-regex '^uploadId=' --status 204)" "$created" \
    "multipart uploads aborted"
assert_eq "$(fault_log_count --method POST --query-regex '^uploadId=')" 0 "uploads completed"
no_leftovers "after SIGTERM"
"$PY" "$REPART_SRC_DIR/tests/helpers/schema_check.py" "$REPART_SRC_DIR/docs/report.schema.json" \
    "$TEST_TMP/stop1.json" >&2 || fail "the stop's report does not match docs/report.schema.json"
assert_eq "$(json_get "$TEST_TMP/stop1.json" 'd["stopped_by"]')" SIGTERM "report: stopped_by"
assert_eq "$(json_get "$TEST_TMP/stop1.json" 'd["totals"]["stopped"]')" 6 "report: days stopped"
assert_eq "$(json_get "$TEST_TMP/stop1.json" 'd["totals"]["done"]')" 0 "report: days done"
assert_eq "$(json_get "$TEST_TMP/stop1.json" '",".join(x["status"] for x in d["days"])')" \
    "stopped,stopped,stopped,stopped,stopped,stopped" "report: statuses"
assert_contains "$(json_get "$TEST_TMP/stop1.json" 'd["rerun"]')" \
    "all --days 2023-07-01,2023-07-02,2023-07-03,2023-07-04,2023-07-05,2023-07-06" "report: rerun"
rerun_from_report "$TEST_TMP/stop1.json"
# independently (python3-avro; 30-60 s for a big day, so the small ones
# only); all six by repart verify (record counts of the day file vs sources)
for d in 2023-07-05 2023-07-06; do check_day out "$d" "$G/raw/$(day_part "$d")"; done
run_repart -c "$CFG" verify --from 2023-07-01 --to 2023-07-06
assert_eq "$RC" 0 "verify after the rerun ($OUT $ERR)"
note "SIGTERM: $created multipart upload(s) aborted; the rerun is exact"

# 2. SIGINT right after the lease of a day with new data was taken.
gen "$TEST_TMP/late" --from 2023-07-05 --to 2023-07-05 --series 3 --records-per-file 20 --seed 77 >/dev/null
mkdir -p "$TEST_TMP/late2"
( cd "$TEST_TMP/late" && find . -name '*.avro' | while read -r f; do
      n="${f%_*_GOOD.avro}"; mkdir -p "$TEST_TMP/late2/$(dirname "$f")"
      cp "$f" "$TEST_TMP/late2/${n}_1800000000_GOOD.avro"; done )
cp -r "$TEST_TMP/late2/." "$G/"
put_tree "$TEST_TMP/late2" cold
before=$(bucket_ls out)
READY="$TEST_TMP/ready2"
REPART_TEST_READY_AT="after_lease:$READY" "$REPART" -c "$CFG" all --days 2023-07-05 \
    --report "$TEST_TMP/stop2.json" >"$TEST_TMP/s2.out" 2>"$TEST_TMP/s2.err" &
pid=$!
await "the day's lease taken" 60 test -e "$READY"
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq "$rc" 130 "exit after SIGINT ($(cat "$TEST_TMP/s2.err"))"
assert_eq "$(bucket_ls out)" "$before" "bucket after SIGINT (no commit, lease released)"
assert_eq "$(json_get "$TEST_TMP/stop2.json" 'd["stopped_by"]')" SIGINT "report: stopped_by"
rerun_from_report "$TEST_TMP/stop2.json"
check_day out 2023-07-05 "$G/raw/$(day_part 2023-07-05)"

# 3. A second signal while the stop waits on a request: the abort of the
# multipart upload is held by a second proxy for 60 s.
fault_proxy_start --upstream "$COND_ENDPOINT" --rate 1 --faults slow --slow-ms 60000 \
    --only DELETE --only-path-regex 'uploadId='
sed "s|endpoint_url: .*|endpoint_url: $FAULT_ENDPOINT|; s|^locking: .*|locking: off|" "$CFG" \
    >"$TEST_TMP/held.yml"
gen "$TEST_TMP/big" --from 2023-07-07 --to 2023-07-07 --series 20 --records-per-file 4000 --seed 8 >/dev/null
put_tree "$TEST_TMP/big" cold
READY="$TEST_TMP/ready3"
REPART_TEST_READY_AT="mpu_created:$READY" "$REPART" -c "$TEST_TMP/held.yml" all \
    --days 2023-07-07 --report "$TEST_TMP/stop3.json" >"$TEST_TMP/s3.out" 2>"$TEST_TMP/s3.err" &
pid=$!
await "a multipart upload open" 60 test -e "$READY"
kill -TERM "$pid"
await "the abort held at the proxy" 30 grep -q '"method":"DELETE"' "$FAULT_LOG"
t0=$SECONDS
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
assert_eq "$rc" 143 "exit after the second SIGTERM"
[ $((SECONDS - t0)) -le 5 ] || fail "the second signal took $((SECONDS - t0)) s to end the run"
[ ! -e "$TEST_TMP/stop3.json" ] || fail "a report was written after the second signal"

# 4. the next run of the day aborts the upload left open
uploads_open() { curl -sf "$COND_ENDPOINT/out?prefix=consolidated/&uploads=" | grep -o '<UploadId>[^<]*' | cut -d'>' -f2; }
left=$(uploads_open)
[ -n "$left" ] || fail "the killed run left no upload open (the case is not the one tested)"
run_repart -c "$CFG" all --days 2023-07-07
assert_eq "$RC" 0 "the next run of the day ($ERR)"
assert_contains "$OUT" "never completed" "the stale upload's abort named"
assert_eq "$(proxy_log_count "$LOG1" --method DELETE --query-regex "^uploadId=$left\$" --status 204)" 1 \
    "abort of the upload left open"
assert_eq "$(uploads_open)" "" "uploads open after the next run"
run_repart -c "$CFG" verify --days 2023-07-07
assert_eq "$RC" 0 "verify of the day ($OUT)"

# 5. the stage commands too: `upload` aborts an upload a killed run left open
# for its day (created here through the tracking proxy, reported 2 h old)
gen "$TEST_TMP/st" --from 2023-07-08 --to 2023-07-08 --series 5 --records-per-file 30 --seed 9 >/dev/null
put_tree "$TEST_TMP/st" cold
curl -sf -X POST "$COND_ENDPOINT/out/consolidated/$(day_part 2023-07-08)/merged.avro?uploads=" \
    >/dev/null || fail "CreateMultipartUpload through the proxy"
left=$(uploads_open)
[ -n "$left" ] || fail "no upload open before the stages (the case is not the one tested)"
for stage in download merge upload; do
    run_repart -c "$CFG" "$stage" --days 2023-07-08
    assert_eq "$RC" 0 "$stage of 2023-07-08 ($ERR)"
done
assert_contains "$OUT$ERR" "never completed" "upload names the stale upload's abort"
assert_eq "$(uploads_open)" "" "uploads open after the upload stage"
check_day out 2023-07-08 "$TEST_TMP/st/raw/$(day_part 2023-07-08)"

# 6. and `verify --repair` of a day it rebuilds (its merged.avro deleted)
curl -sf -X POST "$COND_ENDPOINT/out/consolidated/$(day_part 2023-07-08)/merged.avro?uploads=" \
    >/dev/null || fail "CreateMultipartUpload through the proxy"
[ -n "$(uploads_open)" ] || fail "no upload open before the repair (the case is not the one tested)"
"$PY" "$REPART_SRC_DIR/tests/helpers/eo_tool.py" delete "$S3_ENDPOINT" out \
    "consolidated/$(day_part 2023-07-08)/merged.avro" || fail "deleting merged.avro"
run_repart -c "$CFG" verify --repair --days 2023-07-08
assert_eq "$RC" 0 "verify --repair of 2023-07-08 ($OUT $ERR)"
assert_contains "$OUT$ERR" "never completed" "the repair names the stale upload's abort"
assert_eq "$(uploads_open)" "" "uploads open after the repair"
check_day out 2023-07-08 "$TEST_TMP/st/raw/$(day_part 2023-07-08)"
note "it_signals: all checks passed"
