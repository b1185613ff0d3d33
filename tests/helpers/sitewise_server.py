#!/usr/bin/python3
"""A local stand-in for the SiteWise ListTimeSeries API, for tests/it_assoc.sh.

Listens on 127.0.0.1, a free port (written to PORTFILE once listening), and
serves GET <base>/timeseries/ where <base> picks a scenario:
  /ok         three pages (nextToken "page2+/tok==", then "page3"); the first
              request for page 2 is answered 429 ThrottlingException
  /flaky      like /ok, but page 1 first fails with 503 and page 3 with a reset
  /denied     403 AccessDeniedException (not retried)
  /badjson    page 1 is not JSON
  /loop       page 2 hands out the same nextToken again
Every request must carry a valid SigV4 signature (service iotsitewise, region
and credentials from the command line, the secret being known to the test)
and exactly the documented query parameters; otherwise 400/403 with a
message saying what is wrong. One JSON line per request goes to LOGFILE.
The server exits when OWNER_PID is gone (so a killed test leaves nothing).

usage: sitewise_server.py PORTFILE LOGFILE OWNER_PID ACCESS_KEY SECRET REGION
"""
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

PORTFILE, LOGFILE, OWNER, ACCESS_KEY, SECRET, REGION = sys.argv[1:7]
OWNER = int(OWNER)
SERVICE = "iotsitewise"

A = ["7020c8e2-e6db-40fa-9845-ed0dddd4c77d", "35901915-d476-4dca-8637-d9ed4df939ed"]
P = ["95e63da7-d34e-43e1-bc6f-1b490154b07a", "c706d54d-4c11-42dc-9a01-63662fc697b4",
     "8cf1162f-dead-4fbe-b468-c8e24cde9f50"]


def summary(ts, asset=None, prop=None, alias=None):
    s = {"timeSeriesId": ts, "dataType": "DOUBLE", "timeSeriesCreationDate": 1.6e9,
         "timeSeriesLastUpdateDate": 1.7e9,
         "timeSeriesArn": "arn:aws:iotsitewise:%s:123456789012:time-series/%s" % (REGION, ts)}
    if asset:
        s["assetId"], s["propertyId"] = asset, prop
    if alias:
        s["alias"] = alias
    return s


PAGES = {
    None: ({"TimeSeriesSummaries": [
        summary(A[0] + "_" + P[0], A[0], P[0], "/site/wt2/temp"),
        summary(A[0] + "_" + P[1], A[0], P[1]),
        summary(A[1] + "_" + P[2], A[1], P[2], "/site/wt3/rpm"),
    ], "nextToken": "page2+/tok=="}),
    "page2+/tok==": ({"TimeSeriesSummaries": [
        # a plain-UUID id with asset and property: both forms are taken
        summary("aaaaaaaa-1111-4222-8333-444444444444", A[1], P[0]),
        summary(A[1] + "_" + P[1], A[1], P[1]),
    ], "nextToken": "page3"}),
    "page3": ({"TimeSeriesSummaries": [
        summary(A[0] + "_" + P[2], A[0], P[2]),
    ]}),
}

