#!/usr/bin/env bash
# Exactly once over buckets the original Python sample filled first (issue
# 11, failure classes 1, 2 and 8), against fauxqs, with the sample itself
# (tests/torture/sample.py, a faithful re-implementation) and the independent
# reader (bucket_check.py: every source record exactly once across the day's
# files). Every day here ends with exactly one repart file (merged.avro) beside
# the sample's merged_series_*.avro.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"
. "$(dirname "$0")/lib_eo.sh"

eo_setup
# gen's four exports of a day start at 00:00, 06:00, 12:00 and 18:00 UTC
exports() { local t; t=$(date -u -d "$1" +%s); echo "$t $((t + 21600)) $((t + 43200)) $((t + 64800))"; }

run_all() {  # run_all DAY WHAT: repart all over DAY, exit 0, exact, one file
    run_repart -c "$CFG" all --days "$1" --report "$TEST_TMP/report.json"
    eo_eq "$RC" 0 "$2: exit ($ERR)"
    assert_exact "$1" "$2"
    assert_one_file "$1" "$2"
}
new_objects() { json_get "$TEST_TMP/report.json" "d['totals']['new_objects']"; }

# --- class 1: continuing a sample-filled bucket ------------------------------
# Old code (/work/baseline/build): the run after the late file merged that
# series' sample-merged sources again with it ("1: late file of a
# sample-merged series": 17 new objects instead of 1, assert_exact: 320
# records extra, and so on for every later run); the "one file" asserts
# failed from the first run on (it wrote merged_<hash>.avro files).
D1=2023-03-01
eo_gen $D1 8 20 31
read -r t0 t1 t2 t3 <<<"$(exports $D1)"
eo_arrive $D1 "$t0" "$t1"
eo_sample $D1
eo_contains "$SAMPLE_OUT" '"status": "merged"' "1: the sample merged the first two exports"
eo_arrive $D1 "$t2"
run_all $D1 "1: repart after the sample"
[ "$(new_objects)" -ge 8 ] || check_fail "1: the third export was not merged ($(new_objects))"
bucket_ls out "consolidated/$(day_part $D1)/" | grep -q "/merged_series_$EO_SAMPLE_TS.avro " \
    || check_fail "1: the sample's merged file is gone"
eo_late $D1 15
run_all $D1 "1: late file of a sample-merged series"
eo_eq "$(new_objects)" 1 "1: the late file alone is new"
run_all $D1 "1: run again"
eo_eq "$(new_objects)" 0 "1: nothing new on the second run"
eo_late $D1 12 3
run_all $D1 "1: another late file"
eo_eq "$(new_objects)" 1 "1: the second late file alone is new"
run_all $D1 "1: and again"
eo_eq "$(new_objects)" 0 "1: nothing new"
# the sample after repart re-merges nothing
before=$(out_ls)
eo_sample $D1
eo_contains "$SAMPLE_OUT" '"status": "nothing-new"' "1: the sample after repart"
eo_eq "$(out_ls)" "$before" "1: the sample wrote nothing"
assert_exact $D1 "1: after the sample's rerun"
note "class 1 ok"

# --- class 2: a file of a sample-covered series arriving during a run -------
# (a) during a repart run: the run holds before its index PUT (data written)
# while the late file arrives; the second run must merge it.
# Old code: the late file counted as covered (older than the index the first
# run committed): "2a: the second run" found nothing new and assert_exact
# failed with the late file's records missing.
D2=2023-03-02
eo_gen $D2 8 20 32
read -r t0 t1 t2 t3 <<<"$(exports $D2)"
eo_arrive $D2 "$t0" "$t1"
eo_sample $D2
eo_arrive $D2 "$t2"
sample_index=$(curl -sf "$(index_url $D2)" | md5sum)
REPART_TEST_PAUSE_AT=before_index:6000 "$REPART" -c "$CFG" all --days $D2 \
    >"$TEST_TMP/bg.out" 2>"$TEST_TMP/bg.err" &
bg=$!
has_repart_file() { [ -n "$(repart_files "$1")" ]; }
wait_for "the first run's data upload" 60 has_repart_file $D2
late_key $D2 1
eo_mkfile "$LATE_KEY" 17
# the arrival happened before that run's commit (else the test proves nothing)
assert_eq "$(curl -sf "$(index_url $D2)" | md5sum)" "$sample_index" \
    "2a: the index was committed before the late file arrived (timing)"
rc=0; wait "$bg" || rc=$?
eo_eq "$rc" 0 "2a: the paused run ($(cat "$TEST_TMP/bg.err"))"
run_all $D2 "2a: the second run"
eo_eq "$(new_objects)" 1 "2a: the file that arrived during the first run is merged"
run_all $D2 "2a: a third run"
eo_eq "$(new_objects)" 0 "2a: nothing new"

