#!/usr/bin/env bash
# The original sample run between repart's stage commands, or over a day
# repart committed, merging a series repart committed too (found by review):
# a sample file the committed index does not account for is noticed by every
# later run, also one that finds nothing new, and adopted, or folded when its
# records are all held by merged.avro already; never kept beside a second
# copy. Checked with the independent reader (bucket_check.py).
#  A  download, the sample, merge, upload: a new series S staged by download
#     is merged by the sample as well (old code: S twice, for good)
#  B  the state the old code left (S in merged.avro and in the sample's new
#     file): the next run, with nothing new, folds the sample's file
#  B2 as B, then the stage commands instead of `all` (explorer seed 122085:
#     `download` with nothing new left the copy, `merge`/`upload` had no
#     staged day: records twice after a stages cycle): download folds it
#  D  as B, the sample's file holding a new series too, before `download`:
#     download leaves it, upload appends the new series and folds the file
#  C  as B, with a source the sample merged that is gone from the cold tier
#     since: the day stops naming the file; verify --repair settles it
#  E  the sample rewrites a file repart adopted: the day stops, --repair
#  F  a copy of a committed source overwritten since: folded
#  G  as F, deleted since, and another committed source deleted: folded;
#     verify --repair keeps both deleted sources' records
#  H  a sample file of deleted sources only: adopted, a later file merged
#  I  the stop of C with a committed source deleted too: --repair settles it
#  J  timeseries_type switched on a day the sample merged: no second copy
#  K  (review 16) a new source arrives and the sample merges it while a run
#     with nothing new is between its cold listing and its look at the
#     sample's files: the file, holding no source the run listed, is left
#     for the next run (old code: adopted as `unowned`, the source merged
#     again by the next run: twice, and verify said ok)
#  K2 (review 17) as K, the sample's file also holding a new source the held
#     run listed: the held run stops the day, nothing written; the next run
#     adopts the file whole (old code: the unlisted source's records counted
#     as the file's `unowned`, merged again: twice)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"
. "$(dirname "$0")/lib_eo.sh"

eo_setup
sample_files() { bucket_ls out "consolidated/$(day_part "$1")/" | grep -c '/merged_series_' || true; }
new_objects() { json_get "$TEST_TMP/report.json" "d['totals']['new_objects']"; }
# new_series DAY NAME N: a file of a new series NAME (N records) arrives
new_series() { eo_mkfile "raw/$(day_part "$1")/seriesBucket=0c/raw_$2_$(date -u -d "$1" +%s)_GOOD.avro" "$3"; }
# nth_gen N: the Nth file of day $D that eo_gen wrote (new_series writes to
# seriesBucket=0c)
nth_gen() { (cd "$G" && find "raw/$(day_part "$D")" -name 'raw_*.avro' | grep -v seriesBucket=0c/ | sort | sed -n "$1p"); }
# drop_series_line DAY NAME: the index loses NAME's series line (the sample
# then takes the series as new), #src lines kept
drop_series_line() {
    local u
    u=$(index_url "$1")
    curl -sf "$u" | grep -v -x "$2" >"$TEST_TMP/ix.txt"
    "$PY" "$EO" put "$S3_ENDPOINT" out "index/$(day_part "$1")/timeseries.txt" "$TEST_TMP/ix.txt" >/dev/null
}

# --- A: the sample between download and upload ------------------------------
D=2023-11-01
eo_gen $D 4 10 61
eo_arrive $D
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "A: first run ($ERR)"
new_series $D aaaaaaaa-1111-4111-8111-000000000001 7
run_repart -c "$CFG" download --days $D
eo_eq "$RC" 0 "A: download ($ERR)"
eo_sample $D
eo_contains "$SAMPLE_OUT" '"sources": 1' "A: the sample merged the new series"
run_repart -c "$CFG" merge --days $D
eo_eq "$RC" 0 "A: merge ($ERR)"
run_repart -c "$CFG" upload --days $D
eo_eq "$RC" 0 "A: upload ($ERR)"
assert_exact $D "A: after the upload"
assert_one_file $D "A"
run_repart -c "$CFG" all --days $D --report "$TEST_TMP/report.json"
eo_eq "$RC" 0 "A: a run after ($ERR)"
eo_eq "$(new_objects)" 0 "A: nothing new after"
assert_exact $D "A: a run after"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "A: verify ($OUT)"
note "A ok"

