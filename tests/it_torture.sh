#!/usr/bin/env bash
# A short run of the exactly-once torture explorer (scripts/torture; see
# docs/testing.md and docs/reliability.md "Torture explorer") against
# $REPART_BUILD_DIR/repart: a fixed seed set, each schedule drawn from its
# seed, run against fresh buckets on one fauxqs server and checked after every
# step by the explorer's own python3-avro reader.
#
# Two parts, every event kind of the explorer between them:
#   1. no crashes: every arrival, run, sample, fault and edit kind; every
#      check (the concurrent reader with the background runs).
#   2. crashes: kill -9 at random instants, SIGTERM, the crash points and
#      crashed stages, with arrivals, runs and faults; every check.
#   3. the agg dataset (issue 12): every arrival an agg_ file under agg/,
#      repart with datasets: agg, crashes and faults; every check; then
#      both datasets at once (each raw arrival with an agg twin, repart with
#      datasets: all; the twins checked exactly after the final run).
#   4. day files over 5 MiB (--pad: record values of random strings), so
#      that appends have the server copy the committed ranges, each checked
#      by its copy's ETag against the index's MD5 chain (issue 15); crashes
#      and faults; the runs' -vv lines must show that path taken.
# Exit 0 of the explorer and the expected number of schedules, else the
# explorer's findings are kept in $REPART_BUILD_DIR/torture-failed/.
. "$(dirname "$0")/lib.sh"

TORTURE="$REPART_SRC_DIR/scripts/torture"
REPART="$REPART_BUILD_DIR/repart"
[ -x "$REPART" ] || fail "no binary at $REPART"
PY=/usr/bin/python3

# Schedules per part: about a minute in all with the plain build.
N1="${TORTURE_SCHEDULES_1:-6}"
N2="${TORTURE_SCHEDULES_2:-6}"

K1=export,late,overwrite,new-series,new-property,dup-name,all,stages,event,watch,verify-repair,two-writers,sample,sample-concurrent,faults,lost-write,index-corrupt,list-overlap,index-bom-crlf,index-edit,stage-tamper,hand-placed,tick
K2=export,late,overwrite,new-series,all,stages,event,watch,crashpoint,kill9,sigterm,stage-crash,faults,lost-write,verify-repair,sample
C=final-exact,no-dup,no-loss,readable,concurrent-reader,one-file,verify-agrees,clean-exit,stage-ok

N3="${TORTURE_SCHEDULES_3:-3}"
K3=export,late,overwrite,new-series,new-property,all,stages,event,watch,two-writers,crashpoint,kill9,faults,lost-write,verify-repair,index-bom-crlf

run_part() {  # name seed schedules kinds checks [more explorer options]
    local name=$1 seed=$2 n=$3 kinds=$4 checks=$5 rc=0
    shift 5
    local out="$TEST_TMP/$name"
    "$TORTURE" --repart "$REPART" --seed "$seed" --schedules "$n" --kinds "$kinds" --checks "$checks" \
        --no-shrink --out "$out" "$@" >"$TEST_TMP/$name.log" 2>&1 || rc=$?
    cat "$TEST_TMP/$name.log"
    if [ "$rc" -ne 0 ]; then
        local keep="$REPART_BUILD_DIR/torture-failed/$name"
        rm -rf "$keep"
        mkdir -p "$keep"
        cp -r "$out/." "$TEST_TMP/$name.log" "$keep/" 2>/dev/null || true
        fail "$name: scripts/torture exited $rc (1: a violation, 2: infrastructure); kept in $keep"
    fi
    local ran
    ran=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["schedules"])' "$out/summary.json")
    assert_eq "$ran" "$n" "$name: schedules run"
}

run_part no-crash 7000 "$N1" "$K1" "$C"
note "[${SECONDS}s] no-crash: $N1 schedules, no violation"
run_part crash 7100 "$N2" "$K2" "$C"
note "[${SECONDS}s] crash: $N2 schedules, no violation"
run_part agg 7200 "$N3" "$K3" "$C" --dataset agg
run_part both 7300 "$N3" "$K3" "$C" --dataset both
note "[${SECONDS}s] agg and both: $N3 schedules each, no violation"
N4="${TORTURE_SCHEDULES_4:-3}"
COPIED="committed ranges copied; no read-back"
run_part big 7400 "$N4" "$K2" "$C" --pad 60000 --series 5-15 --repart-flag=-vv --count-lines "$COPIED"
copied=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["line_counts"][sys.argv[2]])' \
    "$TEST_TMP/big/summary.json" "$COPIED")
[ "$copied" -gt 0 ] || fail "big: no append had the server copy committed ranges"
note "[${SECONDS}s] big: $N4 schedules, no violation; $copied append(s) of copied ranges"
echo "it_torture: ok"
