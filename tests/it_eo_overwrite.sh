#!/usr/bin/env bash
# A source overwritten in place (same key, new records) leaves its old
# records nowhere (issue 11, class 6), also where they are not in
# merged.avro: in the original sample's merged file (found when the file is
# adopted, or later), or beside records of sources deleted from the cold
# tier since (their records stay). Checked with the independent reader
# (bucket_check.py) against a mirror of what the day must hold: every
# current source's records once, and a deleted source's records once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"
. "$(dirname "$0")/lib_eo.sh"

eo_setup
nth_key() { (cd "$G" && find "raw/$(day_part "$1")" -name 'raw_*.avro' | sort | sed -n "$2p"); }
sample_files() { bucket_ls out "consolidated/$(day_part "$1")/" | grep -c '/merged_series_' || true; }

# --- A: overwritten after the sample merged it, before repart's first run ---
# Old code: all exit 0, the sample's file kept the old records (10 extra).
D=2023-10-02
eo_gen $D 5 10 2
eo_arrive $D
eo_sample $D
eo_mkfile "$(nth_key $D 3)" 12
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "A: exit ($ERR)"
eo_contains "$OUT$ERR" "was overwritten since the original sample merged it" "A: said"
assert_exact $D "A: overwritten before the adoption"
assert_one_file $D "A"
eo_eq "$(sample_files $D)" 0 "A: the sample's file, taken into merged.avro, is deleted"

# --- B: overwritten after repart adopted the sample's file ------------------
# Old code: the new records were appended, the old ones stayed in the
# sample's file (20 extra, 12 missing after two overwrites).
D=2023-10-03
eo_gen $D 5 10 3
eo_arrive $D
eo_sample $D
k4=$(nth_key $D 4)
eo_late $D 7 2
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "B: first run exit ($ERR)"
eo_eq "$(sample_files $D)" 1 "B: the sample's file adopted and kept"
assert_exact $D "B: adopted"
eo_mkfile "$k4" 12
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "B: exit ($ERR)"
assert_exact $D "B: overwritten after the adoption"
assert_one_file $D "B"
eo_eq "$(sample_files $D)" 0 "B: the sample's file is folded and deleted"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "B: verify ($OUT)"

# --- C: merged.avro holds a source deleted from the cold tier; another is ---
# overwritten. Old code: exit 1 on every run ("cannot be rebuilt without
# losing them"). Now the rebuild carries the deleted source's committed
# blocks over.
D=2023-10-04
eo_gen $D 6 10 4
eo_arrive $D
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "C: first run ($ERR)"
gone=$(nth_key $D 2)
"$PY" "$EO" delete "$S3_ENDPOINT" cold "$gone"     # the mirror keeps it: its records stay
eo_mkfile "$(nth_key $D 5)" 9
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "C: exit ($ERR)"
eo_contains "$OUT$ERR" "no longer in the cold tier were carried over" "C: said"
assert_exact $D "C: rebuilt, the deleted source's records kept"
assert_one_file $D "C"
# and once more: the kept source keeps its range in the next rebuild
eo_mkfile "$(nth_key $D 6)" 4
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "C: second rebuild ($ERR)"
assert_exact $D "C: second rebuild"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "C: verify ($OUT)"
# a rebuild that keeps records stops between its data PUT and its commit:
# merged.avro is then not the committed version, whose bytes the next run
# takes from the copy saved beside the index (old code: every later run
# stopped, and verify --repair dropped the kept records)
eo_mkfile "$(nth_key $D 5)" 7
rc=0; REPART_TEST_CRASH_AT=before_index "$REPART" -c "$CFG" -q all --days $D >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || check_fail "C: the crash point did not stop the run"
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "C: the run after the crash ($ERR)"
eo_contains "$OUT$ERR" "its committed bytes are taken from" "C: said"
assert_exact $D "C: after a rebuild stopped before its commit"
bucket_ls out "index/$(day_part $D)/" | grep -q '\.committed ' \
    && check_fail "C: the saved committed version is left behind"

# --- D: the sample's file holds a deleted source's records too: the old ----
# records of an overwritten source cannot be told apart from those, so the
# day stops with nothing written (old code: exit 0 with the old records kept).
D=2023-10-05
eo_gen $D 5 10 5
eo_arrive $D
eo_sample $D
k4=$(nth_key $D 4)
"$PY" "$EO" delete "$S3_ENDPOINT" cold "$(nth_key $D 2)"
# the deleted source's records stay where the sample put them: that is
# the expectation of check_day (the mirror keeps the file)
eo_late $D 7 3
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "D: adoption ($ERR)"
# verify counts the sample file's records that belong to no listed source
# (the deleted one's, as adoption recorded) as expected (old code: a
# count_mismatch problem for as long as the day lives)
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "D: verify after the adoption ($OUT)"
before=$(out_ls)
eo_mkfile "$k4" 12
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 1 "D: exit"
eo_contains "$ERR" "$k4" "D: the message names the object"
eo_contains "$ERR" "Nothing was written" "D: says nothing was written"
eo_eq "$(out_ls)" "$before" "D: the out bucket is unchanged"

