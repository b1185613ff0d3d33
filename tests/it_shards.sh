#!/usr/bin/env bash
# --shard I/N: 4 shards over a 10-day range, run one after another and run
# concurrently, leave exactly the bucket contents one process leaves (same
# keys, same bytes), and each day is processed by exactly one shard.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold one seq conc
G="$TEST_TMP/gen"
gen "$G" --from 2023-10-01 --to 2023-10-10 --series 6 --records-per-file 20 --seed 8 >/dev/null
put_tree "$G" cold
RANGE=(--from 2023-10-01 --to 2023-10-10)
for b in one seq conc; do
    OUT_BUCKET=$b write_config "$TEST_TMP/$b.yml"
    sed -i "s|^work_dir: .*|work_dir: $TEST_TMP/work-$b|" "$TEST_TMP/$b.yml"
done

run_repart -c "$TEST_TMP/one.yml" all "${RANGE[@]}"
assert_eq "$RC" 0 "one process ($ERR)"

done_days=""
for i in 0 1 2 3; do
    run_repart -c "$TEST_TMP/seq.yml" all "${RANGE[@]}" --shard "$i/4" --report "$TEST_TMP/s$i.json"
    assert_eq "$RC" 0 "shard $i/4 ($ERR)"
    done_days+=" $(json_get "$TEST_TMP/s$i.json" "' '.join(x['day'] for x in d['days'])")"
done
assert_eq "$(tr ' ' '\n' <<<"$done_days" | sed '/^$/d' | sort | uniq -d | wc -l)" 0 "a day in two shards"
assert_eq "$(tr ' ' '\n' <<<"$done_days" | sed '/^$/d' | sort -u | wc -l)" 10 "days covered by the shards"

# concurrently, the index coming from the environment as in an AWS Batch array job
pids=()
for i in 0 1 2 3; do
    AWS_BATCH_JOB_ARRAY_INDEX=$i "$REPART" -c "$TEST_TMP/conc.yml" -q all "${RANGE[@]}" \
        --shard auto/4 >"$TEST_TMP/c$i.out" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent shard failed: $(cat "$TEST_TMP"/c*.out)"; done

bucket_ls one >"$TEST_TMP/one.ls"
[ "$(wc -l <"$TEST_TMP/one.ls")" -eq 20 ] || fail "expected 10 merged files + 10 indexes, got $(wc -l <"$TEST_TMP/one.ls")"
for b in seq conc; do
    bucket_ls "$b" >"$TEST_TMP/$b.ls"
    cmp "$TEST_TMP/one.ls" "$TEST_TMP/$b.ls" || fail "bucket $b differs from one process"
done
note "it_shards: all checks passed"
