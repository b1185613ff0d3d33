#!/usr/bin/env bash
# Assume-role and credential_process profiles (issue 13), against the STS
# stand-in tests/helpers/creds_server.py, which verifies each AssumeRole's
# SigV4 signature (service sts) with the source profile's secret:
#   role_arn + source_profile (external_id, role_session_name,
#   duration_seconds sent), a chain of two roles, credential_source
#   Environment with --profile, mfa_serial refused before any request,
#   STS AccessDenied named, credential_process (and its failure, unprinted);
#   IAM Identity Center profiles (sso_session and legacy) from the token cache,
#   an expired token and a refused one named with the `aws sso login` to run;
#   and a backfill through awsproxy.py --expiring that outlives several
#   credential lifetimes: refreshed in time, no request with an expired key.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"
PROBE=$REPART_BUILD_DIR/creds_probe
[ -x "$PROBE" ] || fail "no $PROBE"

SECRET="SeCrEtDoNotLeak/0123456789+abcdefghijKLMNOP"
LOG=$TEST_TMP/sts.log
: >"$LOG"
"$PY" "$REPART_SRC_DIR/tests/helpers/creds_server.py" "$TEST_TMP/stsport" "$LOG" unused \
  </dev/null >"$TEST_TMP/sts.out" 2>&1 &
STS_PID=$!
on_exit "kill $STS_PID 2>/dev/null || true"
for _ in $(seq 1 200); do
  [ -s "$TEST_TMP/stsport" ] && break
  kill -0 "$STS_PID" 2>/dev/null || fail "STS stand-in died: $(cat "$TEST_TMP/sts.out")"
  sleep 0.05
done
STS=http://127.0.0.1:$(cat "$TEST_TMP/stsport")/sts
ROLE=arn:aws:iam::111122223333:role/repart

cat >"$TEST_TMP/credentials" <<'INI'
[src]
aws_access_key_id = AKIDSOURCE
aws_secret_access_key = source-secret-key
INI
cat >"$TEST_TMP/proc.sh" <<'SH'
#!/bin/sh
printf '{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "%s", "SessionToken": "tok", "Expiration": "2999-01-01T00:00:00Z"}\n' "$1"
SH
cat >"$TEST_TMP/procfail.sh" <<'SH'
#!/bin/sh
echo "SeCrEtDoNotLeak/0123456789+abcdefghijKLMNOP"
echo "cannot reach the vault" >&2
exit 3
SH
chmod +x "$TEST_TMP/proc.sh" "$TEST_TMP/procfail.sh"
cat >"$TEST_TMP/config" <<INI
[profile role]
role_arn = $ROLE
source_profile = src
external_id = ext-123:x
role_session_name = it-role
duration_seconds = 900
[profile chained]
role_arn = arn:aws:iam::111122223333:role/second
source_profile = role
[profile envsrc]
role_arn = $ROLE
credential_source = Environment
[profile mfa]
role_arn = $ROLE
source_profile = src
mfa_serial = arn:aws:iam::111122223333:mfa/someone
[profile badsrc]
role_arn = $ROLE
credential_source = Somewhere
[profile loop1]
role_arn = $ROLE
source_profile = loop2
[profile loop2]
role_arn = $ROLE
source_profile = loop1
[profile proc]
credential_process = $TEST_TMP/proc.sh $SECRET
[profile procfail]
credential_process = $TEST_TMP/procfail.sh
INI

probe() {  # probe [VAR=VALUE...] -- [probe args]: sets RC OUT ERR
  local vars=()
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  RC=0
  env -i PATH=/usr/bin:/bin HOME="$TEST_TMP" AWS_EC2_METADATA_DISABLED=true \
    AWS_CONFIG_FILE="$TEST_TMP/config" AWS_SHARED_CREDENTIALS_FILE="$TEST_TMP/credentials" \
    "${vars[@]}" "$PROBE" "$@" >"$TEST_TMP/pout" 2>"$TEST_TMP/perr" || RC=$?
  OUT=$(cat "$TEST_TMP/pout"); ERR=$(cat "$TEST_TMP/perr")
  case "$OUT$ERR" in *"$SECRET"*|*source-secret-key*) fail "a secret was printed: $OUT $ERR" ;; esac
}
last() { tail -1 "$LOG" | "$PY" -c "import json,sys; d=json.loads(sys.stdin.read()); print($1)"; }
nsts() { grep -c '"method": "POST"' "$LOG" || true; }

# 1. role_arn + source_profile
probe AWS_PROFILE=role AWS_ENDPOINT_URL_STS="$STS/ok" AWS_REGION=eu-west-1 --
assert_eq "$RC" 0 "assume role ($ERR)"
assert_contains "$OUT" "source=assume-role:role access_key_id=ASIAEXP"
assert_contains "$OUT" "expires=future"
assert_eq "$(last 'd["check"]')" ok "the STS stand-in's verdict on the signed request"
assert_eq "$(last 'd["akid"]')" AKIDSOURCE "signed with the source profile's key"
assert_eq "$(last 'd["form"]["ExternalId"]+" "+d["form"]["RoleSessionName"]+" "+d["form"]["DurationSeconds"]+" "+d["form"]["RoleArn"]')" \
  "ext-123:x it-role 900 $ROLE" "AssumeRole form"
