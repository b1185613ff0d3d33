#!/usr/bin/env bash
# The two test proxies (tests/helpers/faultproxy.mjs, condproxy.mjs) checked
# with plain curl against fauxqs: every fault kind as a client sees it, byte-
# exact pass-through (PUT, multipart part, GET), request log counts, seeded
# reproducibility, method/path/count limits; S3 conditional-write semantics
# (If-None-Match, If-Match, concurrent writers, 409 mode, multipart complete,
# DeleteObject with If-Match);
# SigV4-signed requests through both proxies to s3rver (which checks them);
# and that a proxy exits when its owner dies and after --max-seconds.
. "$(dirname "$0")/lib.sh"

s3_start fauxqs bkt
D="$S3_ENDPOINT/bkt"

# req OUT CURL_ARGS...: sets CODE (HTTP status) and RC (curl exit status);
# response headers in $TEST_TMP/h.
req() {
    local out="$1"; shift
    RC=0
    CODE="$(curl -s -o "$out" -D "$TEST_TMP/h" -w '%{http_code}' "$@")" || RC=$?
}
# hdr NAME: value of that header in the last response ($TEST_TMP/h)
hdr() {
    tr -d '\r' <"$TEST_TMP/h" | awk -v k="$(tr 'A-Z' 'a-z' <<<"$1")" \
        'index(tolower($0), k ": ") == 1 { v = substr($0, length(k) + 3) } END { print v }'
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

head -c 100000 /dev/urandom >"$TEST_TMP/obj100k"
head -c $((9 * 1024 * 1024)) /dev/urandom >"$TEST_TMP/obj9m"
head -c $((11 * 1024 * 1024)) /dev/urandom >"$TEST_TMP/part11m"
echo "one" >"$TEST_TMP/one"
echo "two" >"$TEST_TMP/two"
req /dev/null -T "$TEST_TMP/obj100k" "$D/obj100k"; assert_eq "$CODE" 200 "seed PUT"
req /dev/null -T "$TEST_TMP/one" "$D/raw/a.avro"; assert_eq "$CODE" 200 "seed PUT raw"

# ---------------------------------------------------------------- fault proxy
note "fault proxy: pass-through (--rate 0), byte-exact bodies, log counts"
fault_proxy_start --rate 0
F="$FAULT_ENDPOINT/bkt"
req /dev/null -T "$TEST_TMP/obj9m" "$F/obj9m"; assert_eq "$CODE" 200 "9 MiB PUT"
put_etag="$(hdr ETag)"
[ -n "$put_etag" ] || fail "PUT through the proxy returned no ETag"
req "$TEST_TMP/got" "$F/obj9m"; assert_eq "$CODE" 200 "9 MiB GET"
assert_eq "$(sha "$TEST_TMP/got")" "$(sha "$TEST_TMP/obj9m")" "9 MiB round trip sha256"
req "$TEST_TMP/got" "$D/obj9m"
assert_eq "$(sha "$TEST_TMP/got")" "$(sha "$TEST_TMP/obj9m")" "9 MiB stored upstream"
# multipart: an 11 MiB part goes through byte for byte
req "$TEST_TMP/mp" -X POST "$F/mp.bin?uploads"; assert_eq "$CODE" 200 "CreateMultipartUpload"
upload_id="$(sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p' "$TEST_TMP/mp")"
[ -n "$upload_id" ] || fail "no UploadId in $(cat "$TEST_TMP/mp")"
req /dev/null -T "$TEST_TMP/part11m" "$F/mp.bin?partNumber=1&uploadId=$upload_id"
assert_eq "$CODE" 200 "UploadPart 11 MiB"
part_etag="$(hdr ETag)"
assert_eq "$part_etag" "\"$(md5sum "$TEST_TMP/part11m" | cut -d' ' -f1)\"" "part ETag is the MD5 of the part"
printf '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' \
    "$part_etag" >"$TEST_TMP/complete.xml"
req "$TEST_TMP/out" -X POST -H "Content-Type: application/xml" --data-binary @"$TEST_TMP/complete.xml" "$F/mp.bin?uploadId=$upload_id"
assert_eq "$CODE" 200 "CompleteMultipartUpload"
req "$TEST_TMP/got" "$D/mp.bin"
assert_eq "$(sha "$TEST_TMP/got")" "$(sha "$TEST_TMP/part11m")" "multipart object content"
# kept-alive client connection: the second request reuses the first connection
conns="$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' "$F/raw/a.avro" "$F/obj100k")"
assert_eq "$conns" "1 0 " "connects for two requests on one curl handle"
assert_eq "$(fault_log_count)" 7 "requests logged"
assert_eq "$(fault_log_count --method PUT)" 2 "PUTs logged"
assert_eq "$(fault_log_count --method GET)" 3 "GETs logged"
assert_eq "$(fault_log_count --method GET --path-regex '^/bkt/raw/')" 1 "GETs of raw/"
assert_eq "$(fault_log_count --method POST --query-regex 'uploadId=')" 1 "complete logged"
assert_eq "$(fault_log_count --fault any)" 0 "no faults at rate 0"
assert_eq "$(fault_log_count --status 200)" 7 "all 200"

note "fault proxy: 500 InternalError (and the request does not reach the server)"
fault_proxy_stop
fault_proxy_start --rate 1 --faults 500
F="$FAULT_ENDPOINT/bkt"
req "$TEST_TMP/out" "$F/obj100k"
assert_eq "$CODE" 500 "GET status"
assert_contains "$(cat "$TEST_TMP/out")" "<Code>InternalError</Code>" "500 body"
assert_contains "$(cat "$TEST_TMP/out")" "<RequestId>" "500 body"
assert_contains "$(hdr Content-Type)" "xml" "500 content type"
req "$TEST_TMP/out" -T "$TEST_TMP/one" "$F/not-written"
assert_eq "$CODE" 500 "PUT status"
req /dev/null -I "$D/not-written"; assert_eq "$CODE" 404 "PUT answered 500 was not forwarded"
assert_eq "$(fault_log_count --fault 500 --status 500)" 2 "500s logged"

note "fault proxy: --errors-after-forward applies the write, then answers 500"
fault_proxy_stop
fault_proxy_start --rate 1 --faults 500 --errors-after-forward
req /dev/null -T "$TEST_TMP/one" "$FAULT_ENDPOINT/bkt/written-anyway"
assert_eq "$CODE" 500 "PUT status"
req /dev/null -I "$D/written-anyway"; assert_eq "$CODE" 200 "write reached the server"

note "fault proxy: 503 SlowDown"
fault_proxy_stop
fault_proxy_start --rate 1 --faults 503
req "$TEST_TMP/out" "$FAULT_ENDPOINT/bkt/obj100k"
assert_eq "$CODE" 503 "status"
assert_contains "$(cat "$TEST_TMP/out")" "<Code>SlowDown</Code>" "503 body"

note "fault proxy: truncate (short body, clean close)"
fault_proxy_stop
fault_proxy_start --rate 1 --faults truncate
req "$TEST_TMP/out" "$FAULT_ENDPOINT/bkt/obj100k"
assert_eq "$RC" 18 "curl exit (partial file)"
assert_eq "$(hdr Content-Length)" 100000 "announced length"
assert_eq "$(stat -c %s "$TEST_TMP/out")" 50000 "bytes received"
assert_eq "$(head -c 50000 "$TEST_TMP/obj100k" | sha256sum)" "$(sha256sum <"$TEST_TMP/out")" "received prefix"
assert_eq "$(fault_log_count --fault truncate --status 200)" 1 "truncate logged"

note "fault proxy: reset mid-body"
fault_proxy_stop
fault_proxy_start --rate 1 --faults reset
req "$TEST_TMP/out" "$FAULT_ENDPOINT/bkt/obj100k"
case "$RC" in 52|56) ;; *) fail "reset: curl exit $RC, expected 52 or 56" ;; esac
# a PUT whose answer is lost was applied upstream all the same
req /dev/null -T "$TEST_TMP/two" "$FAULT_ENDPOINT/bkt/reset-put"
case "$RC" in 52|56) ;; *) fail "reset PUT: curl exit $RC, expected 52 or 56" ;; esac
req "$TEST_TMP/out" "$D/reset-put"; assert_eq "$(cat "$TEST_TMP/out")" two "reset PUT applied"

