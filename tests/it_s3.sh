#!/usr/bin/env bash
# Integration test of the S3 client (src/aws/s3.c) through scripts/tools/s3-tool
# against local servers: fauxqs (listing across pages, byte-exact PUT/GET/
# Range GET/multipart, abort, awkward keys) and s3rver (which checks SigV4:
# our signed requests pass, a wrong secret is refused with 403).
. "$(dirname "$0")/lib.sh"

TOOL="$REPART_BUILD_DIR/s3-tool"
[ -x "$TOOL" ] || fail "no $TOOL (build first)"

s3() { "$TOOL" --endpoint "$S3_ENDPOINT" --path-style "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- fauxqs
s3_start fauxqs data-bkt
note "fauxqs on $S3_ENDPOINT"

# 1. A listing of > 2,000 keys under one prefix spans pages and is exact:
#    nothing missing, nothing doubled, nothing from outside the prefix.
N=2345
s3 put-many data-bkt "day/startDay=1/" "$N" --threads 16
s3 put-many data-bkt "day/startDay=10/" 7 --threads 2   # shares the string prefix "day/startDay=1"
s3 put-many data-bkt "dax/" 3 --threads 1
s3 --stats list data-bkt "day/startDay=1/" >"$TEST_TMP/list.tsv" 2>"$TEST_TMP/list.err"
cut -f1 "$TEST_TMP/list.tsv" >"$TEST_TMP/listed"
for ((i = 0; i < N; i++)); do printf 'day/startDay=1/%06d\n' "$i"; done >"$TEST_TMP/expected"
cmp "$TEST_TMP/listed" "$TEST_TMP/expected" || fail "listing of day/startDay=1/ differs from what was put"
pages="$(sed -n 's/.*stats: list \([0-9]*\) .*/\1/p' "$TEST_TMP/list.err")"
assert_eq "$pages" 3 "ListObjectsV2 requests for $N keys"
note "$(grep '^listed' "$TEST_TMP/list.err")"
# sizes and ETags come through: object 42 holds "object 42\n" (10 bytes)
line="$(grep -P '^day/startDay=1/000042\t' "$TEST_TMP/list.tsv")"
printf 'object 42\n' >"$TEST_TMP/o42"
assert_eq "$line" "day/startDay=1/000042	10	$(md5sum "$TEST_TMP/o42" | cut -d' ' -f1)" "listing entry"
assert_eq "$(s3 list data-bkt day/ | wc -l)" "$((N + 7))" "keys under day/"
assert_eq "$(s3 list data-bkt nothing-here/ | wc -l)" 0 "keys under an empty prefix"

# 2. Byte-exact round trips: single PUT, multipart with 8 MiB parts, Range GET.
head -c 5000000 /dev/urandom >"$TEST_TMP/single"
s3 put data-bkt blobs/single "$TEST_TMP/single" >/dev/null
s3 get data-bkt blobs/single "$TEST_TMP/single.out"
assert_eq "$(sha "$TEST_TMP/single.out")" "$(sha "$TEST_TMP/single")" "single PUT/GET"

head -c 20000000 /dev/urandom >"$TEST_TMP/big"   # 8 MiB + 8 MiB + 3.2 MB
etag="$(s3 put-multipart data-bkt blobs/big "$TEST_TMP/big" --part-size 8388608)"
case "$etag" in *-3) ;; *) fail "multipart ETag '$etag' does not end in -3" ;; esac
s3 get data-bkt blobs/big "$TEST_TMP/big.out"
assert_eq "$(sha "$TEST_TMP/big.out")" "$(sha "$TEST_TMP/big")" "multipart upload/GET"
assert_eq "$(s3 head data-bkt blobs/big)" "20000000	$etag" "HEAD of the multipart object"

# ranges: inside a part, across the part boundary, to the end, one byte
for r in 100-199 8388000-8389000 19999000-19999999 0-0 12345-; do
    first="${r%-*}"; last="${r#*-}"
    s3 get data-bkt blobs/big "$TEST_TMP/range.out" --range "$r"
    if [ -n "$last" ]; then
        dd if="$TEST_TMP/big" of="$TEST_TMP/range.exp" iflag=skip_bytes,count_bytes \
            skip="$first" count="$((last - first + 1))" status=none
    else
        dd if="$TEST_TMP/big" of="$TEST_TMP/range.exp" iflag=skip_bytes skip="$first" status=none
    fi
    cmp "$TEST_TMP/range.out" "$TEST_TMP/range.exp" || fail "Range GET $r differs"
done

# an empty object
: >"$TEST_TMP/empty"
s3 put data-bkt blobs/empty "$TEST_TMP/empty" >/dev/null
s3 get data-bkt blobs/empty "$TEST_TMP/empty.out"
assert_eq "$(stat -c %s "$TEST_TMP/empty.out")" 0 "size of the empty object"

# 3. Abort: the parts go, the object never appears.
out="$(s3 put-multipart data-bkt blobs/aborted "$TEST_TMP/big" --part-size 8388608 --abort-after 2)"
assert_contains "$out" "aborted" "put-multipart --abort-after"
rc=0; s3 head data-bkt blobs/aborted 2>"$TEST_TMP/err" || rc=$?
assert_eq "$rc" 3 "exit status of HEAD after abort (ERR_NOT_FOUND)"
assert_eq "$(s3 list data-bkt blobs/aborted | wc -l)" 0 "listing after abort"

