#!/usr/bin/env bash
# Merges the reference Avro files with repart-avro (src/avro/merge.c) and checks
# every output with an independent reader (python3-avro, tests/avro_dump.py):
#  - each file alone, into each codec: merged with the same record multiset,
#    or rejected with a message naming it (and then python3-avro rejects it
#    too);
#  - several files of different codecs into one; same inputs -> same bytes;
#  - schema resolution against files written by python3-avro (extra field,
#    missing field with a default, int->long promotion).
set -euo pipefail
B=${REPART_BUILD_DIR:-build}
S=${REPART_SRC_DIR:-.}
TOOL="$B/repart-avro"
PY=/usr/bin/python3
DUMP="$S/tests/avro_dump.py"
DATA="$S/tests/data/avro"
[ -x "$TOOL" ] || { echo "missing $TOOL (build first)"; exit 1; }
T=$(mktemp -d /tmp/repart-it-merge.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

dump_sorted() { "$PY" "$DUMP" "$@" | LC_ALL=C sort; }

# 1. every reference file alone, into every codec (python runs once per batch)
mkdir -p "$T/src" "$T/out"
i=0
while IFS= read -r f; do
  i=$((i + 1))
  cp "$f" "$T/src/$i.avro"
  echo "$f" >"$T/src/$i.name"
  for c in null deflate snappy; do
    if "$TOOL" merge -o "$T/out/$i-$c.avro" --codec "$c" "$f" >/dev/null 2>"$T/out/$i-$c.msg"; then
      :
    else
      rm -f "$T/out/$i-$c.avro"
      grep -qF "$f" "$T/out/$i-$c.msg" || bad "$f ($c): error does not name the file: $(cat "$T/out/$i-$c.msg")"
      [ -e "$T/out/$i-$c.avro.part" ] && bad "$f ($c): .part file left behind"
    fi
  done
done < <(find "$DATA" -type f \( -name '*.avro' -o -name '*.avro12' \) | LC_ALL=C sort)
"$PY" "$DUMP" --to-files "$T"/src/*.avro "$T"/out/*.avro >/dev/null 2>&1 || true
checked=0 rejected=0
for n in $(seq 1 "$i"); do
  f=$(cat "$T/src/$n.name")
  for c in null deflate snappy; do
    if [ -e "$T/out/$n-$c.avro" ]; then
      if [ ! -e "$T/src/$n.avro.dump" ]; then
        bad "$f ($c): merged, but python3-avro cannot read the source: $(cat "$T/src/$n.avro.err")"
        continue
      fi
      [ -e "$T/out/$n-$c.avro.dump" ] || { bad "$f ($c): output unreadable"; continue; }
      cmp -s "$T/src/$n.avro.dump" "$T/out/$n-$c.avro.dump" || bad "$f ($c): records differ"
      [ -s "$T/src/$n.avro.dump" ] || bad "$f ($c): no records?"
      checked=$((checked + 1))
    else
      [ -e "$T/src/$n.avro.dump" ] && bad "$f ($c): rejected ($(cat "$T/out/$n-$c.msg")) but python3-avro reads it"
      rejected=$((rejected + 1))
    fi
  done
done
echo "single files: $checked merges checked, $rejected rejections"
[ "$checked" -eq 57 ] || bad "expected 19 good files x 3 codecs, got $checked"
[ "$rejected" -eq 15 ] || bad "expected 5 bad files x 3 codecs, got $rejected"
# specific messages
"$TOOL" merge -o "$T/o" "$DATA/share/test/data/weather-zstd.avro" 2>"$T/err" && bad "zstd accepted"
grep -q "unsupported codec 'zstandard'" "$T/err" || bad "zstd message: $(cat "$T/err")"
"$TOOL" merge -o "$T/o" "$DATA/share/test/data/test.avro12" 2>"$T/err" && bad "avro12 accepted"
grep -q 'Obj\\x00' "$T/err" || bad "old magic message: $(cat "$T/err")"

# 2. weather in four codecs into one snappy file; syncInMeta twice
W="$DATA/share/test/data"
set -- "$W/weather.avro" "$W/weather-deflate.avro" "$W/weather-snappy.avro" "$W/weather-sorted.avro"
"$TOOL" merge -o "$T/w1.avro" --codec snappy "$@" >"$T/stats"
grep -q '"copied":1,"recoded":3' "$T/stats" || bad "weather modes: $(cat "$T/stats")"
dump_sorted "$@" >"$T/want"
dump_sorted "$T/w1.avro" >"$T/got"
cmp -s "$T/want" "$T/got" || bad "weather x4: records differ"
[ "$(wc -l <"$T/got")" -eq 20 ] || bad "weather x4: expected 20 records"
"$TOOL" merge -o "$T/w2.avro" --codec snappy "$@" >/dev/null
cmp -s "$T/w1.avro" "$T/w2.avro" || bad "same sources, different bytes"
"$TOOL" merge -o "$T/s.avro" --codec null "$W/syncInMeta.avro" "$W/syncInMeta.avro" >/dev/null
[ "$("$PY" "$DUMP" --count "$T/s.avro" | cut -d' ' -f1)" -eq 12002 ] || bad "syncInMeta x2 count"
# a bad file among good ones: --keep-going merges the rest, exit 1
if "$TOOL" merge -o "$T/k.avro" --keep-going "$W/weather.avro" "$W/weather-zstd.avro" \
     "$W/weather-snappy.avro" >"$T/stats" 2>"$T/err"; then
  bad "--keep-going with a bad file exited 0"
fi
[ "$("$PY" "$DUMP" --count "$T/k.avro" | cut -d' ' -f1)" -eq 10 ] || bad "keep-going count"

# 3. resolution against files written by python3-avro
"$PY" - "$T" <<'EOF'
import json, sys
import avro.schema, avro.datafile, avro.io
t = sys.argv[1]
base = {"type": "record", "name": "Weather", "namespace": "test", "fields": [
    {"name": "station", "type": "string"}, {"name": "time", "type": "long"},
    {"name": "temp", "type": "int"}]}
extra = json.loads(json.dumps(base))
extra["fields"].insert(1, {"name": "extra", "type": ["null", "string"], "default": None})
out = json.loads(json.dumps(base))
out["fields"][2]["type"] = "long"                      # int -> long
out["fields"].append({"name": "site", "type": "string", "default": "unknown"})
def write(path, schema, codec, recs):
    s = avro.schema.parse(json.dumps(schema))
    with open(path, "wb") as f:
        w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), s, codec=codec)
        for r in recs:
            w.append(r)
        w.close()
write(t + "/extra.avro", extra, "snappy",
      [{"station": "s%d" % i, "extra": "x" if i % 2 else None, "time": i, "temp": -i} for i in range(50)])
write(t + "/plain.avro", base, "deflate",
      [{"station": "p%d" % i, "time": 100 + i, "temp": i} for i in range(30)])
with open(t + "/out.avsc", "w") as f:
    json.dump(out, f)
with open(t + "/expected", "w") as f:
    rows = [{"station": "s%d" % i, "time": i, "temp": -i, "site": "unknown"} for i in range(50)]
    rows += [{"station": "p%d" % i, "time": 100 + i, "temp": i, "site": "unknown"} for i in range(30)]
    for r in sorted(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in rows):
        f.write(r + "\n")
EOF
"$TOOL" merge -o "$T/r.avro" --codec snappy --schema "$T/out.avsc" "$T/extra.avro" "$T/plain.avro" >"$T/stats"
grep -q '"resolved":2' "$T/stats" || bad "resolution modes: $(cat "$T/stats")"
dump_sorted "$T/r.avro" >"$T/got"
LC_ALL=C sort "$T/expected" >"$T/want"
cmp -s "$T/want" "$T/got" || { bad "resolved records differ"; diff "$T/want" "$T/got" | head -5; }

[ "$fail" -eq 0 ] && echo "it_merge: all checks passed"
exit "$fail"
