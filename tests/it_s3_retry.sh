#!/usr/bin/env bash
# Integration test of the S3 client's retries, through tests/chaos-proxy.mjs
# in front of fauxqs: 5xx/SlowDown/429/resets/stalls are retried; a GET cut
# mid-body resumes with Range + If-Match from the first undelivered byte and
# the bytes come out exact; other 4xx are not retried; retries run out with
# ERR_TRANSIENT; an object changed mid-download is ERR_CONFLICT.
. "$(dirname "$0")/lib.sh"

TOOL="$REPART_BUILD_DIR/s3-tool"
[ -x "$TOOL" ] || fail "no $TOOL (build first)"

s3_start fauxqs chaos-bkt
direct() { "$TOOL" --endpoint "$S3_ENDPOINT" --path-style "$@"; }
# through the proxy, short backoff so that the test stays fast
via() { "$TOOL" --endpoint "$CHAOS_ENDPOINT" --path-style --retry-base-ms 5 --stats "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
count() { grep -c -- "$1" "$CHAOS_LOG" || true; }

head -c 3000000 /dev/urandom >"$TEST_TMP/obj"
etag="$(direct put chaos-bkt obj "$TEST_TMP/obj")"

# 0. What goes on the wire: the payload hash and Content-MD5 of the body,
#    the session token when there is one.
chaos_start ""
AWS_SESSION_TOKEN=dummy-session-token via put chaos-bkt hdr "$TEST_TMP/obj" >/dev/null 2>&1
md5b64="$(openssl dgst -md5 -binary "$TEST_TMP/obj" | base64)"
assert_eq "$(count "PUT /chaos-bkt/hdr range=- if-match=- sha256=$(sha "$TEST_TMP/obj") md5=$md5b64 token=set -> pass")" 1 "PUT headers"
via get chaos-bkt hdr /dev/null 2>/dev/null
assert_eq "$(count "GET /chaos-bkt/hdr range=- if-match=- sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 md5=- token=- -> pass")" 1 "GET headers"

# 1. A whole-object GET cut twice mid-body, then 503 SlowDown, then a reset:
#    the bytes arrive exactly once, resumed from the first missing byte.
chaos_start "GET:cut:2:100000;GET:503:1;GET:reset:1"
via get chaos-bkt obj "$TEST_TMP/o1" 2>"$TEST_TMP/err"
cmp "$TEST_TMP/obj" "$TEST_TMP/o1" || fail "resumed GET differs"
assert_eq "$(count 'range=- if-match=- .* -> cut')" 1 "first GET without Range"
assert_eq "$(count "range=bytes=100000- if-match=\"$etag\" .* -> cut")" 1 "first resume"
assert_eq "$(count "range=bytes=200000- if-match=\"$etag\" .* -> pass")" 1 "final resume"
assert_contains "$(cat "$TEST_TMP/err")" "bytes_in 3000" "stats"

# 2. A ranged GET cut, and the resume answered 200 with the whole object
#    (a server that ignores Range): the right slice comes out.
chaos_start "GET:cut:1:5000;GET:norange:1"
via get chaos-bkt obj "$TEST_TMP/o2" --range 1000-99999 2>/dev/null
dd if="$TEST_TMP/obj" of="$TEST_TMP/o2.exp" iflag=skip_bytes,count_bytes skip=1000 count=99000 status=none
cmp "$TEST_TMP/o2" "$TEST_TMP/o2.exp" || fail "ranged GET resumed against a 200 differs"
assert_eq "$(count 'range=bytes=6000-99999 .* -> norange')" 1 "resume of the ranged GET"

# 3. A server that stalls: the stall timeout fires, the retry succeeds.
chaos_start "GET:stall:1"
via --timeout-ms 300 get chaos-bkt obj "$TEST_TMP/o3" 2>"$TEST_TMP/err"
cmp "$TEST_TMP/obj" "$TEST_TMP/o3" || fail "GET after a stall differs"
assert_eq "$(count 'GET /chaos-bkt/obj')" 2 "requests for a stalled GET"
assert_contains "$(cat "$TEST_TMP/err")" "retries 1 " "retries after a stall"

# 4. Multipart with throttled parts and a CompleteMultipartUpload
#    answered 200 with an <Error> body: retried to a byte-exact object.
head -c 17000000 /dev/urandom >"$TEST_TMP/big"
chaos_start "PUT~partNumber=2:503:2;PUT~partNumber=1:429:1;POST~uploadId=:slowxml:1"
via put-multipart chaos-bkt big "$TEST_TMP/big" --part-size 8388608 >/dev/null 2>"$TEST_TMP/err"
assert_contains "$(cat "$TEST_TMP/err")" "retries 4 " "retries of the multipart upload"
direct get chaos-bkt big "$TEST_TMP/big.out"
assert_eq "$(sha "$TEST_TMP/big.out")" "$(sha "$TEST_TMP/big")" "multipart upload through faults"
# a PUT retried after 503s still lands exactly
chaos_start "PUT:503:3"
via put chaos-bkt small "$TEST_TMP/obj" >/dev/null 2>&1
direct get chaos-bkt small "$TEST_TMP/small.out"
cmp "$TEST_TMP/obj" "$TEST_TMP/small.out" || fail "PUT after 503s differs"
assert_eq "$(count 'PUT /chaos-bkt/small')" 4 "PUT attempts"
# HEAD through a 500
chaos_start "HEAD:500:1"
assert_eq "$(via head chaos-bkt obj 2>/dev/null)" "3000000	$etag" "HEAD after a 500"

