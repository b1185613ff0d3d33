#!/usr/bin/env bash
# Memory does not grow with the day: `repart all` over a day of more than
# 1 GB of sources stays under 64 MiB peak RSS. Default settings, except 8 MiB
# parts (the local server refuses bodies over 11 MiB; part buffers are held
# to the same 32 MiB budget either way: (parts in flight + 1) x part size).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

if grep -q libasan <<<"$(ldd "$REPART")"; then  # (no pipe: grep -q would cut ldd short, SIGPIPE)
    note "it_memory: skipped under AddressSanitizer (its shadow memory is not the program's)"
    exit 0
fi
repart_setup cold out
CFG="$TEST_TMP/config.yml"
write_config "$CFG"
sed -i 's/^concurrency: .*/concurrency: 16/; s/^part_size_mb: .*/part_size_mb: 8/' "$CFG"
G="$TEST_TMP/gen"
gen "$G" --from 2023-07-04 --to 2023-07-04 --series 1200 --records-per-file 12500 --seed 9 >"$TEST_TMP/gen.json"
bytes=$(json_get "$TEST_TMP/gen.json" "d['bytes']")
[ "$bytes" -gt 1000000000 ] || fail "generated day has only $bytes bytes"
put_tree "$G" cold
rm -rf "$G"   # the disk copy is not needed any more

RC=0
/usr/bin/time -f '%M' -o "$TEST_TMP/rss" "$REPART" -c "$CFG" -q all --days 2023-07-04 \
    --report "$TEST_TMP/r.json" 2>"$TEST_TMP/err" || RC=$?
assert_eq "$RC" 0 "all over a 1 GB day ($(cat "$TEST_TMP/err"))"
rss=$(tail -1 "$TEST_TMP/rss")
note "peak RSS ${rss} KiB for a day of $bytes bytes"
[ "$rss" -lt 65536 ] || fail "peak RSS $rss KiB is not under 64 MiB"
assert_eq "$(json_get "$TEST_TMP/r.json" "d['totals']['records']")" \
    "$(json_get "$TEST_TMP/gen.json" "d['records']")" "records merged"
line=$(bucket_ls out "consolidated/")
size=$(awk '{print $2}' <<<"$line")
assert_eq "$size" "$(json_get "$TEST_TMP/r.json" "d['totals']['bytes_out']")" "merged object size"
[[ "$(awk '{print $3}' <<<"$line")" == *-* ]] || fail "a 1 GB day was not uploaded in parts ($line)"
note "it_memory: all checks passed"