# --- B: S in merged.avro and in a sample file no index line names -----------
D=2023-11-02
S=bbbbbbbb-2222-4222-8222-000000000002
eo_gen $D 4 10 62
eo_arrive $D
new_series $D $S 9
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "B: first run ($ERR)"
drop_series_line $D $S
eo_sample $D
eo_contains "$SAMPLE_OUT" '"sources": 1' "B: the sample merged S again"
eo_eq "$(sample_files $D)" 1 "B: the sample's file"
run_repart -c "$CFG" all --days $D --report "$TEST_TMP/report.json"
eo_eq "$RC" 0 "B: a run with nothing new ($ERR)"
eo_eq "$(new_objects)" 0 "B: nothing new"
assert_exact $D "B: the sample's copy folded"
assert_one_file $D "B"
eo_eq "$(sample_files $D)" 0 "B: the sample's file, all of it in merged.avro, is deleted"
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "B: again ($ERR)"
assert_exact $D "B: again"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "B: verify ($OUT)"
note "B ok"

# --- B2: as B, settled by the stage commands ----------------------------------
D=2023-11-12
S=bbbbbbbb-2222-4222-8222-000000000012
eo_gen $D 4 10 72
eo_arrive $D
new_series $D $S 9
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "B2: first run ($ERR)"
drop_series_line $D $S
eo_sample $D
eo_eq "$(sample_files $D)" 1 "B2: the sample's file"
run_repart -c "$CFG" download --days $D
eo_eq "$RC" 0 "B2: download with nothing new ($ERR)"
run_repart -c "$CFG" merge --days $D
eo_eq "$RC" 0 "B2: merge ($ERR)"
run_repart -c "$CFG" upload --days $D
eo_eq "$RC" 0 "B2: upload ($ERR)"
assert_exact $D "B2: the sample's copy folded by the stages"
assert_one_file $D "B2"
eo_eq "$(sample_files $D)" 0 "B2: the sample's file deleted"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "B2: verify ($OUT)"
note "B2 ok"

# --- D: as B, with a new series in the sample's file, then the stages -------
D=2023-11-04
S=eeeeeeee-5555-4555-8555-000000000005
eo_gen $D 4 10 64
eo_arrive $D
new_series $D $S 9
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "D: first run ($ERR)"
drop_series_line $D $S
new_series $D ffffffff-6666-4666-8666-000000000006 6
eo_sample $D
eo_contains "$SAMPLE_OUT" '"sources": 2' "D: the sample merged S again and the new series"
for st in download merge; do
    run_repart -c "$CFG" $st --days $D
    eo_eq "$RC" 0 "D: $st ($ERR)"
done
eo_eq "$(sample_files $D)" 1 "D: download leaves the sample's file"
run_repart -c "$CFG" upload --days $D
eo_eq "$RC" 0 "D: upload ($ERR)"
assert_exact $D "D: after the upload"
assert_one_file $D "D"
eo_eq "$(sample_files $D)" 0 "D: the sample's file is folded and deleted"
run_repart -c "$CFG" all --days $D --report "$TEST_TMP/report.json"
eo_eq "$RC" 0 "D: a run after ($ERR)"
eo_eq "$(new_objects)" 0 "D: nothing new after"
assert_exact $D "D: a run after"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "D: verify ($OUT)"
note "D ok"

# --- C: as B, and the sample's file holds a source deleted since ------------
D=2023-11-03
S=cccccccc-3333-4333-8333-000000000003
eo_gen $D 4 10 63
eo_arrive $D
new_series $D $S 9
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "C: first run ($ERR)"
drop_series_line $D $S
new_series $D dddddddd-4444-4444-8444-000000000004 5
gone="raw/$(day_part $D)/seriesBucket=0c/raw_dddddddd-4444-4444-8444-000000000004_$(date -u -d $D +%s)_GOOD.avro"
eo_sample $D
eo_contains "$SAMPLE_OUT" '"sources": 2' "C: the sample merged S and the other"
"$PY" "$EO" delete "$S3_ENDPOINT" cold "$gone"    # the mirror keeps it: its records stay
before=$(out_ls)
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 1 "C: the day stops ($OUT $ERR)"
eo_contains "$ERR" "merged_series_$EO_SAMPLE_TS.avro" "C: the message names the file"
eo_contains "$ERR" "$D" "C: the message names the day"
eo_eq "$(out_ls)" "$before" "C: nothing written"
run_repart -c "$CFG" verify --repair --days $D
eo_eq "$RC" 0 "C: verify --repair ($OUT $ERR)"
assert_exact $D "C: repaired"
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "C: a run after the repair ($ERR)"
assert_exact $D "C: after the repair"
note "C ok"

