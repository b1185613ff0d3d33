#!/usr/bin/env bash
# No leak and no memory error over whole runs of repart under valgrind
# (memcheck: --leak-check=full, definite and indirect leaks are errors):
# plan; all on new days; a rerun with nothing new; a late file; a corrupt
# source failing its day; the staged download / merge / upload; verify.
# Small data, so that it stays fast. Skipped when the binary is built with
# AddressSanitizer (which has its own leak checker) or valgrind is missing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

if grep -q libasan <<<"$(ldd "$REPART")"; then  # (no pipe: grep -q would cut ldd short, SIGPIPE)
    note "it_leaks: skipped (AddressSanitizer build: LeakSanitizer checks it)"
    exit 0
fi
if ! command -v valgrind >/dev/null; then
    note "it_leaks: skipped (no valgrind; scripts/setup installs it)"
    exit 0
fi

repart_setup cold out
CFG="$TEST_TMP/config.yml"
write_config "$CFG"
sed -i 's/^concurrency: .*/concurrency: 4/' "$CFG"
G="$TEST_TMP/gen"
gen "$G" --from 2023-08-01 --to 2023-08-03 --series 3 --records-per-file 20 --seed 5 >/dev/null
put_tree "$G" cold

VG_RC=99
n_runs=0
# vg WHAT EXPECTED_RC ARGS...: runs repart under memcheck
vg() {
    local what=$1 want=$2
    shift 2
    local log="$TEST_TMP/vg-$n_runs.log" rc=0
    n_runs=$((n_runs + 1))
    valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=$VG_RC --num-callers=30 \
        --log-file="$log" "$REPART" -c "$CFG" "$@" >"$TEST_TMP/vg.out" 2>"$TEST_TMP/vg.err" || rc=$?
    if [ "$rc" -eq "$VG_RC" ] || grep -q 'ERROR SUMMARY: [1-9]\|definitely lost\|indirectly lost\|Invalid ' "$log"; then
        cat "$log" >&2
        fail "$what: memcheck found errors (log above)"
    fi
    assert_eq "$rc" "$want" "$what: exit ($(tail -3 "$TEST_TMP/vg.err"))"
}

vg "plan" 0 plan --from 2023-08-01 --to 2023-08-03
vg "all on new days" 0 all --from 2023-08-01 --to 2023-08-02
vg "rerun with nothing new" 0 all --from 2023-08-01 --to 2023-08-02

# a late file, and a truncated source in another day (that day fails)
f=$(find "$G/raw/$(day_part 2023-08-01)" -name '*.avro' | sort | sed -n 1p)
rel=${f#"$G/"}
mkdir -p "$TEST_TMP/more/$(dirname "$rel")"
cp "$f" "$TEST_TMP/more/${rel%_*_GOOD.avro}_1690900000_GOOD.avro"
bad="raw/$(day_part 2023-08-02)/seriesBucket=00/raw_broken-series_1690934400_GOOD.avro"
mkdir -p "$TEST_TMP/more/$(dirname "$bad")"
head -c 300 "$f" >"$TEST_TMP/more/$bad"
put_tree "$TEST_TMP/more" cold
vg "late file and a corrupt source" 1 all --from 2023-08-01 --to 2023-08-02

# the staged commands on the third day
vg "download" 0 download --days 2023-08-03
vg "merge" 0 merge --days 2023-08-03
vg "upload" 0 upload --days 2023-08-03
check_day out 2023-08-03 "$G/raw/$(day_part 2023-08-03)"
vg "verify" 0 verify --days 2023-08-01,2023-08-03
note "it_leaks: $n_runs runs under memcheck, no leak, no error"
