#!/usr/bin/env bash
# The SQS client (src/aws/sqs.c, through scripts/tools/sqs-tool.c):
#  1. against fauxqs (SQS on the same port as S3): 25 messages sent, received
#     in batches of at most 10 with a 1 s long poll, deleted with
#     DeleteMessageBatch, the queue then empty (GetQueueAttributes);
#     visibility: a received message that is not deleted comes back after its
#     visibility timeout, ChangeMessageVisibility extends and releases it,
#     per-entry failures of a batch call; endpoint from AWS_ENDPOINT_URL_SQS,
#     AWS_ENDPOINT_URL or the queue URL; a missing queue.
#  2. against a scripted stub (tests/helpers/sqs_stub_server.py) that checks
#     every SigV4 signature: retries on 500, throttling and dropped
#     connections, no retry on other 4xx, attempts exhausted, timeouts, MD5
#     checks, region taken from the queue URL, no credentials in messages.
. "$(dirname "$0")/lib.sh"

TOOL="$REPART_BUILD_DIR/sqs-tool"
PY=/usr/bin/python3
[ -x "$TOOL" ] || fail "$TOOL not built"

# Runs the tool; stdout in $OUT, stderr in $ERR, exit status in $RC.
run() {
    set +e
    "$TOOL" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    RC=$?
    set -e
    OUT="$(cat "$TEST_TMP/out")"
    ERR="$(cat "$TEST_TMP/err")"
    case "$ERR" in *Sanitizer*|*"runtime error"*) fail "sanitizer report: $ERR" ;; esac
}
ok() { run "$@"; [ "$RC" -eq 0 ] || fail "sqs-tool $*: exit $RC: $ERR"; }

# ---------------------------------------------------------------- fauxqs
s3_start fauxqs --queues q1,q2 repart-cold
# the queue URL as the server hands it out (GetQueueUrl, AWS JSON protocol)
Q1="$(curl -s -X POST -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: AmazonSQS.GetQueueUrl' -d '{"QueueName":"q1"}' "$S3_ENDPOINT/" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["QueueUrl"])')"
note "queue URL $Q1"
# its host (sqs.us-east-1.127.0.0.1) does not resolve: the endpoint comes from the environment
export AWS_ENDPOINT_URL_SQS="$S3_ENDPOINT"

# 25 messages: plain, with quotes, newlines and non-ASCII, and an S3 event document
bodies=()
for i in $(seq 1 22); do bodies+=("msg-$i"); done
bodies+=('quote " backslash \ tab	end' $'two\nlines' "café ✓")
ok "$Q1" send "${bodies[@]:0:24}"
[ "$(wc -l <<<"$OUT")" -eq 24 ] || fail "send: expected 24 ids, got: $OUT"
ok "$Q1" send - <"$REPART_SRC_DIR/tests/data/events/s3-put.json"

: >"$TEST_TMP/received"
for _ in $(seq 1 10); do
    ok --stats "$Q1" receive --max 10 --wait 1 --visibility 120 --attrs
    [ -z "$OUT" ] && continue
    n=$(wc -l <<<"$OUT")
    [ "$n" -le 10 ] || fail "receive returned $n messages (max 10)"
    echo "$OUT" >>"$TEST_TMP/received"
    [ "$(wc -l <"$TEST_TMP/received")" -ge 25 ] && break
done
assert_eq "$(wc -l <"$TEST_TMP/received")" 25 "messages received"
# every body came back exactly once, byte for byte; first receive of each
printf '%s\0' "${bodies[@]:0:24}" >"$TEST_TMP/sent"
"$PY" - "$TEST_TMP/received" "$TEST_TMP/sent" "$REPART_SRC_DIR/tests/data/events/s3-put.json" <<'EOF' || fail "bodies differ"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
sent = open(sys.argv[2], encoding="utf-8").read().split("\0")[:-1]
sent.append(open(sys.argv[3], encoding="utf-8").read())
assert sorted(m["body"] for m in got) == sorted(sent), "bodies"
assert len({m["id"] for m in got}) == 25, "ids"
assert all(m["receive_count"] == 1 for m in got), "receive counts"
EOF
mapfile -t handles < <("$PY" -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["receipt"])' "$TEST_TMP/received")
ok "$Q1" attrs
assert_contains "$OUT" "not_visible 25"
ok "$Q1" delete "${handles[@]}"
assert_eq "$(grep -c '^ok ' <<<"$OUT")" 25 "deleted entries"
ok "$Q1" attrs
assert_contains "$OUT" $'visible 0\nnot_visible 0\ndelayed 0'
ok "$Q1" receive --wait 1
assert_eq "$OUT" "" "receive from the empty queue"
note "25 messages sent, received in batches, deleted; queue empty"