lock = threading.Lock()
hits = {}


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def hm(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def enc(s):
    out = []
    for ch in s.encode():
        c = chr(ch)
        if c.isalnum() and ch < 128 or c in "-_.~":
            out.append(c)
        else:
            out.append("%%%02X" % ch)
    return "".join(out)


def check_signature(method, path, query, headers):
    """Returns None when the request is correctly signed, else what is wrong."""
    auth = headers.get("Authorization") or ""
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                 r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return "no SigV4 Authorization header"
    key_id, date, region, service, signed, sig = m.groups()
    if "/%s/aws4_request" % SERVICE not in auth:
        return "not signed for service %s" % SERVICE
    if key_id != ACCESS_KEY or region != REGION:
        return "wrong credential scope"
    amz_date = headers.get("X-Amz-Date") or ""
    if not amz_date.startswith(date):
        return "x-amz-date does not match the scope"
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names:
        return "host and x-amz-date must be signed"
    if headers.get("X-Amz-Security-Token") and "x-amz-security-token" not in names:
        return "the session token must be signed"
    canon_headers = ""
    for n in names:
        v = headers.get(n)
        if v is None:
            return "signed header %s missing" % n
        canon_headers += "%s:%s\n" % (n, " ".join(v.strip().split()))
    pairs = []
    if query:
        for part in query.split("&"):
            k, _, v = part.partition("=")
            pairs.append((enc(unquote(k)), enc(unquote(v))))
    pairs.sort()
    canon_query = "&".join("%s=%s" % kv for kv in pairs)
    canon_uri = "/".join(enc(unquote(seg)) for seg in path.split("/"))
    creq = "\n".join([method, canon_uri, canon_query, canon_headers, signed, sha256(b"")])
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256(creq.encode())])
    k = hm(("AWS4" + SECRET).encode(), date)
    k = hm(k, region)
    k = hm(k, service)
    k = hm(k, "aws4_request")
    if hmac.new(k, sts.encode(), hashlib.sha256).hexdigest() != sig:
        return "signature does not match"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, obj, errtype=None):
        data = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if errtype:
            self.send_header("x-amzn-ErrorType", errtype + ":http://internal.amazon.com/coral/")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        parts = path.split("/")   # ["", scenario, "timeseries", ""]
        scenario = parts[1] if len(parts) > 1 else ""
        params = {}
        for part in query.split("&") if query else []:
            k, _, v = part.partition("=")
            params[unquote(k)] = unquote(v)
        token = params.get("nextToken")
        with lock:
            key = (scenario, token)
            hits[key] = hits.get(key, 0) + 1
            n = hits[key]
        bad = check_signature("GET", path, query, self.headers)
        entry = {"scenario": scenario, "path": path, "query": query, "token": token,
                 "attempt": n, "host": self.headers.get("Host"), "sig_error": bad,
                 "session_token": bool(self.headers.get("X-Amz-Security-Token"))}
        with lock:
            with open(LOGFILE, "a") as f:
                f.write(json.dumps(entry) + "\n")
        if bad:
            return self.reply(403, {"message": bad}, "InvalidSignatureException")
        if path != "/%s/timeseries/" % scenario:
            return self.reply(404, {"message": "no route " + path}, "ResourceNotFoundException")
        want = {"maxResults", "timeSeriesType"} | ({"nextToken"} if token is not None else set())
        if set(params) != want or params["maxResults"] != "250" \
                or params["timeSeriesType"] != "ASSOCIATED":
            return self.reply(400, {"message": "unexpected query " + query},
                              "InvalidRequestException")
        if token is not None and token not in PAGES:
            return self.reply(400, {"message": "bad nextToken"}, "InvalidRequestException")
        if scenario == "denied":
            return self.reply(403, {"message": "User: arn:aws:iam::123456789012:user/t is not "
                                    "authorized to perform: iotsitewise:ListTimeSeries"},
                              "AccessDeniedException")
        if scenario == "badjson":
            return self.reply(200, '{"TimeSeriesSummaries": [')
        if scenario == "ok" and token == "page2+/tok==" and n == 1:
            return self.reply(429, {"message": "Rate exceeded"}, "ThrottlingException")
        if scenario == "flaky" and token is None and n == 1:
            return self.reply(503, {"message": "Service unavailable"}, "ServiceUnavailableException")
        if scenario == "flaky" and token == "page3" and n == 1:
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)   # a reset without an answer
            return
        page = PAGES[token]
        if scenario == "loop" and token == "page2+/tok==":
            page = dict(page, nextToken="page2+/tok==")
        self.reply(200, page)


def watchdog():
    while True:
        try:
            os.kill(OWNER, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(0.5)


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=watchdog, daemon=True).start()
    with open(PORTFILE + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(PORTFILE + ".tmp", PORTFILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
