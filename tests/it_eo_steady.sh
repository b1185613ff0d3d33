#!/usr/bin/env bash
# Steady state (issue 11, "Done when"): a day fed by SiteWise's four six-hour
# exports and two late files, with a run after each arrival, ends with one
# repart file holding exactly the sources' records; after every run the day
# is exact (independent reader, bucket_check.py), has one repart file, and
# the new merged.avro starts with every byte of the one before (a reader
# never sees a committed record twice or missing across the switch).
#  A: `repart all --days D` after each arrival
#  B: `repart event FILE` with the S3 notification of the arrival
#     (tests/helpers/make_event.py)
# Old code: exact after every run, but one more merged_<hash>.avro per run
# (the one-file checks and "merged.avro did not grow" failed, 24 checks).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"
. "$(dirname "$0")/lib_eo.sh"

eo_setup
MK="$REPART_SRC_DIR/tests/helpers/make_event.py"
exports() { local t; t=$(date -u -d "$1" +%s); echo "$t $((t + 21600)) $((t + 43200)) $((t + 64800))"; }
new_objects() { json_get "$TEST_TMP/report.json" "d['totals']['new_objects']"; }
get_day_file() {  # get_day_file DAY OUT: the day's merged.avro (empty when none)
    curl -s -o "$2" -w '%{http_code}' "$S3_ENDPOINT/out/consolidated/$(day_part "$1")/merged.avro" >"$TEST_TMP/code"
    [ "$(cat "$TEST_TMP/code")" = 200 ] || : >"$2"
}
# the keys that arrive with an export (relative to the bucket)
keys_of() { (cd "$POOL" && find "raw/$(day_part "$1")" -name "raw_*_$2_*.avro" | sort); }

# after DAY WHAT N: the checks after one run that had N new objects
after() {
    local day=$1 what=$2 n=$3
    assert_exact "$day" "$what"
    assert_one_file "$day" "$what"
    eo_eq "$(new_objects)" "$n" "$what: new objects"
    get_day_file "$day" "$TEST_TMP/now.avro"
    local before_size
    before_size=$(stat -c %s "$TEST_TMP/prev.avro")
    [ "$(stat -c %s "$TEST_TMP/now.avro")" -gt "$before_size" ] || check_fail "$what: merged.avro did not grow"
    cmp -s -n "$before_size" "$TEST_TMP/prev.avro" "$TEST_TMP/now.avro" \
        || check_fail "$what: merged.avro does not start with the bytes of its previous version"
    cp "$TEST_TMP/now.avro" "$TEST_TMP/prev.avro"
}

for mode in all event; do
    case $mode in all) D=2023-08-01; seed=61 ;; event) D=2023-08-02; seed=62 ;; esac
    eo_gen $D 10 30 $seed
    : >"$TEST_TMP/prev.avro"
    read -r t0 t1 t2 t3 <<<"$(exports $D)"
    step=0
    for arrival in "$t0" late "$t1" "$t2" late "$t3"; do
        step=$((step + 1))
        if [ "$arrival" = late ]; then
            eo_late $D 17 $((step * 3))
            keys=("$LATE_KEY")
        else
            eo_arrive $D "$arrival"
            mapfile -t keys < <(keys_of $D "$arrival")
        fi
        what="$mode, arrival $step ($arrival, ${#keys[@]} objects)"
        if [ $mode = all ]; then
            run_repart -c "$CFG" all --days $D --report "$TEST_TMP/report.json"
        else
            recs=()
            for k in "${keys[@]}"; do recs+=("cold:$k"); done
            "$PY" "$MK" s3 "${recs[@]}" >"$TEST_TMP/event.json"
            run_repart -c "$CFG" event --report "$TEST_TMP/report.json" "$TEST_TMP/event.json"
        fi
        eo_eq "$RC" 0 "$what: exit ($ERR)"
        after $D "$what" "${#keys[@]}"
    done
    # the same event again / a rerun: nothing new, nothing written
    before=$(out_ls)
    if [ $mode = all ]; then
        run_repart -c "$CFG" all --days $D --report "$TEST_TMP/report.json"
    else
        run_repart -c "$CFG" event --report "$TEST_TMP/report.json" "$TEST_TMP/event.json"
    fi
    eo_eq "$RC" 0 "$mode: rerun ($ERR)"
    eo_eq "$(new_objects)" 0 "$mode: rerun: nothing new"
    eo_eq "$(out_ls)" "$before" "$mode: the rerun changed the bucket"
    note "$mode: ok"
done
run_repart -c "$CFG" verify --days 2023-08-01,2023-08-02
eo_eq "$RC" 0 "verify of both days ($OUT $ERR)"
eo_done it_eo_steady