# --- E: the run that folds the sample's file stops after its commit, -----
# before the delete (old code: the file stayed for good beside merged.avro,
# every record of it counted twice, verify ok). The index's #folded line
# has any later run delete it; verify reports it meanwhile.
D=2023-10-06
eo_gen $D 4 10 6
eo_arrive $D
eo_sample $D
eo_mkfile "$(nth_key $D 2)" 8
rc=0; REPART_TEST_CRASH_AT=after_index "$REPART" -c "$CFG" -q all --days $D >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || check_fail "E: the crash point did not stop the run"
eo_eq "$(sample_files $D)" 1 "E: the sample's file is still there after the crash"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 1 "E: verify while the folded file is there"
eo_contains "$OUT" "folded into merged.avro" "E: verify says why"
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "E: the next run ($ERR)"
eo_eq "$(sample_files $D)" 0 "E: the next run deleted the folded file"
assert_exact $D "E"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "E: verify afterwards ($OUT)"

# --- F: the stages fold the sample's file too (old code: `download` adopted
# in memory only, `upload` never named the file: kept, records twice) ------
D=2023-10-07
eo_gen $D 4 10 7
eo_arrive $D
eo_sample $D
eo_mkfile "$(nth_key $D 3)" 6
for st in download merge upload; do
    run_repart -c "$CFG" $st --days $D
    eo_eq "$RC" 0 "F: $st ($ERR)"
done
assert_exact $D "F: after the stages"
eo_eq "$(sample_files $D)" 0 "F: the sample's file is folded and deleted"

# --- G: a sample file adopted by an earlier build (its #file line has no
# ETag) is folded: the tombstone needs the version's ETag, read by a HEAD.
# That HEAD fails (three 503s): old code committed the fold with a tombstone
# naming no version, which no run ever deleted (records twice for good);
# now the day fails before anything is written, and the next run folds it.
D=2023-10-08
eo_gen $D 4 10 8
eo_arrive $D
eo_sample $D
eo_late $D 7 2
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "G: adoption ($ERR)"
ix="$TEST_TMP/g.index"
curl -sf "$(index_url $D)" | awk -F'\t' -v OFS='\t' \
    '$1 == "#file" && $2 ~ /^merged_series_/ { $7 = "-" } { print }' >"$ix"
grep -q $'^#file\tmerged_series_[0-9]*\.avro\t[^\t]*\t[^\t]*\t[^\t]*\t[^\t]*\t-\t' "$ix" \
    || check_fail "G: no adopted #file line to take the ETag from ($(cat "$ix" | grep '^#'))"
"$PY" "$EO" put "$S3_ENDPOINT" out "index/$(day_part $D)/timeseries.txt" "$ix" >/dev/null
eo_mkfile "$(nth_key $D 3)" 9
fault_proxy_start --upstream "$S3_ENDPOINT" --rate 1 --faults 503 --only HEAD \
    --only-path-regex merged_series_
sed "s|endpoint_url: .*|endpoint_url: $FAULT_ENDPOINT|" "$CFG" >"$TEST_TMP/g.yml"
before=$(out_ls)
REPART_S3_MAX_RETRIES=2 run_repart -c "$TEST_TMP/g.yml" all --days $D
fault_proxy_stop
eo_eq "$RC" 1 "G: the day fails when the folded file's ETag cannot be read"
eo_contains "$ERR" "reading the ETag of" "G: said"
eo_eq "$(out_ls)" "$before" "G: nothing written"
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "G: the next run ($ERR)"
eo_eq "$(sample_files $D)" 0 "G: the folded file is deleted"
assert_exact $D "G: folded after a failed HEAD"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "G: verify ($OUT)"