# the stand-in really checks: a wrong secret is refused
printf '[src]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = wrong\n' >"$TEST_TMP/credentials.bad"
probe AWS_PROFILE=role AWS_ENDPOINT_URL_STS="$STS/ok" AWS_SHARED_CREDENTIALS_FILE="$TEST_TMP/credentials.bad" --
[ "$RC" != 0 ] || fail "a request signed with a wrong secret was accepted"
assert_eq "$(last 'd["check"]')" "signature does not match" "stand-in verdict"
assert_contains "$ERR" "SignatureDoesNotMatch"
assert_contains "$ERR" 'profile "role"'
note "assume role ok"

# 2. a chain: role -> chained, the second call signed with the first role's session
n0=$(nsts)
probe AWS_PROFILE=chained AWS_ENDPOINT_URL_STS="$STS/ok" --
assert_eq "$RC" 0 "chained roles ($ERR)"
assert_eq "$(( $(nsts) - n0 ))" 2 "two AssumeRole calls"
assert_contains "$(last 'd["akid"]')" "ASIAEXP" "second call signed with the first role's key"
assert_eq "$(last 'd["check"]')" ok "chained call verified"
probe AWS_PROFILE=loop1 AWS_ENDPOINT_URL_STS="$STS/ok" --
[ "$RC" != 0 ] || fail "a source_profile loop"
assert_contains "$ERR" "chained"

# 3. credential_source = Environment; --profile beats the environment's keys
probe AWS_ACCESS_KEY_ID=AKIDENV AWS_SECRET_ACCESS_KEY=env-secret-key AWS_ENDPOINT_URL_STS="$STS/ok" -- -p envsrc
assert_eq "$RC" 0 "credential_source Environment ($ERR)"
assert_contains "$OUT" "source=assume-role:envsrc"
assert_eq "$(last 'd["akid"]')" AKIDENV "signed with the environment's key"
probe AWS_ACCESS_KEY_ID=AKIDENV AWS_SECRET_ACCESS_KEY=env-secret-key AWS_PROFILE=envsrc --
assert_contains "$OUT" "source=env" "AWS_PROFILE does not beat the environment's keys (as the CLI)"
probe AWS_PROFILE=badsrc AWS_ENDPOINT_URL_STS="$STS/ok" --
assert_eq "$RC" 1 "an unknown credential_source"
assert_contains "$ERR" "Ec2InstanceMetadata"

# 4. mfa_serial: refused clearly, before any request
n0=$(nsts)
probe AWS_PROFILE=mfa AWS_ENDPOINT_URL_STS="$STS/ok" --
[ "$RC" != 0 ] || fail "mfa_serial accepted"
assert_contains "$ERR" "mfa_serial"
assert_contains "$ERR" "export-credentials --profile mfa"
assert_eq "$(nsts)" "$n0" "no STS request for an MFA profile"

# 5. STS says no
probe AWS_PROFILE=role AWS_ENDPOINT_URL_STS="$STS/denied" --
[ "$RC" != 0 ] || fail "denied accepted"
assert_contains "$ERR" "AccessDenied"
assert_contains "$ERR" "$ROLE"

# 6. credential_process
probe AWS_PROFILE=proc --
assert_eq "$RC" 0 "credential_process ($ERR)"
assert_contains "$OUT" "source=process:proc access_key_id=AKIDPROCESS"
assert_contains "$OUT" "secret_sha256_8=$(printf %s "$SECRET" | sha256sum | cut -c1-8)"
assert_contains "$OUT" "session_token_len=3"
probe AWS_PROFILE=procfail --
[ "$RC" != 0 ] || fail "a failing credential_process"
assert_contains "$ERR" "exit status 3"
note "credential_process ok"

