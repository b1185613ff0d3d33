#!/usr/bin/env bash
# No secret in anything repart writes. Every command runs at -v -v, in text
# and in JSON log format, with a recognisable secret key and session token:
#  1. against fauxqs (S3 and SQS; signatures not checked: everything works),
#  2. against s3rver with a WRONG secret key (every request is refused:
#     SignatureDoesNotMatch errors),
#  3. with credentials from a container endpoint that fails in various ways
#     (its answers quote the secret), and one that works against s3rver
#     (wrong key there too).
# Stdout, stderr, --report files and the work directory must not contain
# the secret, the token (nor the first part of either, up to a '/' or '+'),
# the container authorization token, or any "Signature=".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

SK="wJalrXUtnFEMI/K7MDENG+bPxRfiCYSecretDoNotLeak1"
TK="IQoJb3JpZ2luX2VjTokenDoNotLeak9/Zm9vYmFy+cXV4cXV4=="
# from tests/helpers/creds_server.py
CSECRET="SeCrEtDoNotLeak/0123456789+abcdefghijKLMNOP"
CTOKEN_PREFIX="session-token-for-ASIA"
AUTH="container-auth-token-DoNotLeak"
OUTS="$TEST_TMP/outs"
mkdir -p "$OUTS"
MK="$REPART_SRC_DIR/tests/helpers/make_event.py"
SQS="$REPART_BUILD_DIR/sqs-tool"
n_runs=0

# r NAME ARGS...: runs repart at -v -v in both log formats (commands that
# take --report get one), output kept in $OUTS; sets RC of the JSON run
r() {
    local name=$1
    shift
    local cmd=$1 fmt
    for fmt in text json; do
        local extra=()
        case "$cmd" in
            download|merge|upload|all|event|verify) extra=(--report "$OUTS/$name-$fmt.report.json") ;;
        esac
        RC=0
        "$REPART" -v -v --log-format "$fmt" -c "$CFG" "$@" "${extra[@]+"${extra[@]}"}" \
            >"$OUTS/$name-$fmt.out" 2>"$OUTS/$name-$fmt.err" </dev/null || RC=$?
        n_runs=$((n_runs + 1))
    done
}

# no_secrets WHAT DIR...: none of the secrets in any file under DIR
no_secrets() {
    local what=$1
    shift
    local pat
    for pat in "$SK" "${SK%%/*}" "${SK##*+}" "$TK" "${TK%%/*}" "${TK##*+}" "$CSECRET" \
        "${CSECRET%%/*}" "$CTOKEN_PREFIX" "$AUTH" "Signature="; do
        if grep -rlF -e "$pat" "$@" >"$TEST_TMP/hits" 2>/dev/null; then
            fail "$what: '$pat' found in $(tr '\n' ' ' <"$TEST_TMP/hits")"
        fi
    done
}

# the check itself sees what it looks for
mkdir -p "$TEST_TMP/canary"
for c in "$SK" "${TK%%/*}" "Credential=x, SignedHeaders=host, Signature=0f1e"; do
    printf 'line\n%s\n' "$c" >"$TEST_TMP/canary/f"
    if (no_secrets canary "$TEST_TMP/canary") 2>/dev/null; then fail "no_secrets misses '$c'"; fi
done

# ---------------------------------------------------------- 1. fauxqs
s3_start fauxqs --queues q cold out
G="$TEST_TMP/gen"
gen "$G" --from 2023-09-01 --to 2023-09-05 --series 3 --records-per-file 10 --seed 2 >/dev/null
put_tree "$G" cold
CFG="$TEST_TMP/c1.yml"
write_config "$CFG" "watch: { batch_messages: 10, quiet_seconds: 1, batch_seconds: 10, visibility_timeout: 30 }"
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY="$SK" AWS_SESSION_TOKEN="$TK"
key_of() { (cd "$G" && find "raw/$(day_part "$1")" -name '*.avro' | sort | sed -n 1p); }

