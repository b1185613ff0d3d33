#!/usr/bin/env bash
# timeseries_type ASSOCIATED / DISASSOCIATED with the associated series taken
# from the cold tier's asset_metadata files: each run merges exactly its part
# of the day, and together they hold every record once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
G="$TEST_TMP/gen"
gen "$G" --from 2023-08-08 --to 2023-08-08 --series 20 --records-per-file 20 --seed 4 --asset-metadata >/dev/null
put_tree "$G" cold
P=$(day_part 2023-08-08)
SRC="$G/raw/$P"
# the generator's associated series are the <asset>_<property> ids
mkdir -p "$TEST_TMP/assoc" "$TEST_TMP/disassoc"
for f in $(find "$SRC" -name '*.avro'); do
    id=$(basename "$f"); id=${id#raw_}; id=${id%_*_*.avro}
    if [[ "$id" == *_* ]]; then cp "$f" "$TEST_TMP/assoc/"; else cp "$f" "$TEST_TMP/disassoc/"; fi
done
n_assoc=$(ls "$TEST_TMP/assoc" | wc -l)
n_dis=$(ls "$TEST_TMP/disassoc" | wc -l)
[ "$n_assoc" -gt 0 ] && [ "$n_dis" -gt 0 ] || fail "generator gave $n_assoc associated, $n_dis other files"

write_config "$TEST_TMP/a.yml" "timeseries_type: ASSOCIATED"
run_repart -c "$TEST_TMP/a.yml" all --days 2023-08-08 --report "$TEST_TMP/r1.json"
assert_eq "$RC" 0 "ASSOCIATED run ($ERR)"
assert_eq "$(json_get "$TEST_TMP/r1.json" "d['totals']['new_objects']")" "$n_assoc" "associated objects merged"
check_day out 2023-08-08 "$TEST_TMP/assoc"

write_config "$TEST_TMP/d.yml" "timeseries_type: DISASSOCIATED"
run_repart -c "$TEST_TMP/d.yml" all --days 2023-08-08 --report "$TEST_TMP/r2.json"
assert_eq "$RC" 0 "DISASSOCIATED run ($ERR)"
assert_eq "$(json_get "$TEST_TMP/r2.json" "d['totals']['new_objects']")" "$n_dis" "other objects merged"
check_day out 2023-08-08 "$SRC"     # together: every record of the day once

write_config "$TEST_TMP/all.yml"
run_repart -c "$TEST_TMP/all.yml" all --days 2023-08-08 --report "$TEST_TMP/r3.json"
assert_eq "$(json_get "$TEST_TMP/r3.json" "d['totals']['new_objects']")" 0 "ALL after both: nothing new"
note "it_tstype: all checks passed"
