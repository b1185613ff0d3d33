#!/usr/bin/env bash
# A reader lists and reads one day continuously while writers run and are
# killed (issue 11, "Done when"): it must never see a committed record twice
# or missing. The reader (tests/helpers/day_reader.py, python3-avro, its own
# process) writes one line per snapshot: the index's committed sources read
# first, then the day's objects as a query reads them, then the cold tier's
# sources; every record is unique, so a duplicate always shows.
# The writers are `repart all` runs through a proxy that delays every
# request (so that a kill -9 at a random instant lands inside a run), one at
# a time, with a late file or an export arriving before each; some are let
# finish, one holds before its commit (the reader must see the uncommitted
# tail, once), two die at fixed points.
# Old code: 457 of 1657 snapshots saw records twice (a killed run's merged
# file beside the committed ones, until the next run's clean-up).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"
. "$(dirname "$0")/lib_eo.sh"

eo_setup
READER="$REPART_SRC_DIR/tests/helpers/day_reader.py"
D=2023-09-15
eo_gen $D 12 40 71
t0=$(date -u -d $D +%s)
EXPORTS=("$t0" "$((t0 + 21600))" "$((t0 + 43200))" "$((t0 + 64800))")
fault_proxy_start --rate 1 --faults slow --slow-ms 50
SLOW="$TEST_TMP/slow.yml"
sed "s|endpoint_url: .*|endpoint_url: $FAULT_ENDPOINT|" "$CFG" >"$SLOW"

LOG="$TEST_TMP/reader.jsonl"
STOP="$TEST_TMP/reader.stop"
: >"$LOG"
"$PY" "$READER" watch "$S3_ENDPOINT" cold out $D "$LOG" --stop "$STOP" --max-seconds 400 \
    </dev/null >"$TEST_TMP/reader.out" 2>&1 &
reader=$!
on_exit "kill $reader 2>/dev/null || true"
snapshots() { grep -c . "$LOG" || true; }
one_snapshot() { [ "$(snapshots)" -ge 1 ]; }
wait_for "the reader's first snapshot" 30 one_snapshot

n_arrival=0
arrive() {  # the next export, then late files
    if [ $n_arrival -lt ${#EXPORTS[@]} ]; then
        eo_arrive $D "${EXPORTS[$n_arrival]}"
    else
        eo_late $D $((5 + n_arrival % 7)) $((1 + n_arrival * 5 % 40))
    fi
    n_arrival=$((n_arrival + 1))
}

# 1. fixed points: killed after the data upload (before the index), and
#    after the commit
arrive
rc=0; REPART_TEST_CRASH_AT=before_index "$REPART" -c "$CFG" -q all --days $D >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 137 "killed before the index"
arrive
rc=0; REPART_TEST_CRASH_AT=after_index "$REPART" -c "$CFG" -q all --days $D >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 137 "killed after the index"

# 2. a run that holds before its commit until the reader has seen its
#    uncommitted records (once)
arrive
n0=$(snapshots)
REPART_TEST_PAUSE_AT=before_index:20000 "$REPART" -c "$CFG" -q all --days $D >/dev/null 2>&1 &
held=$!
saw_early() { tail -n +"$((n0 + 1))" "$LOG" | grep -q '"early": [1-9]'; }
wait_for "a snapshot with records not yet committed" 20 saw_early
kill -9 $held 2>/dev/null || true
wait $held 2>/dev/null || true

# 3. random instants (seeded), through the slow proxy
RANDOM=1509
kills=0 finished=0
for i in $(seq 1 24); do
    arrive
    "$REPART" -c "$SLOW" -q all --days $D >/dev/null 2>&1 &
    pid=$!
    if [ $((i % 4)) -eq 0 ]; then
        rc=0; wait $pid || rc=$?
        [ $rc -eq 0 ] && finished=$((finished + 1))
        continue
    fi
    sleep "0.$(printf '%03d' $((RANDOM % 400 + 20)))"   # the kill's instant, not a synchronisation
    if kill -9 $pid 2>/dev/null; then kills=$((kills + 1)); fi
    wait $pid 2>/dev/null || true
done
note "writers: $kills killed, $finished let finish, $n_arrival arrivals"
[ $kills -ge 10 ] || fail "only $kills writers were killed mid-run"

# 4. a clean run commits everything; the reader's last snapshot follows it
run_repart -c "$CFG" all --days $D
assert_eq "$RC" 0 "the final run ($ERR)"
touch "$STOP"
reader_done() { ! pid_alive $reader; }
wait_for "the reader to stop" 60 reader_done
wait $reader 2>/dev/null || true
res=$("$PY" "$READER" summary "$LOG") || fail "the reader saw a violation: $res"
note "reader: $(head -1 <<<"$res")"
sum() { json_get <(head -1 <<<"$res") "d['$1']"; }
[ "$(sum snapshots)" -ge 30 ] || fail "only $(sum snapshots) snapshots"
[ "$(sum versions)" -ge 5 ] || fail "the reader saw only $(sum versions) versions of the day"
[ "$(sum with_early)" -ge 1 ] || fail "no snapshot saw an uncommitted tail"
# the last snapshot: every source, committed, exactly once
last=$(tail -1 "$LOG")
eo_eq "$(json_get <(echo "$last") "d['records'] == d['committed_records'] and d['early'] == 0")" True \
    "the last snapshot: every record committed"
assert_exact $D "after the writers"
assert_one_file $D "after the writers"
eo_done it_eo_reader
