#!/usr/bin/env bash
# The set of associated series (src/repart/assoc.h) through scripts/tools/assoc-tool:
# (a) timeseries_source: metadata against fauxqs: asset_metadata/*.ndjson
#     beside the data prefix (and the bucket-root fallback), many objects
#     fetched in parallel agree with the generator's own keys, malformed
#     lines and a missing folder fail with the object named;
# (b) timeseries_source: api against tests/helpers/sitewise_server.py, which
#     checks every request's SigV4 signature (service iotsitewise) and query:
#     three pages with nextToken, a 429 ThrottlingException that is retried,
#     503 and a dropped connection that are retried, a 403 that is not, a
#     malformed page and a repeated nextToken that fail.
. "$(dirname "$0")/lib.sh"

TOOL="$REPART_BUILD_DIR/assoc-tool"
S3T="$REPART_BUILD_DIR/s3-tool"
GEN="$REPART_BUILD_DIR/repart-gen"
PY=/usr/bin/python3
for t in "$TOOL" "$S3T" "$GEN"; do [ -x "$t" ] || fail "no $t (build first)"; done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

A1=7020c8e2-e6db-40fa-9845-ed0dddd4c77d
A2=35901915-d476-4dca-8637-d9ed4df939ed
P1=95e63da7-d34e-43e1-bc6f-1b490154b07a
P2=c706d54d-4c11-42dc-9a01-63662fc697b4
P3=8cf1162f-dead-4fbe-b468-c8e24cde9f50
U1=0b0e3c55-3a3b-4b1c-9e3d-2f6c8d1e4a77

# config FILE DATA_PREFIX SOURCE [BUCKET]
config() {
    cat >"$1" <<EOF
timeseries_type: ASSOCIATED
timeseries_source: $3
s3:
  region: us-east-1
  endpoint_url: "${S3_ENDPOINT:-http://127.0.0.1:9}"
  path_style: true
  cold_tier: { bucket_name: ${4:-cold}, data_prefix: $2 }
  repartitioned: { bucket_name: out, data_prefix: consolidated/, index_prefix: index/ }
concurrency: 8
EOF
}

# run: the tool's stdout in $OUT, stderr in $ERR, exit status in $RC
run() {
    RC=0
    "$TOOL" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || RC=$?
    OUT="$(cat "$TEST_TMP/out")"
    ERR="$(cat "$TEST_TMP/err")"
    case "$ERR" in *Sanitizer*|*"runtime error"*) fail "sanitizer report: $ERR" ;; esac
}

put() {  # put KEY FILE
    curl -fsS -X PUT -H "Content-Type: application/x-ndjson" --data-binary @"$2" "$S3_ENDPOINT/cold/$1" >/dev/null || fail "PUT $1"
}

# ------------------------------------------------------------ (a) metadata
s3_start fauxqs cold empty
note "fauxqs on $S3_ENDPOINT"

# the user guide's shape (two properties of one asset), a timeSeriesId that is
# a plain UUID next to assetId/assetPropertyId, blank lines and CRLF, an asset
# whose property has no time series
cat >"$TEST_TMP/m1.ndjson" <<EOF
{"assetId":"$A1","assetName":"Wind Turbine Asset 2","assetModelId":"ec1d924f-f07d-444f-b072-e2994c165d35","assetModelName":"Wind Turbine Asset Model","assetPropertyId":"$P1","assetPropertyName":"Temperature","assetPropertyDataType":"DOUBLE","assetPropertyUnit":"Celsius","assetPropertyAlias":"USA/Washington/Seattle/WT2/temp","timeSeriesId":"${A1}_$P1","timeSeriesBucket":"f6","assetArn":null,"assetCompositeModelDescription":null,"assetCompositeModelName":null,"assetCompositeModelType":null,"assetCreationDate":1619466323,"assetLastUpdateDate":1623859856,"assetStatusErrorCode":null,"assetStatusErrorMessage":null,"assetStatusState":"ACTIVE"}
{"assetId":"$A1","assetPropertyId":"$P2","assetPropertyUnit":null,"assetPropertyAlias":null,"timeSeriesId":"${A1}_$P2","timeSeriesBucket":"1e"}
EOF
printf '{"assetId":"%s","assetPropertyId":"%s","timeSeriesId":"%s"}\r\n\r\n\n{"assetId":"%s","assetPropertyName":"attribute without series","timeSeriesId":null}\n' \
    "$A2" "$P3" "$U1" "$A2" >"$TEST_TMP/m2.ndjson"