# --- H: as at the end of C, a rebuild that keeps a deleted source's records
# stops before its commit; then the overwritten source goes back to its
# committed bytes, so nothing is new. Old code: every run stopped ("run
# verify --repair"), and that repair dropped the deleted source's records
# (review3 finding 2). Now the committed version is taken from the copy.
D=2023-10-09
eo_gen $D 5 10 9
eo_arrive $D
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "H: first run ($ERR)"
"$PY" "$EO" delete "$S3_ENDPOINT" cold "$(nth_key $D 2)"   # the mirror keeps it
kb=$(nth_key $D 4)
cp "$G/$kb" "$TEST_TMP/h.orig"
eo_mkfile "$kb" 6
rc=0; REPART_TEST_CRASH_AT=before_index "$REPART" -c "$CFG" -q all --days $D >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || check_fail "H: the crash point did not stop the run"
cp "$TEST_TMP/h.orig" "$G/$kb"
"$PY" "$EO" put "$S3_ENDPOINT" cold "$kb" "$G/$kb" >/dev/null
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "H: the run after the revert ($ERR)"
eo_contains "$OUT$ERR" "its committed bytes are taken from" "H: said"
assert_exact $D "H: the deleted source's records kept"
assert_one_file $D "H"
bucket_ls out "index/$(day_part $D)/" | grep -q '\.committed ' \
    && check_fail "H: the saved committed version is left behind"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "H: verify ($OUT)"

# --- I: the fold commits, but the delete of the folded file fails (500s):
# old code said the day was done, no rerun command (review3 finding 1), and
# a range that moved on never deleted it. Now the summary and the report name
# the day for a rerun, which deletes it.
D=2023-10-10
eo_gen $D 4 10 10
eo_arrive $D
eo_sample $D
eo_mkfile "$(nth_key $D 2)" 5
fault_proxy_start --upstream "$S3_ENDPOINT" --rate 1 --faults 500 --only DELETE \
    --only-path-regex merged_series_
sed "s|endpoint_url: .*|endpoint_url: $FAULT_ENDPOINT|" "$CFG" >"$TEST_TMP/i.yml"
REPART_S3_MAX_RETRIES=1 run_repart -c "$TEST_TMP/i.yml" all --days $D --report "$TEST_TMP/i.json"
fault_proxy_stop
eo_eq "$RC" 0 "I: the day is committed ($ERR)"
eo_eq "$(sample_files $D)" 1 "I: the folded file is still there (the case tested)"
eo_contains "$OUT$ERR" "is still there: queries count its records twice" "I: said"
eo_eq "$(json_get "$TEST_TMP/i.json" 'd["days"][0].get("cleanup_pending")')" True "I: report"
eo_contains "$(json_get "$TEST_TMP/i.json" 'd["rerun"]')" "$D" "I: the rerun command names the day"
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "I: the rerun ($ERR)"
eo_eq "$(sample_files $D)" 0 "I: the rerun deleted the folded file"
assert_exact $D "I"

# --- J: a rebuild with nothing to keep (a source overwritten) is killed ------
# before its commit; then a committed source is deleted from the cold tier
# (review8 finding 2). Old code saved the committed version only for a
# rebuild that keeps records: the deleted source's records were then only
# in the uncommitted day file, every run stopped, and verify --repair lost
# them. Now every rebuild saves the committed version first.
D=2023-10-12
eo_gen $D 4 10 12
eo_arrive $D
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "J: first run ($ERR)"
x=$(nth_key $D 2)
eo_mkfile "$x" 6                         # overwritten: a rebuild, nothing gone
rc=0; REPART_TEST_CRASH_AT=before_index "$REPART" -c "$CFG" -q all --days $D >/dev/null 2>&1 || rc=$?
eo_eq "$rc" 137 "J: the rebuild killed before its commit"
"$PY" "$EO" delete "$S3_ENDPOINT" cold "$(nth_key $D 5)"   # the mirror keeps it: its records stay
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "J: the next run ($ERR)"
assert_exact $D "J: the deleted source's records kept"
# the same kill, then the overwritten source restored and something new
# (review10 s06: old code appended to a day file that is not the committed
# version, and every run stopped asking for verify --repair)
cp "$G/$x" "$TEST_TMP/j-committed.avro"
eo_mkfile "$x" 5
rc=0; REPART_TEST_CRASH_AT=before_index "$REPART" -c "$CFG" -q all --days $D >/dev/null 2>&1 || rc=$?
eo_eq "$rc" 137 "J: the second rebuild killed before its commit"
cp "$TEST_TMP/j-committed.avro" "$G/$x"
"$PY" "$EO" put "$S3_ENDPOINT" cold "$x" "$G/$x" >/dev/null
eo_late $D 3
run_repart -c "$CFG" all --days $D
eo_eq "$RC" 0 "J: the run after the second kill ($ERR)"
assert_exact $D "J: the deleted source's records kept"
assert_one_file $D "J"
run_repart -c "$CFG" verify --days $D
eo_eq "$RC" 0 "J: verify ($OUT)"

eo_done it_eo_overwrite
