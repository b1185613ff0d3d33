#!/usr/bin/env bash
# No silent loss of fields (issue 12): sources of a day written by an
# independent Avro writer (python3-avro, tests/helpers/avro_variants.py) with
# an extra optional field, a wider union and a promoted type merge into a day
# file whose schema holds every field of every source; every field value of
# every record reads back identically (python3-avro, fields_check.py):
#  - day 1: repart-gen sources committed first (append), then a source with
#    an extra field arrives: the day file is rebuilt with the wider schema;
#  - day 6: the same, the rebuild stopped before its commit: the next run
#    rebuilds (an append cannot follow a version that is not committed);
#  - day 2: a new day with all the variants at once (`all`; also a float
#    doubleValue, promoted to double), and the same
#    sources through download / merge / upload on day 3;
#  - day 4: a field whose types no schema holds both (string vs long): the
#    day fails naming the object, the field and both types;
#  - day 5: another record name: the day fails naming both names;
#  - day 7: verify --repair keeping a deleted source's records and widening
#    part-way.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
CFG="$TEST_TMP/config.yml"
write_config "$CFG"
V="$REPART_SRC_DIR/tests/helpers/avro_variants.py"
FC="$REPART_SRC_DIR/tests/helpers/fields_check.py"
G="$TEST_TMP/gen"
gen "$G" --from 2023-12-01 --to 2023-12-01 --series 2 --records-per-file 5 --seed 3 >/dev/null
put_tree "$G" cold
# variant DAY BUCKET KIND SERIES: writes one source of that kind into $G
variant() {
    local d=$1 b=$2 kind=$3 sid=$4 t0
    t0=$(date -u -d "$d" +%s)
    local dir="$G/raw/$(day_part "$d")/seriesBucket=$b"
    mkdir -p "$dir"
    "$PY" "$V" "$kind" "$dir/raw_${sid}_${t0}_GOOD.avro" "$sid" "$t0" || fail "writing $kind"
}
merged() {   # merged DAY FILE: downloads the day file
    curl -sf "$S3_ENDPOINT/out/consolidated/$(day_part "$1")/merged.avro" -o "$2" \
        || fail "no day file for $1"
}
fields_ok() {   # fields_ok DAY: every field of every source of the day in its day file
    merged "$1" "$TEST_TMP/m.avro"
    "$PY" "$FC" "$TEST_TMP/m.avro" $(find "$G/raw/$(day_part "$1")" -name '*.avro' | sort) \
        >"$TEST_TMP/fc.out" || fail "day $1: $(cat "$TEST_TMP/fc.out")"
    cat "$TEST_TMP/fc.out"
}

# day 1: committed with RawDatum, then a source with an extra field arrives
run_repart -c "$CFG" all --days 2023-12-01
assert_eq "$RC" 0 "day 1, first run ($ERR)"
variant 2023-12-01 0a extra extra-series
put_tree "$G" cold
run_repart -c "$CFG" all --days 2023-12-01
assert_eq "$RC" 0 "day 1 with a wider source ($ERR)"
assert_contains "$OUT$ERR" "written anew (rebuilt) with a schema that holds every field" "rebuild said"
assert_contains "$(fields_ok 2023-12-01)" "unit" "day 1: the extra field is in the schema"
# a rerun: nothing new
run_repart -c "$CFG" all --days 2023-12-01
assert_eq "$RC" 0 "day 1 rerun ($ERR)"
assert_contains "$OUT" "Skip, no new data" "day 1 rerun finds nothing new"

# day 6: the rebuild for a wider schema stops between its data PUT and its
# commit (the day file is then not the committed version, and an append
# cannot follow it): the next run rebuilds, every value kept
gen "$G" --from 2023-12-06 --to 2023-12-06 --series 2 --records-per-file 5 --seed 4 >/dev/null
put_tree "$G" cold
run_repart -c "$CFG" all --days 2023-12-06
assert_eq "$RC" 0 "day 6, first run ($ERR)"
variant 2023-12-06 0a extra extra-series
put_tree "$G" cold
rc=0; REPART_TEST_CRASH_AT=before_index "$REPART" -c "$CFG" -q all --days 2023-12-06 \
    >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "day 6: the crash point did not stop the run"
variant 2023-12-06 0b plain late-series     # and a late plain file meanwhile
put_tree "$G" cold
run_repart -c "$CFG" all --days 2023-12-06
assert_eq "$RC" 0 "day 6 after the stopped rebuild ($ERR)"
assert_contains "$(fields_ok 2023-12-06)" "unit" "day 6: the extra field"
run_repart -c "$CFG" verify --days 2023-12-01,2023-12-06
assert_eq "$RC" 0 "verify days 1 and 6 ($OUT)"

# day 7: `verify --repair` that keeps a deleted source's committed records
# and must widen part-way (the wider source's series sorts last): old code
# planned the retry again from an index that names no day file, and every
# repair failed ("the index lost track of records"; review12 finding 1).
# The repair is made necessary by a file of the original sample's the
# index does not account for (a copy of one source: adopted there).
EO="$REPART_SRC_DIR/tests/helpers/eo_tool.py"
gen "$G" --from 2023-12-07 --to 2023-12-07 --series 2 --records-per-file 5 --seed 7 >/dev/null
variant 2023-12-07 0a extra ffffffff-wide-series
put_tree "$G" cold
run_repart -c "$CFG" all --days 2023-12-07
assert_eq "$RC" 0 "day 7, first run ($ERR)"
p7="raw/$(day_part 2023-12-07)"
srcs7=$(cd "$G" && find "$p7" -name 'raw_*.avro' | grep -v wide | sort)
"$PY" "$EO" delete "$S3_ENDPOINT" cold "$(sed -n 1p <<<"$srcs7")" >/dev/null   # its records stay
"$PY" "$EO" put "$S3_ENDPOINT" out "consolidated/$(day_part 2023-12-07)/merged_series_1690000000.avro" \
    "$G/$(sed -n 2p <<<"$srcs7")" >/dev/null