# 7. SSO: the token cache that `aws sso login` writes
cat >>"$TEST_TMP/config" <<'INI'
[profile sso]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = RepartRole
region = eu-west-1
[sso-session corp]
sso_region = eu-central-1
sso_start_url = https://corp.awsapps.com/start
sso_registration_scopes = sso:account:access
[profile ssolegacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-2
sso_account_id = 111122223333
sso_role_name = RepartRole
[profile ssohalf]
sso_session = nosuch
sso_account_id = 111122223333
INI
mkdir -p "$TEST_TMP/.aws/sso/cache"
cache() {  # cache KEY EXPIRES
  local f; f="$TEST_TMP/.aws/sso/cache/$(printf %s "$1" | sha1sum | cut -d' ' -f1).json"
  printf '{"startUrl": "x", "region": "eu-central-1", "accessToken": "sso-access-token-0123456789", "expiresAt": "%s"}' "$2" >"$f"
}
probe AWS_PROFILE=sso AWS_ENDPOINT_URL_SSO="http://127.0.0.1:$(cat "$TEST_TMP/stsport")/sso/ok" --
assert_eq "$RC" 1 "SSO without a cached token"
assert_contains "$ERR" "aws sso login --sso-session corp"
cache corp "2999-01-01T00:00:00Z"
cache https://legacy.awsapps.com/start "2999-01-01T00:00:00UTC"
probe AWS_PROFILE=sso AWS_ENDPOINT_URL_SSO="http://127.0.0.1:$(cat "$TEST_TMP/stsport")/sso/ok" --
assert_eq "$RC" 0 "SSO profile ($ERR)"
assert_contains "$OUT" "source=sso:sso access_key_id=ASIASSOEXAMPLE"
assert_contains "$OUT" "expires=future"
assert_eq "$(last 'd["sso_check"]')" ok "GetRoleCredentials request (token header, account, role)"
probe AWS_PROFILE=ssolegacy AWS_ENDPOINT_URL_SSO="http://127.0.0.1:$(cat "$TEST_TMP/stsport")/sso/ok" --
assert_eq "$RC" 0 "legacy SSO profile ($ERR)"
assert_contains "$OUT" "source=sso:ssolegacy"
cache corp "2001-01-01T00:00:00Z"
probe AWS_PROFILE=sso AWS_ENDPOINT_URL_SSO="http://127.0.0.1:$(cat "$TEST_TMP/stsport")/sso/ok" --
assert_eq "$RC" 1 "an expired SSO token"
assert_contains "$ERR" "expired"
assert_contains "$ERR" "aws sso login --sso-session corp"
cache corp "2999-01-01T00:00:00Z"
probe AWS_PROFILE=sso AWS_ENDPOINT_URL_SSO="http://127.0.0.1:$(cat "$TEST_TMP/stsport")/sso/denied" --
assert_eq "$RC" 1 "a refused SSO token"
assert_contains "$ERR" "HTTP 401"
case "$ERR" in *sso-access-token*) fail "the SSO token was printed" ;; esac
probe AWS_PROFILE=ssohalf --
assert_eq "$RC" 1 "an incomplete SSO profile"
assert_contains "$ERR" "sso_role_name"
note "SSO ok"

# 7b. a backfill longer than the credentials live: 2-second credentials,
#    refreshed 1 s before expiry; the proxy refuses a key once it expired
s3_start fauxqs cold out
unset AWS_REGION AWS_DEFAULT_REGION AWS_CA_BUNDLE
PXD=$TEST_TMP/px
mkdir -p "$PXD"
"$PY" "$REPART_SRC_DIR/tests/helpers/awsproxy.py" --upstream "$S3_ENDPOINT" --dir "$PXD" \
  --owner $$ --expiring --delay-ms 100 </dev/null >"$PXD/out" 2>&1 &
PX_PID=$!
on_exit "kill $PX_PID 2>/dev/null || true"
for _ in $(seq 1 200); do [ -s "$PXD/port" ] && break; sleep 0.05; done
[ -s "$PXD/port" ] || fail "awsproxy did not start"
S3_ENDPOINT_DIRECT=$S3_ENDPOINT
S3_ENDPOINT=http://127.0.0.1:$(cat "$PXD/port")
COLD_BUCKET=cold OUT_BUCKET=out write_config "$TEST_TMP/c.yml" "concurrency: 2"
sed -i 's/^concurrency: 8$//' "$TEST_TMP/c.yml"
S3_ENDPOINT=$S3_ENDPOINT_DIRECT
gen "$TEST_TMP/g" --from 2024-03-01 --to 2024-03-03 --series 6 --records-per-file 10 >/dev/null
put_tree "$TEST_TMP/g" cold
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY   # only the role's credentials from here
n0=$(nsts)
t0=$(date +%s%N)
AWS_CONFIG_FILE=$TEST_TMP/config AWS_SHARED_CREDENTIALS_FILE=$TEST_TMP/credentials \
  AWS_ENDPOINT_URL_STS="$STS/life2" REPART_CREDS_REFRESH_MARGIN_S=1 \
  run_repart -c "$TEST_TMP/c.yml" --profile role all --from 2024-03-01 --to 2024-03-03
t1=$(date +%s%N)
assert_eq "$RC" 0 "backfill with 2-second credentials ($ERR)"
ms=$(( (t1 - t0) / 1000000 ))
calls=$(( $(nsts) - n0 ))
keys=$("$PY" -c 'import json,sys; print(len({json.loads(l)["scope"]["akid"] for l in open(sys.argv[1]) if json.loads(l)["scope"]}))' "$PXD/log.jsonl")
expired=$(grep -c '"status": 400' "$PXD/log.jsonl" || true)
note "backfill: ${ms} ms, $calls AssumeRole calls, $keys keys used, $expired refused"
[ "$ms" -ge 4000 ] || fail "the backfill did not outlive two credential lifetimes (${ms} ms)"
[ "$calls" -ge 3 ] || fail "credentials not refreshed during the run ($calls AssumeRole calls)"
[ "$keys" -ge 3 ] || fail "fewer than 3 keys used ($keys)"
assert_eq "$expired" 0 "requests with an expired key"
for d in 2024-03-01 2024-03-02 2024-03-03; do check_day out "$d" "$TEST_TMP/g/raw/$(day_part "$d")"; done
note "refresh during a backfill ok"
echo "it_creds_role: ok"
