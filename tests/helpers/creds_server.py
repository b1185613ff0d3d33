#!/usr/bin/python3
"""A tiny credentials server for tests/it_creds.sh.

Serves, on 127.0.0.1 and a free port (written to PORTFILE once listening):
  the container credentials endpoint under /container/<mode>
  an EC2 instance metadata service (IMDSv2) under /<imds-mode>/latest/...
  STS AssumeRoleWithWebIdentity (POST) under /sts/<mode>, which checks the
  request: a form with exactly Action, Version, RoleArn, RoleSessionName and
  WebIdentityToken, the token equal to the content of TOKEN_FILE now, no
  Authorization header (the call is unsigned)
  STS AssumeRole (POST, Action=AssumeRole) under /sts/<mode>: the SigV4
  signature (service sts) is verified with the secret of the access key
  (SOURCE_KEYS below, or SECRET for keys this server issued); the form
  must have Action, Version, RoleArn, RoleSessionName, DurationSeconds
  [, ExternalId]. Modes: ok (1 hour), life<N> (credentials that expire N
  seconds from now; the key id ASIAEXP<unix expiry>X<n> lets
  awsproxy.py --expiring refuse it once expired), denied
  SSO GetRoleCredentials (GET /sso/<mode>/federation/credentials): checks the
  x-amz-sso_bearer_token header and account_id / role_name; mode denied: 401
Every request is appended to LOGFILE as one JSON line (method, path and the
headers the tests look at; for STS also the form and the check's verdict).

usage: creds_server.py PORTFILE LOGFILE AUTH_TOKEN [TOKEN_FILE]
"""
import datetime
import hashlib
import hmac
import json
import re
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTFILE, LOGFILE, AUTH_TOKEN = sys.argv[1:4]
TOKEN_FILE = sys.argv[4] if len(sys.argv) > 4 else None
ROLE_ARN = "arn:aws:iam::111122223333:role/repart-irsa"
IMDS_TOKEN = "imds-session-token-0123456789"
ROLE = "test-role"
# The secret every endpoint hands out; tests grep error messages for it.
SECRET = "SeCrEtDoNotLeak/0123456789+abcdefghijKLMNOP"

# access keys a test's profiles hold (credentials file / env)
SOURCE_KEYS = {"AKIDSOURCE": "source-secret-key", "AKIDENV": "env-secret-key"}

