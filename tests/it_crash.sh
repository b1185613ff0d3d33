#!/usr/bin/env bash
# kill -9 of `repart all` at many points, with late files arriving between
# runs, then a rerun: every source record is in exactly one merged file of its
# day (checked by python3-avro), and no merged file is left that the index
# does not name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
CFG="$TEST_TMP/config.yml"
write_config "$CFG"
sed -i 's/^concurrency: .*/concurrency: 2/' "$CFG"
G="$TEST_TMP/gen"
gen "$G" --from 2023-06-01 --to 2023-06-03 --series 60 --records-per-file 300 --seed 11 >/dev/null
put_tree "$G" cold
DAYS=(2023-06-01 2023-06-02 2023-06-03)
RANGE=(--from 2023-06-01 --to 2023-06-03)

# adds one late file (a copy of an existing source under a new timestamp) to day $1
n_late=0
add_late() {
    local dir="$G/raw/$(day_part "$1")" f base
    f=$(find "$dir" -name '*.avro' -print -quit)
    base=$(basename "$f")
    n_late=$((n_late + 1))
    local new="${base%_*_GOOD.avro}_$((1700000000 + n_late))_GOOD.avro"
    local rel="raw/$(day_part "$1")/$(basename "$(dirname "$f")")"
    rm -rf "$TEST_TMP/late"
    mkdir -p "$TEST_TMP/late/$rel"
    cp "$f" "$TEST_TMP/late/$rel/$new"
    cp "$f" "$(dirname "$f")/$new"
    put_tree "$TEST_TMP/late" cold
}

kills=0
# 1. Deterministic points: mid merge, after the data upload before the
#    index, after the index before the orphan clean-up.
for point in mid_merge before_index after_index; do
    add_late "${DAYS[$((kills % 3))]}"
    rc=0
    REPART_TEST_CRASH_AT=$point "$REPART" -c "$CFG" -q all "${RANGE[@]}" >/dev/null 2>&1 || rc=$?
    assert_eq "$rc" 137 "killed at $point"
    kills=$((kills + 1))
done

# 2. Random moments (seeded, so a failure can be replayed). The runs go
#    through a proxy that delays every request by 25 ms, so that a kill lands
#    inside a run (listing, fetching, uploading or committing) and not after it.
fault_proxy_start --rate 1 --faults slow --slow-ms 25
SLOW_CFG="$TEST_TMP/slow.yml"
sed "s|endpoint_url: .*|endpoint_url: $FAULT_ENDPOINT|" "$CFG" >"$SLOW_CFG"
RANDOM=42
for i in $(seq 1 30); do
    [ "$kills" -ge 13 ] && break
    add_late "${DAYS[$((i % 3))]}"
    "$REPART" -c "$SLOW_CFG" -q all "${RANGE[@]}" >/dev/null 2>&1 &
    pid=$!
    sleep "0.$(printf '%03d' $((RANDOM % 300 + 10)))"
    if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null || true
done
note "killed $kills runs ($n_late late files added)"
[ "$kills" -ge 10 ] || fail "only $kills runs were killed mid-way"

# 3. The rerun completes; every record exactly once.
run_repart -c "$CFG" all "${RANGE[@]}" --report "$TEST_TMP/final.json"
assert_eq "$RC" 0 "final run exit ($ERR)"
for d in "${DAYS[@]}"; do check_day out "$d" "$G/raw/$(day_part "$d")"; done
# every merged file is named by the index, and every name the index uses exists
for d in "${DAYS[@]}"; do
    p=$(day_part "$d")
    have=$(bucket_ls out "consolidated/$p/" | awk '{n=$1; sub(".*/","",n); print n}' | sort)
    named=$(curl -sf "$S3_ENDPOINT/out/index/$p/timeseries.txt" | awk -F'\t' '$1=="#src"{print $5}' | sort -u)
    assert_eq "$have" "$named" "merged files of $d vs the names in its index"
done
note "it_crash: all checks passed"