# same_keys DAY: every record of the day's sources once in the partition,
# by (seriesId, timeInSeconds, offsetInNanos) (the day file's wider schema
# gives the narrow sources' records a null "unit")
same_keys() {
    local k
    rm -rf "$TEST_TMP/part" && mkdir -p "$TEST_TMP/part"
    for k in $(bucket_ls out "consolidated/$(day_part "$1")/" | awk '{print $1}'); do
        curl -sf "$S3_ENDPOINT/out/$k" -o "$TEST_TMP/part/$(basename "$k")" || fail "GET $k"
    done
    "$PY" - "$TEST_TMP/part" "$G/raw/$(day_part "$1")" "$TEST_TMP/keys.out" <<'PY' || fail "day $1: $(cat "$TEST_TMP/keys.out")"
import collections, glob, os, sys, avro.datafile, avro.io
def keys(files):
    c = collections.Counter()
    for f in files:
        with avro.datafile.DataFileReader(open(f, "rb"), avro.io.DatumReader()) as r:
            for x in r:
                c[(x["seriesId"], x["timeInSeconds"], x["offsetInNanos"])] += 1
    return c
got = keys(sorted(glob.glob(os.path.join(sys.argv[1], "*.avro"))))
want = keys(sorted(glob.glob(os.path.join(sys.argv[2], "**", "*.avro"), recursive=True)))
with open(sys.argv[3], "w") as o:
    o.write("missing %d, extra %d of %d" % (sum((want - got).values()), sum((got - want).values()),
                                            sum(want.values())))
sys.exit(0 if got == want else 1)
PY
}
REPART_REPAIR_MIN_AGE=0 run_repart -c "$CFG" verify --repair --days 2023-12-07
assert_eq "$RC" 0 "day 7: verify --repair ($OUT $ERR)"
same_keys 2023-12-07
merged 2023-12-07 "$TEST_TMP/m7.avro"
assert_contains "$("$PY" -c 'import sys, json, avro.datafile, avro.io
with avro.datafile.DataFileReader(open(sys.argv[1], "rb"), avro.io.DatumReader()) as r:
    print(" ".join(f["name"] for f in json.loads(r.meta["avro.schema"])["fields"]))' "$TEST_TMP/m7.avro")" \
    "unit" "day 7: the extra field after the repair"
run_repart -c "$CFG" all --days 2023-12-07
assert_eq "$RC" 0 "day 7: a run after the repair ($ERR)"
same_keys 2023-12-07

# days 2 (all) and 3 (stages): plain + extra + wider union + promoted type
for d in 2023-12-02 2023-12-03; do
    variant "$d" 00 plain plain-series
    variant "$d" 3c union union-series
    variant "$d" 7f promo promo-series
    variant "$d" b1 extra extra-series
    variant "$d" c4 float float-series
done
put_tree "$G" cold
run_repart -c "$CFG" all --days 2023-12-02
assert_eq "$RC" 0 "day 2 ($ERR)"
names=$(fields_ok 2023-12-02)
assert_contains "$names" "unit" "day 2: extra field"
"$PY" - "$TEST_TMP/m.avro" <<'EOF' || fail "day 2: merged schema"
import json, sys, avro.datafile, avro.io
r = avro.datafile.DataFileReader(open(sys.argv[1], "rb"), avro.io.DatumReader())
s = json.loads(str(r.schema))
t = {f["name"]: f["type"] for f in s["fields"]}
assert s["name"] == "RawDatum", s["name"]
assert t["doubleValue"] == ["null", "double", "string"], t["doubleValue"]
assert t["integerValue"] == ["null", "int", "long"] or t["integerValue"] == ["null", "long"], t["integerValue"]
assert t["unit"] == ["null", "string"], t["unit"]
EOF
for stage in download merge upload; do
    run_repart -c "$CFG" "$stage" --days 2023-12-03
    assert_eq "$RC" 0 "day 3 $stage ($ERR)"
done
fields_ok 2023-12-03 >/dev/null

# day 4: a type no schema holds together with RawDatum's
variant 2023-12-04 00 plain plain-series
variant 2023-12-04 5d incompat bad-series
# day 5: another record name
variant 2023-12-05 00 plain plain-series
variant 2023-12-05 6e othername other-series
put_tree "$G" cold
run_repart -c "$CFG" all --days 2023-12-04,2023-12-05
assert_eq "$RC" 1 "days 4 and 5 fail"
assert_contains "$ERR" "error: 2023-12-04: " "day 4 named"
assert_contains "$ERR" "raw_bad-series_" "day 4: object named"
assert_contains "$ERR" "field \"quality\": type \"string\" in the day's schema, \"long\" in this source" \
    "day 4: field and both types"
assert_contains "$ERR" "error: 2023-12-05: " "day 5 named"
assert_contains "$ERR" "raw_other-series_" "day 5: object named"
assert_contains "$ERR" "record name amazon.aws.iot.sitewise.raw.RawDatum in the day's schema, x.y.Other in this source" \
    "day 5: both record names"
for d in 2023-12-04 2023-12-05; do
    assert_eq "$(bucket_ls out "index/$(day_part "$d")/" | wc -l)" 0 "nothing committed on $d"
done
note "it_schema: all checks passed"
