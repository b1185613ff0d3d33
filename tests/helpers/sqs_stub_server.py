#!/usr/bin/python3
"""A scripted SQS (AWS JSON 1.0) server for tests/it_sqs.sh.

Listens on 127.0.0.1 and a free port (written to PORTFILE once listening).
Every request must carry a valid SigV4 signature (service sqs, region
us-east-1) made with SECRET; the signature is checked here with an
independent implementation, so a request the client signs wrongly fails
(403 InvalidSignatureException) just as on AWS.

The queue name (last segment of QueueUrl) picks a scenario; the n-th request
of a scenario is counted per name:
  ok           every call succeeds
  e500x2       HTTP 500 InternalError twice, then success
  throttlex2   HTTP 400 ThrottlingException twice, then success
  resetx2      the connection is closed without an answer twice, then success
  always500    always HTTP 500
  denied       HTTP 400 AccessDenied whose message echoes the access key id and token
  missing      HTTP 400 QueueDoesNotExist
  slow         answers after 3 seconds
  badmd5       ReceiveMessage answers a message whose MD5OfBody is wrong
  batchfail    batch calls fail for entry "1" (ReceiptHandleIsInvalid)
Each request is appended to LOGFILE as one JSON line.

usage: sqs_stub_server.py PORTFILE LOGFILE SECRET
"""
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTFILE, LOGFILE, SECRET = sys.argv[1:4]
lock = threading.Lock()
counts = {}


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def hm(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def check_sigv4(method, path, headers, body):
    """Returns None when the signature is right, else what is wrong."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no SigV4 Authorization"
    fields = {}
    for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    cred = fields.get("Credential", "").split("/")
    if len(cred) != 5 or cred[2] != "us-east-1" or cred[3] != "sqs" or cred[4] != "aws4_request":
        return "bad credential scope %r" % fields.get("Credential")
    signed = fields.get("SignedHeaders", "").split(";")
    for need in ("host", "x-amz-date", "x-amz-target", "content-type"):
        if need not in signed:
            return "header %s not signed" % need
    if "x-amz-security-token" in headers and "x-amz-security-token" not in signed:
        return "security token not signed"
    canon_headers = ""
    for h in signed:
        if h not in headers:
            return "signed header %s missing" % h
        canon_headers += "%s:%s\n" % (h, " ".join(headers[h].split()))
    amz_date = headers["x-amz-date"]
    creq = "\n".join([method, path, "", canon_headers, ";".join(signed), sha256(body)])
    scope = "/".join(cred[1:])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256(creq.encode())])
    k = hm(("AWS4" + SECRET).encode(), cred[1])
    k = hm(k, cred[2])
    k = hm(k, cred[3])
    k = hm(k, "aws4_request")
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, fields.get("Signature", "")):
        return "signature mismatch"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        headers = {k.lower(): v for k, v in self.headers.items()}
        bad_sig = check_sigv4("POST", self.path, headers, body)
        target = headers.get("x-amz-target", "")
        action = target.replace("AmazonSQS.", "")
        try:
            req = json.loads(body)
        except ValueError:
            req = {}
        queue = str(req.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]
        with lock:
            counts[queue] = counts.get(queue, 0) + 1
            nth = counts[queue]
            with open(LOGFILE, "a") as f:
                f.write(json.dumps({
                    "path": self.path, "target": target, "queue": queue, "nth": nth,
                    "content_type": headers.get("content-type"),
                    "token": headers.get("x-amz-security-token"),
                    "bad_sig": bad_sig, "request": req,
                }) + "\n")
        if bad_sig:
            return self.reply(403, {"__type": "com.amazon.coral.service#InvalidSignatureException",
                                    "message": bad_sig})
        if headers.get("content-type") != "application/x-amz-json-1.0" or not target.startswith("AmazonSQS."):
            return self.reply(400, {"__type": "com.amazonaws.sqs#InvalidAction", "message": "bad protocol"})
        if queue == "e500x2" and nth <= 2:
            return self.reply(500, {"__type": "com.amazonaws.sqs#InternalError", "message": "try again"})
        if queue == "throttlex2" and nth <= 2:
            return self.reply(400, {"__type": "com.amazonaws.sqs#ThrottlingException", "message": "Rate exceeded"})
        if queue == "resetx2" and nth <= 2:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if queue == "always500":
            return self.reply(500, {"__type": "com.amazonaws.sqs#InternalError", "message": "down"})
        if queue == "denied":
            akid = headers["authorization"].split("Credential=")[1].split("/")[0]
            return self.reply(400, {"__type": "com.amazonaws.sqs#AccessDenied",
                                    "message": "User %s (token %s) is not authorized" % (akid, headers.get("x-amz-security-token"))})
        if queue == "missing":
            return self.reply(400, {"__type": "com.amazonaws.sqs#QueueDoesNotExist",
                                    "message": "The specified queue does not exist."})
        if queue == "slow":
            time.sleep(3)
        return self.reply(200, self.answer(action, req, queue))

    def answer(self, action, req, queue):
        if action == "SendMessage":
            return {"MessageId": "m-%d" % counts[queue],
                    "MD5OfMessageBody": hashlib.md5(req["MessageBody"].encode()).hexdigest()}
        if action == "ReceiveMessage":
            body = 'stub "body" \u00e9'
            md5 = hashlib.md5(body.encode()).hexdigest()
            if queue == "badmd5":
                md5 = "0" * 32
            return {"Messages": [{"MessageId": "m-1", "ReceiptHandle": "rh-1", "MD5OfBody": md5,
                                  "Body": body, "Attributes": {"ApproximateReceiveCount": "3",
                                                               "SentTimestamp": "1700000000000"}}]}
        if action in ("DeleteMessageBatch", "ChangeMessageVisibilityBatch"):
            ok, failed = [], []
            for e in req.get("Entries", []):
                if queue == "batchfail" and e["Id"] == "1":
                    failed.append({"Id": e["Id"], "SenderFault": True, "Code": "ReceiptHandleIsInvalid",
                                   "Message": "The input receipt handle is invalid."})
                else:
                    ok.append({"Id": e["Id"]})
            return {"Successful": ok, "Failed": failed}
        if action == "GetQueueAttributes":
            return {"Attributes": {
                "ApproximateNumberOfMessages": "4", "ApproximateNumberOfMessagesNotVisible": "2",
                "ApproximateNumberOfMessagesDelayed": "1", "VisibilityTimeout": "900",
                "ReceiveMessageWaitTimeSeconds": "20",
                "QueueArn": "arn:aws:sqs:us-east-1:111122223333:" + queue,
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:111122223333:dlq",
                                             "maxReceiveCount": 5})}}
        return {}


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