lock = threading.Lock()
hits = {}


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def creds_json(key_id, expires_in):
    return json.dumps({
        "Code": "Success",
        "LastUpdated": iso(time.time()),
        "Type": "AWS-HMAC",
        "AccessKeyId": key_id,
        "SecretAccessKey": SECRET,
        "Token": "session-token-for-" + key_id,
        "Expiration": iso(time.time() + expires_in),
    })


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, extra=None):
        entry = {
            "method": self.command,
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "imds_token": self.headers.get("X-aws-ec2-metadata-token"),
            "imds_ttl": self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"),
        }
        entry.update(extra or {})
        with lock:
            with open(LOGFILE, "a") as f:
                f.write(json.dumps(entry) + "\n")
            hits[self.path] = hits.get(self.path, 0) + 1
            return hits[self.path]

    def reply(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    # -- IMDSv2 ------------------------------------------------------------
    def do_PUT(self):
        self.drain()
        self.record()
        if self.path.endswith("/latest/api/token"):
            if self.headers.get("X-aws-ec2-metadata-token-ttl-seconds") is None:
                return self.reply(400, "missing TTL header", "text/plain")
            return self.reply(200, IMDS_TOKEN, "text/plain")
        self.reply(404, "not found", "text/plain")

    def imds_get(self, mode, rest):
        if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
            return self.reply(401, "", "text/plain")   # IMDSv2: no token, no data
        base = "latest/meta-data/iam/security-credentials/"
        if rest == base:
            if mode == "imds-norole":
                return self.reply(404, "", "text/plain")
            return self.reply(200, ROLE, "text/plain")
        if rest == base + ROLE and mode != "imds-norole":
            if mode == "imds-badjson":
                return self.reply(200, '{"Code": "Success", "SecretAccessKey": "' + SECRET)
            return self.reply(200, creds_json("ASIAIMDSEXAMPLE", 3600))
        self.reply(404, "", "text/plain")

    # -- STS AssumeRoleWithWebIdentity ---------------------------------------
    def sts_check(self, form):
        """None when the request is what AssumeRoleWithWebIdentity expects."""
        if self.headers.get("Authorization") is not None:
            return "an Authorization header was sent"
        if self.headers.get("X-Amz-Security-Token") is not None:
            return "a security token header was sent"
        ctype = self.headers.get("Content-Type") or ""
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return "Content-Type is " + ctype
        want = {"Action", "Version", "RoleArn", "RoleSessionName", "WebIdentityToken"}
        if set(form) != want or any(len(v) != 1 for v in form.values()):
            return "form fields are " + ",".join(sorted(form))
        f = {k: v[0] for k, v in form.items()}
        if f["Action"] != "AssumeRoleWithWebIdentity" or f["Version"] != "2011-06-15":
            return "wrong Action or Version"
        if f["RoleArn"] != ROLE_ARN:
            return "wrong RoleArn"
        if not 2 <= len(f["RoleSessionName"]) <= 64:
            return "bad RoleSessionName"
        with open(TOKEN_FILE) as tf:
            if f["WebIdentityToken"] != tf.read().strip():
                return "WebIdentityToken differs from the token file"
        return None

    def sts_error(self, status, code, message):
        self.reply(status, '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                   "<Error><Type>Sender</Type><Code>" + code + "</Code><Message>" + message +
                   "</Message></Error><RequestId>r-1</RequestId></ErrorResponse>",
                   "text/xml")

    def sts_ok(self, key_id, expires_in):
        self.reply(200, """<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:repart:repart</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::111122223333:assumed-role/repart-irsa/s</Arn>
      <AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>session-token-for-%s</SessionToken>
      <SecretAccessKey>%s</SecretAccessKey>
      <Expiration>%s</Expiration>
      <AccessKeyId>%s</AccessKeyId>
    </Credentials>
    <Provider>arn:aws:iam::111122223333:oidc-provider/example</Provider>
    <Audience>sts.amazonaws.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
""" % (key_id, SECRET, iso(time.time() + expires_in), key_id), "text/xml")

    def sigv4_problem(self, body):
        auth = self.headers.get("Authorization") or ""
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$", auth)
        if not m:
            return "no SigV4 Authorization header", None
        akid, date, region, service, signed, sig = m.groups()
        if service != "sts":
            return "signed for service " + service, akid
        secret = SOURCE_KEYS.get(akid) or (SECRET if akid.startswith("ASIA") else None)
        if secret is None:
            return "unknown access key " + akid, akid
        names = signed.split(";")
        if "host" not in names or "x-amz-date" not in names:
            return "host or x-amz-date not signed", akid
        if akid.startswith("ASIA") and "x-amz-security-token" not in names:
            return "session token not signed", akid
        canon = "".join("%s:%s\n" % (h, " ".join((self.headers.get(h) or "").split()))
                        for h in names)
        creq = "\n".join(["POST", self.path.split("?")[0], "", canon, signed,
                          hashlib.sha256(body).hexdigest()])
        scope = "%s/%s/%s/aws4_request" % (date, region, service)
        sts = "\n".join(["AWS4-HMAC-SHA256", self.headers.get("X-Amz-Date") or "", scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + secret).encode()
        for part in (date, region, service, "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(hmac.new(k, sts.encode(), hashlib.sha256).hexdigest(), sig):
            return "signature does not match", akid
        return None, akid

    def assume_role(self, body, form):
        f = {k: v[0] for k, v in form.items()}
        problem, akid = self.sigv4_problem(body)
        want = {"Action", "Version", "RoleArn", "RoleSessionName", "DurationSeconds"}
        if not problem and not (want <= set(f) <= want | {"ExternalId"}):
            problem = "form fields are " + ",".join(sorted(f))
        if not problem and f["Version"] != "2011-06-15":
            problem = "wrong Version"
        k = self.record({"form": f, "check": problem or "ok", "akid": akid})
        mode = self.path.strip("/").split("/")[-1]
        if problem:
            return self.sts_error(403, "SignatureDoesNotMatch" if "sign" in problem
                                  else "TestCheckFailed", problem)
        if mode == "denied":
            return self.sts_error(403, "AccessDenied", "not authorized to perform sts:AssumeRole")
        life = 3600
        if mode.startswith("life"):
            life = int(mode[4:])
        exp = int(time.time()) + life
        key_id = "ASIAEXP%dX%d" % (exp, k)
        self.reply(200, """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROA:%s</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>session-token-for-%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata>
</AssumeRoleResponse>
""" % (f["RoleArn"], f["RoleSessionName"], f["RoleSessionName"], key_id, SECRET, key_id,
       iso(exp)), "text/xml")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        raw = body.decode("utf-8", "replace")
        try:
            form = urllib.parse.parse_qs(raw, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            form = {}
        if form.get("Action") == ["AssumeRole"]:
            return self.assume_role(body, form)
        problem = self.sts_check(form) if TOKEN_FILE else "no token file configured"
        f = {k: v[0] for k, v in form.items()}
        k = self.record({"form": f, "check": problem or "ok"})
        mode = self.path.strip("/").split("/")[-1]
        if problem:
            return self.sts_error(400, "TestCheckFailed", problem)
        if mode == "ok":
            return self.sts_ok("ASIAWEBIDOK", 3600)
        if mode == "short":       # inside the refresh window; then rotate the token
            with open(TOKEN_FILE + ".tmp", "w") as tf:
                tf.write("rotated-token-%d" % k)
            os.rename(TOKEN_FILE + ".tmp", TOKEN_FILE)
            return self.sts_ok("ASIAWEBIDSHORT", 120)
        if mode == "err500once":
            if k == 1:
                return self.sts_error(500, "InternalFailure", "try again")
            return self.sts_ok("ASIAWEBIDRETRIED", 3600)
        if mode == "throttled":
            if k <= 2:
                return self.sts_error(400, "Throttling", "Rate exceeded")
            return self.sts_ok("ASIAWEBIDTHROTTLED", 3600)
        if mode == "err500":
            return self.sts_error(500, "InternalFailure", SECRET)
        if mode == "denied":
            return self.sts_error(403, "AccessDenied", "Not authorized to perform "
                                  "sts:AssumeRoleWithWebIdentity")
        if mode == "malformed":   # truncated: the secret is in the body
            return self.reply(200, "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                              "<Credentials><SecretAccessKey>" + SECRET, "text/xml")
        self.reply(404, "", "text/plain")

    # -- container endpoint and IMDS GETs ------------------------------------
    def sso_get(self):
        """GetRoleCredentials: /sso/<mode>/federation/credentials?account_id=&role_name="""
        path, _, query = self.path.partition("?")
        q = urllib.parse.parse_qs(query)
        mode = path.split("/")[2]
        tok = self.headers.get("x-amz-sso_bearer_token")
        ok = (tok == "sso-access-token-0123456789" and q.get("account_id") == ["111122223333"]
              and q.get("role_name") == ["RepartRole"] and path.endswith("/federation/credentials"))
        self.record({"sso_check": "ok" if ok else "bad request", "query": q})
        if not ok or mode == "denied":
            return self.reply(401 if ok else 403, '{"message": "Session token not found or invalid"}')
        self.reply(200, json.dumps({"roleCredentials": {
            "accessKeyId": "ASIASSOEXAMPLE", "secretAccessKey": SECRET,
            "sessionToken": "sso-session-token", "expiration": int((time.time() + 3600) * 1000)}}))

    def do_GET(self):
        if self.path.startswith("/sso/"):
            return self.sso_get()
        n = self.record()
        parts = self.path.lstrip("/").split("/", 1)
        mode, rest = parts[0], parts[1] if len(parts) > 1 else ""
        if mode.startswith("imds"):
            return self.imds_get(mode, rest)
        if mode != "container":
            return self.reply(404, "", "text/plain")
        if self.headers.get("Authorization") != AUTH_TOKEN and rest != "noauth":
            return self.reply(401, '{"message": "bad token"}')
        if rest in ("ok", "noauth"):
            return self.reply(200, creds_json("ASIACONTAINEROK", 3600))
        if rest == "short":       # inside the 5-minute refresh window
            return self.reply(200, creds_json("ASIACONTAINERSHORT", 120))
        if rest == "flaky":       # first answer short-lived, then failures
            if n == 1:
                return self.reply(200, creds_json("ASIACONTAINERFLAKY", 120))
            return self.reply(500, '{"message": "' + SECRET + '"}')
        if rest == "malformed":   # truncated JSON that contains the secret
            return self.reply(200, '{"AccessKeyId": "ASIAMALFORMED", "SecretAccessKey": "'
                              + SECRET + '", "Token": ')
        if rest == "unquoted":    # a parser would quote the offending token
            return self.reply(200, '{"AccessKeyId": "ASIAUNQUOTED", "SecretAccessKey": '
                              + SECRET + '}')
        if rest == "notobject":
            return self.reply(200, json.dumps([SECRET]))
        if rest == "badexpiry":
            return self.reply(200, json.dumps({"AccessKeyId": "ASIABADEXP", "SecretAccessKey":
                                               SECRET, "Token": "t", "Expiration": SECRET}))
        if rest == "err500":
            return self.reply(500, '{"message": "' + SECRET + '"}')
        self.reply(404, "", "text/plain")


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(PORTFILE + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(PORTFILE + ".tmp", PORTFILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
