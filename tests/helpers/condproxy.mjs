// Conditional-write proxy for the integration tests, on 127.0.0.1 only: the
// local S3 servers ignore If-None-Match / If-Match on writes, so this proxy
// evaluates them in front of the server, as S3 does:
//
//   PutObject (PUT /bucket/key, no sub-resource) and CompleteMultipartUpload
//   (POST /bucket/key?uploadId=...) with
//     If-None-Match: *     412 PreconditionFailed if the key exists
//     If-None-Match: other 501 NotImplemented (S3 only accepts "*")
//     If-Match: etag[,..]  412 PreconditionFailed if the current ETag differs;
//                          404 NoSuchKey if the key does not exist
//                          (--if-match-missing 412: answer 412 instead)
//
//   DeleteObject (DELETE /bucket/key) with If-Match: etag[,..] or *: the same
//   412 / 404 NoSuchKey answers, else the delete goes on (204). S3 general
//   purpose buckets honour If-Match on DeleteObject since 2025-09 ("How to
//   perform conditional deletes", S3 User Guide); If-None-Match is not a
//   DeleteObject condition and passes through unevaluated, as does a DELETE
//   without conditions (204 also for a missing key).
//
// The existence / ETag check is a HEAD to the upstream. Check and write are
// serialized per key (a per-key mutex, also taken by unconditional PutObject,
// CompleteMultipartUpload and DeleteObject) so that concurrent conditional
// writers behave as on S3: one wins, the others get 412. --conflict: a
// conditional write that finds another write of the same key in progress gets
// 409 ConditionalRequestConflict at once instead of waiting, as S3 may answer.
// Everything else passes through unchanged (Host kept, bodies streamed, the
// upstream's ETag and other headers passed back).
//
// --track-uploads: the local servers have no ListMultipartUploads; the proxy
// remembers the uploads created through it (CreateMultipartUpload answers)
// until completed or aborted through it, and answers GET /bucket?uploads
// (prefix filter, one page) itself, with Initiated = creation time minus
// --initiated-age-secs (so that a test sees "old" uploads without waiting).
//
// DIR/log.jsonl, one JSON line per request when its answer starts, plus a
// line with result "checked" when a condition held (before the write goes on):
//   {"t":ms,"seq":n,"method":"PUT","path":"/b/k","query":"","cond":"if-none-match"|"if-match"|null,
//    "result":"forwarded"|"checked"|"passed"|"failed"|"conflict"|"error"|"uploads-listed","status":412}
import http from "node:http";
import fs from "node:fs";
import {
  parseArgs, die, parseUpstream, boundLifetime, listenLoopback, makeRequestLog, splitUrl,
  sendS3Error, S3_ERRORS, passThrough, makeServer, makeAgent, upstreamRequest, responseHeaders,
} from "./proxycommon.mjs";

const USAGE = `usage: node condproxy.mjs --upstream http://127.0.0.1:PORT [options]
  --dir DIR                  write DIR/port, DIR/pid and DIR/log.jsonl
  --port N                   listening port on 127.0.0.1 (default 0: a free one)
  --owner PID                exit once that process is gone
  --max-seconds N            exit after N seconds (default 600; 0: never)
  --conflict                 409 ConditionalRequestConflict for a conditional write
                             that overlaps another write of the same key
  --hold-ms N                keep the key locked N ms after a condition held, before
                             the write is forwarded (widens the overlap window in tests)
  --hold-file PATH           likewise, until PATH exists (a gate a test opens when
                             it is ready; bounded by the proxy's lifetime)
  --if-match-missing 404|412 answer to If-Match (PUT, Complete, DELETE) on a missing key
                             (default 404 NoSuchKey)
  --track-uploads            answer ListMultipartUploads from the uploads seen
  --initiated-age-secs N     ... reported as started N seconds before they were
`;

const opts = parseArgs(process.argv.slice(2), {
  "--upstream": { key: "upstream", type: "str" },
  "--dir": { key: "dir", type: "str" },
  "--port": { key: "port", type: "int", def: 0 },
  "--owner": { key: "owner", type: "int", def: 0 },
  "--max-seconds": { key: "maxSeconds", type: "float", def: 600 },
  "--conflict": { key: "conflict", type: "flag", def: false },
  "--hold-ms": { key: "holdMs", type: "int", def: 0 },
  "--hold-file": { key: "holdFile", type: "str" },
  "--if-match-missing": { key: "ifMatchMissing", type: "str", def: "404" },
  "--track-uploads": { key: "trackUploads", type: "flag", def: false },
  "--initiated-age-secs": { key: "initiatedAge", type: "int", def: 0 },
}, USAGE);

