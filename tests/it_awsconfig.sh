#!/usr/bin/env bash
# Issue 13: repart behaves like the AWS CLI v2 / SDKs. Every request goes
# through tests/helpers/awsproxy.py (a recording proxy in front of fauxqs)
# so that the signing scope and the x-amz-* headers are checked as AWS would
# see them:
#   1. region precedence: --region, s3.region, AWS_REGION, AWS_DEFAULT_REGION,
#      the profile's region (--profile / AWS_PROFILE); no region key at all
#      and a profile with region eu-west-1 signs for eu-west-1
#   2. a bucket in another region: S3's 301 + x-amz-bucket-region followed,
#      said once
#   3. endpoints: a profile's services section, AWS_ENDPOINT_URL_S3 beating
#      it, a URL with credentials refused unprinted
#   4. TLS: an HTTPS endpoint with a private CA works with AWS_CA_BUNDLE or
#      the profile's ca_bundle, and fails without
#   5. uploads: s3.upload (SSE-KMS with key id and bucket key, storage class,
#      ACL, tags, expected bucket owner) on every PutObject and
#      CreateMultipartUpload (merged files, indexes, leases), the expected
#      owner on every request to the repartitioned bucket and none to the cold
#      tier; the flags override the config
#   6. retries: Retry-After of a 503 SlowDown honoured and shown at -v;
#      AWS_MAX_ATTEMPTS / the profile's max_attempts bound the attempts
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
PROXY_PIDS=()
# proxy_start NAME [awsproxy options]: sets PX_URL, PX_LOG
proxy_start() {
  local name=$1; shift
  local dir="$TEST_TMP/px-$name"
  mkdir -p "$dir"
  "$PY" "$REPART_SRC_DIR/tests/helpers/awsproxy.py" --upstream "$S3_ENDPOINT" --dir "$dir" \
    --owner $$ "$@" </dev/null >"$dir/out" 2>&1 &
  local pid=$!
  PROXY_PIDS+=("$pid")
  on_exit "kill $pid 2>/dev/null || true"
  local i
  for ((i = 0; i < 200; i++)); do
    [ -s "$dir/port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/out" >&2; fail "awsproxy $name died"; }
    sleep 0.05
  done
  [ -s "$dir/port" ] || fail "awsproxy $name did not start"
  local scheme=http
  for a in "$@"; do [ "$a" = --tls ] && scheme=https; done
  PX_URL="$scheme://127.0.0.1:$(cat "$dir/port")"
  [ "$scheme" = https ] && PX_URL="https://localhost:$(cat "$dir/port")"
  PX_LOG="$dir/log.jsonl"
}
# regions LOG: the distinct signing regions of the log, space-separated
regions() {
  "$PY" -c 'import json,sys
print(" ".join(sorted({(json.loads(l)["scope"] or {}).get("region","unsigned") for l in open(sys.argv[1])})))' "$1"
}
# cfg FILE ENDPOINT [extra s3 lines]: a config without a region key
cfg() {
  cat >"$1" <<YAML
s3:
  endpoint_url: $2
  path_style: true
${3:-}
  cold_tier: { bucket_name: cold, data_prefix: raw/ }
  repartitioned: { bucket_name: out, data_prefix: consolidated/, index_prefix: index/ }
work_dir: $TEST_TMP/work
concurrency: 2
part_size_mb: 5
YAML
}
unset AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_CA_BUNDLE AWS_MAX_ATTEMPTS AWS_RETRY_MODE
AWSCFG="$TEST_TMP/aws-config"
cat >"$AWSCFG" <<'INI'
[default]
region = us-west-2
[profile eu]
region = eu-west-1
[profile south]
region = ap-south-1
INI
export AWS_CONFIG_FILE="$AWSCFG"
# --profile beats the environment's keys (as the CLI): the profiles named
# with --profile have keys of their own
export AWS_SHARED_CREDENTIALS_FILE="$TEST_TMP/credentials"
for p in eu south tls tries; do
  printf '[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$p" \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >>"$AWS_SHARED_CREDENTIALS_FILE"
done