put asset_metadata/asset_$A1.ndjson "$TEST_TMP/m1.ndjson"
put asset_metadata/asset_$A2.ndjson "$TEST_TMP/m2.ndjson"
# not asset metadata: ignored
echo '{"timeSeriesId":"not-taken-1"}' >"$TEST_TMP/other"
put asset_metadata/readme.txt "$TEST_TMP/other"
put asset_metadata/sub/asset_x.ndjson "$TEST_TMP/other"
put asset_hierarchy_metadata/${A1}_h.ndjson "$TEST_TMP/other"
put raw/asset_metadata/asset_y.ndjson "$TEST_TMP/other"

config "$TEST_TMP/c.yml" raw/ metadata
run -c "$TEST_TMP/c.yml" --stats
[ "$RC" -eq 0 ] || fail "metadata load: rc $RC: $ERR"
printf '%s\n' "${A1}_$P1" "${A1}_$P2" "${A2}_$P3" "$U1" | LC_ALL=C sort >"$TEST_TMP/want"
diff "$TEST_TMP/want" "$TEST_TMP/out" >&2 || fail "metadata set differs from the expected one"
assert_contains "$ERR" "ids 4 sources 2 skipped 1" "stats"
# the output is sorted for strcmp (what assoc_contains relies on)
LC_ALL=C sort -c "$TEST_TMP/out" || fail "output not sorted"

# disassociated needs the same set
run -c "$TEST_TMP/c.yml" --type disassociated
[ "$RC" -eq 0 ] && cmp -s "$TEST_TMP/want" "$TEST_TMP/out" || fail "disassociated set differs"

# beside a deeper data prefix: site1/raw/ -> site1/asset_metadata/
put site1/asset_metadata/asset_$A1.ndjson "$TEST_TMP/m2.ndjson"
config "$TEST_TMP/c2.yml" site1/raw/ metadata
run -c "$TEST_TMP/c2.yml"
[ "$RC" -eq 0 ] || fail "site1: rc $RC: $ERR"
assert_eq "$OUT" "$(printf '%s\n' "${A2}_$P3" "$U1" | LC_ALL=C sort)" "site1 set"
# nothing beside other/raw/: the bucket root's asset_metadata/ is used
config "$TEST_TMP/c3.yml" other/raw/ metadata
run -c "$TEST_TMP/c3.yml"
[ "$RC" -eq 0 ] && cmp -s "$TEST_TMP/want" "$TEST_TMP/out" || fail "root fallback: rc $RC: $ERR"

# no asset metadata at all: a configuration error naming where it looked
config "$TEST_TMP/c4.yml" raw/ metadata empty
run -c "$TEST_TMP/c4.yml"
assert_eq "$RC" 2 "exit status without asset metadata"
assert_contains "$ERR" "s3://empty/asset_metadata/" "message without asset metadata"
assert_eq "$OUT" "" "output without asset metadata"

# a malformed line: the object and the line are named, nothing is printed
printf '{"timeSeriesId":"a"}\n{"timeSeriesId":"b",}\n' >"$TEST_TMP/bad.ndjson"
put bad/asset_metadata/asset_bad.ndjson "$TEST_TMP/bad.ndjson"
put bad/asset_metadata/asset_good.ndjson "$TEST_TMP/m1.ndjson"
config "$TEST_TMP/c5.yml" bad/raw/ metadata
run -c "$TEST_TMP/c5.yml"
assert_eq "$RC" 5 "exit status for a malformed line (ERR_DATA)"
assert_contains "$ERR" "s3://cold/bad/asset_metadata/asset_bad.ndjson:2: not valid JSON" "malformed line"
assert_eq "$OUT" "" "output after a malformed line"
# a wrong type
printf '{"timeSeriesId":["x"]}\n' >"$TEST_TMP/bad2.ndjson"
put bad2/asset_metadata/asset_bad2.ndjson "$TEST_TMP/bad2.ndjson"
config "$TEST_TMP/c6.yml" bad2/raw/ metadata
run -c "$TEST_TMP/c6.yml"
assert_eq "$RC" 5 "exit status for a wrong type"
assert_contains "$ERR" "asset_bad2.ndjson:1: timeSeriesId is not a string" "wrong type"

