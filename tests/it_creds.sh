#!/usr/bin/env bash
# The HTTP sources of the credential chain against a local server
# (tests/helpers/creds_server.py on 127.0.0.1, a free port): the container
# endpoint (Authorization token from env or file, allowed hosts, refresh,
# malformed answers) and EC2 IMDSv2 (PUT token, then GETs with the token).
# Each probe runs with a clean environment (env -i) so that the user's own
# credentials are never read. Error messages must never contain the secret.
set -euo pipefail
SRC=${REPART_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${REPART_BUILD_DIR:-$SRC/build}
PROBE=$BUILD/creds_probe
PY=/usr/bin/python3
[ -x "$PROBE" ] || { echo "it_creds: $PROBE not built" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/it_creds.XXXXXX")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

AUTH_TOKEN="container-auth-token-XYZ"
SECRET="SeCrEtDoNotLeak/0123456789+abcdefghijKLMNOP"   # what the server hands out
SECRET_SHA8=$(printf %s "$SECRET" | sha256sum | cut -c1-8)
LOG=$TMP/requests.log
: > "$LOG"
"$PY" "$SRC/tests/helpers/creds_server.py" "$TMP/port" "$LOG" "$AUTH_TOKEN" &
SERVER_PID=$!
for _ in $(seq 1 200); do
  [ -s "$TMP/port" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "it_creds: server died" >&2; exit 1; }
  sleep 0.05
done
PORT=$(cat "$TMP/port")
BASE=http://127.0.0.1:$PORT
mkdir -p "$TMP/home"

fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1" >&2; fails=$((fails + 1)); }

# Runs the probe with only the given variables; output in $OUT, stderr in $ERR.
probe() {
  local n=$1; shift
  set +e
  env -i PATH=/usr/bin:/bin HOME="$TMP/home" "$@" "$PROBE" -n "$n" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  set -e
  OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
  # under -DREPART_SANITIZE=ON a leak or overflow on an error path shows here
  if [[ $ERR == *Sanitizer* || $ERR == *"runtime error"* ]]; then fail "sanitizer report: $ERR"; fi
}
hits() { grep -c "\"path\": \"$1\"" "$LOG" || true; }
no_secret() {  # the secret never appears in what the probe printed
  # also its first word alone: a JSON parser quotes tokens only up to the '/'
  if grep -qF -e "$SECRET" -e "${SECRET%%/*}" "$TMP/out" "$TMP/err"; then fail "$1: secret leaked"; else pass "$1: no secret in output"; fi
}

FULL="AWS_CONTAINER_CREDENTIALS_FULL_URI"

# 1. container endpoint, token from the environment
probe 1 "$FULL=$BASE/container/ok" AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH_TOKEN"
if [ $RC -eq 0 ] && [[ $OUT == *"source=container access_key_id=ASIACONTAINEROK"* ]] &&
   [[ $OUT == *"secret_sha256_8=$SECRET_SHA8"* ]] && [[ $OUT == *"session_token_len=33"* ]] &&
   [[ $OUT == *"expires=future"* ]]; then
  pass "container: credentials from env token"
else fail "container env token: rc=$RC out=$OUT err=$ERR"; fi
if tail -1 "$LOG" | grep -qF "\"authorization\": \"$AUTH_TOKEN\""; then pass "container: Authorization header sent"
else fail "container: Authorization header not sent: $(tail -1 "$LOG")"; fi
no_secret "container ok"

# 2. the token file is preferred over the variable (which is wrong here)
printf '%s\n' "$AUTH_TOKEN" > "$TMP/token"
probe 1 "$FULL=$BASE/container/ok" AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong-token \
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$TMP/token"
if [ $RC -eq 0 ] && [[ $OUT == *"access_key_id=ASIACONTAINEROK"* ]]; then pass "container: token file preferred"
else fail "container token file: rc=$RC out=$OUT err=$ERR"; fi

# 3. a wrong token is refused by the server and reported with the status
probe 1 "$FULL=$BASE/container/ok" AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong-token
if [ $RC -ne 0 ] && [[ $ERR == *"HTTP 401"* ]] && [[ $ERR != *wrong-token* ]]; then pass "container: wrong token -> HTTP 401"
else fail "container wrong token: rc=$RC out=$OUT err=$ERR"; fi

# 4. a non-loopback http host is refused before any request
before=$(wc -l < "$LOG")
probe 1 "$FULL=http://example.com:$PORT/container/ok" AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH_TOKEN"
if [ $RC -ne 0 ] && [[ $ERR == *"not allowed"* ]] && [ "$(wc -l < "$LOG")" -eq "$before" ]; then
  pass "container: http to a non-loopback host refused"
else fail "container host check: rc=$RC err=$ERR"; fi

# 5. malformed answers: errors name the endpoint, never the secret
for mode in malformed unquoted notobject badexpiry err500; do
  probe 1 "$FULL=$BASE/container/$mode" AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH_TOKEN"
  if [ $RC -ne 0 ] && [[ $ERR == *"container endpoint $BASE/container/$mode"* ]]; then
    pass "container $mode: error ($ERR)"
  else fail "container $mode: rc=$RC out=$OUT err=$ERR"; fi
  no_secret "container $mode"
done

# 6. long-lived credentials are cached; short-lived ones are refreshed
probe 3 "$FULL=$BASE/container/ok" AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH_TOKEN"
c0=$(hits /container/ok)
probe 3 "$FULL=$BASE/container/ok" AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH_TOKEN"
c1=$(hits /container/ok)
if [ $RC -eq 0 ] && [ $((c1 - c0)) -eq 1 ]; then pass "container: 3 gets, 1 request (cached)"
else fail "container caching: rc=$RC requests=$((c1 - c0))"; fi
probe 2 "$FULL=$BASE/container/short" AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH_TOKEN"
if [ $RC -eq 0 ] && [ "$(hits /container/short)" -eq 2 ]; then pass "container: expiring within 5 min -> refreshed"
else fail "container refresh: rc=$RC requests=$(hits /container/short)"; fi

# 7. a failed refresh keeps credentials that are still valid
probe 2 "$FULL=$BASE/container/flaky" AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH_TOKEN"
if [ $RC -eq 0 ] && [ "$(grep -c ASIACONTAINERFLAKY <<<"$OUT")" -eq 2 ] && [ "$(hits /container/flaky)" -eq 2 ]; then
  pass "container: failed refresh keeps still-valid credentials"
else fail "container flaky: rc=$RC out=$OUT err=$ERR requests=$(hits /container/flaky)"; fi
no_secret "container flaky"

# 8. the environment comes before the container endpoint
before=$(wc -l < "$LOG")
probe 1 AWS_ACCESS_KEY_ID=AKIAENVFIRST AWS_SECRET_ACCESS_KEY=x "$FULL=$BASE/container/ok"
if [ $RC -eq 0 ] && [[ $OUT == *"source=env access_key_id=AKIAENVFIRST"* ]] && [ "$(wc -l < "$LOG")" -eq "$before" ]; then
  pass "precedence: env before container, endpoint not contacted"
else fail "precedence: rc=$RC out=$OUT"; fi

# 9. IMDSv2: PUT token, then GETs carrying it
: > "$LOG"
probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$BASE/imds"
if [ $RC -eq 0 ] && [[ $OUT == *"source=imds access_key_id=ASIAIMDSEXAMPLE"* ]] &&
   [[ $OUT == *"secret_sha256_8=$SECRET_SHA8"* ]]; then pass "imds: credentials"
else fail "imds: rc=$RC out=$OUT err=$ERR"; fi
if "$PY" - "$LOG" <<'EOF'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["method"] for r in reqs] == ["PUT", "GET", "GET"], reqs
assert reqs[0]["path"] == "/imds/latest/api/token" and reqs[0]["imds_ttl"] == "21600", reqs[0]
assert reqs[1]["path"] == "/imds/latest/meta-data/iam/security-credentials/", reqs[1]
assert reqs[2]["path"] == "/imds/latest/meta-data/iam/security-credentials/test-role", reqs[2]
assert all(r["imds_token"] == "imds-session-token-0123456789" for r in reqs[1:]), reqs
EOF
then pass "imds: PUT token (ttl 21600), then GET role and credentials with the token"
else fail "imds: request sequence"; fi
# the fixture really rejects a GET without the token
code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' "$BASE/imds/latest/meta-data/iam/security-credentials/")
if [ "$code" = 401 ]; then pass "imds fixture: GET without token -> 401"; else fail "imds fixture returned $code"; fi

# 10. IMDS without a role, IMDS unreachable, IMDS disabled: "nothing found"
probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$BASE/imds-norole"
if [ $RC -ne 0 ] && [[ $ERR == *"no AWS credentials found"* ]] && [[ $ERR == *"no IAM role attached"* ]]; then
  pass "imds: no role -> nothing found ($ERR)"
else fail "imds norole: rc=$RC err=$ERR"; fi
probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$BASE/imds-badjson"
if [ $RC -ne 0 ] && [[ $ERR == *"not valid JSON"* ]]; then pass "imds: malformed credentials JSON"
else fail "imds badjson: rc=$RC err=$ERR"; fi
no_secret "imds badjson"
# a closed port: the server's own port after it stops would race, so use port 1
probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1
if [ $RC -ne 0 ] && [[ $ERR == *"no AWS credentials found"* ]] && [[ $ERR == *"EC2 instance metadata (http://127.0.0.1:1"* ]]; then
  pass "imds: unreachable -> nothing found, lists what was tried"
else fail "imds unreachable: rc=$RC err=$ERR"; fi
before=$(wc -l < "$LOG")
probe 1 AWS_EC2_METADATA_SERVICE_ENDPOINT="$BASE/imds" AWS_EC2_METADATA_DISABLED=true
if [ $RC -ne 0 ] && [[ $ERR == *"disabled by AWS_EC2_METADATA_DISABLED"* ]] && [ "$(wc -l < "$LOG")" -eq "$before" ]; then
  pass "imds: disabled -> not contacted"
else fail "imds disabled: rc=$RC err=$ERR"; fi

if [ "$fails" -ne 0 ]; then echo "it_creds: $fails failure(s)" >&2; exit 1; fi
echo "it_creds: all passed"