# 4. Not found and delete.
rc=0; s3 get data-bkt no/such/key "$TEST_TMP/x" 2>"$TEST_TMP/err" || rc=$?
assert_eq "$rc" 3 "exit status of GET of a missing key"
assert_contains "$(cat "$TEST_TMP/err")" "GetObject s3://data-bkt/no/such/key: HTTP 404 NoSuchKey"
s3 delete data-bkt blobs/single
rc=0; s3 head data-bkt blobs/single 2>/dev/null || rc=$?
assert_eq "$rc" 3 "HEAD after DELETE"

# 5. Awkward keys sign, round-trip, and list back exactly. curl must not
#    squash "./", "../" or "//": they are part of the key.
keys=("sp ace/a b" "plus+sign" "eq=uals" "pct%20literal" "pct%" "pct%2Fslash"
      "unicode/é€😀" "tilde~star*" "amp&lt;q?hash#" "dot/./seg/../x" "double//slash"
      "semi;colon,comma:" "quote\"'" "back\\slash" "trailing/")
i=0
for k in "${keys[@]}"; do
    printf 'content %d\n' "$i" >"$TEST_TMP/k$i"
    s3 put data-bkt "odd/$k" "$TEST_TMP/k$i" >/dev/null || fail "PUT of key '$k'"
    i=$((i + 1))
done
i=0
for k in "${keys[@]}"; do
    got="$(s3 get data-bkt "odd/$k" -)" || fail "GET of key '$k'"
    assert_eq "$got" "content $i" "body of key '$k'"
    i=$((i + 1))
done
s3 list data-bkt odd/ | cut -f1 | LC_ALL=C sort >"$TEST_TMP/odd.listed"
for k in "${keys[@]}"; do printf 'odd/%s\n' "$k"; done | LC_ALL=C sort >"$TEST_TMP/odd.expected"
cmp "$TEST_TMP/odd.listed" "$TEST_TMP/odd.expected" || {
    diff "$TEST_TMP/odd.listed" "$TEST_TMP/odd.expected" >&2; fail "listing of awkward keys"; }

# 5b. Virtual-hosted style (BUCKET.localhost, which curl resolves to loopback).
vh() { "$TOOL" --endpoint "http://localhost:$S3_PORT" "$@"; }
vh put data-bkt "vhost/a b+c" "$TEST_TMP/k0" >/dev/null
assert_eq "$(vh get data-bkt "vhost/a b+c" -)" "content 0" "virtual-hosted GET"
assert_eq "$(vh list data-bkt vhost/ | cut -f1)" "vhost/a b+c" "virtual-hosted listing"

# 6. Bad input is refused before any request.
rc=0; s3 get data-bkt "" - 2>/dev/null || rc=$?
assert_eq "$rc" 2 "empty key (ERR_USAGE)"
rc=0; s3 get "bad/bucket" k - 2>/dev/null || rc=$?
assert_eq "$rc" 2 "bad bucket name (ERR_USAGE)"

# ---------------------------------------------------------------- s3rver
s3_start s3rver sig-bkt
note "s3rver on $S3_ENDPOINT"
printf 'signed body\n' >"$TEST_TMP/small"
# keys s3rver handles (it escapes XML twice and normalises dot segments)
skeys=("plain" "sp ace/a b" "plus+sign" "eq=uals" "pct%20literal" "unicode/é€😀")
for k in "${skeys[@]}"; do
    s3 put sig-bkt "$k" "$TEST_TMP/small" >/dev/null || fail "signed PUT of '$k'"
    assert_eq "$(s3 get sig-bkt "$k" -)" "signed body" "signed GET of '$k'"
done
# continuation tokens, signed: 120 keys in pages of 50 (s3rver PUTs are slow)
s3 put-many sig-bkt many/ 120 --threads 8
s3 --stats --list-page 50 list sig-bkt many/ >"$TEST_TMP/slist" 2>"$TEST_TMP/slist.err"
cut -f1 "$TEST_TMP/slist" >"$TEST_TMP/slisted"
for ((i = 0; i < 120; i++)); do printf 'many/%06d\n' "$i"; done >"$TEST_TMP/sexpected"
cmp "$TEST_TMP/slisted" "$TEST_TMP/sexpected" || fail "signed listing with continuation tokens"
assert_contains "$(cat "$TEST_TMP/slist.err")" "stats: list 3 " "pages of the signed listing"
s3 list sig-bkt | cut -f1 | grep -v '^many/' | LC_ALL=C sort >"$TEST_TMP/s.listed"
printf '%s\n' "${skeys[@]}" | LC_ALL=C sort >"$TEST_TMP/s.expected"
cmp "$TEST_TMP/s.listed" "$TEST_TMP/s.expected" || fail "signed listing of awkward keys"

# a wrong secret: 403 SignatureDoesNotMatch, not retried, nothing secret shown
for cmd in "list sig-bkt" "get sig-bkt plain -" "put sig-bkt other $TEST_TMP/small"; do
    rc=0
    # shellcheck disable=SC2086
    s3 --stats --access-key S3RVER --secret-key not-the-secret $cmd >/dev/null 2>"$TEST_TMP/err" || rc=$?
    [ "$rc" -ne 0 ] || fail "$cmd with a wrong secret succeeded"
    msg="$(cat "$TEST_TMP/err")"
    assert_contains "$msg" "HTTP 403 SignatureDoesNotMatch" "$cmd with a wrong secret"
    assert_contains "$msg" "retries 0 " "$cmd with a wrong secret: retries"
    case "$msg" in *not-the-secret*|*Signature=*) fail "a secret or signature in: $msg" ;; esac
done
rc=0; s3 head sig-bkt other 2>/dev/null || rc=$?
assert_eq "$rc" 3 "the refused PUT wrote nothing"

echo "it_s3: ok"