# many objects, in parallel: the generator's asset metadata names exactly the
# series whose keys are associated (<asset>_<property>)
"$GEN" --out "$TEST_TMP/gen" --from 2024-03-01 --series 250 --records-per-file 1 --codec null \
    --data-prefix gen/raw/ --asset-metadata --seed 11 >"$TEST_TMP/gen.json"
nmeta=$(find "$TEST_TMP/gen/gen/asset_metadata" -name 'asset_*.ndjson' | wc -l)
[ "$nmeta" -ge 50 ] || fail "generator wrote only $nmeta asset metadata files"
(cd "$TEST_TMP/gen" && find gen/asset_metadata -name '*.ndjson') | while read -r k; do
    printf '%s\t%s\n' "$k" "$TEST_TMP/gen/$k"
done >"$TEST_TMP/uploads"
while IFS=$'\t' read -r k f; do
    "$S3T" --endpoint "$S3_ENDPOINT" --path-style put cold "$k" "$f" >/dev/null &
    while [ "$(jobs -rp | wc -l)" -ge 16 ]; do wait -n; done
done <"$TEST_TMP/uploads"
wait
find "$TEST_TMP/gen/gen/raw" -name '*.avro' -printf '%f\n' \
    | sed -E 's/^raw_(.*)_[0-9]+_[A-Z]+\.avro$/\1/' | grep _ | LC_ALL=C sort -u >"$TEST_TMP/gen.want"
config "$TEST_TMP/c7.yml" gen/raw/ metadata
run -c "$TEST_TMP/c7.yml" --threads 16 --stats
[ "$RC" -eq 0 ] || fail "generated metadata: rc $RC: $ERR"
diff "$TEST_TMP/gen.want" "$TEST_TMP/out" >/dev/null || fail "generated metadata set differs from the generated keys"
assert_contains "$ERR" "ids $(wc -l <"$TEST_TMP/gen.want") sources $nmeta skipped 0" "generated stats"
# the same with one thread
run -c "$TEST_TMP/c7.yml" --threads 1
cmp -s "$TEST_TMP/gen.want" "$TEST_TMP/out" || fail "one thread gives another set"
note "metadata: $nmeta objects, $(wc -l <"$TEST_TMP/gen.want") associated series"

# ------------------------------------------------------------ (b) api
LOG="$TEST_TMP/api.log"
: >"$LOG"
export AWS_ACCESS_KEY_ID=AKIDASSOCTEST AWS_SECRET_ACCESS_KEY='assoc/Secret+Key0123456789' AWS_REGION=eu-west-1
unset AWS_SESSION_TOKEN AWS_PROFILE
"$PY" "$REPART_SRC_DIR/tests/helpers/sitewise_server.py" "$TEST_TMP/port" "$LOG" $$ \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" eu-west-1 &
SW_PID=$!
on_exit "kill $SW_PID 2>/dev/null; wait $SW_PID 2>/dev/null"
for _ in $(seq 1 200); do
    [ -s "$TEST_TMP/port" ] && break
    kill -0 "$SW_PID" 2>/dev/null || fail "sitewise_server died"
    sleep 0.05
done
SW="http://127.0.0.1:$(cat "$TEST_TMP/port")"
config "$TEST_TMP/api.yml" raw/ api
sed -i 's/region: us-east-1/region: eu-west-1/' "$TEST_TMP/api.yml"
API_WANT="$(printf '%s\n' "${A1}_$P1" "${A1}_$P2" "${A2}_$P3" aaaaaaaa-1111-4222-8333-444444444444 \
    "${A2}_$P1" "${A2}_$P2" "${A1}_$P3" | LC_ALL=C sort)"
