#!/usr/bin/env bash
# A bucket filled by the original Python sample (its merged file and its
# index of legacy short entries) is continued by repart without duplicating a
# record; a late file of a series the sample merged is still picked up; and
# the sample, reading the index repart leaves, would re-download nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
CFG="$TEST_TMP/config.yml"
write_config "$CFG"
G="$TEST_TMP/gen"
gen "$G" --from 2023-02-10 --to 2023-02-10 --series 16 --records-per-file 30 --seed 3 >/dev/null
put_tree "$G" cold
P=$(day_part 2023-02-10)
SRC="$G/raw/$P"

# The sample's earlier run over half of the series.
"$PY" "$REPART_SRC_DIR/tests/helpers/python_sample.py" merge "$SRC" "$TEST_TMP/py" 8 >"$TEST_TMP/py.chosen"
n_py=$(wc -l <"$TEST_TMP/py.chosen")
[ "$n_py" -ge 8 ] || fail "the sample emulation merged only $n_py files"
sleep 1.1   # its index is written after the sources (LastModified has 1 s resolution)
curl -sf -X PUT -H "Content-Type: application/octet-stream" --data-binary @"$TEST_TMP/py/merged_series_1690000000.avro" \
    "$S3_ENDPOINT/out/consolidated/$P/merged_series_1690000000.avro" >/dev/null
curl -sf -X PUT -H "Content-Type: application/octet-stream" --data-binary @"$TEST_TMP/py/timeseries.txt" "$S3_ENDPOINT/out/index/$P/timeseries.txt" >/dev/null

run_repart -c "$CFG" all --days 2023-02-10 --report "$TEST_TMP/r1.json"
assert_eq "$RC" 0 "repart over a sample-filled bucket ($ERR)"
total=$(find "$SRC" -name '*.avro' | wc -l)
assert_eq "$(json_get "$TEST_TMP/r1.json" "d['totals']['new_objects']")" "$((total - n_py))" \
    "repart merged only what the sample had not"
check_day out 2023-02-10 "$SRC"
grep -q merged_series_1690000000.avro <<<"$(bucket_ls out "consolidated/$P/")" \
    || fail "the sample's merged file was touched"

# The sample continuing this bucket would download nothing again.
curl -sf "$S3_ENDPOINT/out/index/$P/timeseries.txt" -o "$TEST_TMP/index.txt"
assert_eq "$("$PY" "$REPART_SRC_DIR/tests/helpers/python_sample.py" skipped "$TEST_TMP/index.txt" "$SRC")" 0 \
    "files the sample would merge again"

# A late file of a series the sample merged (arriving after its index).
sleep 1.1
first=$(head -1 "$TEST_TMP/py.chosen")
f=$(find "$SRC" -name "$first" -print -quit)
late="${first%_*_GOOD.avro}_1699999999_GOOD.avro"
rel="raw/$P/$(basename "$(dirname "$f")")"
mkdir -p "$TEST_TMP/late/$rel"
cp "$f" "$TEST_TMP/late/$rel/$late"
cp "$f" "$(dirname "$f")/$late"
put_tree "$TEST_TMP/late" cold
run_repart -c "$CFG" all --days 2023-02-10 --report "$TEST_TMP/r2.json"
assert_eq "$RC" 0 "late-file run ($ERR)"
assert_eq "$(json_get "$TEST_TMP/r2.json" "d['totals']['new_objects']")" 1 "late file merged alone"
check_day out 2023-02-10 "$SRC"
note "it_legacy: all checks passed"
