#!/usr/bin/env bash
# repart-gen: writes the cold-tier layout, same arguments -> same bytes, the
# files are read by python3-avro, and a generated day merges by block copy
# into a file with all of the day's records.
set -euo pipefail
B=${REPART_BUILD_DIR:-build}
S=${REPART_SRC_DIR:-.}
GEN="$B/repart-gen"
TOOL="$B/repart-avro"
PY=/usr/bin/python3
DUMP="$S/tests/avro_dump.py"
T=$(mktemp -d /tmp/repart-it-gen.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

args=(--from 2024-02-28 --to 2024-03-01 --series 12 --records-per-file 300 --asset-metadata)
"$GEN" --out "$T/a" "${args[@]}" --seed 7 >"$T/sum.json"
"$GEN" --out "$T/b" "${args[@]}" --seed 7 >/dev/null
diff -r "$T/a" "$T/b" >/dev/null || bad "same arguments, different output"
"$GEN" --out "$T/c" "${args[@]}" --seed 8 >/dev/null
diff -r -q "$T/a" "$T/c" >/dev/null && bad "different seed, same output"

# summary vs what is on disk
read -r files records bytes mfiles < <("$PY" -c '
import json,sys; s=json.load(open(sys.argv[1]))
print(s["files"], s["records"], s["bytes"], s["metadata_files"])' "$T/sum.json")
n=$(find "$T/a/raw" -name '*.avro' | wc -l)
[ "$n" -eq "$files" ] || bad "summary says $files files, found $n"
[ "$files" -eq $((3 * 12 * 4)) ] || bad "expected 144 files, got $files"
[ "$records" -eq $((files * 300)) ] || bad "records $records"
b=$(find "$T/a/raw" -name '*.avro' -printf '%s\n' | awk '{s+=$1} END {print s}')
[ "$b" -eq "$bytes" ] || bad "summary says $bytes bytes, found $b"
m=$(find "$T/a/asset_metadata" -name 'asset_*.ndjson' | wc -l)
[ "$m" -eq "$mfiles" ] || bad "metadata files $m vs $mfiles"
# 2024 is a leap year: Feb 29 exists; month/day not padded; bucket = 2 hex digits
for d in startYear=2024/startMonth=2/startDay=28 startYear=2024/startMonth=2/startDay=29 \
         startYear=2024/startMonth=3/startDay=1; do
  [ -d "$T/a/raw/$d" ] || bad "missing partition $d"
done
find "$T/a/raw" -name '*.avro' | grep -Ev '/seriesBucket=[0-9a-f]{2}/raw_[0-9a-f-]{36}(_[0-9a-f-]{36})?_[0-9]+_GOOD\.avro$' \
  && bad "unexpected key shape"

# python3-avro reads every file of one day; counts match
day="$T/a/raw/startYear=2024/startMonth=2/startDay=29"
"$PY" "$DUMP" --count $(find "$day" -name '*.avro' | sort) >"$T/counts" || bad "python3-avro read errors"
[ "$(awk '{s+=$1} END {print s}' "$T/counts")" -eq $((12 * 4 * 300)) ] || bad "python record count"
# metadata (the user guide's shape): timeSeriesId = assetId_assetPropertyId
"$PY" - "$T/a/asset_metadata" <<'EOF' || bad "asset metadata"
import json, os, sys
d = sys.argv[1]
n = 0
for f in os.listdir(d):
    for line in open(os.path.join(d, f)):
        j = json.loads(line)
        assert j["timeSeriesId"] == j["assetId"] + "_" + j["assetPropertyId"], j
        assert j["assetPropertyDataType"] in ("STRING", "INTEGER", "DOUBLE", "BOOLEAN", "STRUCT"), j
        assert f == "asset_%s.ndjson" % j["assetId"], f
        n += 1
assert n > 0
EOF

# the day merges by block copy; output holds the same records
"$TOOL" merge -o "$T/day.avro" --sitewise --codec snappy $(find "$day" -name '*.avro' | sort) >"$T/m.json"
grep -q '"copied":48,' "$T/m.json" || bad "merge modes: $(cat "$T/m.json")"
"$PY" "$DUMP" $(find "$day" -name '*.avro') | LC_ALL=C sort >"$T/want"
"$PY" "$DUMP" "$T/day.avro" | LC_ALL=C sort >"$T/got"
cmp -s "$T/want" "$T/got" || bad "merged day differs from its sources"
[ "$(wc -l <"$T/got")" -eq 14400 ] || bad "merged day record count"

# usage errors exit 2
set +e
"$GEN" --out "$T/x" >/dev/null 2>&1; [ $? -eq 2 ] || bad "missing --from: exit not 2"
"$GEN" --out "$T/x" --from 2023-02-30 >/dev/null 2>&1; [ $? -eq 2 ] || bad "bad day: exit not 2"
"$GEN" --out "$T/x" --from 2023-01-01 --codec zstd >/dev/null 2>&1; [ $? -eq 2 ] || bad "bad codec: exit not 2"
set -e

[ "$fail" -eq 0 ] && echo "it_gen: all checks passed"
exit "$fail"