# --- E: the sample run again in the same second rewrites the file repart ----
# adopted (review4 finding 2): old code appended the new series and went on,
# the records the index counted in the file gone for good (80 of 86 lost, also
# after verify --repair). Now the day stops; verify reports it; the repair
# adopts the file again and rebuilds what it no longer holds.
D=2023-11-05
eo_gen $D 4 10 65
eo_arrive $D
"$PY" "$EO" sample "$S3_ENDPOINT" cold out "$TEST_TMP/sample-work" 1690000777 $D >/dev/null \
    || fail "E: the sample"
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "E: adoption ($ERR)"
new_series $D eeeeeeee-5555-4555-8555-000000000005 6
"$PY" "$EO" sample "$S3_ENDPOINT" cold out "$TEST_TMP/sample-work" 1690000777 $D >/dev/null \
    || fail "E: the sample again, same second"
before=$(out_ls)
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 1 "E: the day stops ($OUT $ERR)"
eo_contains "$ERR" "merged_series_1690000777.avro, the original sample's file, is not the version" "E: said"
eo_eq "$(out_ls)" "$before" "E: nothing written"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 1 "E: verify reports the day"
REPART_REPAIR_MIN_AGE=0 run_repart -c "$CFG" verify --repair --days $D
eo_eq "$RC" 0 "E: verify --repair ($OUT $ERR)"
assert_exact $D "E: repaired"
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "E: a run after the repair ($ERR)"
assert_exact $D "E: after the repair"
note "E ok"

# --- F: a sample file no index line names holds a source merged.avro ------
# commits, and that source is overwritten before the next run (review4
# finding 1): old code left the file for good (its old records extra, every
# run exit 0); then the day stopped naming verify --repair. Now the file's
# copy is compared with the records merged.avro commits of that source (its
# old content): a second copy, so the file is folded and deleted.
D=2023-11-06
S=ffffffff-6666-4666-8666-000000000006
eo_gen $D 4 10 66
eo_arrive $D
new_series $D $S 7
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "F: first run ($ERR)"
drop_series_line $D $S
eo_sample $D
eo_contains "$SAMPLE_OUT" '"sources": 1' "F: the sample merged S again"
new_series $D $S 4          # S overwritten: 4 other records
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "F: the next run ($OUT $ERR)"
eo_contains "$OUT" "merged_series_$EO_SAMPLE_TS.avro holds the records merged.avro commits of" \
    "F: the copy is recognised"
assert_exact $D "F: after the next run"
assert_one_file $D "F"
eo_eq "$(sample_files $D)" 0 "F: the sample's file is folded and deleted"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "F: verify ($OUT)"
note "F ok"

# --- G: as F, the source deleted instead, and another committed source ------
# deleted as well (review5 findings 1, 3): the day stopped naming verify
# --repair, and the repair rebuilt from the cold tier alone, losing the
# records of both (merged.avro was their only copy). Now the sample's copy is
# folded, and a repair keeps the records of committed sources gone from the
# cold tier, as a plain rebuild does.
D=2023-11-07
S=99999999-7777-4777-8777-000000000007
eo_gen $D 4 10 67
eo_arrive $D
new_series $D $S 6
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "G: first run ($ERR)"
drop_series_line $D $S
eo_sample $D
eo_contains "$SAMPLE_OUT" '"sources": 1' "G: the sample merged S again"
"$PY" "$EO" delete "$S3_ENDPOINT" cold "raw/$(day_part $D)/seriesBucket=0c/raw_${S}_$(date -u -d $D +%s)_GOOD.avro"
first=$(nth_gen 1)
[ -n "$first" ] || fail "G: no generated file"
"$PY" "$EO" delete "$S3_ENDPOINT" cold "$first"    # the mirror keeps both: their records stay
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "G: the next run ($OUT $ERR)"
assert_exact $D "G: after the next run"
eo_eq "$(sample_files $D)" 0 "G: the sample's file is folded and deleted"
REPART_REPAIR_MIN_AGE=0 run_repart -c "$CFG" verify --repair --days $D
eo_eq "$RC" 0 "G: verify --repair ($OUT $ERR)"
assert_exact $D "G: after verify --repair (the deleted sources' records kept)"
assert_one_file $D "G"
new_series $D aaaaaaaa-7777-4777-8777-000000000017 3
"$PY" "$EO" delete "$S3_ENDPOINT" cold "$(nth_gen 2)"    # a rebuild-free append keeps it too
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "G: a run after ($ERR)"
assert_exact $D "G: a run after"
note "G ok"

