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

s3_start fauxqs --queues qa cold out
COLD_BUCKET=cold
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

# athena: a table per dataset; the agg table's columns and schema literal
# are those of its day files (widened over days: day 2 added
# standardDeviation), its location and projection the agg prefix
run_repart -c "$CFG" athena --create-database --database sw
assert_eq "$RC" 0 "athena ($ERR)"
printf '%s\n' "$OUT" >"$TEST_TMP/ddl.sql"
assert_contains "$OUT" 'CREATE DATABASE IF NOT EXISTS `sw`;' "create database"
assert_contains "$OUT" 'CREATE EXTERNAL TABLE IF NOT EXISTS `sw`.`sitewise_consolidated` (' "raw table"
assert_contains "$OUT" 'CREATE EXTERNAL TABLE IF NOT EXISTS `sw`.`sitewise_consolidated_agg` (' "agg table"
"$PY" - "$TEST_TMP/ddl.sql" "$TEST_TMP/a1.avro" "$TEST_TMP/a2.avro" <<'PY' || fail "agg DDL: $(cat "$TEST_TMP/ddl.py.out")"
import json, re, sys, avro.schema, avro.datafile, avro.io
ddl = open(sys.argv[1]).read()
agg = ddl[ddl.index("`sitewise_consolidated_agg`"):]
out = open(sys.argv[1].replace(".sql", ".py.out"), "w")
def need(cond, what):
    if not cond:
        out.write(what + "\n"); out.close(); sys.exit(1)
need("LOCATION 's3://out/consolidated_agg/'" in agg, "agg location")
need("'storage.location.template'='s3://out/consolidated_agg/startYear=${startyear}/" in agg, "agg projection template")
need("'projection.startyear.range'='2021,2099'" in agg, "projection years")
lit = re.search(r"TBLPROPERTIES \(\n  'avro.schema.literal'='(.*)'", agg).group(1)
s = avro.schema.parse(lit)   # an independent parser accepts the literal
need(s.fullname == "amazon.aws.iot.sitewise.agg.AggregatedDatum", "record name %s" % s.fullname)
names = [f.name for f in s.fields]
want = set()
for p in sys.argv[2:]:
    r = avro.datafile.DataFileReader(open(p, "rb"), avro.io.DatumReader())
    want |= {f["name"] for f in json.loads(str(r.schema))["fields"]}
need(set(names) == want, "columns %s, day files %s" % (names, sorted(want)))
cols = re.findall(r"^  `(\w+)` (\w+)", agg.split("PARTITIONED BY")[0], re.M)
need([c for c, _ in cols] == [n.lower() for n in names] or [c for c, _ in cols] == names, "columns %s" % cols)
need(dict(cols).get("resolution") == "string", "resolution column %s" % cols)
need(dict(cols).get("count") == "double", "count column %s" % cols)
PY

# 4. stages on day 3, agg only: download / merge / upload stage under
# <work_dir>/agg/ and commit; raw day 3 is left alone
run_repart -c "$CFG" --dataset agg download --days 2023-11-03
assert_eq "$RC" 0 "download agg ($ERR)"
[ -d "$TEST_TMP/work/agg/raw/2023-11-3" ] || fail "agg staged under work_dir/agg: $(find "$TEST_TMP/work" -maxdepth 3)"
[ ! -e "$TEST_TMP/work/raw/2023-11-3" ] || fail "raw day 3 staged by --dataset agg"
run_repart -c "$CFG" merge
assert_eq "$RC" 0 "merge (every staged day) ($ERR)"
run_repart -c "$CFG" upload
assert_eq "$RC" 0 "upload ($ERR)"
assert_contains "$OUT" "1 day(s): 1 done" "the staged agg day uploaded"
fields_ok agg 2023-11-03 >/dev/null
curl -sf -o /dev/null "$S3_ENDPOINT/out/consolidated/$(day_part 2023-11-03)/merged.avro" \
    && fail "raw day 3 written by --dataset agg stages"