note "fault proxy: stall (headers and half the body, then a reset)"
fault_proxy_stop
fault_proxy_start --rate 1 --faults stall --slow-ms 200
req "$TEST_TMP/out" "$FAULT_ENDPOINT/bkt/obj100k"
case "$RC" in 52|56) ;; *) fail "stall: curl exit $RC, expected 52 or 56" ;; esac

note "fault proxy: corrupt (whole body, right length, one byte flipped)"
fault_proxy_stop
fault_proxy_start --rate 1 --faults corrupt
req "$TEST_TMP/out" "$FAULT_ENDPOINT/bkt/obj100k"
assert_eq "$RC" 0 "curl exit"
assert_eq "$(hdr Content-Length)" 100000 "announced length"
assert_eq "$(stat -c %s "$TEST_TMP/out")" 100000 "bytes received"
assert_eq "$(cmp -l "$TEST_TMP/obj100k" "$TEST_TMP/out" | wc -l)" 1 "bytes that differ"
assert_eq "$(cmp -l "$TEST_TMP/obj100k" "$TEST_TMP/out" | awk '{print $1}')" 50001 "flipped byte (1-based)"
req /dev/null -I "$FAULT_ENDPOINT/bkt/obj100k"
assert_eq "$(hdr Content-Length)" 100000 "HEAD length unchanged"
assert_eq "$(fault_log_count --fault corrupt --status 200)" 2 "corrupt logged"