if (!opts.upstream) die(`--upstream is required\n${USAGE}`);
if (opts.ifMatchMissing !== "404" && opts.ifMatchMissing !== "412") die("--if-match-missing must be 404 or 412");
if (opts.holdMs < 0 || opts.holdMs > 600000) die("--hold-ms must be within 0..600000");
const upstream = parseUpstream(opts.upstream);
const agent = makeAgent();
const reqlog = makeRequestLog(opts.dir);
const say = (m) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);

// Query parameters that do not make a PUT/DELETE something other than a
// whole-object write (SDKs add x-id=PutObject; versionId on DELETE).
const NEUTRAL = new Set(["x-id", "versionId"]);

// Which object write this is, if any: { kind, key } or null.
function classify(req) {
  const { path, query } = splitUrl(req.url);
  const m = /^\/([^/]+)\/(.+)$/.exec(path);
  if (!m) return null;
  const params = new URLSearchParams(query);
  const names = [...params.keys()];
  let kind = null;
  if (req.method === "PUT" && names.every((n) => NEUTRAL.has(n))) kind = "put";
  else if (req.method === "POST" && params.has("uploadId") && !params.has("partNumber")) kind = "complete";
  else if (req.method === "DELETE" && names.every((n) => NEUTRAL.has(n))) kind = "delete";
  if (!kind) return null;
  let key = m[2];
  try { key = decodeURIComponent(key); } catch { /* keep it raw */ }
  return { kind, bucket: m[1], key, lockKey: `${m[1]}/${key}`, path };
}

// Per-key FIFO mutex.
const locks = new Map();
function acquire(lockKey) {
  let l = locks.get(lockKey);
  const release = () => {
    const next = l.waiters.shift();
    if (next) next(); else locks.delete(lockKey);
  };
  if (!l) {
    l = { waiters: [] };
    locks.set(lockKey, l);
    return Promise.resolve(release);
  }
  return new Promise((resolve) => l.waiters.push(() => resolve(release)));
}

function headUpstream(req, path) {
  return new Promise((resolve) => {
    const h = http.request({
      host: upstream.host, port: upstream.port, method: "HEAD", path, agent,
      headers: { host: req.headers.host || `${upstream.host}:${upstream.port}` },
      setHost: false,
      timeout: 10000,
    }, (r) => {
      r.resume();
      r.on("end", () => resolve({ status: r.statusCode, etag: r.headers.etag }));
    });
    h.on("timeout", () => h.destroy(new Error("HEAD timed out")));
    h.on("error", (e) => resolve({ status: 0, error: String(e.message || e) }));
    h.end();
  });
}

const normEtag = (s) => s.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");

