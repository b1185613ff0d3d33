#!/usr/bin/env bash
# The web-identity source of the credential chain (Kubernetes IRSA) against a
# local STS (tests/helpers/creds_server.py on 127.0.0.1, a free port): the
# unsigned AssumeRoleWithWebIdentity form, the token file re-read on refresh,
# retries on 500 and throttling, errors that name the role and the endpoint
# but never the token or the secret, and the precedence of the environment.
set -euo pipefail
SRC=${REPART_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${REPART_BUILD_DIR:-$SRC/build}
PROBE=$BUILD/creds_probe
PY=/usr/bin/python3
[ -x "$PROBE" ] || { echo "it_creds_webid: $PROBE not built" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/it_creds_webid.XXXXXX")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

SECRET="SeCrEtDoNotLeak/0123456789+abcdefghijKLMNOP"   # what the server hands out
SECRET_SHA8=$(printf %s "$SECRET" | sha256sum | cut -c1-8)
ROLE="arn:aws:iam::111122223333:role/repart-irsa"
TOKFILE=$TMP/token
# a JWT-like token with characters that need form encoding (+ / =)
TOKEN="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.SiGnAtUrE+/=tokenPart"
printf '%s' "$TOKEN" > "$TOKFILE"
LOG=$TMP/requests.log
: > "$LOG"
"$PY" "$SRC/tests/helpers/creds_server.py" "$TMP/port" "$LOG" unused "$TOKFILE" &
SERVER_PID=$!
for _ in $(seq 1 200); do
  [ -s "$TMP/port" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "it_creds_webid: server died" >&2; exit 1; }
  sleep 0.05
done
PORT=$(cat "$TMP/port")
BASE=http://127.0.0.1:$PORT
mkdir -p "$TMP/home"

fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1" >&2; fails=$((fails + 1)); }

# Runs the probe with only the given variables (IMDS off); $OUT, $ERR, $RC.
probe() {
  local n=$1; shift
  set +e
  env -i PATH=/usr/bin:/bin HOME="$TMP/home" AWS_EC2_METADATA_DISABLED=true "$@" \
    "$PROBE" -n "$n" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  set -e
  OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
  if [[ $ERR == *Sanitizer* || $ERR == *"runtime error"* ]]; then fail "sanitizer report: $ERR"; fi
}
webid() {  # probe N MODE [VAR=VALUE...]
  local n=$1 mode=$2; shift 2
  probe "$n" AWS_WEB_IDENTITY_TOKEN_FILE="$TOKFILE" AWS_ROLE_ARN="$ROLE" \
    AWS_ENDPOINT_URL_STS="$BASE/sts/$mode" "$@"
}
hits() { grep -c "\"path\": \"$1\"" "$LOG" || true; }
no_leak() {  # neither the secret nor the token (nor their first words) in the output
  local tok; tok=$(cat "$TOKFILE")
  if grep -qF -e "$SECRET" -e "${SECRET%%/*}" -e "$TOKEN" -e "${TOKEN%%.*}" -e "$tok" \
       "$TMP/out" "$TMP/err"; then
    fail "$1: secret or token leaked"
  else pass "$1: no secret or token in output"; fi
}
# The server's verdict on the last STS request ("ok" or what was wrong).
last_check() { tail -1 "$LOG" | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read()).get("check"))'; }

# 1. credentials come from STS; the request is the unsigned form
webid 1 ok AWS_ROLE_SESSION_NAME=it-session
if [ $RC -eq 0 ] && [[ $OUT == *"source=web-identity access_key_id=ASIAWEBIDOK"* ]] &&
   [[ $OUT == *"secret_sha256_8=$SECRET_SHA8"* ]] && [[ $OUT == *"session_token_len=29"* ]] &&
   [[ $OUT == *"expires=future"* ]]; then
  pass "web identity: credentials from STS"
else fail "web identity ok: rc=$RC out=$OUT err=$ERR"; fi
if [ "$(last_check)" = ok ] && "$PY" - "$LOG" "$TOKEN" <<'EOF2'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert r["method"] == "POST" and r["authorization"] is None, r
f = r["form"]
assert f["WebIdentityToken"] == sys.argv[2], "token differs"
assert f["RoleSessionName"] == "it-session", f["RoleSessionName"]
assert f["RoleArn"] == "arn:aws:iam::111122223333:role/repart-irsa"
EOF2
then pass "web identity: form has Action, RoleArn, session name, token = file; no Authorization"
else fail "web identity: request check: $(last_check)"; fi
no_leak "web identity ok"

# the default session name is repart-<time>
webid 1 ok
if [ $RC -eq 0 ] && tail -1 "$LOG" | grep -qE '"RoleSessionName": "repart-[0-9]+"'; then
  pass "web identity: default session name repart-<time>"
else fail "web identity default session name: $(tail -1 "$LOG" | grep -o '"RoleSessionName": "[^"]*"')"; fi

# the server's check is real: a token that differs from the file is refused
code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' -d "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=$ROLE&RoleSessionName=xx&WebIdentityToken=other" "$BASE/sts/ok")
if [ "$code" = 400 ] && [ "$(last_check)" = "WebIdentityToken differs from the token file" ]; then
  pass "sts fixture: wrong token -> 400"
else fail "sts fixture returned $code ($(last_check))"; fi

# 2. refresh re-reads the token file (the server rotates it after answering)
printf '%s' "$TOKEN" > "$TOKFILE"
webid 2 short
tokens=$(grep '"/sts/short"' "$LOG" | "$PY" -c 'import json,sys; print("\n".join(json.loads(l)["form"]["WebIdentityToken"] for l in sys.stdin))')
if [ $RC -eq 0 ] && [ "$(grep -c ASIAWEBIDSHORT <<<"$OUT")" -eq 2 ] && [ "$(hits /sts/short)" -eq 2 ] &&
   [ "$(sed -n 1p <<<"$tokens")" = "$TOKEN" ] && [ "$(sed -n 2p <<<"$tokens")" = "rotated-token-1" ] &&
   [ "$(last_check)" = ok ]; then
  pass "web identity: refresh re-reads the rotated token file"
else fail "web identity refresh: rc=$RC out=$OUT err=$ERR tokens=$tokens"; fi
printf '%s' "$TOKEN" > "$TOKFILE"

# 3. a 500 then success is retried; throttling too
webid 1 err500once
if [ $RC -eq 0 ] && [[ $OUT == *"access_key_id=ASIAWEBIDRETRIED"* ]] && [ "$(hits /sts/err500once)" -eq 2 ]; then
  pass "web identity: HTTP 500 retried"
else fail "web identity 500 once: rc=$RC out=$OUT err=$ERR requests=$(hits /sts/err500once)"; fi
webid 1 throttled
if [ $RC -eq 0 ] && [[ $OUT == *"access_key_id=ASIAWEBIDTHROTTLED"* ]] && [ "$(hits /sts/throttled)" -eq 3 ]; then
  pass "web identity: Throttling retried"
else fail "web identity throttled: rc=$RC out=$OUT err=$ERR requests=$(hits /sts/throttled)"; fi
webid 1 err500
if [ $RC -ne 0 ] && [ "$(hits /sts/err500)" -eq 4 ] && [[ $ERR == *"after 4 attempts"* ]] &&
   [[ $ERR == *"HTTP 500 InternalFailure"* ]]; then
  pass "web identity: 500 forever -> gives up after 4 attempts ($ERR)"
else fail "web identity 500: rc=$RC err=$ERR requests=$(hits /sts/err500)"; fi
no_leak "web identity 500"

# 4. 403 AccessDenied: names the role, the endpoint, the token file; no token, no secret
webid 1 denied
if [ $RC -ne 0 ] && [[ $ERR == *"$ROLE"* ]] && [[ $ERR == *"$BASE/sts/denied"* ]] &&
   [[ $ERR == *"$TOKFILE"* ]] && [[ $ERR == *"HTTP 403 AccessDenied"* ]] && [ "$(hits /sts/denied)" -eq 1 ]; then
  pass "web identity: 403 AccessDenied, not retried ($ERR)"
else fail "web identity denied: rc=$RC err=$ERR requests=$(hits /sts/denied)"; fi
no_leak "web identity denied"

webid 1 malformed
if [ $RC -ne 0 ] && [[ $ERR == *"not well-formed"* ]] && [[ $ERR == *"$ROLE"* ]]; then
  pass "web identity: truncated answer ($ERR)"
else fail "web identity malformed: rc=$RC err=$ERR"; fi
no_leak "web identity malformed"

# 5. a missing token file names the path
probe 1 AWS_WEB_IDENTITY_TOKEN_FILE="$TMP/nope" AWS_ROLE_ARN="$ROLE" AWS_ENDPOINT_URL_STS="$BASE/sts/ok"
if [ $RC -ne 0 ] && [[ $ERR == *"$TMP/nope"* ]] && [[ $ERR == *"No such file"* ]]; then
  pass "web identity: missing token file ($ERR)"
else fail "web identity missing file: rc=$RC err=$ERR"; fi

# 6. precedence: environment keys, then a profile, come before web identity
before=$(wc -l < "$LOG")
webid 1 ok AWS_ACCESS_KEY_ID=AKIAENVFIRST AWS_SECRET_ACCESS_KEY=x
if [ $RC -eq 0 ] && [[ $OUT == *"source=env access_key_id=AKIAENVFIRST"* ]] && [ "$(wc -l < "$LOG")" -eq "$before" ]; then
  pass "precedence: env before web identity, STS not contacted"
else fail "precedence env: rc=$RC out=$OUT"; fi
printf '[default]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = y\n' > "$TMP/credfile"
webid 1 ok AWS_SHARED_CREDENTIALS_FILE="$TMP/credfile"
if [ $RC -eq 0 ] && [[ $OUT == *"source=profile:default access_key_id=AKIAPROFILE"* ]] && [ "$(wc -l < "$LOG")" -eq "$before" ]; then
  pass "precedence: profile before web identity"
else fail "precedence profile: rc=$RC out=$OUT"; fi
# ... and web identity before the container endpoint (not contacted)
webid 1 ok AWS_CONTAINER_CREDENTIALS_FULL_URI="$BASE/container/ok"
if [ $RC -eq 0 ] && [[ $OUT == *"source=web-identity"* ]] && [ "$(hits /container/ok)" -eq 0 ]; then
  pass "precedence: web identity before the container endpoint"
else fail "precedence container: rc=$RC out=$OUT err=$ERR"; fi

# 7. a profile with role_arn + web_identity_token_file (+ role_session_name)
printf '[profile irsa]\nrole_arn = %s\nweb_identity_token_file = %s\nrole_session_name = prof-session\n' \
  "$ROLE" "$TOKFILE" > "$TMP/config"
probe 1 AWS_CONFIG_FILE="$TMP/config" AWS_PROFILE=irsa AWS_ENDPOINT_URL_STS="$BASE/sts/ok"
if [ $RC -eq 0 ] && [[ $OUT == *"source=web-identity access_key_id=ASIAWEBIDOK"* ]] &&
   [ "$(last_check)" = ok ] && tail -1 "$LOG" | grep -qF '"RoleSessionName": "prof-session"'; then
  pass "web identity from a profile (role_arn, web_identity_token_file, role_session_name)"
else fail "web identity profile: rc=$RC out=$OUT err=$ERR check=$(last_check)"; fi
probe 1 AWS_CONFIG_FILE="$TMP/config" AWS_PROFILE=irsa AWS_ENDPOINT_URL_STS="$BASE/sts/denied"
if [ $RC -ne 0 ] && [[ $ERR == *"from profile \"irsa\" in $TMP/config"* ]] && [[ $ERR == *"HTTP 403 AccessDenied"* ]]; then
  pass "web identity from a profile: errors name the profile ($ERR)"
else fail "web identity profile denied: rc=$RC err=$ERR"; fi
no_leak "web identity profile denied"

# 8. only one of the two variables: not used, listed in what was tried
probe 1 AWS_ROLE_ARN="$ROLE" AWS_ENDPOINT_URL_STS="$BASE/sts/ok"
if [ $RC -ne 0 ] && [[ $ERR == *"no AWS credentials found"* ]] &&
   [[ $ERR == *"web identity (AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not)"* ]]; then
  pass "web identity: AWS_ROLE_ARN alone -> not used ($ERR)"
else fail "web identity role only: rc=$RC err=$ERR"; fi

if [ "$fails" -ne 0 ]; then echo "it_creds_webid: $fails failure(s)" >&2; exit 1; fi
echo "it_creds_webid: all passed"
