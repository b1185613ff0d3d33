#!/usr/bin/env bash
# repart all through the fault-injecting proxy (tests/helpers/faultproxy.mjs):
#  1. 10% of all requests fail (500, 503, reset, truncate, slow past the
#     client's timeout): the bucket ends up identical (keys, sizes, ETags) to
#     a clean run's into another bucket;
#  2. every request fails: exit 1 naming every day, nothing written; every
#     write fails (reads pass): nothing committed, the multipart upload of
#     the big day aborted (no object); writes applied upstream whose answers
#     are lost: no index, and a clean rerun gives the clean run's bucket;
#  3. truncated source GETs are resumed, corrupt ones (right length, a byte
#     flipped: only the MD5 tells) fetched again, corrupt re-reads of the
#     merged file read again: never merged, results equal the clean run;
#  4. through a pass-through proxy: a rerun with nothing new GETs no source
#     and writes nothing; one late file is exactly one source GET.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold clean out fail1 fail2 fail3 trunc corrupt counted
G="$TEST_TMP/gen"
gen "$G" --from 2023-05-01 --to 2023-05-04 --series 20 --records-per-file 50 --seed 3 >/dev/null
# one day whose merged file (> 5 MiB) goes up in two parts
gen "$G" --from 2023-05-05 --to 2023-05-05 --series 20 --records-per-file 4000 --seed 4 >/dev/null
put_tree "$G" cold
DAYS=(2023-05-01 2023-05-02 2023-05-03 2023-05-04 2023-05-05)
RANGE=(--from 2023-05-01 --to 2023-05-05)
n_src=$(find "$G" -name '*.avro' | wc -l)

# cfg NAME OUT_BUCKET ENDPOINT: a config writing into OUT_BUCKET through ENDPOINT
cfg() {
    OUT_BUCKET=$2 write_config "$TEST_TMP/$1.yml"
    sed -i "s|endpoint_url: .*|endpoint_url: $3|; s|^work_dir: .*|work_dir: $TEST_TMP/work-$1|" \
        "$TEST_TMP/$1.yml"
    echo "$TEST_TMP/$1.yml"
}
# same_as_clean BUCKET what: the bucket's keys, sizes and ETags are the clean run's
same_as_clean() {
    bucket_ls "$1" >"$TEST_TMP/ls-$1"
    diff "$TEST_TMP/ls-clean" "$TEST_TMP/ls-$1" >&2 || fail "$2: bucket $1 differs from the clean run"
}

# --- the clean run, straight to the server
run_repart -c "$(cfg clean clean "$S3_ENDPOINT")" all "${RANGE[@]}"
assert_eq "$RC" 0 "clean run ($ERR)"
bucket_ls clean >"$TEST_TMP/ls-clean"
for d in "${DAYS[@]:0:4}"; do check_day clean "$d" "$G/raw/$(day_part "$d")"; done
assert_eq "$(grep -c '^consolidated/' "$TEST_TMP/ls-clean")" 5 "merged files of the clean run"
assert_eq "$(grep -c '^index/' "$TEST_TMP/ls-clean")" 5 "indexes of the clean run"
big=$(grep "^consolidated/$(day_part 2023-05-05)/" "$TEST_TMP/ls-clean")
[[ "$(awk '{print $3}' <<<"$big")" == *-2 ]] || fail "the big day did not go up in two parts: $big"

export REPART_S3_TIMEOUT_MS=800 REPART_S3_RETRY_BASE_MS=20

# --- 1. 10% of all requests fail
fault_proxy_start --rate 0.1 --seed "${FAULT_SEED:-5}" --faults 500,503,reset,truncate,slow --slow-ms 5000
run_repart -c "$(cfg f1 out "$FAULT_ENDPOINT")" all "${RANGE[@]}"
assert_eq "$RC" 0 "run at 10% faults ($ERR)"
same_as_clean out "10% faults"
n_req=$(fault_log_count)
n_faults=$(fault_log_count --fault any)
counts=""
for f in 500 503 reset truncate slow; do
    c=$(fault_log_count --fault $f)
    [ "$c" -gt 0 ] || fail "no $f fault was injected ($n_faults faults in $n_req requests)"
    counts="$counts $f=$c"
done
note "10% faults: $n_faults faults in $n_req requests:$counts"
fault_proxy_stop