# (b) during the sample's run: a file arrives after the sample listed the day
# (hook at "downloaded"), its series is in the sample's index.
# Old code: taken as covered (not newer than the sample's index): "2b: repart
# after the sample" failed assert_exact, the file's records missing.
D3=2023-03-03
eo_gen $D3 8 20 33
read -r t0 t1 t2 t3 <<<"$(exports $D3)"
eo_arrive $D3 "$t0" "$t1"
late_key $D3 2
"$PY" "$EO" mkfile "$G" "$LATE_KEY" 13 7777   # in the mirror now; PUT by the hook
eo_sample $D3 --during downloaded "$LATE_KEY"
eo_contains "$SAMPLE_OUT" "\"during\": [\"$LATE_KEY\"]" "2b: the file arrived during the sample's run"
eo_contains "$SAMPLE_OUT" '"status": "merged"' "2b: the sample merged"
run_all $D3 "2b: repart after the sample"
eo_eq "$(new_objects)" 1 "2b: the file that arrived during the sample's run is new"
eo_arrive $D3 "$t2"
run_all $D3 "2b: the next export"
run_all $D3 "2b: again"
eo_eq "$(new_objects)" 0 "2b: nothing new"
note "class 2 ok"

# --- class 8: a UTF-8 BOM and CRLF line ends in the sample's timeseries.txt --
# Old code: the first series line (with the BOM) matched no series, so that
# series' sample-merged sources were merged again: "8: repart after the
# sample" failed assert_exact with extra records.
D4=2023-03-04
eo_gen $D4 8 20 34
read -r t0 t1 t2 t3 <<<"$(exports $D4)"
eo_arrive $D4 "$t0" "$t1"
eo_sample $D4
"$PY" "$EO" bom "$S3_ENDPOINT" out "index/$(day_part $D4)/timeseries.txt"
curl -sf "$(index_url $D4)" | head -c 3 | od -An -tx1 | grep -q 'ef bb bf' || fail "8: no BOM written"
curl -sf "$(index_url $D4)" | grep -q $'\r$' || fail "8: no CRLF written"
eo_arrive $D4 "$t2"
run_all $D4 "8: repart after the sample"
eo_eq "$(new_objects)" 8 "8: only the third export is new"
run_all $D4 "8: again"
eo_eq "$(new_objects)" 0 "8: nothing new"
eo_late $D4 9 5
run_all $D4 "8: a late file"
eo_eq "$(new_objects)" 1 "8: the late file alone"
note "class 8 ok"
# --- a sample file no index line covers ---------------------------------------
# (a) new series arrive on a repart day; the sample merges them and dies
# between its data PUT and its index PUT (modelled: the index put back as it
# was); (b) the index of a day the sample merged first is deleted. repart
# must take the sample's file into account, not merge its sources again.
# (Found while writing these tests: 9f37541 merged them again, 20 and 50
# records twice, exit 0, verify ok; fixed by f9e7c5b. The old code: the same.)
D5=2023-03-05
t=$(date -u -d $D5 +%s)
eo_gen $D5 4 10 35
eo_arrive $D5 "$t"
run_all $D5 "uncovered (a): repart first"
for s in a b; do eo_mkfile "raw/$(day_part $D5)/seriesBucket=0$s/raw_newseries-${s}_$((t + 60))_GOOD.avro" 10; done
curl -sf "$(index_url $D5)" >"$TEST_TMP/ix.before"
eo_sample $D5
eo_contains "$SAMPLE_OUT" '"sources": 2' "uncovered (a): the sample merged the two new files"
"$PY" "$EO" put "$S3_ENDPOINT" out "index/$(day_part $D5)/timeseries.txt" "$TEST_TMP/ix.before" >/dev/null
run_all $D5 "uncovered (a): the sample's file of a run that died before its index"
run_all $D5 "uncovered (a): again"
D6=2023-03-06
t=$(date -u -d $D6 +%s)
eo_gen $D6 5 10 36
eo_arrive $D6 "$t"
eo_sample $D6
eo_arrive $D6 "$((t + 21600))"
run_all $D6 "uncovered (b): repart after the sample"
curl -sf -X DELETE "$(index_url $D6)"
eo_late $D6 5 2
run_all $D6 "uncovered (b): the index deleted"
run_all $D6 "uncovered (b): again"
eo_eq "$(new_objects)" 0 "uncovered (b): nothing new"
note "uncovered sample files ok"
eo_done it_eo_sample