# 5. late agg files: an event for an agg key runs only that agg day; a
# source with a new field rebuilds the committed agg day with a wider schema
aggsrc 2023-11-03 3e stddev py-late
put_tree "$G" cold
LATE="agg/$(day_part 2023-11-03)/seriesBucket=3e/agg_py-late_$(date -u -d 2023-11-03 +%s)_GOOD.avro"
run_repart -c "$CFG" event --object "s3://cold/$LATE"
assert_eq "$RC" 0 "event for an agg key ($ERR)"
assert_contains "$OUT" "1 day(s): 1 done" "one agg day"
assert_contains "$OUT" "agg:2023-11-03" "the agg day named"
assert_contains "$(fields_ok agg 2023-11-03)" "standardDeviation" "the late source's field in the day file"
# raw day 3 was not touched by the agg event; `all` now merges it
run_repart -c "$CFG" all --days 2023-11-03
assert_eq "$RC" 0 "all on day 3 ($ERR)"
assert_contains "$OUT" "2 day(s): 1 done, 1 with nothing new" "raw day 3 done, agg day 3 nothing new"
fields_ok raw 2023-11-03 >/dev/null

# 6. an agg source no schema holds beside the others (resolution long): its
# agg day fails naming the object and the field; raw is unaffected
gen "$G" --from 2023-11-04 --to 2023-11-04 --series 3 --records-per-file 5 --seed 13 --agg >/dev/null
aggsrc 2023-11-04 4f incompat py-bad
put_tree "$G" cold
run_repart -c "$CFG" all --days 2023-11-04
assert_eq "$RC" 1 "an incompatible agg source fails its day"
assert_contains "$ERR" "agg:2023-11-04" "the agg day named"
assert_contains "$ERR" "agg_py-bad_" "the object named"
assert_contains "$ERR" "resolution" "the field named"
assert_contains "$ERR" "--dataset agg" "the rerun command names the dataset"
assert_contains "$OUT" "2 day(s): 1 done, 0 with nothing new, 1 failed" "raw day 4 committed"
fields_ok raw 2023-11-04 >/dev/null

# 7. an .avro key under an agg day that does not parse fails that agg day, named
rm -f "$G/agg/$(day_part 2023-11-04)/seriesBucket=4f/"agg_py-bad_*
mkdir -p "$TEST_TMP/bad/agg/$(day_part 2023-11-05)/seriesBucket=zz"
cp "$TEST_TMP/a1.avro" "$TEST_TMP/bad/agg/$(day_part 2023-11-05)/seriesBucket=zz/agg_x_1_GOOD.avro"
put_tree "$TEST_TMP/bad" cold
run_repart -c "$CFG" --dataset agg all --days 2023-11-05
assert_eq "$RC" 1 "a bad agg key fails its day"
assert_contains "$ERR" "seriesBucket=zz/agg_x_1_GOOD.avro" "the bad key named"

# 8. --dataset raw leaves agg alone; plan covers both datasets by default
gen "$G" --from 2023-11-06 --to 2023-11-06 --series 2 --records-per-file 3 --seed 14 --agg >/dev/null
put_tree "$G" cold
run_repart -c "$CFG" plan --days 2023-11-06
assert_eq "$RC" 0 "plan ($ERR)"
assert_contains "$OUT" "== dataset raw (s3://cold/raw/) ==" "plan: raw"
assert_contains "$OUT" "== dataset agg (s3://cold/agg/) ==" "plan: agg"
run_repart -c "$CFG" --dataset raw all --days 2023-11-06
assert_eq "$RC" 0 "--dataset raw ($ERR)"
assert_contains "$OUT" "1 day(s): 1 done" "raw only"
curl -sf -o /dev/null "$S3_ENDPOINT/out/consolidated_agg/$(day_part 2023-11-06)/merged.avro" \
    && fail "agg day written by --dataset raw"
run_repart -c "$CFG" --dataset bogus plan
assert_eq "$RC" 2 "--dataset bogus"
assert_contains "$ERR" "must be raw, agg or all" "--dataset values named"
# the config alone: datasets: raw
write_config "$TEST_TMP/raw.yml" "datasets: raw"
run_repart -c "$TEST_TMP/raw.yml" all --days 2023-11-06
assert_contains "$OUT" "1 day(s): 0 done, 1 with nothing new" "datasets: raw in the config"

# 9. every day of both datasets checks out
run_repart -c "$CFG" verify --deep --from 2023-11-01 --to 2023-11-03
assert_eq "$RC" 0 "final verify --deep ($OUT $ERR)"