# visibility: not deleted -> back after the timeout (receive count 2)
ok "$Q1" send vis-1
ok "$Q1" receive --visibility 1 --attrs
rh="$("$PY" -c 'import json,sys; m=json.loads(sys.argv[1]); assert m["body"]=="vis-1" and m["receive_count"]==1; print(m["receipt"])' "$OUT")"
ok "$Q1" receive --wait 0
assert_eq "$OUT" "" "message in flight"
got=""
for _ in $(seq 1 15); do
    ok "$Q1" receive --wait 1 --visibility 1 --attrs
    [ -n "$OUT" ] && { got="$OUT"; break; }
done
[ -n "$got" ] || fail "message did not come back after its visibility timeout"
rh="$("$PY" -c 'import json,sys; m=json.loads(sys.argv[1]); assert m["receive_count"]==2, m; print(m["receipt"])' "$got")"
# ChangeMessageVisibility extends the 1 s timeout to 60 s: it stays away for
# several long polls well past the original second
ok "$Q1" visibility 60 "$rh"
for _ in 1 2; do
    ok "$Q1" receive --wait 2
    assert_eq "$OUT" "" "message after its visibility was extended"
done
ok "$Q1" attrs
assert_contains "$OUT" $'visible 0\nnot_visible 1'
# batch form: 0 releases it at once; a made-up handle fails on its own
run "$Q1" visibility-batch 0 "$rh" "no-such-receipt-handle"
assert_eq "$RC" 1 "visibility-batch with a bad entry"
assert_contains "$OUT" "ok 0"
assert_contains "$OUT" "failed 1 ReceiptHandleIsInvalid"
ok "$Q1" receive --wait 1 --attrs
rh="$("$PY" -c 'import json,sys; m=json.loads(sys.argv[1]); assert m["receive_count"]==3, m; print(m["receipt"])' "$OUT")"
ok "$Q1" delete-one "$rh"
ok "$Q1" attrs
assert_contains "$OUT" $'visible 0\nnot_visible 0'
note "visibility timeout, ChangeMessageVisibility(Batch), DeleteMessage"

# endpoints: the generic variable, then the queue URL itself
unset AWS_ENDPOINT_URL_SQS
AWS_ENDPOINT_URL="$S3_ENDPOINT" ok "$Q1" attrs
Q2="$S3_ENDPOINT/000000000000/q2"
ok "$Q2" send via-url
ok --stats "$Q2" receive --wait 1
assert_contains "$OUT" '"body":"via-url"'
assert_contains "$ERR" "endpoint $S3_ENDPOINT region us-east-1"

# a missing queue: named, with the call and AWS's code; not retried
run --stats "$S3_ENDPOINT/000000000000/nope" attrs
assert_eq "$RC" 1 "missing queue"
assert_contains "$ERR" "sqs GetQueueAttributes $S3_ENDPOINT/000000000000/nope: HTTP 400 QueueDoesNotExist"
assert_contains "$ERR" "requests 1 retries 0"
run "not-a-url" attrs
assert_eq "$RC" 2 "bad queue URL"
s3_stop

# ---------------------------------------------------------------- stub
SECRET="stubSecret/Key+0123456789abcdefghijKLMN"
LOG="$TEST_TMP/stub.log"
: >"$LOG"
"$PY" "$REPART_SRC_DIR/tests/helpers/sqs_stub_server.py" "$TEST_TMP/stub.port" "$LOG" "$SECRET" &
STUB_PID=$!
on_exit "kill $STUB_PID 2>/dev/null; wait $STUB_PID 2>/dev/null"
for _ in $(seq 1 200); do
    [ -s "$TEST_TMP/stub.port" ] && break
    kill -0 "$STUB_PID" 2>/dev/null || fail "stub server died"
    sleep 0.05
done
export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$(cat "$TEST_TMP/stub.port")"
export AWS_ACCESS_KEY_ID=AKIDSTUBEXAMPLE12345 AWS_SECRET_ACCESS_KEY="$SECRET"
export AWS_SESSION_TOKEN="stub-session-token-0123456789"
AWSQ=https://sqs.us-east-1.amazonaws.com/111122223333
no_secrets() {
    case "$OUT$ERR" in
        *"$SECRET"*|*"$AWS_SESSION_TOKEN"*|*"$AWS_ACCESS_KEY_ID"*|*Signature=*) fail "$1: credentials in output: $ERR" ;;
    esac
}
log_of() { grep "\"queue\": \"$1\"" "$LOG" || true; }

ok "$AWSQ/ok" send hello
assert_eq "$OUT" "m-1" "stub SendMessage id"
ok "$AWSQ/ok" receive --attrs --wait 2
"$PY" -c 'import json,sys; m=json.loads(sys.argv[1]); assert m["body"]=="stub \"body\" \u00e9" and m["receive_count"]==3 and m["receipt"]=="rh-1", m' "$OUT" ||
    fail "stub receive: $OUT"