note "fault proxy: slow answer exceeds the client's timeout"
fault_proxy_stop
fault_proxy_start --rate 1 --faults slow --slow-ms 3000
req "$TEST_TMP/out" --max-time 1 "$FAULT_ENDPOINT/bkt/obj100k"
assert_eq "$RC" 28 "curl exit (timeout)"
assert_eq "$(fault_log_count --fault slow)" 1 "slow logged"

note "fault proxy: --only, --only-path-regex, --max-faults, --skip, --max-per-path"
fault_proxy_stop
fault_proxy_start --rate 1 --faults 500 --only PUT
req /dev/null "$FAULT_ENDPOINT/bkt/obj100k"; assert_eq "$CODE" 200 "--only PUT: GET"
req /dev/null -T "$TEST_TMP/one" "$FAULT_ENDPOINT/bkt/x"; assert_eq "$CODE" 500 "--only PUT: PUT"
fault_proxy_stop
fault_proxy_start --rate 1 --faults 500 --only-path-regex '^/bkt/raw/'
req /dev/null "$FAULT_ENDPOINT/bkt/obj100k"; assert_eq "$CODE" 200 "path regex: other"
req /dev/null "$FAULT_ENDPOINT/bkt/raw/a.avro"; assert_eq "$CODE" 500 "path regex: raw/"
fault_proxy_stop
fault_proxy_start --rate 1 --faults 503 --max-faults 2 --skip 1
codes=""
for i in 1 2 3 4 5; do req /dev/null "$FAULT_ENDPOINT/bkt/obj100k"; codes+="$CODE "; done
assert_eq "$codes" "200 503 503 200 200 " "--skip 1 --max-faults 2"
fault_proxy_stop
fault_proxy_start --rate 1 --faults 503 --max-per-path 2
codes=""
for p in obj100k obj100k raw/a.avro obj100k raw/a.avro raw/a.avro; do
    req /dev/null "$FAULT_ENDPOINT/bkt/$p"; codes+="$CODE "
done
assert_eq "$codes" "503 503 503 200 503 200 " "--max-per-path 2"

note "fault proxy: a seeded rate 0.5 is reproducible"
seq_codes() {  # 24 GETs on one kept-alive curl handle
    local i args=()
    for i in $(seq 1 24); do args+=(-o /dev/null "$FAULT_ENDPOINT/bkt/obj100k"); done
    curl -s -w '%{http_code} ' "${args[@]}"
}
fault_proxy_stop
fault_proxy_start --rate 0.5 --seed 42 --faults 500,503
run1="$(seq_codes)"
fault_proxy_stop
fault_proxy_start --rate 0.5 --seed 42 --faults 500,503
run2="$(seq_codes)"
assert_eq "$run2" "$run1" "same seed, same faults"
n200="$(grep -o 200 <<<"$run1" | wc -l)"
[ "$n200" -gt 0 ] && [ "$n200" -lt 24 ] || fail "rate 0.5 gave $n200/24 successes: $run1"
[[ "$run1" == *500* && "$run1" == *503* ]] || fail "both fault kinds expected: $run1"
assert_eq "$(fault_log_count --fault any)" "$((24 - n200))" "faults logged"