# --- 1. region precedence -----------------------------------------------------
proxy_start region
cfg "$TEST_TMP/c.yml" "$PX_URL"
plan() {  # plan through the proxy; REG = the regions signed for
  : >"$PX_LOG"
  run_repart "$@" plan --days 2024-01-01
  [ "$RC" = 0 ] || fail "plan $*: rc $RC: $ERR"
  REG=$(regions "$PX_LOG")
}
AWS_PROFILE=eu plan -c "$TEST_TMP/c.yml"
assert_eq "$REG" "eu-west-1" "no region key, AWS_REGION unset, AWS_PROFILE=eu"
plan -c "$TEST_TMP/c.yml" --profile eu
assert_eq "$REG" "eu-west-1" "--profile eu"
AWS_PROFILE=eu plan -c "$TEST_TMP/c.yml" --profile south
assert_eq "$REG" "ap-south-1" "--profile beats AWS_PROFILE"
plan -c "$TEST_TMP/c.yml"
assert_eq "$REG" "us-west-2" "the default profile's region"
AWS_DEFAULT_REGION=ca-central-1 AWS_PROFILE=eu plan -c "$TEST_TMP/c.yml"
assert_eq "$REG" "ca-central-1" "AWS_DEFAULT_REGION beats the profile"
AWS_REGION=sa-east-1 AWS_DEFAULT_REGION=ca-central-1 plan -c "$TEST_TMP/c.yml"
assert_eq "$REG" "sa-east-1" "AWS_REGION beats AWS_DEFAULT_REGION"
cfg "$TEST_TMP/c2.yml" "$PX_URL" "  region: eu-central-1"
AWS_REGION=sa-east-1 plan -c "$TEST_TMP/c2.yml"
assert_eq "$REG" "eu-central-1" "s3.region beats AWS_REGION"
AWS_REGION=sa-east-1 plan -c "$TEST_TMP/c2.yml" --region us-east-2
assert_eq "$REG" "us-east-2" "--region beats s3.region"
AWS_CONFIG_FILE=$TEST_TMP/none plan -c "$TEST_TMP/c.yml"
assert_eq "$REG" "us-east-1" "nothing set: us-east-1"
# bad values name their source
run_repart -c "$TEST_TMP/c.yml" --region 'eu west' plan --days 2024-01-01
assert_eq "$RC" 2 "--region with a space"
assert_contains "$ERR" "--region"
run_repart -c "$TEST_TMP/c.yml" --profile 'a]b' plan --days 2024-01-01
assert_eq "$RC" 2 "bad --profile"
printf '[profile broken]\nregion = EU/WEST\n' >>"$AWSCFG"
AWS_PROFILE=broken run_repart -c "$TEST_TMP/c.yml" plan --days 2024-01-01
assert_eq "$RC" 2 "bad profile region"
assert_contains "$ERR" 'profile "broken"'
note "region precedence ok"