# --- H: a sample file holding only sources deleted since (review5 finding --
# 4): it was never adopted (none of its records belong to a listed source),
# so a later file of its series, whose export period covers its records,
# took them for its own earlier content and the day stopped for good, also
# after verify --repair. Now the file is adopted with all its records
# unowned, and the later file is merged.
D=2023-11-08
Y=bbbbbbbb-8888-4888-8888-000000000008
eo_gen $D 2 10 68
eo_arrive $D
eo_sample $D
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "H: adoption ($ERR)"
new_series $D $Y 6
eo_sample $D
eo_contains "$SAMPLE_OUT" '"sources": 1' "H: the sample merged Y alone"
T=$(date -u -d $D +%s)
"$PY" "$EO" delete "$S3_ENDPOINT" cold "raw/$(day_part $D)/seriesBucket=0c/raw_${Y}_${T}_GOOD.avro"
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "H: a run after the delete ($ERR)"
eo_contains "$ERR" "merged_series_$EO_SAMPLE_TS.avro holds none of the day's sources" "H: said"
eo_contains "$(curl -sf "$(index_url $D)")" "merged_series_$EO_SAMPLE_TS.avro" "H: adopted"
eo_mkfile "raw/$(day_part $D)/seriesBucket=0c/raw_${Y}_$((T + 60))_GOOD.avro" 3
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "H: the later file of Y is merged ($OUT $ERR)"
assert_exact $D "H: after the later file"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "H: verify ($OUT)"
note "H ok"
# --- I: a sample file that holds a copy of a committed source and records --
# of a source deleted since (never merged by repart) stops the day; verify
# --repair adopts the file. With another committed source of merged.avro
# deleted as well (review8 finding 1), the repair kept merged.avro's lines
# and stopped the same way ("rebuild failed", exit 0, the day blocked for
# good, S twice). Now it adopts the file and keeps the deleted source's
# records from the committed merged.avro.
D=2023-11-09
S=abababab-9999-4999-8999-000000000009
Y=cdcdcdcd-9999-4999-8999-000000000019
eo_gen $D 4 10 69
eo_arrive $D
new_series $D $S 5
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "I: first run ($ERR)"
drop_series_line $D $S
new_series $D $Y 4
eo_sample $D
eo_contains "$SAMPLE_OUT" '"sources": 2' "I: the sample merged S and Y"
T=$(date -u -d $D +%s)
"$PY" "$EO" delete "$S3_ENDPOINT" cold "raw/$(day_part $D)/seriesBucket=0c/raw_${Y}_${T}_GOOD.avro"
"$PY" "$EO" delete "$S3_ENDPOINT" cold "$(nth_gen 1)"    # committed in merged.avro: its records stay
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 1 "I: the day stops ($OUT $ERR)"
eo_contains "$ERR" "verify --repair" "I: the remedy named"
REPART_REPAIR_MIN_AGE=0 run_repart -c "$CFG" verify --repair --days $D
eo_eq "$RC" 0 "I: verify --repair ($OUT $ERR)"
assert_exact $D "I: repaired (S once, Y and the deleted committed source kept)"
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "I: a run after the repair ($ERR)"
assert_exact $D "I: after the repair"
note "I ok"

# --- J: timeseries_type switched on a day the sample merged too (review8 --
# finding 3): repart ASSOCIATED, the sample merges the rest, repart
# ASSOCIATED again. Old code took the sample's file for one of sources
# deleted from the cold tier (they were only left out by the filter) and
# adopted it as such; the DISASSOCIATED run then merged them a second time.
# Now the sources the filter leaves out are offered to the sample's files
# too: adopted there, covered for every later run.
D=2023-11-10
gen "$TEST_TMP/gen-j" --from $D --to $D --series 6 --records-per-file 5 --seed 70 --asset-metadata >/dev/null
put_tree "$TEST_TMP/gen-j" cold
cp -r "$TEST_TMP/gen-j/raw/." "$G/raw/"
for ty in ASSOCIATED DISASSOCIATED ALL; do
    { echo "timeseries_type: $ty"; cat "$CFG"; } >"$TEST_TMP/j-$ty.yml"
done
run_repart -c "$TEST_TMP/j-ASSOCIATED.yml" all --days $D
eo_eq "$RC" 0 "J: ASSOCIATED ($ERR)"
eo_sample $D
run_repart -c "$TEST_TMP/j-ASSOCIATED.yml" all --days $D
eo_eq "$RC" 0 "J: ASSOCIATED after the sample ($ERR)"
run_repart -c "$TEST_TMP/j-DISASSOCIATED.yml" all --days $D
eo_eq "$RC" 0 "J: DISASSOCIATED ($ERR)"
assert_exact $D "J: after DISASSOCIATED"
run_repart -c "$TEST_TMP/j-ALL.yml" all --days $D
eo_eq "$RC" 0 "J: ALL ($ERR)"
assert_exact $D "J: after ALL"
# a repair under ASSOCIATED while a sample file holds a copy of a
# disassociated source merged.avro commits (review10 finding 3: old code
# kept it in merged.avro and adopted it into the sample's file: twice)
drop_all_series() { curl -sf "$(index_url "$1")" | grep '^#' >"$TEST_TMP/ix.txt"
    "$PY" "$EO" put "$S3_ENDPOINT" out "index/$(day_part "$1")/timeseries.txt" "$TEST_TMP/ix.txt" >/dev/null; }