note "fault proxy: --list-overlap 3 (overlapping ListObjectsV2 pages)"
for i in 0 1 2 3 4 5 6 7 8 9; do
    req /dev/null -T "$TEST_TMP/one" "$D/lo/k+$i"; assert_eq "$CODE" 200 "seed lo/k+$i"
done
fault_proxy_stop
fault_proxy_start --list-overlap 3
# list_pages QUERY_EXTRA: follows NextContinuationToken; one line per page
# with its keys; the raw pages in $TEST_TMP/lo-page-N.
list_pages() {
    local tok="" n=0 q
    while :; do
        n=$((n + 1))
        [ "$n" -le 20 ] || fail "--list-overlap: more than 20 pages"
        q="list-type=2&prefix=lo%2F$1"
        [ -z "$tok" ] || q="continuation-token=$(jq -rn --arg t "$tok" '$t|@uri')&$q"
        req "$TEST_TMP/lo-page-$n" "$FAULT_ENDPOINT/bkt?$q"
        assert_eq "$CODE" 200 "list page $n"
        grep -o '<Key>[^<]*</Key>' "$TEST_TMP/lo-page-$n" | sed 's:</*Key>::g' | tr '\n' ' '
        echo
        tok="$(sed -n 's:.*<NextContinuationToken>\([^<]*\)</NextContinuationToken>.*:\1:p' "$TEST_TMP/lo-page-$n")"
        grep -q '<IsTruncated>true</IsTruncated>' "$TEST_TMP/lo-page-$n" || break
        [ -n "$tok" ] || fail "truncated page $n without a token"
    done
}
pages="$(list_pages "")"
note "pages: $(tr '\n' '|' <<<"$pages")"
npages="$(wc -l <<<"$pages")"
[ "$npages" -ge 4 ] || fail "--list-overlap 3 over 10 keys gave $npages pages"
while read -r line; do
    n="$(wc -w <<<"$line")"
    [ "$n" -le 3 ] || fail "page of $n keys with --list-overlap 3: $line"
done <<<"$pages"
# every page after the first starts with the previous page's last key
prev_last=""
while read -r line; do
    first="${line%% *}"
    [ -z "$prev_last" ] || assert_eq "$first" "$prev_last" "page starts with the previous page's last key"
    prev_last="$(awk '{print $NF}' <<<"$line")"
done <<<"$pages"
all="$(tr ' ' '\n' <<<"$pages" | grep -v '^$')"
[ "$(wc -l <<<"$all")" -gt 10 ] || fail "no key listed twice: $pages"
assert_eq "$(sort -u <<<"$all" | tr '\n' ' ')" "$(printf 'lo/k+%s ' 0 1 2 3 4 5 6 7 8 9)" "union of the pages"
assert_eq "$(fault_log_count --fault list-overlap)" "$npages" "list requests logged as list-overlap"
assert_eq "$(fault_log_count --fault list-overlap --query-regex '^continuation-token=lo1\.')" \
    "$((npages - 1))" "logged query is the client's (proxy token)"
# with encoding-type=url (as repart lists): the same overlap
pages_enc="$(list_pages "&encoding-type=url")"
assert_eq "$(sort -u <<<"$(tr ' ' '\n' <<<"$pages_enc" | grep -v '^$')" | wc -l)" 10 "union with encoding-type=url"
assert_eq "$(wc -l <<<"$pages_enc")" "$npages" "pages with encoding-type=url"
# a client paging with start-after=<last key> (the Python sample) overlaps too
req "$TEST_TMP/lo-sa" "$FAULT_ENDPOINT/bkt?list-type=2&prefix=lo%2F&start-after=lo%2Fk%2B2"
sa_keys="$(grep -o '<Key>[^<]*</Key>' "$TEST_TMP/lo-sa" | sed 's:</*Key>::g' | tr '\n' ' ')"
assert_eq "$sa_keys" "lo/k+2 lo/k+3 lo/k+4 " "start-after page after a served page"
assert_contains "$(cat "$TEST_TMP/lo-sa")" "<StartAfter>lo/k+2</StartAfter>" "start-after echoed as sent"
# other requests are untouched
req "$TEST_TMP/got" "$FAULT_ENDPOINT/bkt/lo/k%2B0"
assert_eq "$CODE" 200 "GET through --list-overlap"
assert_eq "$(cat "$TEST_TMP/got")" "one" "GET body through --list-overlap"
assert_eq "$(fault_log_count --method GET --path-regex '^/bkt/lo/' --fault none)" 1 "GET not rewritten"
fault_proxy_stop