calls() { grep -c "\"scenario\": \"$1\"" "$LOG" || true; }

# three pages; page 2 is throttled once and retried
AWS_ENDPOINT_URL_IOTSITEWISE="$SW/ok" run -c "$TEST_TMP/api.yml" --stats
[ "$RC" -eq 0 ] || fail "api: rc $RC: $ERR"
assert_eq "$OUT" "$API_WANT" "api set"
assert_contains "$ERR" "ids 7 sources 3" "api stats"
assert_eq "$(calls ok)" 4 "requests for 3 pages and one 429"
grep -q '"sig_error": "' "$LOG" && fail "a request was not correctly signed: $(grep '"sig_error": "' "$LOG" | head -1)"
assert_eq "$(grep -c '"token": "page2+/tok==", "attempt": 2' "$LOG")" 1 "page 2 asked again after the 429"
grep -q "\"host\": \"127.0.0.1:$(cat "$TEST_TMP/port")\"" "$LOG" || fail "Host header"

# AWS_ENDPOINT_URL applies when the service variable is absent; a session
# token is sent and signed
: >"$LOG"
AWS_ENDPOINT_URL="$SW/flaky" AWS_SESSION_TOKEN=session-token-xyz run -c "$TEST_TMP/api.yml"
[ "$RC" -eq 0 ] || fail "flaky api: rc $RC: $ERR"
assert_eq "$OUT" "$API_WANT" "set after 503 and a dropped connection"
[ "$(calls flaky)" -ge 5 ] || fail "503 and the dropped connection were not retried"
grep -q '"sig_error": "' "$LOG" && fail "a request with a session token was not correctly signed"
grep -q '"session_token": false' "$LOG" && fail "the session token was not sent"

# 403 is not retried; the message names the call and the status, never a secret
: >"$LOG"
AWS_ENDPOINT_URL_IOTSITEWISE="$SW/denied" run -c "$TEST_TMP/api.yml"
[ "$RC" -ne 0 ] || fail "denied: exit 0"
assert_contains "$ERR" "iotsitewise ListTimeSeries (page 1): HTTP 403 AccessDeniedException" "denied message"
assert_eq "$(calls denied)" 1 "requests for a 403"
case "$ERR" in *"$AWS_SECRET_ACCESS_KEY"*|*Signature=*) fail "secret in: $ERR" ;; esac

# a wrong secret: the server refuses the signature; the error is shown
# without the request's credentials
AWS_ENDPOINT_URL_IOTSITEWISE="$SW/ok" AWS_SECRET_ACCESS_KEY=wrong-secret run -c "$TEST_TMP/api.yml"
[ "$RC" -ne 0 ] || fail "wrong secret: exit 0"
assert_contains "$ERR" "HTTP 403 InvalidSignatureException: signature does not match" "wrong secret"

# a malformed page and a repeated nextToken fail, naming the page
AWS_ENDPOINT_URL_IOTSITEWISE="$SW/badjson" run -c "$TEST_TMP/api.yml"
assert_eq "$RC" 5 "exit status for a malformed page"
assert_contains "$ERR" "iotsitewise ListTimeSeries (page 1): ListTimeSeries response: not valid JSON" "bad page"
AWS_ENDPOINT_URL_IOTSITEWISE="$SW/loop" run -c "$TEST_TMP/api.yml"
assert_eq "$RC" 5 "exit status for a repeated nextToken"
assert_contains "$ERR" "(page 2): the same nextToken again" "loop"

# a bad endpoint variable is a usage error
AWS_ENDPOINT_URL_IOTSITEWISE="ftp://x" run -c "$TEST_TMP/api.yml"
assert_eq "$RC" 2 "exit status for a bad endpoint URL"
assert_contains "$ERR" "AWS_ENDPOINT_URL_IOTSITEWISE" "bad endpoint message"

echo "it_assoc: ok"
