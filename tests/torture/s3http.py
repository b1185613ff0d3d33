"""Plain HTTP access to the local S3/SQS server (fauxqs: path-style, no
signature check). Nothing of repart's code is involved.

One keep-alive connection per thread and endpoint; a request that fails on a
reused connection is sent once more on a fresh one (the server may have closed
an idle connection)."""
import http.client
import json
import threading
import urllib.parse
import xml.etree.ElementTree as ET

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class HTTPError(Exception):
    def __init__(self, status, method, path, body):
        super().__init__("%s %s: HTTP %d %s" % (method, path, status, body[:200]))
        self.status = status


class InfraError(Exception):
    """The server did not answer as a working server does (not a finding)."""


class S3:
    def __init__(self, endpoint, timeout=60):
        u = urllib.parse.urlparse(endpoint)
        self.endpoint = endpoint.rstrip("/")
        self.host, self.port = u.hostname, u.port
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self, fresh=False):
        c = getattr(self._local, "conn", None)
        if c is None or fresh:
            if c is not None:
                c.close()
            c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = c
        return c

    def request(self, method, path, body=None, headers=None):
        hdrs = {"Host": "%s:%d" % (self.host, self.port)}
        if headers:
            hdrs.update(headers)
        last = None
        for attempt in range(3):
            c = self._conn(fresh=attempt > 0)
            try:
                c.request(method, path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.HTTPException, OSError) as e:
                last = e
                c.close()
                self._local.conn = None
        raise InfraError("%s %s: %s" % (method, path, last))

    @staticmethod
    def path(bucket, key=""):
        return "/%s/%s" % (bucket, urllib.parse.quote(key, safe="/~"))

    def create_bucket(self, bucket):
        st, _, body = self.request("PUT", "/" + bucket)
        if st not in (200, 409):
            raise InfraError("CreateBucket %s: HTTP %d %s" % (bucket, st, body[:200]))

    def put(self, bucket, key, data):
        st, h, body = self.request("PUT", self.path(bucket, key), body=data,
                                   headers={"Content-Type": "application/octet-stream",
                                            "Content-Length": str(len(data))})
        if st != 200:
            raise InfraError("PUT %s/%s: HTTP %d %s" % (bucket, key, st, body[:200]))
        return (h.get("etag") or "").strip('"')

    def get(self, bucket, key):
        """(bytes, etag), or (None, None) when the object does not exist."""
        st, h, body = self.request("GET", self.path(bucket, key))
        if st == 404:
            return None, None
        if st != 200:
            raise InfraError("GET %s/%s: HTTP %d %s" % (bucket, key, st, body[:200]))
        return body, (h.get("etag") or "").strip('"')

    def delete(self, bucket, key):
        st, _, body = self.request("DELETE", self.path(bucket, key))
        if st not in (200, 204, 404):
            raise InfraError("DELETE %s/%s: HTTP %d %s" % (bucket, key, st, body[:200]))

    def list(self, bucket, prefix=""):
        """[(key, size, etag)] sorted by key."""
        out, token = [], None
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            st, _, body = self.request("GET", "/%s?%s" % (bucket, urllib.parse.urlencode(q)))
            if st != 200:
                raise InfraError("LIST %s/%s: HTTP %d %s" % (bucket, prefix, st, body[:200]))
            root = ET.fromstring(body)
            for c in root.iter(NS + "Contents"):
                out.append((c.find(NS + "Key").text, int(c.find(NS + "Size").text),
                            (c.find(NS + "ETag").text or "").strip('"')))
            if (root.findtext(NS + "IsTruncated") or "false") != "true":
                break
            token = root.findtext(NS + "NextContinuationToken")
        return sorted(set(out))

    # --- SQS (AWS JSON 1.0, unsigned) ---
    def sqs(self, action, params):
        st, _, body = self.request("POST", "/", body=json.dumps(params).encode(),
                                   headers={"Content-Type": "application/x-amz-json-1.0",
                                            "X-Amz-Target": "AmazonSQS." + action})
        if st != 200:
            raise InfraError("SQS %s: HTTP %d %s" % (action, st, body[:300]))
        return json.loads(body or b"{}")

    def create_queue(self, name):
        self.sqs("CreateQueue", {"QueueName": name})
        return "%s/000000000000/%s" % (self.endpoint, name)

    def send_message(self, queue_url, body):
        self.sqs("SendMessage", {"QueueUrl": queue_url, "MessageBody": body})

    def delete_queue(self, queue_url):
        try:
            self.sqs("DeleteQueue", {"QueueUrl": queue_url})
        except InfraError:
            pass
