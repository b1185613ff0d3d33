#!/usr/bin/env bash
# repart event: for each envelope AWS delivers S3 events in (S3 notification,
# Lambda SQS record, `aws sqs receive-message` output, SNS in SQS,
# EventBridge, --object), with keys URL-encoded as S3 does ('=' -> %3D):
# exactly the days the event names are merged and indexed, no other day of
# the four in the cold tier; the report lists exactly those days; their
# records equal the sources (python3-avro). Skipped records are logged with
# their reason. s3:TestEvent: exit 0, nothing done. Bad JSON: exit 1 naming
# the input; a missing file: exit 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

MK="$REPART_SRC_DIR/tests/helpers/make_event.py"
SHAPES=(s3 lambda-sqs receive lambda-sqs-sns eventbridge object)
OUTS=()
for s in "${SHAPES[@]}"; do OUTS+=("out-$s"); done
repart_setup cold "${OUTS[@]}" out-misc
G="$TEST_TMP/gen"
gen "$G" --from 2023-01-04 --to 2023-01-07 --series 5 --records-per-file 20 --seed 11 >/dev/null
put_tree "$G" cold
ALL_DAYS=(2023-01-04 2023-01-05 2023-01-06 2023-01-07)
src_of() { echo "$G/raw/$(day_part "$1")"; }
# a real key of the day (relative to the bucket)
key_of() { (cd "$G" && find "raw/$(day_part "$1")" -name '*.avro' | sort | sed -n "${2:-1}p"); }

# expect_days OUT_BUCKET REPORT DAY...: exactly these days are indexed and
# merged, and the report names exactly them, done
expect_days() {
    local out=$1 rep=$2
    shift 2
    local want got d
    want=$(printf '%s\n' "$@" | sort)
    got=$(bucket_ls "$out" index/ | awk '{print $1}' | sed -n 's#^index/startYear=\([0-9]*\)/startMonth=\([0-9]*\)/startDay=\([0-9]*\)/timeseries.txt$#\1 \2 \3#p' |
        while read -r y m dd; do printf '%04d-%02d-%02d\n' "$y" "$m" "$dd"; done | sort)
    assert_eq "$got" "$want" "$out: indexed days"
    got=$(bucket_ls "$out" consolidated/ | awk '{print $1}' | sed -n 's#^consolidated/startYear=\([0-9]*\)/startMonth=\([0-9]*\)/startDay=\([0-9]*\)/merged.*#\1 \2 \3#p' |
        while read -r y m dd; do printf '%04d-%02d-%02d\n' "$y" "$m" "$dd"; done | sort -u)
    assert_eq "$got" "$want" "$out: merged days"
    assert_eq "$(json_get "$rep" "'\n'.join(sorted(x['day'] for x in d['days']))")" "$want" "$out: report days"
    assert_eq "$(json_get "$rep" "sorted(set(x['status'] for x in d['days']))")" "['done']" "$out: report status"
    for d in "$@"; do check_day "$out" "$d" "$(src_of "$d")"; done
}

