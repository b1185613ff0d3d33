#!/usr/bin/env bash
# Every key of a day accounted for, the same on a day of one listing page and
# on a day of many (issue 12):
#  - keys that are not data (a zero-byte folder marker of the day or of a
#    seriesBucket folder, a temp file, a manifest directly under the day, a
#    file in another folder) are skipped with one warning per day, counted by
#    `plan`, and do not stop the day;
#  - .avro keys that do not parse, wherever they are under the day (directly
#    under it, in seriesBucket=A0 (upper case), in another folder), fail the
#    day, named, and `verify` reports them; once removed the day commits.
# Each layout is put on two days: one run with the default page size (one
# page per day), one with REPART_S3_LIST_PAGE_SIZE=3 (many pages: the
# folder listing, the 16 seriesBucket listings and one per other folder).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

# IT_SCAN_SERVER=s3rver (tests/it_scan_s3rver.sh): the same against s3rver,
# another server's listing, delimiter and paging; its signed-only GETs leave
# the day checks to `verify` there.
if [ "${IT_SCAN_SERVER:-fauxqs}" = s3rver ]; then
    s3_start s3rver cold out
    COLD_BUCKET=cold
    check_day() { :; }
else
    repart_setup cold out
fi
CFG="$TEST_TMP/config.yml"
write_config "$CFG"
G="$TEST_TMP/gen"
gen "$G" --from 2023-11-01 --to 2023-11-04 --series 3 --records-per-file 5 --seed 12 >/dev/null
put_tree "$G" cold
src_of() { echo "$G/raw/$(day_part "$1")"; }
put_obj() {   # put_obj KEY FILE|"" (empty body)
    if [ -n "$2" ]; then
        curl -sf -X PUT -H "Content-Type: application/octet-stream" --data-binary "@$2" "$S3_ENDPOINT/cold/$1" >/dev/null || fail "PUT $1"
    else
        curl -sf -X PUT -H "Content-Type: application/octet-stream" --data-binary "" "$S3_ENDPOINT/cold/$1" >/dev/null || fail "PUT $1"
    fi
}
del() { curl -sf -X DELETE "$S3_ENDPOINT/cold/$1" >/dev/null || fail "DELETE $1"; }
printf '{"manifest":1}\n' >"$TEST_TMP/manifest.json"
some_avro=$(find "$(src_of 2023-11-01)" -name '*.avro' | sort | sed -n 1p)
n_data=$(find "$(src_of 2023-11-01)" -name '*.avro' | wc -l)
[ "$n_data" -gt 6 ] || fail "too few objects per day for a many-page day: $n_data"

# days 1 (one page) and 2 (many pages): not data, skipped
for d in 2023-11-01 2023-11-02; do
    p="raw/$(day_part "$d")"
    put_obj "$p/" ""                                                 # folder marker of the day
    put_obj "$p/seriesBucket=00/" ""                                 # folder marker of a bucket
    put_obj "$p/_manifest.json" "$TEST_TMP/manifest.json"            # directly under the day
    put_obj "$p/seriesBucket=01/raw_x_1700000000_GOOD.avro.tmp" "$some_avro"   # a temp file
    put_obj "$p/tmp/part-0001" "$TEST_TMP/manifest.json"             # another folder
    put_obj "$p/_temporary_attempt_0123456789abcdef0123456789abcdef/x" "$TEST_TMP/manifest.json"
done
# days 3 (one page) and 4 (many pages): .avro keys that do not parse
for d in 2023-11-03 2023-11-04; do
    p="raw/$(day_part "$d")"
    put_obj "$p/raw_loose-series_1700000000_GOOD.avro" "$some_avro"             # under the day
    put_obj "$p/seriesBucket=A0/raw_upper-series_1700000000_GOOD.avro" "$some_avro"
    put_obj "$p/other/raw_other-series_1700000000_GOOD.avro" "$some_avro"
    put_obj "$p/seriesBucket=0a/agg_notraw_1700000000_GOOD.avro" "$some_avro"