# 4b. Answers lost after the server acted: a Complete retried into
#     NoSuchUpload, and an If-None-Match PUT retried into 412, are success
#     when the object holds exactly what was written (its ETag says so).
chaos_start "POST~uploadId=:lost:1"
etag_mp="$(via put-multipart chaos-bkt lost-mp "$TEST_TMP/big" --part-size 8388608 2>"$TEST_TMP/err")"
assert_contains "$(cat "$TEST_TMP/err")" "head 1 " "HEAD after NoSuchUpload"
assert_eq "$(direct head chaos-bkt lost-mp)" "17000000	$etag_mp" "object after a lost Complete answer"
direct get chaos-bkt lost-mp "$TEST_TMP/lost.out"
cmp "$TEST_TMP/big" "$TEST_TMP/lost.out" || fail "object after a lost Complete answer differs"
chaos_start "PUT:lost:1;PUT:412:1"
via put chaos-bkt lost-put "$TEST_TMP/obj" --if-none-match >/dev/null 2>&1
assert_eq "$(direct head chaos-bkt lost-put | cut -f2)" "$(md5sum "$TEST_TMP/obj" | cut -d' ' -f1)" "object after a lost PUT answer"
# ...but a 412 on an object with other bytes stays a conflict (exit 6)
chaos_start "PUT:412:1"
rc=0; via put chaos-bkt lost-put "$TEST_TMP/big" --if-none-match >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_eq "$rc" 6 "If-None-Match PUT over other bytes"
assert_contains "$(cat "$TEST_TMP/err")" "HTTP 412 PreconditionFailed"

# 5. A 4xx other than 408/429 is not retried.
chaos_start "ANY:400:5"
rc=0; via list chaos-bkt 2>"$TEST_TMP/err" || rc=$?
[ "$rc" -ne 0 ] || fail "a 400 succeeded"
assert_eq "$(count ' -> 400')" 1 "requests for a 400"
assert_contains "$(cat "$TEST_TMP/err")" "HTTP 400 InvalidArgument"

# 6. Persistent 503s: retries run out, ERR_TRANSIENT (exit 4), every
#    attempt counted.
chaos_start "ANY:503:100"
rc=0; via --retries 3 get chaos-bkt obj "$TEST_TMP/x" 2>"$TEST_TMP/err" || rc=$?
assert_eq "$rc" 4 "exit status when retries run out"
assert_eq "$(count ' -> 503')" 4 "attempts with --retries 3"
assert_contains "$(cat "$TEST_TMP/err")" "giving up after 4 attempts: GetObject s3://chaos-bkt/obj: HTTP 503 SlowDown"

# 7. The object changed between a cut and the resume (If-Match fails):
#    ERR_CONFLICT (exit 6), never a mix of two versions.
chaos_start "GET:cut:1:1000;GET:412:1"
rc=0; via get chaos-bkt obj "$TEST_TMP/x" 2>"$TEST_TMP/err" || rc=$?
assert_eq "$rc" 6 "exit status when the object changed mid-download"
assert_contains "$(cat "$TEST_TMP/err")" "changed during the download"

# ...and when a server ignores If-Match and serves another version, not one
#    byte of it reaches the output.
chaos_start "GET:cut:1:1000;GET:newetag:1"
rc=0; via get chaos-bkt obj "$TEST_TMP/x" 2>"$TEST_TMP/err" || rc=$?
assert_eq "$rc" 6 "exit status when the ETag changed mid-download"
assert_contains "$(cat "$TEST_TMP/err")" "changed during the download (ETag $etag, then 00000000000000000000000000000000)"
assert_eq "$(stat -c %s "$TEST_TMP/x")" 1000 "bytes written before the change"

# 8. Connection refused (nothing listening) is retried, then ERR_TRANSIENT.
chaos_stop
rc=0; "$TOOL" --endpoint "$CHAOS_ENDPOINT" --path-style --retry-base-ms 5 --retries 2 --stats \
    head chaos-bkt obj 2>"$TEST_TMP/err" || rc=$?
assert_eq "$rc" 4 "exit status with nothing listening"
assert_contains "$(cat "$TEST_TMP/err")" "retries 2 "

echo "it_s3_retry: ok"
