#!/usr/bin/env bash
# The agg dataset (issue 12): a cold tier with raw/ and agg/ beside it
# (repart-gen --agg, plus agg sources written by python3-avro,
# tests/helpers/agg_write.py) goes through `all`, the stages, `event` and
# `verify --deep`; for both datasets every field value of every source
# record reads back from the day's file with python3-avro
# (tests/helpers/fields_check.py). An agg day's schema is its files' (the
# record name is read, never assumed), widened as its sources need; an
# incompatible source fails only its agg day, naming the field.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
CFG="$TEST_TMP/config.yml"
write_config "$CFG"
G="$TEST_TMP/gen"
AW="$REPART_SRC_DIR/tests/helpers/agg_write.py"
FC="$REPART_SRC_DIR/tests/helpers/fields_check.py"
gen "$G" --from 2023-11-01 --to 2023-11-03 --series 6 --records-per-file 9 --seed 12 --agg \
    >"$TEST_TMP/gen.json"
assert_eq "$(json_get "$TEST_TMP/gen.json" "d['agg_files']")" 72 "agg files generated (3 days x 6 series x 4)"
# an independent writer's agg sources on day 2: another field set (stddev,
# no sum) and a count of another type (long, promoted to the day's double)
aggsrc() {   # aggsrc DAY BUCKET KIND SERIES
    local d=$1 b=$2 kind=$3 sid=$4 t0
    t0=$(date -u -d "$d" +%s)
    local dir="$G/agg/$(day_part "$d")/seriesBucket=$b"
    mkdir -p "$dir"
    "$PY" "$AW" "$kind" "$dir/agg_${sid}_${t0}_GOOD.avro" "$sid" "$t0" || fail "writing $kind"
}
aggsrc 2023-11-02 1c stddev py-stddev
aggsrc 2023-11-02 2d countlong py-countlong
put_tree "$G" cold

# day_file DATASET DAY OUT: downloads a dataset's day file
day_file() {
    local pre=consolidated
    [ "$1" = agg ] && pre=consolidated_agg
    curl -sf "$S3_ENDPOINT/out/$pre/$(day_part "$2")/merged.avro" -o "$3" \
        || fail "no $1 day file for $2"
}
# fields_ok DATASET DAY: every field of every source record in the day file
fields_ok() {
    day_file "$1" "$2" "$TEST_TMP/m.avro"
    "$PY" "$FC" "$TEST_TMP/m.avro" $(find "$G/$1/$(day_part "$2")" -name '*.avro' | sort) \
        >"$TEST_TMP/fc.out" || fail "$1 $2: $(cat "$TEST_TMP/fc.out")"
    cat "$TEST_TMP/fc.out"
}
schema_of() {   # schema_of FILE: the writer schema of an Avro file (python3-avro)
    "$PY" -c 'import sys,avro.datafile,avro.io; r=avro.datafile.DataFileReader(open(sys.argv[1],"rb"),avro.io.DatumReader()); import json; print(json.dumps(json.loads(str(r.schema))))' "$1"
}

# 1. `all` over two days: both datasets, each to its own prefixes
run_repart -c "$CFG" all --from 2023-11-01 --to 2023-11-02
assert_eq "$RC" 0 "all over raw and agg ($ERR)"
assert_contains "$OUT" "4 day(s): 4 done" "two days of each dataset"
assert_contains "$OUT" "agg:2023-11-02" "agg days named in the log"
for d in 2023-11-01 2023-11-02; do
    fields_ok raw $d >/dev/null
    fields_ok agg $d >/dev/null
done
day_file agg 2023-11-01 "$TEST_TMP/a1.avro"
S1=$(schema_of "$TEST_TMP/a1.avro")
assert_contains "$S1" '"name": "AggregatedDatum"' "record name taken from the agg files"
assert_contains "$S1" '"resolution"' "agg fields"
case "$S1" in *doubleValue*) fail "an agg day file holds RawDatum fields: $S1" ;; esac
# day 2: the wider schema holds sum and standardDeviation; count long and double
S2=$(fields_ok agg 2023-11-02)
assert_contains "$S2" "standardDeviation" "the python source's extra field kept"
assert_contains "$S2" "sum" "the generator's field kept"
day_file agg 2023-11-02 "$TEST_TMP/a2.avro"
assert_contains "$(schema_of "$TEST_TMP/a2.avro")" '"name": "count", "type": ["null", "double"]' "count: long promoted to double (values below 2^53, compared exactly)"
assert_contains "$(bucket_ls out index_agg/)" "index_agg/startYear=2023/startMonth=11/startDay=2/timeseries.txt" "agg index"
# the raw day files are RawDatum, untouched by agg
day_file raw 2023-11-01 "$TEST_TMP/r1.avro"
assert_contains "$(schema_of "$TEST_TMP/r1.avro")" '"name": "RawDatum"' "raw schema"

# 2. a rerun: nothing new for either dataset
run_repart -c "$CFG" all --from 2023-11-01 --to 2023-11-02
assert_eq "$RC" 0 "rerun ($OUT $ERR)"
assert_contains "$OUT" "4 day(s): 0 done, 4 with nothing new" "rerun: nothing new"

# 3. verify --deep agrees for both datasets
run_repart -c "$CFG" verify --deep --from 2023-11-01 --to 2023-11-02
assert_eq "$RC" 0 "verify --deep ($OUT $ERR)"
assert_contains "$OUT" "== dataset agg" "verify covers agg"

note "it_agg: all checks passed"