# --- 2. a bucket in another region: followed once ----------------------------
proxy_start moved --bucket-region cold=eu-west-1 --bucket-region out=eu-west-1
cfg "$TEST_TMP/m.yml" "$PX_URL"
gen "$TEST_TMP/gen" --from 2024-01-01 --to 2024-01-02 --series 3 --records-per-file 20 >/dev/null
put_tree "$TEST_TMP/gen" cold
AWS_REGION=us-east-1 run_repart -c "$TEST_TMP/m.yml" all --days 2024-01-01,2024-01-02
[ "$RC" = 0 ] || fail "all against buckets in eu-west-1: rc $RC: $ERR"
n301=$(grep -c '"status": 301' "$PX_LOG" || true)
[ "$n301" -ge 1 ] && [ "$n301" -le 4 ] || fail "301 answers: $n301 (expected one per bucket, or a few concurrent first requests)"
assert_eq "$(grep -c 'is in region eu-west-1' "$TEST_TMP/err")" 2 "said once per bucket"
assert_contains "$ERR" "set s3.region: eu-west-1"
check_day out 2024-01-01 "$TEST_TMP/gen/raw/$(day_part 2024-01-01)"
check_day out 2024-01-02 "$TEST_TMP/gen/raw/$(day_part 2024-01-02)"
after=$("$PY" -c 'import json,sys
ls=[json.loads(l) for l in open(sys.argv[1])]
i=max(k for k,l in enumerate(ls) if l["status"]==301)
print(" ".join(sorted({l["scope"]["region"] for l in ls[i+1:] if l["scope"]})))' "$PX_LOG")
assert_eq "$after" "eu-west-1" "signed for the bucket's region after the redirect"
note "bucket region followed ok"

# --- 3. endpoints from the AWS settings ---------------------------------------
proxy_start ep
cfg "$TEST_TMP/noep.yml" ""
sed -i '/endpoint_url: *$/d' "$TEST_TMP/noep.yml"
cat >>"$AWSCFG" <<INI
[profile svc]
region = eu-west-3
services = local
endpoint_url = http://127.0.0.1:1
[services local]
s3 =
  endpoint_url = $PX_URL
INI
: >"$PX_LOG"
AWS_PROFILE=svc run_repart -c "$TEST_TMP/noep.yml" plan --days 2024-01-01
assert_eq "$RC" 0 "plan with the endpoint of a services section ($ERR)"
assert_eq "$(regions "$PX_LOG")" "eu-west-3" "requests through the services endpoint"
: >"$PX_LOG"
AWS_PROFILE=svc AWS_ENDPOINT_URL_S3=http://127.0.0.1:1 AWS_ENDPOINT_URL=$PX_URL \
  run_repart -c "$TEST_TMP/noep.yml" plan --days 2024-01-01
[ "$RC" != 0 ] || fail "AWS_ENDPOINT_URL_S3 should beat the services section and AWS_ENDPOINT_URL"
assert_eq "$(wc -l <"$PX_LOG")" 0 "no request to the services endpoint"
AWS_ENDPOINT_URL_S3="http://AKIDINURL:SeCrEtInUrl@127.0.0.1:$S3_PORT" \
  run_repart -c "$TEST_TMP/noep.yml" plan --days 2024-01-01
assert_eq "$RC" 2 "an endpoint URL with credentials"
assert_contains "$ERR" "user name or password"
case "$ERR$OUT" in *SeCrEtInUrl*|*AKIDINURL*) fail "credentials of the URL printed: $ERR" ;; esac
note "endpoints ok"

# --- 4. TLS with a private CA ---------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TEST_TMP/key.pem" -out "$TEST_TMP/ca.pem" \
  -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
proxy_start tls --tls "$TEST_TMP/ca.pem" "$TEST_TMP/key.pem"
cfg "$TEST_TMP/tls.yml" "$PX_URL"
run_repart -c "$TEST_TMP/tls.yml" plan --days 2024-01-01
assert_eq "$RC" 1 "plan over TLS without the CA"
assert_contains "$ERR" "certificate"
: >"$PX_LOG"
AWS_CA_BUNDLE="$TEST_TMP/ca.pem" run_repart -c "$TEST_TMP/tls.yml" plan --days 2024-01-01
assert_eq "$RC" 0 "plan over TLS with AWS_CA_BUNDLE ($ERR)"
[ "$(wc -l <"$PX_LOG")" -ge 1 ] || fail "no request reached the TLS proxy"
printf '[profile tls]\nca_bundle = %s\n' "$TEST_TMP/ca.pem" >>"$AWSCFG"
run_repart -c "$TEST_TMP/tls.yml" --profile tls plan --days 2024-01-01
assert_eq "$RC" 0 "plan over TLS with the profile's ca_bundle ($ERR)"
AWS_CA_BUNDLE="$TEST_TMP/missing.pem" run_repart -c "$TEST_TMP/tls.yml" plan --days 2024-01-01
assert_eq "$RC" 2 "a missing AWS_CA_BUNDLE"
assert_contains "$ERR" "AWS_CA_BUNDLE"
note "TLS ok"

# --- 5. upload headers -----------------------------------------------------------
cond_proxy_start   # conditional writes, so that leases are written too
proxy_start upload --upstream "$COND_ENDPOINT"
cfg "$TEST_TMP/up.yml" "$PX_URL" "  upload:
    sse: aws:kms
    kms_key_id: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
    bucket_key: true
    storage_class: STANDARD_IA
    acl: bucket-owner-full-control
    expected_bucket_owner: \"111122223333\"
    tags: team=data&app=repart"