done

# plan: the same counts whatever the page size
plan_counts() {   # plan_counts DAY [page size]: sets COUNTS, LISTINGS
    if [ -n "${2:-}" ]; then
        REPART_S3_LIST_PAGE_SIZE=$2 run_repart -c "$CFG" plan --days "$1" --json
    else
        run_repart -c "$CFG" plan --days "$1" --json
    fi
    assert_eq "$RC" 0 "plan $1 ($ERR)"
    echo "$OUT" >"$TEST_TMP/plan.json"
    COUNTS=$(json_get "$TEST_TMP/plan.json" \
        '"%d %d %d" % (d["days"][0]["objects"], d["days"][0]["bad_keys"], d["days"][0]["skipped_keys"])')
    LISTINGS=$(json_get "$TEST_TMP/plan.json" 'd["days"][0]["listings"]')
}
plan_counts 2023-11-01
assert_eq "$COUNTS" "$n_data 0 6" "plan, small day, not data"
assert_eq "$LISTINGS" 1 "a small day is one listing"
assert_contains "$ERR" "6 key(s) that are not data skipped" "plan warns about skipped keys"
plan_counts 2023-11-02 3
assert_eq "$COUNTS" "$n_data 0 6" "plan, big day, not data"
# first page + the folder listing + 16 seriesBucket listings + tmp/ + _temporary.../
assert_eq "$LISTINGS" 20 "a big day: first page, folders, 16 groups, 2 other folders"
plan_counts 2023-11-03
assert_eq "$COUNTS" "$n_data 4 0" "plan, small day, bad keys"
plan_counts 2023-11-04 3
assert_eq "$COUNTS" "$n_data 4 0" "plan, big day, bad keys"
assert_contains "$ERR" "do not parse" "plan warns about bad keys"

