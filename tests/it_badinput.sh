#!/usr/bin/env bash
# Bad input fails only its day, with a message naming the culprit, and
# commits nothing of it (DESIGN §5); the other days go on:
#  - a .avro key under a day's prefix that is not a cold-tier file name;
#  - a source that is valid Avro of another schema (not resolvable);
#  - an empty source object;
#  - an index object in the bucket with a malformed line;
#  - a staged day's state file (work dir) that is truncated, or edited
#    (negative size): `merge` / `upload` fail the day, name the file.
# After the culprit is removed or repaired, the rerun commits the day with
# exactly its sources' records.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
CFG="$TEST_TMP/config.yml"
write_config "$CFG"
G="$TEST_TMP/gen"
gen "$G" --from 2023-10-01 --to 2023-10-06 --series 3 --records-per-file 10 --seed 8 >/dev/null
put_tree "$G" cold
RANGE=(--from 2023-10-01 --to 2023-10-04)
src_of() { echo "$G/raw/$(day_part "$1")"; }
B="$TEST_TMP/bad"
# put_bad DAY NAME FILE: uploads FILE as DAY's seriesBucket=00/NAME
put_bad() {
    rm -rf "$B"
    mkdir -p "$B/raw/$(day_part "$1")/seriesBucket=00"
    cp "$3" "$B/raw/$(day_part "$1")/seriesBucket=00/$2"
    put_tree "$B" cold
}
# committed DAY: 1 when the day has an index object
committed() { bucket_ls out "index/$(day_part "$1")/" | wc -l; }
del() { curl -sf -X DELETE "$S3_ENDPOINT/$1" >/dev/null || fail "DELETE $1"; }

printf 'not avro' >"$TEST_TMP/notes.txt"
put_bad 2023-10-01 notes.avro "$TEST_TMP/notes.txt"
put_bad 2023-10-02 raw_weather-series_1696204800_GOOD.avro \
    "$REPART_SRC_DIR/tests/data/avro/share/test/data/weather.avro"
: >"$TEST_TMP/empty"
put_bad 2023-10-03 raw_empty-series_1696291200_GOOD.avro "$TEST_TMP/empty"

run_repart -c "$CFG" all "${RANGE[@]}" --report "$TEST_TMP/r1.json"
assert_eq "$RC" 1 "exit with bad sources"
assert_contains "$ERR" "error: 2023-10-01: " "bad key: day named"
assert_contains "$ERR" "seriesBucket=00/notes.avro" "bad key: key named"
assert_contains "$ERR" "error: 2023-10-02: " "foreign schema: day named"
assert_contains "$ERR" "raw_weather-series_1696204800_GOOD.avro" "foreign schema: object named"
assert_contains "$ERR" "error: 2023-10-03: " "empty source: day named"
assert_contains "$ERR" "raw_empty-series_1696291200_GOOD.avro" "empty source: object named"
assert_contains "$ERR" "all --days 2023-10-01,2023-10-02,2023-10-03" "rerun command"
for d in 2023-10-01 2023-10-02 2023-10-03; do
    assert_eq "$(committed "$d")" 0 "index of failed day $d"
    assert_eq "$(bucket_ls out "consolidated/$(day_part "$d")/" | wc -l)" 0 "merged files of failed day $d"
done
assert_eq "$(committed 2023-10-04)" 1 "the good day is committed"
check_day out 2023-10-04 "$(src_of 2023-10-04)"

# culprits removed: the rerun commits the three days
del "cold/raw/$(day_part 2023-10-01)/seriesBucket=00/notes.avro"
del "cold/raw/$(day_part 2023-10-02)/seriesBucket=00/raw_weather-series_1696204800_GOOD.avro"
del "cold/raw/$(day_part 2023-10-03)/seriesBucket=00/raw_empty-series_1696291200_GOOD.avro"
run_repart -c "$CFG" all "${RANGE[@]}"
assert_eq "$RC" 0 "rerun after the culprits went ($ERR)"
for d in 2023-10-01 2023-10-02 2023-10-03; do check_day out "$d" "$(src_of "$d")"; done

# a malformed index line: the day fails naming the index and the line
ikey="index/$(day_part 2023-10-04)/timeseries.txt"
curl -sf "$S3_ENDPOINT/out/$ikey" >"$TEST_TMP/index.txt"
printf '#src\tseriesBucket=00/raw_x_1_GOOD.avro\tnot-a-size\te\tm.avro\n' >>"$TEST_TMP/index.txt"
mkdir -p "$TEST_TMP/ix/$(dirname "$ikey")"
cp "$TEST_TMP/index.txt" "$TEST_TMP/ix/$ikey"
put_tree "$TEST_TMP/ix" out
cp "$(find "$(src_of 2023-10-04)" -name '*.avro' | sort | sed -n 1p)" "$TEST_TMP/late.avro"
put_bad 2023-10-04 raw_late-series_1696377600_GOOD.avro "$TEST_TMP/late.avro"
bucket_ls out >"$TEST_TMP/ls-before"
run_repart -c "$CFG" all --days 2023-10-04
assert_eq "$RC" 1 "exit with a malformed index"
assert_contains "$ERR" "$ikey" "index named"
assert_contains "$ERR" "line $(wc -l <"$TEST_TMP/index.txt")" "line named"
bucket_ls out >"$TEST_TMP/ls-after"
cmp -s "$TEST_TMP/ls-before" "$TEST_TMP/ls-after" || fail "a day with a malformed index changed the bucket"

# a staged day whose state file is damaged: merge / upload fail that day
run_repart -c "$CFG" download --days 2023-10-05,2023-10-06
assert_eq "$RC" 0 "download ($ERR)"
st5="$TEST_TMP/work/raw/2023-10-5/repart-day.json"
st6="$TEST_TMP/work/raw/2023-10-6/repart-day.json"
[ -f "$st5" ] && [ -f "$st6" ] || fail "no state files in the work dir: $(find "$TEST_TMP/work" -name '*.json')"
cp "$st5" "$TEST_TMP/st5.json"
head -c 200 "$TEST_TMP/st5.json" >"$st5"               # truncated
run_repart -c "$CFG" merge --days 2023-10-05,2023-10-06
assert_eq "$RC" 1 "merge with a truncated state file"
assert_contains "$ERR" "error: 2023-10-05: " "day named"
assert_contains "$ERR" "$st5" "state file named"
cp "$TEST_TMP/st5.json" "$st5"
run_repart -c "$CFG" merge --days 2023-10-05
assert_eq "$RC" 0 "merge after the state file is back ($ERR)"
mst6="$TEST_TMP/work/merged/2023-10-6/repart-day.json"
"$PY" - "$mst6" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["sources"][0]["size"] = -5      # an edit that would break the index
json.dump(d, open(sys.argv[1], "w"))
EOF
run_repart -c "$CFG" upload --days 2023-10-05,2023-10-06
assert_eq "$RC" 1 "upload with an edited state file"
assert_contains "$ERR" "error: 2023-10-06: " "day named"
assert_contains "$ERR" "source 0 is malformed" "what is wrong"
assert_eq "$(committed 2023-10-06)" 0 "index of the day with a bad state file"
assert_eq "$(committed 2023-10-05)" 1 "the other day is committed"
check_day out 2023-10-05 "$(src_of 2023-10-05)"
note "it_badinput: all checks passed"