K5a=$(key_of 2023-01-05 1); K5b=$(key_of 2023-01-05 2); K6=$(key_of 2023-01-06); K7=$(key_of 2023-01-07)
case "$K5a" in raw/startYear=2023/startMonth=1/startDay=5/*) ;; *) fail "unexpected key $K5a" ;; esac

for s in "${SHAPES[@]}"; do
    CFG="$TEST_TMP/$s.yml"
    OUT_BUCKET="out-$s" write_config "$CFG"
    ev="$TEST_TMP/$s.json"
    args=()
    case $s in
    eventbridge)
        # one object per EventBridge event; its key is plain
        "$PY" "$MK" eventbridge "cold:$K6" >"$ev"
        want=(2023-01-06)
        args=("$ev") ;;
    object)
        want=(2023-01-05 2023-01-07)
        args=(--object "s3://cold/$K7" --object "s3://cold/$K5a" --object "s3://other/$K6"
              --object "s3://cold/asset_metadata/asset_x.ndjson") ;;
    *)
        # two records of 2023-01-05, one of 2023-01-07; skipped: another bucket,
        # a delete, a key outside the prefix
        "$PY" "$MK" "$s" "cold:$K5a" "cold:$K7" "cold:$K5b:ObjectCreated:CompleteMultipartUpload" \
            "other-bucket:$K6" "cold:$K6:ObjectRemoved:Delete" "cold:consolidated/$(day_part 2023-01-04)/x.avro" >"$ev"
        grep -q 'startYear%3D2023' "$ev" || fail "$s: the keys in the event are not URL-encoded"
        want=(2023-01-05 2023-01-07)
        args=("$ev") ;;
    esac
    if [ "$s" = receive ]; then
        # from standard input
        RC=0
        "$REPART" -c "$CFG" event --report "$TEST_TMP/$s.report" - <"$ev" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || RC=$?
        OUT=$(cat "$TEST_TMP/out"); ERR=$(cat "$TEST_TMP/err")
    else
        run_repart -c "$CFG" event --report "$TEST_TMP/$s.report" "${args[@]}"
    fi
    assert_eq "$RC" 0 "$s: exit ($ERR)"
    expect_days "out-$s" "$TEST_TMP/$s.report" "${want[@]}"
    case $s in
    eventbridge) ;;
    object)
        assert_contains "$OUT" "not the cold tier bucket \"cold\"" "$s: skip logged"
        assert_contains "$OUT" "asset metadata" "$s: skip logged" ;;
    *)
        assert_contains "$OUT" "s3://other-bucket/raw/startYear=2023/startMonth=1/startDay=6/" "$s: skip names the decoded key"
        assert_contains "$OUT" "not the cold tier bucket" "$s: skip reason"
        assert_contains "$OUT" "ObjectRemoved:Delete is not a new object" "$s: skip reason"
        assert_contains "$OUT" "outside the data prefix" "$s: skip reason"
        assert_contains "$OUT" "6 object record(s), 3 used, 3 skipped: 2 day(s): 2023-01-05, 2023-01-07" "$s: event line" ;;
    esac
done

# the same event again: nothing new, nothing written
CFG="$TEST_TMP/s3.yml"
bucket_ls out-s3 >"$TEST_TMP/ls1"
run_repart -c "$CFG" event --report "$TEST_TMP/again.report" "$TEST_TMP/s3.json"
assert_eq "$RC" 0 "rerun exit ($ERR)"
assert_eq "$(json_get "$TEST_TMP/again.report" "d['totals']['nothing_new']")" 2 "rerun: nothing new"
bucket_ls out-s3 >"$TEST_TMP/ls2"
cmp -s "$TEST_TMP/ls1" "$TEST_TMP/ls2" || fail "rerun changed the bucket"

CFG="$TEST_TMP/misc.yml"
OUT_BUCKET=out-misc write_config "$CFG"
# s3:TestEvent (plain and inside SNS): exit 0, nothing done, an empty report
"$PY" "$MK" --test-event >"$TEST_TMP/test.json"
run_repart -c "$CFG" event --report "$TEST_TMP/test.report" "$TEST_TMP/test.json"
assert_eq "$RC" 0 "test event exit ($ERR)"
assert_contains "$OUT" "nothing to do"
assert_eq "$(json_get "$TEST_TMP/test.report" "len(d['days'])")" 0 "test event: report days"
# an event whose records are all skipped: exit 0, nothing done
"$PY" "$MK" s3 "other:$K5a" >"$TEST_TMP/foreign.json"
run_repart -c "$CFG" event "$TEST_TMP/foreign.json"
assert_eq "$RC" 0 "foreign event exit ($ERR)"
assert_contains "$OUT" "0 day(s)"
assert_eq "$(bucket_ls out-misc | wc -l)" 0 "nothing written for test and foreign events"

# bad input: exit 1, the message names the file and the place
printf '{"Records":[{"eventSource":"aws:s3",' >"$TEST_TMP/bad.json"
run_repart -c "$CFG" event "$TEST_TMP/bad.json"
assert_eq "$RC" 1 "bad JSON exit"
assert_contains "$ERR" "$TEST_TMP/bad.json"
echo '{"hello":"world"}' | { RC=0; "$REPART" -c "$CFG" event - 2>"$TEST_TMP/err" || RC=$?; assert_eq "$RC" 1 "unknown shape exit"; }
assert_contains "$(cat "$TEST_TMP/err")" "standard input"
# a missing file: usage (exit 2); FILE with --object: usage
run_repart -c "$CFG" event "$TEST_TMP/no-such.json"
assert_eq "$RC" 2 "missing file exit"
assert_contains "$ERR" "no-such.json"
run_repart -c "$CFG" event --object "s3://cold/$K5a" "$TEST_TMP/s3.json"
assert_eq "$RC" 2 "FILE with --object exit"
assert_eq "$(bucket_ls out-misc | wc -l)" 0 "nothing written for bad input"

# a day that fails: exit 1, the rerun command names it
bad="raw/$(day_part 2023-01-04)/seriesBucket=00/raw_corrupt_1672790400_GOOD.avro"
mkdir -p "$TEST_TMP/badsrc/$(dirname "$bad")"
head -c 200 "$G/$K5a" >"$TEST_TMP/badsrc/$bad"
put_tree "$TEST_TMP/badsrc" cold
"$PY" "$MK" sns "cold:$bad" "cold:$K6" >"$TEST_TMP/fail.json"
run_repart -c "$CFG" event --report "$TEST_TMP/fail.report" "$TEST_TMP/fail.json"
assert_eq "$RC" 1 "failed day exit ($ERR)"
assert_contains "$ERR" "all --days 2023-01-04"
assert_eq "$(json_get "$TEST_TMP/fail.report" "[(x['day'], x['status']) for x in d['days']]")" \
    "[('2023-01-04', 'failed'), ('2023-01-06', 'done')]" "failed-day report"
check_day out-misc 2023-01-06 "$(src_of 2023-01-06)"
echo ok