# all: days 1 and 3 with one page each, days 2 and 4 with many
run_repart -c "$CFG" all --days 2023-11-01,2023-11-03
r_small_rc=$RC r_small_err=$ERR
REPART_S3_LIST_PAGE_SIZE=3 run_repart -c "$CFG" all --days 2023-11-02,2023-11-04
r_big_rc=$RC r_big_err=$ERR
assert_eq "$r_small_rc" 1 "small days: the day with bad keys fails"
assert_eq "$r_big_rc" 1 "big days: the day with bad keys fails"
for pair in "2023-11-01:$r_small_err" "2023-11-02:$r_big_err"; do
    d=${pair%%:*} err=${pair#*:}
    assert_contains "$err" "$d: 6 key(s) under raw/$(day_part "$d")/ that are not data skipped" \
        "one warning for $d"
    [ "$(grep -c "skipped_keys\|not data skipped" <<<"$err")" = 1 ] || fail "more than one warning for $d: $err"
    check_day out "$d" "$(src_of "$d")"
done
for pair in "2023-11-03:$r_small_err" "2023-11-04:$r_big_err"; do
    d=${pair%%:*} err=${pair#*:}
    assert_contains "$err" "error: $d: 4 .avro key(s) under raw/$(day_part "$d")/ do not parse" \
        "bad keys fail $d"
    assert_eq "$(bucket_ls out "index/$(day_part "$d")/" | wc -l)" 0 "nothing committed on $d"
done

# verify names the bad keys (a problem) and the skipped ones (a warning)
run_repart -c "$CFG" verify --days 2023-11-01,2023-11-03
assert_eq "$RC" 1 "verify with bad keys"
assert_contains "$OUT" "bad_key" "verify: bad keys"
assert_contains "$OUT" "4 .avro key(s) under raw/$(day_part 2023-11-03)/ do not parse" "verify: count"
assert_contains "$OUT" "6 key(s) under raw/$(day_part 2023-11-01)/ that are not data" "verify: skipped"
REPART_S3_LIST_PAGE_SIZE=3 run_repart -c "$CFG" verify --days 2023-11-04 --json
assert_eq "$RC" 1 "verify, big day with bad keys"
echo "$OUT" >"$TEST_TMP/v.json"
assert_eq "$(json_get "$TEST_TMP/v.json" 'd["days"][0]["counts"]["bad_key"]')" 1 "verify --json: bad_key"

# the culprits removed: both days commit with exactly their sources
for d in 2023-11-03 2023-11-04; do
    p="raw/$(day_part "$d")"
    del "$p/raw_loose-series_1700000000_GOOD.avro"
    del "$p/seriesBucket=A0/raw_upper-series_1700000000_GOOD.avro"
    del "$p/other/raw_other-series_1700000000_GOOD.avro"
    del "$p/seriesBucket=0a/agg_notraw_1700000000_GOOD.avro"
done
run_repart -c "$CFG" all --days 2023-11-03
assert_eq "$RC" 0 "small day after the culprits went ($ERR)"
REPART_S3_LIST_PAGE_SIZE=3 run_repart -c "$CFG" all --days 2023-11-04
assert_eq "$RC" 0 "big day after the culprits went ($ERR)"
for d in 2023-11-03 2023-11-04; do check_day out "$d" "$(src_of "$d")"; done
# reruns on many pages find nothing new
REPART_S3_LIST_PAGE_SIZE=3 run_repart -c "$CFG" all --days 2023-11-01,2023-11-02,2023-11-03,2023-11-04
assert_eq "$RC" 0 "rerun ($ERR)"
run_repart -c "$CFG" verify --days 2023-11-01,2023-11-02,2023-11-03,2023-11-04
assert_eq "$RC" 0 "verify after all committed ($OUT)"

# The SiteWise keyPrefix configured as data_prefix (one level too high): a
# range that lists nothing is a configuration error naming the fix, not
# "nothing new"; key_prefix takes raw/ below it. (Not on s3rver: its
# delimiter listing skips keys two folders down or more, so it never shows
# the CommonPrefix sw/raw/ that S3 does.)
if [ "${IT_SCAN_SERVER:-fauxqs}" = s3rver ]; then
    note "it_scan: all checks passed"
    exit 0
fi
mkdir -p "$TEST_TMP/nest/sw"
cp -r "$G/raw" "$TEST_TMP/nest/sw/"
put_tree "$TEST_TMP/nest" cold
sed 's#data_prefix: raw/ }#data_prefix: sw/ }#' "$CFG" >"$TEST_TMP/high.yml"
sed 's#data_prefix: raw/ }#key_prefix: sw/ }#; s#index_prefix: index/#index_prefix: index-sw/#; s#data_prefix: consolidated/#data_prefix: consolidated-sw/#' \
    "$CFG" >"$TEST_TMP/keyprefix.yml"
grep -q "data_prefix: sw/" "$TEST_TMP/high.yml" || fail "config edit"
run_repart -c "$TEST_TMP/high.yml" all --days 2023-11-01
assert_eq "$RC" 2 "all with the keyPrefix as data_prefix ($OUT $ERR)"
assert_contains "$ERR" "s3.cold_tier.data_prefix \"sw/\" lists nothing for these days, and s3://cold/sw/raw/ is right below it" \
    "all names the prefix and the fix"
run_repart -c "$TEST_TMP/high.yml" plan --days 2023-11-01
assert_eq "$RC" 2 "plan with the keyPrefix as data_prefix"
assert_contains "$ERR" "key_prefix: sw/" "plan names the fix"
run_repart -c "$TEST_TMP/keyprefix.yml" all --days 2023-11-01
assert_eq "$RC" 0 "all with key_prefix ($ERR)"
assert_contains "$OUT$ERR" "Reviewing --> year: 2023, month: 11, day: 1: $n_data objects" "key_prefix lists the day"
# an empty range under the right prefix is still "nothing new"
run_repart -c "$CFG" all --days 2023-12-25
assert_eq "$RC" 0 "an empty day under the right prefix ($ERR)"
note "it_scan: all checks passed"