echo "locking: on" >>"$TEST_TMP/up.yml"
gen "$TEST_TMP/gen5" --from 2024-02-01 --to 2024-02-02 --series 3 --records-per-file 20 --seed 5 >/dev/null
put_tree "$TEST_TMP/gen5" cold
AWS_REGION=us-east-1 run_repart -c "$TEST_TMP/up.yml" all --days 2024-02-01,2024-02-02
assert_eq "$RC" 0 "all with upload settings ($ERR)"
# a late file, then again: the second run appends to the committed day
gen "$TEST_TMP/gen5b" --from 2024-02-01 --to 2024-02-01 --series 4 --records-per-file 20 --seed 6 >/dev/null
put_tree "$TEST_TMP/gen5b" cold
AWS_REGION=us-east-1 run_repart -c "$TEST_TMP/up.yml" all --days 2024-02-01
assert_eq "$RC" 0 "second all with upload settings ($ERR)"
"$PY" - "$PX_LOG" <<'PYEOF' || fail "upload headers"
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
want = {"x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id":
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "x-amz-server-side-encryption-bucket-key-enabled": "true",
        "x-amz-storage-class": "STANDARD_IA", "x-amz-acl": "bucket-owner-full-control",
        "x-amz-tagging": "team=data&app=repart"}
bad, writes, kinds = [], 0, set()
for l in ls:
    q = l["query"]
    bucket = l["path"].lstrip("/").split("/", 1)[0]
    is_put = l["method"] == "PUT" and "partNumber=" not in q
    is_create = l["method"] == "POST" and q.startswith("uploads")
    owner = l["amz"].get("x-amz-expected-bucket-owner")
    if bucket == "out" and owner != "111122223333":
        bad.append("no expected owner: %s %s?%s" % (l["method"], l["path"], q))
    if bucket == "cold" and owner is not None:
        bad.append("expected owner sent to the cold tier: %s" % l["path"])
    if "x-amz-copy-source" in l["amz"] and l["amz"]["x-amz-copy-source"].startswith("/out/") \
            and l["amz"].get("x-amz-source-expected-bucket-owner") != "111122223333":
        bad.append("UploadPartCopy without the source owner")
    if is_put or is_create:
        writes += 1
        key = l["path"].split("/", 2)[2] if l["path"].count("/") >= 2 else ""
        kinds.add("lease" if "lease" in key else "index" if key.startswith("index/") else
                  "probe" if "probe" in key else "data")
        for k, v in want.items():
            if l["amz"].get(k) != v:
                bad.append("%s %s: %s = %r" % (l["method"], l["path"], k, l["amz"].get(k)))
    elif "partNumber=" in q and any(k in l["amz"] for k in want if k != "x-amz-tagging"):
        bad.append("SSE/storage headers on a part: %s" % l["path"])
print("writes", writes, "kinds", sorted(kinds), file=sys.stderr)
if not {"data", "index", "lease"} <= kinds:
    bad.append("no data or index write seen: %s" % sorted(kinds))
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
PYEOF
# the flags override the config
: >"$PX_LOG"
gen "$TEST_TMP/gen5c" --from 2024-02-03 --to 2024-02-03 --series 2 --records-per-file 10 --seed 7 >/dev/null
put_tree "$TEST_TMP/gen5c" cold
AWS_REGION=us-east-1 run_repart -c "$TEST_TMP/up.yml" --sse AES256 --storage-class STANDARD \
  all --days 2024-02-03
assert_eq "$RC" 2 "--sse AES256 with the config's kms_key_id"
assert_contains "$ERR" "kms_key_id needs sse: aws:kms"
cfg "$TEST_TMP/up2.yml" "$PX_URL"
AWS_REGION=us-east-1 run_repart -c "$TEST_TMP/up2.yml" --sse AES256 --storage-class INTELLIGENT_TIERING \
  --expected-bucket-owner 444455556666 all --days 2024-02-03