# ----------------------------------------------------------------- cond proxy
note "cond proxy: If-None-Match: *"
cond_proxy_start
C="$COND_ENDPOINT/bkt"
req "$TEST_TMP/out" -T "$TEST_TMP/one" -H 'If-None-Match: *' "$C/cond/new"
assert_eq "$CODE" 200 "new key"
first_etag="$(hdr ETag)"
[ -n "$first_etag" ] || fail "no ETag passed back"
req "$TEST_TMP/out" -T "$TEST_TMP/two" -H 'If-None-Match: *' "$C/cond/new"
assert_eq "$CODE" 412 "existing key"
assert_contains "$(cat "$TEST_TMP/out")" "<Code>PreconditionFailed</Code>" "412 body"
assert_contains "$(cat "$TEST_TMP/out")" "<Condition>If-None-Match</Condition>" "412 body"
req "$TEST_TMP/out" "$D/cond/new"; assert_eq "$(cat "$TEST_TMP/out")" one "not overwritten"
# a body large enough for curl to send "Expect: 100-continue": refused before upload
req "$TEST_TMP/out" -T "$TEST_TMP/obj9m" -H 'If-None-Match: *' "$C/cond/new"
assert_eq "$CODE" 412 "existing key, large body"
req "$TEST_TMP/out" -T "$TEST_TMP/two" -H 'If-None-Match: "abc"' "$C/cond/other"
assert_eq "$CODE" 501 "If-None-Match other than *"

note "cond proxy: If-Match"
req /dev/null -T "$TEST_TMP/two" -H "If-Match: $first_etag" "$C/cond/new"
assert_eq "$CODE" 200 "right ETag"
second_etag="$(hdr ETag)"
req /dev/null -I "$D/cond/new"; assert_eq "$(hdr ETag)" "$second_etag" "ETag passed back is the stored one"
req "$TEST_TMP/out" -T "$TEST_TMP/one" -H "If-Match: $first_etag" "$C/cond/new"
assert_eq "$CODE" 412 "stale ETag"
assert_contains "$(cat "$TEST_TMP/out")" "<Condition>If-Match</Condition>" "412 body"
req "$TEST_TMP/out" "$D/cond/new"; assert_eq "$(cat "$TEST_TMP/out")" two "not overwritten"
req "$TEST_TMP/out" -T "$TEST_TMP/one" -H "If-Match: $first_etag" "$C/cond/missing"
assert_eq "$CODE" 404 "If-Match on a missing key"
assert_contains "$(cat "$TEST_TMP/out")" "<Code>NoSuchKey</Code>" "404 body"
req /dev/null -T "$TEST_TMP/one" "$C/cond/new"; assert_eq "$CODE" 200 "unconditional PUT"
assert_eq "$(cond_log_count --result failed --status 412)" 3 "412s logged"
assert_eq "$(cond_log_count --result passed)" 2 "conditional writes logged"