// Returns null when every condition holds, else [S3 error code, extra elements].
async function evaluate(req, w, inm, im) {
  if (inm !== undefined && inm.trim() !== "*") return ["NotImplemented", { Header: "If-None-Match" }];
  const cur = await headUpstream(req, w.path);
  if (cur.status !== 200 && cur.status !== 404) {
    say(`HEAD ${w.path}: ${cur.status} ${cur.error || ""}`);
    return ["InternalError", {}];
  }
  const exists = cur.status === 200;
  if (im !== undefined) {
    if (!exists) {
      return opts.ifMatchMissing === "412"
        ? ["PreconditionFailed", { Condition: "If-Match" }]
        : ["NoSuchKey", { Key: w.key }];
    }
    const wanted = im.split(",").map(normEtag);
    if (!wanted.includes("*") && !wanted.includes(normEtag(cur.etag || ""))) {
      return ["PreconditionFailed", { Condition: "If-Match" }];
    }
  }
  if (inm !== undefined && exists) return ["PreconditionFailed", { Condition: "If-None-Match" }];
  return null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --track-uploads: uploadId -> { bucket, key, initiated (ms) }
const uploads = new Map();

function xmlEsc(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// GET /bucket?uploads: the uploads seen and still open, under ?prefix.
function listUploads(res, bucket, prefix) {
  const items = [...uploads.entries()]
    .filter(([, u]) => u.bucket === bucket && u.key.startsWith(prefix))
    .sort((a, b) => (a[1].key < b[1].key ? -1 : a[1].key > b[1].key ? 1 : 0));
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Bucket>${xmlEsc(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
    `<Prefix>${xmlEsc(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
    items.map(([id, u]) => `<Upload><Key>${xmlEsc(u.key)}</Key><UploadId>${xmlEsc(id)}</UploadId>` +
      `<Initiated>${new Date(u.initiated - opts.initiatedAge * 1000).toISOString()}</Initiated>` +
      "<StorageClass>STANDARD</StorageClass></Upload>").join("") +
    "</ListMultipartUploadsResult>";
  res.writeHead(200, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

// POST /bucket/key?uploads forwarded with its answer buffered: the upload id noted.
function createUpload(req, res, bucket, key, line) {
  const up = upstreamRequest(req, upstream, agent);
  up.on("response", (upRes) => {
    const chunks = [];
    upRes.on("data", (c) => chunks.push(c));
    upRes.on("end", () => {
      const body = Buffer.concat(chunks);
      const m = /<UploadId>([^<]+)<\/UploadId>/.exec(body.toString());
      if (upRes.statusCode === 200 && m) uploads.set(m[1], { bucket, key, initiated: Date.now() });
      line("forwarded", upRes.statusCode);
      res.writeHead(upRes.statusCode, upRes.statusMessage, responseHeaders(upRes));
      res.end(body);
    });
  });
  up.on("error", () => { if (!res.headersSent) sendS3Error(req, res, "BadGateway"); else res.destroy(); });
  req.pipe(up);
}

async function handle(req, res, expectContinue) {
  const seq = reqlog.next();
  const { path, query } = splitUrl(req.url);
  const w = classify(req);
  const inm = req.headers["if-none-match"];
  const im = req.headers["if-match"];
  // DeleteObject has one condition, If-Match; writes have both.
  const conditional = w !== null &&
    (w.kind === "delete" ? im !== undefined : inm !== undefined || im !== undefined);
  const cond = !conditional ? null : im !== undefined ? "if-match" : "if-none-match";
  const line = (result, status) => reqlog.write({ seq, method: req.method, path, query, cond, result, status });
  const params = new URLSearchParams(query);
  const forward = () => {
    if (expectContinue) res.writeContinue();
    return passThrough(req, res, upstream, agent, (upRes) => {
      // a completed or aborted upload is no longer open
      if (opts.trackUploads && params.has("uploadId") && !params.has("partNumber") &&
          (req.method === "POST" || req.method === "DELETE") &&
          (upRes.statusCode >= 200 && upRes.statusCode < 300 || upRes.statusCode === 404))
        uploads.delete(params.get("uploadId"));
      line(conditional ? "passed" : "forwarded", upRes.statusCode);
    });
  };

  if (opts.trackUploads && params.has("uploads")) {
    const mb = /^\/([^/]+)\/?$/.exec(path), mo = /^\/([^/]+)\/(.+)$/.exec(path);
    if (req.method === "GET" && mb) {
      line("uploads-listed", 200);
      listUploads(res, mb[1], params.get("prefix") || "");
      return;
    }
    if (req.method === "POST" && mo) {
      let key = mo[2];
      try { key = decodeURIComponent(key); } catch { /* keep it raw */ }
      createUpload(req, res, mo[1], key, line);
      return;
    }
  }

  if (!w) { forward(); return; }
  if (conditional && opts.conflict && locks.has(w.lockKey)) {
    line("conflict", 409);
    sendS3Error(req, res, "ConditionalRequestConflict", {}, expectContinue);
    return;
  }
  const release = await acquire(w.lockKey);
  try {
    if (res.destroyed) return;
    if (conditional) {
      const failed = await evaluate(req, w, w.kind === "delete" ? undefined : inm, im);
      if (failed) {
        const [code, extra] = failed;
        line(code === "InternalError" ? "error" : "failed", S3_ERRORS[code][0]);
        sendS3Error(req, res, code, extra, expectContinue);
        return;
      }
      line("checked", null);
      if (opts.holdMs > 0) await sleep(opts.holdMs);
      while (opts.holdFile && !fs.existsSync(opts.holdFile) && !res.destroyed) await sleep(20);
      if (res.destroyed) return;
    }
    await forward();
  } finally {
    release();
  }
}

const server = makeServer((req, res) => { handle(req, res, false).catch((e) => { say(`${e.stack}`); res.destroy(); }); });
// Answer "100 Continue" ourselves, only once the condition held: a rejected
// write's body is never sent.
server.on("checkContinue", (req, res) => { handle(req, res, true).catch((e) => { say(`${e.stack}`); res.destroy(); }); });
server.on("clientError", (err, sock) => { if (sock.writable) sock.destroy(); });

boundLifetime({ server, owner: opts.owner, maxSeconds: opts.maxSeconds, log: say });
await listenLoopback(server, opts.port, opts.dir, "condproxy");
say(`upstream ${opts.upstream}${opts.conflict ? " conflict 409" : ""}`);