r plan plan --from 2023-09-01 --to 2023-09-05
assert_eq "$RC" 0 "plan"
r download download --days 2023-09-01
assert_eq "$RC" 0 "download"
r merge merge --days 2023-09-01
assert_eq "$RC" 0 "merge"
r upload upload --days 2023-09-01
r all all --days 2023-09-02
assert_eq "$RC" 0 "all"
r event event --object "s3://cold/$(key_of 2023-09-03)"
assert_eq "$RC" 0 "event"
"$SQS" "$S3_ENDPOINT/000000000000/q" send "$("$PY" "$MK" s3 "cold:$(key_of 2023-09-04)")" >/dev/null
"$SQS" "$S3_ENDPOINT/000000000000/q" send "$("$PY" "$MK" s3 "cold:$(key_of 2023-09-05)")" >/dev/null
r watch watch --queue "$S3_ENDPOINT/000000000000/q" --once
assert_eq "$RC" 0 "watch --once"
r status status --from 2023-09-01 --to 2023-09-05
r verify verify --from 2023-09-01 --to 2023-09-05
assert_eq "$RC" 0 "verify"
r athena athena --from 2023-09-01 --to 2023-09-05
assert_eq "$(bucket_ls out index/ | wc -l)" 5 "days committed against fauxqs"
no_secrets "fauxqs runs" "$OUTS" "$TEST_TMP/work"

# ----------------------------------------- 2. s3rver, wrong secret key
s3_start s3rver cold out
put_tree "$G" cold   # with s3rver's own key
CFG="$TEST_TMP/c2.yml"
write_config "$CFG"
sed -i "s|^work_dir: .*|work_dir: $TEST_TMP/work2|" "$CFG"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY="$SK" AWS_SESSION_TOKEN="$TK"
mkdir -p "$OUTS/s3rver"
OUTS_ALL=$OUTS
OUTS="$OUTS/s3rver"
for c in plan download all status verify; do
    r "$c" "$c" --from 2023-09-01 --to 2023-09-02
    [ "$RC" -ne 0 ] || fail "$c with a wrong secret key exited 0"
done
r event event --object "s3://cold/$(key_of 2023-09-03)"
[ "$RC" -ne 0 ] || fail "event with a wrong secret key exited 0"
assert_contains "$(cat "$OUTS"/all-text.err)" "SignatureDoesNotMatch" "the wrong key is refused"
OUTS=$OUTS_ALL
no_secrets "s3rver runs with a wrong key" "$OUTS" "$TEST_TMP/work2"

# ------------------------------------ 3. container credentials endpoint
PORTF="$TEST_TMP/creds.port"
"$PY" "$REPART_SRC_DIR/tests/helpers/creds_server.py" "$PORTF" "$TEST_TMP/creds.log" "$AUTH" \
    </dev/null >/dev/null 2>&1 &
CREDS_PID=$!
on_exit "kill $CREDS_PID 2>/dev/null || true"
for _ in $(seq 1 200); do [ -s "$PORTF" ] && break; sleep 0.05; done
[ -s "$PORTF" ] || fail "credentials server did not start"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
export AWS_CONTAINER_AUTHORIZATION_TOKEN="$AUTH" HOME="$TEST_TMP/home" AWS_EC2_METADATA_DISABLED=true
mkdir -p "$HOME" "$OUTS/container"
OUTS="$OUTS/container"
for mode in err500 malformed unquoted notobject badexpiry; do
    export AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$(cat "$PORTF")/container/$mode"
    r "plan-$mode" plan --days 2023-09-01
    [ "$RC" -ne 0 ] || fail "plan with a failing container endpoint ($mode) exited 0"
    assert_contains "$(cat "$OUTS/plan-$mode-text.err")" "container endpoint" "plan error ($mode)"
    r "all-$mode" all --days 2023-09-01
    [ "$RC" -ne 0 ] || fail "all with a failing container endpoint ($mode) exited 0"
done
# credentials that work as credentials, but not for s3rver
export AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$(cat "$PORTF")/container/ok"
r all-ok all --days 2023-09-01
[ "$RC" -ne 0 ] || fail "all with the container's key against s3rver exited 0"
assert_contains "$(cat "$OUTS"/all-ok-text.err)" "HTTP 403" "the container's key is refused"
[ "$(grep -c '/container/ok' "$TEST_TMP/creds.log")" -ge 1 ] || fail "the container endpoint was not asked"
OUTS=$OUTS_ALL
no_secrets "container credentials runs" "$OUTS" "$TEST_TMP/work2"
note "it_secrets: $n_runs runs, no secret in their output, reports or work files"