note "cond proxy: DeleteObject with If-Match"
req /dev/null -T "$TEST_TMP/one" "$C/cond/del"; del_etag="$(hdr ETag)"
req "$TEST_TMP/out" -X DELETE -H 'If-Match: "00000000000000000000000000000000"' "$C/cond/del"
assert_eq "$CODE" 412 "DELETE, stale ETag"
assert_contains "$(cat "$TEST_TMP/out")" "<Condition>If-Match</Condition>" "412 body"
req "$TEST_TMP/out" "$D/cond/del"; assert_eq "$CODE/$(cat "$TEST_TMP/out")" 200/one "not deleted"
req /dev/null -X DELETE -H 'If-None-Match: *' "$C/cond/del"
req /dev/null "$D/cond/del"; assert_eq "$CODE" 404 "If-None-Match is no DeleteObject condition"
req /dev/null -T "$TEST_TMP/one" "$C/cond/del"; del_etag="$(hdr ETag)"
req /dev/null -X DELETE -H "If-Match: $del_etag" "$C/cond/del"
assert_eq "$CODE" 204 "DELETE, current ETag"
req /dev/null "$D/cond/del"; assert_eq "$CODE" 404 "deleted"
req "$TEST_TMP/out" -X DELETE -H "If-Match: $del_etag" "$C/cond/del"
assert_eq "$CODE" 404 "DELETE with If-Match, missing key"
assert_contains "$(cat "$TEST_TMP/out")" "<Code>NoSuchKey</Code>" "404 body"
req /dev/null -T "$TEST_TMP/one" "$C/cond/del"
req /dev/null -X DELETE -H 'If-Match: *' "$C/cond/del"; assert_eq "$CODE" 204 "DELETE, If-Match: *"
req /dev/null "$D/cond/del"; assert_eq "$CODE" 404 "deleted (If-Match: *)"
assert_eq "$(cond_log_count --method DELETE --result failed)" 2 "refused DELETEs logged"
assert_eq "$(cond_log_count --method DELETE --result passed --status 204)" 2 "conditional DELETEs logged"
assert_eq "$(cond_log_count --method DELETE --result forwarded)" 1 "unconditional DELETE forwarded"

note "cond proxy: concurrent If-None-Match writers, exactly one wins"
for k in 1 2 3 4 5; do
    for w in one two; do
        curl -s -o /dev/null -w '%{http_code}\n' -T "$TEST_TMP/$w" -H 'If-None-Match: *' \
            "$C/race/$k" >"$TEST_TMP/race-$k-$w" &
    done
done
wait
for k in 1 2 3 4 5; do
    got="$(sort "$TEST_TMP/race-$k-one" "$TEST_TMP/race-$k-two" | tr '\n' ' ')"
    assert_eq "$got" "200 412 " "race $k statuses"
    winner=one; [ "$(cat "$TEST_TMP/race-$k-two")" = 200 ] && winner=two
    req "$TEST_TMP/out" "$D/race/$k"
    assert_eq "$(cat "$TEST_TMP/out")" "$winner" "race $k content is the winner's"
done

note "cond proxy: CompleteMultipartUpload with If-None-Match"
mp_complete() {  # mp_complete KEY: CreateMultipartUpload + one part; complete with If-None-Match
    req "$TEST_TMP/mp" -X POST "$C/$1?uploads"
    local id
    id="$(sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p' "$TEST_TMP/mp")"
    req /dev/null -T "$TEST_TMP/one" "$C/$1?partNumber=1&uploadId=$id"
    printf '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>' \
        "$(hdr ETag)" >"$TEST_TMP/complete.xml"
    req "$TEST_TMP/out" -X POST -H 'If-None-Match: *' -H "Content-Type: application/xml" --data-binary @"$TEST_TMP/complete.xml" "$C/$1?uploadId=$id"
}
mp_complete cond/mp-new; assert_eq "$CODE" 200 "complete on a new key"
mp_complete cond/mp-new; assert_eq "$CODE" 412 "complete on an existing key"

note "cond proxy: --if-match-missing 412"
cond_proxy_stop
cond_proxy_start --if-match-missing 412
req /dev/null -T "$TEST_TMP/one" -H 'If-Match: "abc"' "$COND_ENDPOINT/bkt/cond/missing"
assert_eq "$CODE" 412 "If-Match on a missing key"
req /dev/null -X DELETE -H 'If-Match: "abc"' "$COND_ENDPOINT/bkt/cond/missing"
assert_eq "$CODE" 412 "DELETE with If-Match on a missing key"

note "cond proxy: --conflict answers 409 to an overlapping conditional write"
cond_proxy_stop
cond_proxy_start --conflict --hold-file "$TEST_TMP/gate"
curl -s -o /dev/null -w '%{http_code}' -T "$TEST_TMP/one" -H 'If-None-Match: *' \
    "$COND_ENDPOINT/bkt/cond/conflict" >"$TEST_TMP/first" &
first_pid=$!
for i in $(seq 1 200); do
    [ "$(cond_log_count --result checked)" = 1 ] && break
    sleep 0.05
done
assert_eq "$(cond_log_count --result checked)" 1 "first writer holds the key"
req "$TEST_TMP/out" -T "$TEST_TMP/two" -H 'If-None-Match: *' "$COND_ENDPOINT/bkt/cond/conflict"
assert_eq "$CODE" 409 "overlapping writer"
assert_contains "$(cat "$TEST_TMP/out")" "<Code>ConditionalRequestConflict</Code>" "409 body"
: >"$TEST_TMP/gate"
wait "$first_pid"
assert_eq "$(cat "$TEST_TMP/first")" 200 "first writer"

