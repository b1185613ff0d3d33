#!/usr/bin/python3
"""A recording proxy in front of a local S3 server, for the tests of issue 13
(tests/it_awsconfig.sh): what repart sends, as AWS would see it.

Listens on 127.0.0.1 (a free port, written to DIR/port once listening),
forwards every request to UPSTREAM unchanged (Host kept, so signatures still
match) and appends one JSON line per request to DIR/log.jsonl:
  {"method", "path", "query", "host", "scope": {"akid", "date", "region",
   "service"} (from the SigV4 Authorization header, null when unsigned),
   "amz": {every x-amz-* header; x-amz-security-token shown as "set"},
   "status"}

Options:
  --bucket-region B=R   requests for bucket B (path style) signed for another
                        region than R get S3's answer: 301 PermanentRedirect
                        with x-amz-bucket-region: R (HEAD: no body)
  --slowdown N          the first N requests get 503 SlowDown ...
  --retry-after S       ... with Retry-After: S
  --tls CERT KEY        serve HTTPS with this certificate
  --expiring            keys issued by the STS stand-in (ASIAEXP<unix>X...)
                        are refused with 400 ExpiredToken once <unix> passed
  --delay-ms N          answer every request N ms later (a slow server)

usage: awsproxy.py --upstream http://127.0.0.1:PORT --dir DIR [options]
"""
import argparse
import http.client
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--upstream", required=True)
ap.add_argument("--dir", required=True)
ap.add_argument("--bucket-region", action="append", default=[])
ap.add_argument("--slowdown", type=int, default=0)
ap.add_argument("--retry-after", default=None)
ap.add_argument("--tls", nargs=2, default=None)
ap.add_argument("--expiring", action="store_true")
ap.add_argument("--delay-ms", type=int, default=0)
ap.add_argument("--owner", type=int, default=0)
A = ap.parse_args()

UP = urllib.parse.urlsplit(A.upstream)
BUCKET_REGION = dict(x.split("=", 1) for x in A.bucket_region)
LOG = os.path.join(A.dir, "log.jsonl")
lock = threading.Lock()
count = [0]
SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


def s3_error(code, message, extra=""):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '%s<RequestId>proxy</RequestId></Error>' % (code, message, extra)).encode()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        path, _, query = self.path.partition("?")
        auth = self.headers.get("Authorization") or ""
        m = SCOPE.search(auth)
        scope = ({"akid": m.group(1), "date": m.group(2), "region": m.group(3),
                  "service": m.group(4)} if m else None)
        amz = {}
        for k, v in self.headers.items():
            lk = k.lower()
            if lk.startswith("x-amz-"):
                amz[lk] = "set" if lk == "x-amz-security-token" else v
        entry = {"method": self.command, "path": path, "query": query,
                 "host": self.headers.get("Host"), "scope": scope, "amz": amz}
        with lock:
            count[0] += 1
            k = count[0]
        if A.delay_ms:
            time.sleep(A.delay_ms / 1000.0)
        bucket = urllib.parse.unquote(path.lstrip("/").split("/", 1)[0])
        status, hdrs, out = None, [], b""
        if k <= A.slowdown:
            status, out = 503, s3_error("SlowDown", "Please reduce your request rate.")
            if A.retry_after is not None:
                hdrs.append(("Retry-After", A.retry_after))
        elif (bucket in BUCKET_REGION and scope and scope["region"] != BUCKET_REGION[bucket]):
            status = 301
            hdrs.append(("x-amz-bucket-region", BUCKET_REGION[bucket]))
            out = s3_error("PermanentRedirect", "The bucket you are attempting to access must be "
                           "addressed using the specified endpoint.",
                           "<Bucket>%s</Bucket>" % bucket)
        elif A.expiring and scope and scope["akid"].startswith("ASIAEXP"):
            mm = re.match(r"ASIAEXP(\d+)X", scope["akid"])
            if not mm or int(mm.group(1)) < time.time():
                status = 400
                out = s3_error("ExpiredToken", "The provided token has expired.")
        if status is None:
            conn = http.client.HTTPConnection(UP.hostname, UP.port, timeout=60)
            fwd = {k2: v2 for k2, v2 in self.headers.items()
                   if k2.lower() not in ("connection", "keep-alive", "transfer-encoding")}
            conn.request(self.command, self.path, body=body if body or n else None,
                         headers=fwd)
            r = conn.getresponse()
            out = r.read()
            status = r.status
            hdrs = [(k2, v2) for k2, v2 in r.getheaders()
                    if k2.lower() not in ("connection", "keep-alive", "transfer-encoding",
                                          "content-length")]
            if self.command == "HEAD":
                cl = r.getheader("Content-Length")
                if cl is not None:
                    hdrs.append(("Content-Length", cl))
            conn.close()
        entry["status"] = status
        with lock:
            with open(LOG, "a") as f:
                f.write(json.dumps(entry) + "\n")
        self.send_response(status)
        for k2, v2 in hdrs:
            self.send_header(k2, v2)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(out)))
        elif not any(k2.lower() == "content-length" for k2, _ in hdrs):
            self.send_header("Content-Length", "0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def watch_owner():
    while True:
        time.sleep(1)
        try:
            os.kill(A.owner, 0)
        except OSError:
            os._exit(0)


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    if A.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(A.tls[0], A.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if A.owner:
        threading.Thread(target=watch_owner, daemon=True).start()
    open(LOG, "a").close()
    with open(os.path.join(A.dir, "port.tmp"), "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(os.path.join(A.dir, "port.tmp"), os.path.join(A.dir, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