ok "$AWSQ/ok" attrs
assert_contains "$OUT" "visible 4"
assert_contains "$OUT" "dead_letter_arn arn:aws:sqs:us-east-1:111122223333:dlq"
assert_contains "$OUT" "max_receive_count 5"
ok "$AWSQ/ok" delete a b c
ok "$AWSQ/ok" visibility 30 a
"$PY" - "$LOG" <<'EOF' || fail "requests as sent"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
targets = [r["target"] for r in reqs]
assert targets == ["AmazonSQS.SendMessage", "AmazonSQS.ReceiveMessage", "AmazonSQS.GetQueueAttributes",
                   "AmazonSQS.DeleteMessageBatch", "AmazonSQS.ChangeMessageVisibility"], targets
assert all(r["bad_sig"] is None and r["content_type"] == "application/x-amz-json-1.0" for r in reqs), reqs
assert all(r["token"] == "stub-session-token-0123456789" and r["path"] == "/" for r in reqs)
assert all(r["request"]["QueueUrl"] == "https://sqs.us-east-1.amazonaws.com/111122223333/ok" for r in reqs)
rcv = reqs[1]["request"]
assert rcv["MaxNumberOfMessages"] == 10 and rcv["WaitTimeSeconds"] == 2 and "VisibilityTimeout" not in rcv, rcv
assert rcv["MessageSystemAttributeNames"] == ["ApproximateReceiveCount", "SentTimestamp"], rcv
d = reqs[3]["request"]["Entries"]
assert d == [{"Id": "0", "ReceiptHandle": "a"}, {"Id": "1", "ReceiptHandle": "b"}, {"Id": "2", "ReceiptHandle": "c"}], d
assert reqs[4]["request"]["VisibilityTimeout"] == 30 and reqs[4]["request"]["ReceiptHandle"] == "a"
EOF
note "stub: every call signed (SigV4 checked by the stub) and shaped as AWS expects"

# transient failures are retried with backoff, then succeed
for s in e500x2 throttlex2 resetx2; do
    ok --stats "$AWSQ/$s" send hi
    assert_contains "$ERR" "requests 3 retries 2"
done
# attempts exhausted: ERR_TRANSIENT with the last error
run --stats --attempts 3 "$AWSQ/always500" send hi
assert_eq "$RC" 1 "always500"
assert_contains "$ERR" "sqs SendMessage $AWSQ/always500: HTTP 500 InternalError: down (after 3 attempts)"
assert_eq "$(log_of always500 | wc -l)" 3 "always500 requests"
# a client error is not retried; AWS's message is kept but without credentials
run --stats "$AWSQ/denied" receive
assert_eq "$RC" 1 "denied"
assert_contains "$ERR" "sqs ReceiveMessage $AWSQ/denied: HTTP 400 AccessDenied: User *** (token ***) is not authorized"
assert_contains "$ERR" "requests 1 retries 0"
no_secrets denied
run "$AWSQ/missing" attrs
assert_contains "$ERR" "HTTP 400 QueueDoesNotExist: The specified queue does not exist."
# timeouts are retried, then reported
run --attempts 2 --timeout-ms 400 "$AWSQ/slow" attrs
assert_eq "$RC" 1 "slow"
assert_contains "$ERR" "(after 2 attempts)"
assert_contains "$ERR" "timed out"
# a body that does not match its MD5 is refused
run "$AWSQ/badmd5" receive
assert_eq "$RC" 1 "badmd5"
assert_contains "$ERR" "MD5 of the body is"
# per-entry failures of DeleteMessageBatch
run "$AWSQ/batchfail" delete a b c
assert_eq "$RC" 1 "batchfail"
assert_eq "$OUT" $'ok 0\nfailed 1 ReceiptHandleIsInvalid The input receipt handle is invalid.\nok 2' "batch result"
# the region comes from the queue URL: signed for eu-west-1, which this stub refuses
run "https://sqs.eu-west-1.amazonaws.com/111122223333/ok" attrs
assert_eq "$RC" 1 "eu-west-1"
assert_contains "$ERR" "HTTP 403 InvalidSignatureException: bad credential scope"
assert_contains "$ERR" "/eu-west-1/sqs/aws4_request"
no_secrets region
# a wrong secret: the signature does not match, no retry, nothing secret printed
AWS_SECRET_ACCESS_KEY=wrong-secret-key run --stats "$AWSQ/ok" attrs
assert_eq "$RC" 1 "wrong secret"
assert_contains "$ERR" "HTTP 403 InvalidSignatureException: signature mismatch"
assert_contains "$ERR" "requests 1 retries 0"
no_secrets "wrong secret"
note "stub: retries, exhausted attempts, timeouts, MD5, batch failures, region, no secrets"
echo "it_sqs: ok"
