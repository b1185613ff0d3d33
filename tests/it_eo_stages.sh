#!/usr/bin/env bash
# The stage commands (download / merge / upload) under the exactly-once rules
# (issue 11, failure class 9), against fauxqs, checked with the independent
# reader (bucket_check.py) and the one-file rule:
#  9a a staged file replaced between download and merge, or between merge
#     and upload: refused (exit 1, the file named), nothing committed
#  9b equal file names under two seriesBucket folders: both merged
#  9c .avro files put by hand into <work_dir>/raw/<YYYY-M-D>/: `merge` exits
#     1 saying to run `repart download`
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"
. "$(dirname "$0")/lib_eo.sh"

eo_setup
W="$TEST_TMP/work"
folder() { local y m d; IFS=- read -r y m d <<<"$1"; echo "$y-$((10#$m))-$((10#$d))"; }
day_written() { [ -n "$(bucket_ls out "consolidated/$(day_part "$1")/")$(bucket_ls out "index/$(day_part "$1")/")" ]; }
new_objects() { json_get "$TEST_TMP/report.json" "d['totals']['new_objects']"; }

# --- 9a: a staged file replaced -----------------------------------------------
# Old code: merge did not check staged files: "9a: merge of a replaced
# staged file" exited 0 and the upload committed the wrong records.
D=2023-07-01
eo_gen $D 5 20 91
eo_arrive $D
run_repart -c "$CFG" download --days $D
eo_eq "$RC" 0 "9a: download ($ERR)"
R="$W/raw/$(folder $D)"
one=$(cd "$R" && find . -name 'raw_*.avro' | sort | sed -n 2p)
two=$(cd "$R" && find . -name 'raw_*.avro' | sort | sed -n 5p)
[ -n "$one" ] && [ -n "$two" ] || fail "9a: nothing staged under $R"
cp "$R/$one" "$TEST_TMP/saved.avro"
cp "$R/$two" "$R/$one"
run_repart -c "$CFG" merge --days $D
eo_eq "$RC" 1 "9a: merge of a replaced staged file ($OUT $ERR)"
eo_contains "$ERR" "$(basename "$one")" "9a: merge names the file"
run_repart -c "$CFG" upload --days $D
eo_eq "$RC" 1 "9a: upload of a replaced staged file ($OUT $ERR)"
day_written $D && check_fail "9a: something was written for $D"
# put back, merge, then replace it between merge and upload
mkdir -p "$(dirname "$R/$one")"   # (the old code's upload had cleaned it)
cp "$TEST_TMP/saved.avro" "$R/$one"
run_repart -c "$CFG" merge --days $D
eo_eq "$RC" 0 "9a: merge ($ERR)"
cp "$R/$two" "$R/$one" 2>/dev/null || true   # upload takes the staged files again
run_repart -c "$CFG" upload --days $D
eo_eq "$RC" 1 "9a: upload of a file replaced after the merge ($OUT $ERR)"
eo_contains "$ERR" "changed after the download" "9a: upload's message"
day_written $D && check_fail "9a: something was written for $D (2)"
# a fresh download and the three stages: exact, one file
rm -rf "$W/raw/$(folder $D)" "$W/merged/$(folder $D)"
for st in download merge upload; do
    run_repart -c "$CFG" $st --days $D
    eo_eq "$RC" 0 "9a: $st after the refusals ($ERR)"
done
assert_exact $D "9a"
assert_one_file $D "9a"
note "9a ok"

# --- 9b: equal file names in two seriesBucket folders -----------------------
# Old code: download flattened the folders, the two files collided:
# assert_exact failed (one file's records missing, the other's twice).
D=2023-07-02
eo_gen $D 4 20 92
eo_arrive $D
ser=$(cd "$G" && find "raw/$(day_part $D)" -name 'raw_*.avro' | sort | head -1)
name="$(basename "${ser%_*_*.avro}")_1688300000_GOOD.avro"
eo_mkfile "raw/$(day_part $D)/seriesBucket=0a/$name" 11
eo_mkfile "raw/$(day_part $D)/seriesBucket=0b/$name" 13
run_repart -c "$CFG" download --days $D
eo_eq "$RC" 0 "9b: download ($ERR)"
R="$W/raw/$(folder $D)"
[ -f "$R/seriesBucket=0a/$name" ] && [ -f "$R/seriesBucket=0b/$name" ] \
    || check_fail "9b: the two files are not staged in their folders: $(cd "$R" && find . -name "$name")"
for st in merge upload; do
    run_repart -c "$CFG" $st --days $D
    eo_eq "$RC" 0 "9b: $st ($ERR)"
done
assert_exact $D "9b"
assert_one_file $D "9b"
run_repart -c "$CFG" all --days $D --report "$TEST_TMP/report.json"
eo_eq "$RC" 0 "9b: all after the stages ($ERR)"
eo_eq "$(new_objects)" 0 "9b: nothing new after the stages"
note "9b ok"

# --- 9c: .avro files put by hand into the raw folder -------------------------
# Old code: "nothing new", exit 0 ("9c: merge of hand-placed files" failed).
D=2023-07-03
eo_gen $D 3 20 93
eo_arrive $D
R="$W/raw/$(folder $D)"
mkdir -p "$R"
(cd "$G/raw/$(day_part $D)" && find . -name 'raw_*.avro' -exec cp {} "$R/" \;)   # flat, as the sample did
n_hand=$(find "$R" -name '*.avro' | wc -l)
[ "$n_hand" -ge 3 ] || fail "9c: $n_hand hand-placed files"
for args in "--days $D" ""; do
    # shellcheck disable=SC2086
    run_repart -c "$CFG" merge $args
    eo_eq "$RC" 1 "9c: merge ${args:-(no days)} of hand-placed files ($OUT $ERR)"
    eo_contains "$ERR" "repart download" "9c: the message says what to run"
    eo_contains "$ERR" "$(folder $D)" "9c: the message names the folder"
done
run_repart -c "$CFG" upload --days $D
[ "$RC" -ne 0 ] || check_fail "9c: upload of hand-placed files exited 0 ($OUT $ERR)"
day_written $D && check_fail "9c: something was written for $D"
# the advice works: remove them, download, merge, upload
rm -rf "$R"
for st in download merge upload; do
    run_repart -c "$CFG" $st --days $D
    eo_eq "$RC" 0 "9c: $st ($ERR)"
done
assert_exact $D "9c"
assert_one_file $D "9c"
# a downloaded day with one more file put by hand: not silently dropped
run_repart -c "$CFG" download --days $D
eo_late $D 9
run_repart -c "$CFG" download --days $D
eo_eq "$RC" 0 "9c: download of the late file ($ERR)"
cp "$G/$LATE_KEY" "$R/raw_handplaced-series_1688400000_GOOD.avro"
run_repart -c "$CFG" merge --days $D
# old code: exit 0, the hand-placed file silently left out
eo_eq "$RC" 1 "9c: merge of a downloaded day plus a hand-placed file"
eo_contains "$ERR" "1 .avro file(s) besides the" "9c: the message counts the file"
run_repart -c "$CFG" upload --days $D
eo_eq "$RC" 1 "9c: upload of a downloaded day plus a hand-placed file"
rm -f "$R/raw_handplaced-series_1688400000_GOOD.avro"
for st in merge upload; do
    run_repart -c "$CFG" $st --days $D
    eo_eq "$RC" 0 "9c: $st without it ($ERR)"
done
assert_exact $D "9c: the late file"
note "9c ok"
eo_done it_eo_stages