assert_eq "$RC" 0 "all with upload flags ($ERR)"
got=$("$PY" -c 'import json,sys
s=set()
for l in open(sys.argv[1]):
    l=json.loads(l)
    if l["method"]=="PUT" and "partNumber=" not in l["query"]:
        a=l["amz"]; s.add("%s %s %s %s" % (a.get("x-amz-server-side-encryption"), a.get("x-amz-storage-class"), a.get("x-amz-expected-bucket-owner"), a.get("x-amz-server-side-encryption-aws-kms-key-id")))
print(";".join(sorted(s)))' "$PX_LOG")
assert_eq "$got" "AES256 INTELLIGENT_TIERING 444455556666 None" "headers from the flags"
run_repart -c "$TEST_TMP/up2.yml" --storage-class GLACIER plan --days 2024-02-03
assert_eq "$RC" 2 "GLACIER refused"
run_repart -c "$TEST_TMP/up2.yml" --expected-bucket-owner 12ab plan --days 2024-02-03
assert_eq "$RC" 2 "a bad account id"
note "upload headers ok"

# --- 6. retries ------------------------------------------------------------------
proxy_start slow --slowdown 2 --retry-after 1
cfg "$TEST_TMP/r.yml" "$PX_URL"
t0=$(date +%s%N)
REPART_S3_RETRY_BASE_MS=1 run_repart -c "$TEST_TMP/r.yml" -v plan --days 2024-01-01
t1=$(date +%s%N)
assert_eq "$RC" 0 "plan after two SlowDowns ($ERR)"
assert_eq "$(grep -c '"status": 503' "$PX_LOG")" 2 "503 answers"
assert_eq "$(cat "$TEST_TMP/out" "$TEST_TMP/err" | grep -c 'retrying in 1000 ms')" 2 "retries shown at -v, after Retry-After"
assert_contains "$OUT$ERR" "SlowDown"
[ $(( (t1 - t0) / 1000000 )) -ge 950 ] || fail "Retry-After: 1 not waited ($(( (t1 - t0) / 1000000 )) ms)"
run_repart -c "$TEST_TMP/r.yml" plan --days 2024-01-01
assert_eq "$(cat "$TEST_TMP/out" "$TEST_TMP/err" | grep -c 'retrying' || true)" 0 "no retry lines without -v"
# Retry-After as an HTTP-date (RFC 9110) eight seconds ahead: the wait is the
# time left until then, not the 1 ms backoff base
proxy_start slowdate --slowdown 1 --retry-after "$(date -u -d '+8 sec' '+%a, %d %b %Y %H:%M:%S GMT')"
cfg "$TEST_TMP/rd.yml" "$PX_URL"
REPART_S3_RETRY_BASE_MS=1 run_repart -c "$TEST_TMP/rd.yml" -v plan --days 2024-01-01
assert_eq "$RC" 0 "plan after a SlowDown with a Retry-After date ($ERR)"
waited=$(cat "$TEST_TMP/out" "$TEST_TMP/err" | sed -n 's/.*retrying in \([0-9]*\) ms.*/\1/p' | head -1)
[ -n "$waited" ] && [ "$waited" -ge 1000 ] && [ "$waited" -le 8000 ] \
    || fail "Retry-After date: waited '${waited}' ms, expected 1000..8000"
proxy_start slow2 --slowdown 100
cfg "$TEST_TMP/r2.yml" "$PX_URL"
AWS_MAX_ATTEMPTS=2 REPART_S3_RETRY_BASE_MS=1 run_repart -c "$TEST_TMP/r2.yml" plan --days 2024-01-01
assert_eq "$RC" 1 "plan with SlowDown forever"
assert_contains "$ERR" "giving up after 2 attempts"
printf '[profile tries]\nmax_attempts = 3\nretry_mode = adaptive\n' >>"$AWSCFG"
: >"$PX_LOG"
REPART_S3_RETRY_BASE_MS=1 run_repart -c "$TEST_TMP/r2.yml" --profile tries plan --days 2024-01-01
assert_contains "$ERR" "giving up after 3 attempts"
AWS_RETRY_MODE=fast run_repart -c "$TEST_TMP/r2.yml" plan --days 2024-01-01
assert_eq "$RC" 2 "a bad AWS_RETRY_MODE"
assert_contains "$ERR" "AWS_RETRY_MODE"
note "retries ok"

echo "it_awsconfig: ok"
