#!/usr/bin/env bash
# Two writers, one day (locking: on), through the conditional-write proxy:
# no local S3 server supports If-None-Match / If-Match, the proxy implements
# S3's semantics for them (tests/helpers/condproxy.mjs).
#  - two concurrent `repart all` of one day: one commits, the other is told
#    the day is taken; afterwards every record is in the bucket exactly once
#    and no lease is left behind;
#  - a commit whose index changed since the scan (another writer without the
#    lease) is refused (412), nothing lost, the rerun finds nothing new;
#  - an expired lease (a writer that died) is taken over; a live one is not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
cond_proxy_start
G="$TEST_TMP/gen"
gen "$G" --from 2023-09-01 --to 2023-09-02 --series 15 --records-per-file 30 --seed 21 >/dev/null
put_tree "$G" cold
CFG="$TEST_TMP/lock.yml"
write_config "$CFG" "locking: on"
sed -i "s|endpoint_url: .*|endpoint_url: $COND_ENDPOINT|" "$CFG"
P1=$(day_part 2023-09-01)
P2=$(day_part 2023-09-02)

# 1. Two concurrent writers of 2023-09-01: A holds the day before its commit
#    (it creates a.held as the hold starts; B runs then, and is done long
#    before A's hold of 6 s ends).
RC_A=0
REPART_TEST_PAUSE_AT=before_index:6000:"$TEST_TMP/a.held" "$REPART" -c "$CFG" all --days 2023-09-01 \
    >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
pid_a=$!
await "writer A holding 2023-09-01 before its commit" 60 test -e "$TEST_TMP/a.held"
run_repart -c "$CFG" all --days 2023-09-01
wait "$pid_a" || RC_A=$?
assert_eq "$RC_A" 0 "writer A ($(cat "$TEST_TMP/a.err"))"
assert_eq "$RC" 1 "writer B while A holds the day"
assert_contains "$ERR" "another writer" "B names the reason"
assert_contains "$ERR" "holds this day until"
[ "$(cond_log_count --status 412)" -ge 1 ] || fail "no conditional write was refused"
check_day out 2023-09-01 "$G/raw/$P1"
grep -q repart-lease <<<"$(bucket_ls out "index/$P1/")" && fail "a lease object was left behind"
run_repart -c "$CFG" all --days 2023-09-01 --report "$TEST_TMP/r.json"
assert_eq "$RC" 0 "rerun after the race ($ERR)"
assert_eq "$(json_get "$TEST_TMP/r.json" "d['totals']['new_objects']")" 0 "rerun merges nothing"

# 2. The index changes under a writer: B (locking off, so it takes no lease)
#    commits 2023-09-02, with a late file A has not seen, while A waits
#    before its commit. A's conditional commit is refused.
CFG_OFF="$TEST_TMP/off.yml"
write_config "$CFG_OFF" "locking: off"
sed -i "s|endpoint_url: .*|endpoint_url: $COND_ENDPOINT|" "$CFG_OFF"
RC_A=0
rm -f "$TEST_TMP/a.held"
REPART_TEST_PAUSE_AT=before_index:6000:"$TEST_TMP/a.held" "$REPART" -c "$CFG" all --days 2023-09-02 \
    >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
pid_a=$!
await "writer A holding 2023-09-02 before its commit" 60 test -e "$TEST_TMP/a.held"
# a late file arrives after A's scan: B's commit differs from A's
late_dir="$TEST_TMP/late2/raw/$P2/seriesBucket=01"
mkdir -p "$late_dir"
f=$(find "$G/raw/$P2" -name '*.avro' -print -quit)
cp "$f" "$late_dir/raw_late-series_1693612800_GOOD.avro"
put_tree "$TEST_TMP/late2" cold
cp "$f" "$G/raw/$P2/raw_late-series_1693612800_GOOD.avro"
run_repart -c "$CFG_OFF" all --days 2023-09-02
assert_eq "$RC" 0 "writer without the lease ($ERR)"
wait "$pid_a" || RC_A=$?
assert_eq "$RC_A" 1 "writer whose index changed under it"
assert_contains "$(cat "$TEST_TMP/a.err")" "changed since this run read it"
check_day out 2023-09-02 "$G/raw/$P2"
run_repart -c "$CFG" all --days 2023-09-02 --report "$TEST_TMP/r2.json"
assert_eq "$RC" 0 "rerun ($ERR)"
assert_eq "$(json_get "$TEST_TMP/r2.json" "d['totals']['new_objects']")" 0 "nothing new after the refused commit"
check_day out 2023-09-02 "$G/raw/$P2"   # A's uncommitted file was removed as an orphan

# 3. Leases left by others: a live one blocks, an expired one is taken over.
late_dir="$TEST_TMP/late/raw/$P1/seriesBucket=00"
mkdir -p "$late_dir"
f=$(find "$G/raw/$P1" -name '*.avro' -print -quit)
cp "$f" "$late_dir/raw_late-series_1693526400_GOOD.avro"
put_tree "$TEST_TMP/late" cold
cp "$f" "$G/raw/$P1/raw_late-series_1693526400_GOOD.avro"
now=$(date +%s)
echo "{\"owner\":\"elsewhere:1:abc\",\"acquired\":$now,\"expires\":$((now + 600))}" >"$TEST_TMP/lease"
curl -sf -X PUT -H 'Content-Type: application/json' --data-binary @"$TEST_TMP/lease" \
    "$S3_ENDPOINT/out/index/$P1/.repart-lease" >/dev/null
run_repart -c "$CFG" all --days 2023-09-01
assert_eq "$RC" 1 "a live lease of another writer"
assert_contains "$ERR" "elsewhere:1:abc"
echo "{\"owner\":\"elsewhere:1:abc\",\"acquired\":$((now - 4000)),\"expires\":$((now - 2200))}" >"$TEST_TMP/lease"
curl -sf -X PUT -H 'Content-Type: application/json' --data-binary @"$TEST_TMP/lease" \
    "$S3_ENDPOINT/out/index/$P1/.repart-lease" >/dev/null
run_repart -c "$CFG" all --days 2023-09-01 --report "$TEST_TMP/r3.json"
assert_eq "$RC" 0 "an expired lease is taken over ($ERR)"
assert_eq "$(json_get "$TEST_TMP/r3.json" "d['totals']['new_objects']")" 1 "the late file merged"
check_day out 2023-09-01 "$G/raw/$P1"
grep -q repart-lease <<<"$(bucket_ls out "index/$P1/")" && fail "lease not released"
note "it_locking: all checks passed"