# 10. verify --deep compares field values, not only counts: a day file (null
# codec, so bytes can be changed in place) with one double changed and the
# same number of records is a value_mismatch
cat >"$TEST_TMP/null.yml" <<YAML
s3:
  region: us-east-1
  endpoint_url: $S3_ENDPOINT
  path_style: true
  cold_tier: { bucket_name: cold, data_prefix: raw/ }
  repartitioned: { bucket_name: out, data_prefix: c2/, index_prefix: i2/, agg_data_prefix: c2_agg/, agg_index_prefix: i2_agg/ }
work_dir: $TEST_TMP/work2
output_codec: null
YAML
run_repart -c "$TEST_TMP/null.yml" --dataset agg all --days 2023-11-02
assert_eq "$RC" 0 "agg day 2 with the null codec ($ERR)"
run_repart -c "$TEST_TMP/null.yml" --dataset agg verify --deep --days 2023-11-02
assert_eq "$RC" 0 "verify --deep before the change ($OUT $ERR)"
K="c2_agg/$(day_part 2023-11-02)/merged.avro"
curl -sf "$S3_ENDPOINT/out/$K" -o "$TEST_TMP/n.avro" || fail "no null-codec day file"
# average 1.25 (a python source's record) becomes 1.5: same size, same records
"$PY" - "$TEST_TMP/n.avro" <<'PY' || fail "no 1.25 in the day file"
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(struct.pack("<d", 1.25))
if i < 0: sys.exit(1)
b[i:i + 8] = struct.pack("<d", 1.5)
open(sys.argv[1], "wb").write(b)
PY
"$REPART_BUILD_DIR/s3-tool" --endpoint "$S3_ENDPOINT" --path-style put out "$K" "$TEST_TMP/n.avro" >/dev/null || fail "put back"
# the bytes are no longer the committed version: the #file MD5 says so
run_repart -c "$TEST_TMP/null.yml" --dataset agg verify --days 2023-11-02
assert_eq "$RC" 1 "verify finds the changed bytes"
assert_contains "$OUT$ERR" "MD5 of its committed bytes is" "the MD5 finding"
# the index made to name these bytes (as if the merge had written the wrong
# value): only the comparison of values tells
IK="i2_agg/$(day_part 2023-11-02)/timeseries.txt"
curl -sf "$S3_ENDPOINT/out/$IK" -o "$TEST_TMP/n.idx" || fail "no agg index"
old_md5=$(awk -F'\t' '$1 == "#file" && $2 == "merged.avro" {print $4}' "$TEST_TMP/n.idx")
[ ${#old_md5} -ge 32 ] || fail "no #file MD5 in the agg index"
sed -i "s|$old_md5|$(md5sum <"$TEST_TMP/n.avro" | cut -c1-32)|" "$TEST_TMP/n.idx"
"$REPART_BUILD_DIR/s3-tool" --endpoint "$S3_ENDPOINT" --path-style put out "$IK" "$TEST_TMP/n.idx" >/dev/null || fail "put the index back"
run_repart -c "$TEST_TMP/null.yml" --dataset agg verify --deep --json --days 2023-11-02
assert_eq "$RC" 1 "verify --deep finds the changed value"
assert_contains "$OUT" '"value_mismatch"' "the kind"
assert_contains "$OUT" "but not their field values" "the message"
assert_eq "$("$PY" -c 'import json,sys; d=json.loads(sys.stdin.read()); print(sum(x["counts"].get("count_mismatch",0) for x in d["days"]))' <<<"$OUT")" 0 "the counts agree"

# 11. a long a double cannot hold (2^53 + 1) promoted to the day's double
# count: the run keeps the Avro promotion (docs/design.md, "Promotions"),
# and verify --deep reports the value it rounded
gen "$G" --from 2023-11-07 --to 2023-11-07 --series 2 --records-per-file 3 --seed 15 --agg >/dev/null
aggsrc 2023-11-07 5a countbig py-big
put_tree "$G" cold
run_repart -c "$CFG" --dataset agg all --days 2023-11-07
assert_eq "$RC" 0 "agg day 7 ($ERR)"
run_repart -c "$CFG" --dataset agg verify --deep --json --days 2023-11-07
assert_eq "$RC" 1 "verify --deep reports the rounded long"
assert_contains "$OUT" '"value_mismatch"' "value_mismatch for the rounded long"

# 12. watch: one message names an agg key, another a raw key of the same
# day: both datasets' days are processed, each once
gen "$G" --from 2023-11-08 --to 2023-11-08 --series 2 --records-per-file 3 --seed 16 --agg >/dev/null
put_tree "$G" cold
MK="$REPART_SRC_DIR/tests/helpers/make_event.py"
QA="$S3_ENDPOINT/000000000000/qa"
AK=$(cd "$G" && find "agg/$(day_part 2023-11-08)" -name '*.avro' | sort | head -1)
RK=$(cd "$G" && find "raw/$(day_part 2023-11-08)" -name '*.avro' | sort | head -1)
"$REPART_BUILD_DIR/sqs-tool" "$QA" send "$("$PY" "$MK" s3 "cold:$AK")" >/dev/null
"$REPART_BUILD_DIR/sqs-tool" "$QA" send "$("$PY" "$MK" eventbridge "cold:$RK")" >/dev/null
run_repart -c "$CFG" watch --queue "$QA" --once
assert_eq "$RC" 0 "watch --once ($ERR)"
assert_contains "$OUT" "2 day(s): 2 done" "the raw and the agg day of one batch"
fields_ok agg 2023-11-08 >/dev/null
fields_ok raw 2023-11-08 >/dev/null

# 13. (review 15) verify --deep on correct days: a source listing its fields
# in another order, longs at the ends of the int64 range promoted exactly
gen "$G" --from 2023-11-09 --to 2023-11-09 --series 2 --records-per-file 3 --seed 17 --agg >/dev/null
aggsrc 2023-11-09 6b fieldorder py-order
aggsrc 2023-11-09 6c bigexact py-bigexact
put_tree "$G" cold
run_repart -c "$CFG" --dataset agg all --days 2023-11-09
assert_eq "$RC" 0 "agg day 9 ($ERR)"
fields_ok agg 2023-11-09 >/dev/null
run_repart -c "$CFG" --dataset agg verify --deep --days 2023-11-09
assert_eq "$RC" 0 "verify --deep: fields in another order, int64 extremes ($OUT $ERR)"

# 14. (review 15) agg sources that are not SiteWise records (the schema
# "string"; a record without seriesId) fail their day, named, with nothing
# committed; verify does not crash on them
for kind in notrecord noseries; do
    d=2023-11-1$([ $kind = notrecord ] && echo 0 || echo 1)
    aggsrc $d 7d $kind py-$kind
    put_tree "$G" cold
    run_repart -c "$CFG" --dataset agg all --days $d
    assert_eq "$RC" 1 "$kind: the day fails"
    assert_contains "$ERR" "agg_py-${kind}_" "$kind: the object named"
    assert_contains "$ERR" "not SiteWise records" "$kind: why"
    curl -sf -o /dev/null "$S3_ENDPOINT/out/consolidated_agg/$(day_part $d)/merged.avro" \
        && fail "$kind: a day file was committed"
    run_repart -c "$CFG" --dataset agg verify --deep --days $d
    [ "$RC" -le 1 ] || fail "$kind: verify --deep exited $RC ($ERR)"
done

# 15. (review 15) datasets: all, the agg sources expired from the cold tier
# and an agg day file deleted: verify still checks agg (its index is there)
# and reports the missing file
"$REPART_BUILD_DIR/s3-tool" --endpoint "$S3_ENDPOINT" --path-style list cold agg/ | cut -f1 \
    >"$TEST_TMP/exp.keys"
[ -s "$TEST_TMP/exp.keys" ] || fail "no agg keys to expire"
while read -r k; do
    "$REPART_BUILD_DIR/s3-tool" --endpoint "$S3_ENDPOINT" --path-style delete cold "$k" >/dev/null
done <"$TEST_TMP/exp.keys"
assert_eq "$("$REPART_BUILD_DIR/s3-tool" --endpoint "$S3_ENDPOINT" --path-style list cold agg/)" "" "agg expired"
"$REPART_BUILD_DIR/s3-tool" --endpoint "$S3_ENDPOINT" --path-style delete out \
    "consolidated_agg/$(day_part 2023-11-01)/merged.avro" >/dev/null
run_repart -c "$CFG" verify --days 2023-11-01
assert_eq "$RC" 1 "verify with an agg day file gone"
assert_contains "$OUT" "== dataset agg" "agg verified"
assert_contains "$OUT$ERR" "missing" "the missing agg day file reported"

note "it_agg: all checks passed"
