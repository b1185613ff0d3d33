#!/usr/bin/env bash
# repart-gen --bucket writes the same objects, byte for byte, that
# repart-gen --out writes as files (ETag = MD5 of each single-part object).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold
ARGS=(--from 2023-01-30 --to 2023-01-31 --series 30 --records-per-file 25 --seed 5 --asset-metadata)
"$REPART_BUILD_DIR/repart-gen" --bucket cold --endpoint "$S3_ENDPOINT" --path-style "${ARGS[@]}" \
    >"$TEST_TMP/bucket.json"
"$REPART_BUILD_DIR/repart-gen" --out "$TEST_TMP/dir" "${ARGS[@]}" >"$TEST_TMP/dir.json"
cmp "$TEST_TMP/bucket.json" "$TEST_TMP/dir.json" || fail "summaries differ"
(cd "$TEST_TMP/dir" && find . -type f | sed 's|^\./||' | sort | while read -r f; do
    echo "$f $(stat -c %s "$f") $(md5sum <"$f" | cut -d' ' -f1)"
done) >"$TEST_TMP/dir.ls"
bucket_ls cold >"$TEST_TMP/bucket.ls"
[ "$(wc -l <"$TEST_TMP/dir.ls")" -gt 200 ] || fail "too few files generated"
cmp "$TEST_TMP/dir.ls" "$TEST_TMP/bucket.ls" || fail "bucket objects differ from the files"
note "it_gen_bucket: all checks passed"