drop_all_series $D                      # the sample then merges every series again
eo_sample $D
REPART_REPAIR_MIN_AGE=0 run_repart -c "$TEST_TMP/j-ASSOCIATED.yml" verify --repair --days $D
assert_exact $D "J: after a repair under ASSOCIATED"
run_repart -c "$TEST_TMP/j-ALL.yml" all --days $D
assert_exact $D "J: ALL after that repair"
# the same with a disassociated source overwritten after the sample copied
# it (review12 finding 2: the repair took it for deleted and left its old
# records in the sample's file for good)
NJ=efefefef-1010-4010-8010-000000000010  # in no asset's metadata: disassociated
new_series $D $NJ 6
run_repart -c "$TEST_TMP/j-ALL.yml" all --days $D
eo_eq "$RC" 0 "J: ALL with a new disassociated series ($ERR)"
drop_all_series $D
eo_sample $D
new_series $D $NJ 5                     # overwritten
REPART_REPAIR_MIN_AGE=0 run_repart -c "$TEST_TMP/j-ASSOCIATED.yml" verify --repair --days $D
run_repart -c "$TEST_TMP/j-ALL.yml" all --days $D
eo_eq "$RC" 0 "J: ALL after the repair ($ERR)"
assert_exact $D "J: the overwritten disassociated source once, its new content"
note "J ok"
# --- K: the sample's file written after the run listed the cold tier --------
D=2023-11-20
eo_gen $D 4 10 91
eo_arrive $D
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "K: first run ($ERR)"
for cmd in download all; do
    N=cccccccc-3333-4333-8333-00000000002$([ $cmd = download ] && echo 1 || echo 2)
    rm -f "$TEST_TMP/held"
    before=$(sample_files $D)
    REPART_TEST_PAUSE_AT=after_scan:8000:"$TEST_TMP/held" "$REPART" -c "$CFG" $cmd --days $D \
        >"$TEST_TMP/bg.out" 2>"$TEST_TMP/bg.err" &
    bg=$!
    wait_for "K: the $cmd run past its listing" 60 test -e "$TEST_TMP/held"
    new_series $D $N 7
    eo_sample $D
    eo_eq "$(sample_files $D)" $((before + 1)) "K $cmd: the sample merged the new series"
    rc=0; wait "$bg" || rc=$?
    eo_eq "$rc" 0 "K $cmd: the held run ($(cat "$TEST_TMP/bg.err"))"
    run_repart -c "$CFG" all --days $D
    eo_eq "$RC" 0 "K $cmd: the next run ($ERR)"
    assert_exact $D "K $cmd: the new series once"
    run_repart -c "$CFG" all --days $D
    assert_exact $D "K $cmd: again"
done
note "K ok"

# --- K2: as K, the file also holding a source the held run listed -----------
for cmd in all download; do
    X=dddddddd-4444-4444-8444-00000000003$([ $cmd = all ] && echo 1 || echo 3)
    N=dddddddd-4444-4444-8444-00000000003$([ $cmd = all ] && echo 2 || echo 4)
    new_series $D $X 5
    rm -f "$TEST_TMP/held"
    REPART_TEST_PAUSE_AT=after_scan:8000:"$TEST_TMP/held" "$REPART" -c "$CFG" $cmd --days $D \
        >"$TEST_TMP/bg.out" 2>"$TEST_TMP/bg.err" &
    bg=$!
    wait_for "K2: the $cmd run past its listing" 60 test -e "$TEST_TMP/held"
    new_series $D $N 7
    eo_sample $D
    rc=0; wait "$bg" || rc=$?
    eo_eq "$rc" 1 "K2 $cmd: the held run stops the day"
    eo_contains "$(cat "$TEST_TMP/bg.err")" "a rerun settles it" "K2 $cmd: why"
    run_repart -c "$CFG" all --days $D
    eo_eq "$RC" 0 "K2 $cmd: the next run ($ERR)"
    assert_exact $D "K2 $cmd: both new series once"
    run_repart -c "$CFG" all --days $D
    assert_exact $D "K2 $cmd: again"
done
note "K2 ok"
eo_done it_eo_sample_stages