note "chained: a PUT whose answer is lost still happened (retry gets 412)"
cond_proxy_stop
cond_proxy_start
fault_proxy_stop
fault_proxy_start --upstream "$COND_ENDPOINT" --rate 1 --faults truncate --only PUT
req /dev/null -T "$TEST_TMP/one" -H 'If-None-Match: *' "$FAULT_ENDPOINT/bkt/cond/lost"
assert_eq "$RC" 52 "answer lost (empty reply)"
req /dev/null -T "$TEST_TMP/one" -H 'If-None-Match: *' "$COND_ENDPOINT/bkt/cond/lost"
assert_eq "$CODE" 412 "retry"

note "s3rver (checks SigV4): signed requests still verify through both proxies"
s3_start s3rver sbk
SIG=(--aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
fault_proxy_stop
fault_proxy_start --rate 0
cond_proxy_stop
cond_proxy_start
req /dev/null "${SIG[@]}" -T "$TEST_TMP/one" "$FAULT_ENDPOINT/sbk/signed"
assert_eq "$CODE" 200 "signed PUT through the fault proxy"
req "$TEST_TMP/out" "${SIG[@]}" "$FAULT_ENDPOINT/sbk/signed"
assert_eq "$CODE/$(cat "$TEST_TMP/out")" 200/one "signed GET through the fault proxy"
req /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:wrong-secret \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$FAULT_ENDPOINT/sbk/signed"
assert_eq "$CODE" 403 "a bad signature is still refused"
req /dev/null "${SIG[@]}" -H 'If-None-Match: *' -T "$TEST_TMP/two" "$COND_ENDPOINT/sbk/signed2"
assert_eq "$CODE" 200 "signed conditional PUT, new key"
req /dev/null "${SIG[@]}" -H 'If-None-Match: *' -T "$TEST_TMP/two" "$COND_ENDPOINT/sbk/signed"
assert_eq "$CODE" 412 "signed conditional PUT, existing key"

# ------------------------------------------------------------------- lifetime
note "proxies exit when the owner is gone and after --max-seconds"
NODE="$_LIB_NODE"
sleep 1 &
owner=$!
"$NODE" "$REPART_SRC_DIR/tests/helpers/faultproxy.mjs" --upstream "$S3_ENDPOINT" \
    --owner "$owner" --max-seconds 120 >"$TEST_TMP/owner.log" 2>&1 &
p1=$!
"$NODE" "$REPART_SRC_DIR/tests/helpers/condproxy.mjs" --upstream "$S3_ENDPOINT" \
    --owner "$owner" --max-seconds 120 >"$TEST_TMP/owner2.log" 2>&1 &
p2=$!
"$NODE" "$REPART_SRC_DIR/tests/helpers/faultproxy.mjs" --upstream "$S3_ENDPOINT" \
    --owner $$ --max-seconds 1 --dir "$TEST_TMP/maxsec" >"$TEST_TMP/maxsec.log" 2>&1 &
p3=$!
wait "$owner"
# (No on_exit proxy_stop for these: their pids may belong to other processes
# by then; they end on their own, --owner and --max-seconds.)
# Each proxy logs why it stops, then exits at once; `wait` then collects its
# status. (Polling the pid is wrong: once the shell reaps a proxy, the kernel
# may give its pid to another process; pid_max is 32768 here.)
await "faultproxy to stop after its owner exited" 60 grep -q "stopping (owner gone)" "$TEST_TMP/owner.log"
await "condproxy to stop after its owner exited" 60 grep -q "stopping (owner gone)" "$TEST_TMP/owner2.log"
await "faultproxy to stop after --max-seconds 1" 60 grep -q "stopping (max-seconds)" "$TEST_TMP/maxsec.log"
for p in "$p1" "$p2" "$p3"; do
    rc=0; wait "$p" || rc=$?
    assert_eq "$rc" 0 "exit status of a proxy that stopped on its own"
done
[ -s "$TEST_TMP/maxsec/port" ] || fail "--max-seconds proxy never listened"

echo "it_proxies: ok"
