// Fault-injecting HTTP proxy for the integration tests, in front of a local S3
// server, on 127.0.0.1 only. Forwards every request (bodies streamed as they
// are, Host kept so that SigV4 signatures still match) and, for a seeded
// random share of the eligible requests, injects a fault instead:
//
//   500       500 InternalError with an S3 XML error body
//   503       503 SlowDown with an S3 XML error body
//   reset     forwards the request, sends the upstream status, headers and
//             half of the body, then resets the connection (TCP RST);
//             a body under 2 bytes: reset before any byte is sent
//   truncate  like reset but ends the connection cleanly (FIN) after half of
//             the body: a body shorter than its Content-Length (curl exit 18);
//             a body under 2 bytes: clean close before any byte is sent
//   slow      waits --slow-ms before forwarding (the client times out first);
//             forwards normally if the client is still there
//   stall     sends headers and half of the body, waits --slow-ms, then resets
//   trickle   forwards the request, sends the upstream status and headers,
//             then the body one byte every --trickle-ms (default 1000: 1 byte/s),
//             for as long as the client stays: a transfer that never stalls
//             but never ends in useful time
//   corrupt   forwards the request, then sends the upstream status, headers
//             and whole body with one byte flipped (the middle one), so that
//             Content-Length holds and only a checksum tells; an empty body
//             is sent unchanged
//
//   list-overlap (--list-overlap N, not drawn: applies to every ListObjectsV2
//             request, GET with list-type=2) forces pages of N keys
//             (max-keys rewritten to N) and makes every page after the
//             first start with the previous page's last key, as some
//             S3-compatible servers do: the page's NextContinuationToken is
//             replaced by a proxy token ("lo1." + base64url of the page's
//             last two keys); a request with such a token is forwarded with
//             start-after=<the key before the last> instead, so the upstream
//             answers from the last key on (with its current size and ETag).
//             A client paging with start-after=<last key> (the Python
//             sample) gets the same overlap: a start-after equal to the last
//             key of a page this proxy served is moved back by one key. A
//             drawn fault on a list request is applied to the rewritten
//             request (its answer keeps the upstream's own token).
//
// 500/503 do not reach the upstream unless --errors-after-forward is given
// (then the write happens upstream and the client still sees the error).
// reset/truncate/stall/corrupt always reach the upstream: a PUT is applied even
// though its answer is lost.
//
// Every request gets one JSON line in DIR/log.jsonl, written before the first
// response byte goes out (for slow: when the delay starts):
//   {"t":ms,"seq":n,"method":"GET","path":"/b/k","query":"","fault":"reset"|null,"status":200|null}
// status is the status sent (the upstream's for forwarded and reset/truncate/
// stall requests, 500/503 for injected errors, null for slow). A list request
// rewritten by --list-overlap and given no drawn fault has fault "list-overlap";
// its query is the one the client sent.
import {
  parseArgs, die, parseUpstream, boundLifetime, listenLoopback, makeRequestLog, splitUrl,
  sendS3Error, upstreamRequest, responseHeaders, passThrough, makeServer, makeAgent,
  forwardHeaders,
} from "./proxycommon.mjs";
import crypto from "node:crypto";
import http from "node:http";

const USAGE = `usage: node faultproxy.mjs --upstream http://127.0.0.1:PORT [options]
  --dir DIR               write DIR/port, DIR/pid and DIR/log.jsonl
  --port N                listening port on 127.0.0.1 (default 0: a free one)
  --owner PID             exit once that process is gone
  --max-seconds N         exit after N seconds (default 600; 0: never)
  --seed N                PRNG seed (default 1)
  --rate R                share of eligible requests that get a fault, 0..1 (default 0)
  --faults LIST           comma list of 500,503,reset,truncate,slow,stall,corrupt
                          (default 500,503,reset,truncate,slow); one is drawn per fault
  --slow-ms N             delay of slow/stall (default 40000)
  --trickle-ms N          trickle: one body byte every N ms (default 1000)
  --only METHODS          only these methods are eligible (comma list, e.g. GET,PUT)
  --only-path-regex RE    only requests whose target (path?query as sent) matches RE
  --skip N                the first N eligible requests never get a fault
  --max-faults N          inject at most N faults (default: no limit)
  --max-per-path N        inject at most N faults into requests for one path
                          (default: no limit), so that a retrying client wins
  --errors-after-forward  500/503: forward first, then answer with the error
  --garble-list-etag B    ListObjectsV2 of bucket B: the first <ETag> of every
                          answer gets its first hex digit replaced by 'g' (no
                          longer an MD5; not drawn, logged as fault "garble-etag")
  --copy-etag-not-md5     UploadPartCopy (PUT with x-amz-copy-source): the
                          answer's <ETag> gets "-1" appended (no longer an
                          MD5, as with SSE-KMS; not drawn, logged as fault
                          "garble-etag"); a CompleteMultipartUpload naming
                          such an ETag has it taken off again on its way up,
                          so that the server finds its part
  --copy-etag-kms         UploadPartCopy: as SSE-KMS answers, the <ETag> is
                          replaced by other 32 hex digits (not the MD5 of the
                          bytes) and x-amz-server-side-encryption: aws:kms is
                          added; Complete gets the server's ETags back
  --list-overlap N        ListObjectsV2: pages of N keys (N >= 2), each page after
                          the first starting with the previous page's last key
`;

const FAULTS = new Set(["500", "503", "reset", "truncate", "slow", "stall", "corrupt", "trickle"]);

const opts = parseArgs(process.argv.slice(2), {
  "--upstream": { key: "upstream", type: "str" },
  "--dir": { key: "dir", type: "str" },
  "--port": { key: "port", type: "int", def: 0 },
  "--owner": { key: "owner", type: "int", def: 0 },
  "--max-seconds": { key: "maxSeconds", type: "float", def: 600 },
  "--seed": { key: "seed", type: "int", def: 1 },
  "--rate": { key: "rate", type: "float", def: 0 },
  "--faults": { key: "faults", type: "list", def: ["500", "503", "reset", "truncate", "slow"] },
  "--slow-ms": { key: "slowMs", type: "int", def: 40000 },
  "--trickle-ms": { key: "trickleMs", type: "int", def: 1000 },
  "--only": { key: "only", type: "list", def: [] },
  "--only-path-regex": { key: "pathRe", type: "str" },
  "--skip": { key: "skip", type: "int", def: 0 },
  "--max-faults": { key: "maxFaults", type: "int", def: -1 },
  "--max-per-path": { key: "maxPerPath", type: "int", def: -1 },
  "--errors-after-forward": { key: "errorsAfterForward", type: "flag", def: false },
  "--list-overlap": { key: "listOverlap", type: "int", def: 0 },
  "--garble-list-etag": { key: "garbleListEtag", type: "str" },
  "--copy-etag-not-md5": { key: "copyEtagNotMd5", type: "flag", def: false },
  "--copy-etag-kms": { key: "copyEtagKms", type: "flag", def: false },
}, USAGE);

if (!opts.upstream) die(`--upstream is required\n${USAGE}`);
if (!(opts.rate >= 0 && opts.rate <= 1)) die("--rate must be within 0..1");
if (opts.faults.length === 0) die("--faults is empty");
for (const f of opts.faults) if (!FAULTS.has(f)) die(`--faults: unknown fault ${f}`);
if (opts.slowMs < 0 || opts.slowMs > 600000) die("--slow-ms must be within 0..600000");
if (opts.trickleMs < 1 || opts.trickleMs > 600000) die("--trickle-ms must be within 1..600000");
if (opts.listOverlap !== 0 && !(opts.listOverlap >= 2 && opts.listOverlap <= 1000)) {
  die("--list-overlap must be within 2..1000");
}
const upstream = parseUpstream(opts.upstream);
const onlyMethods = new Set(opts.only.map((m) => m.toUpperCase()));
let pathRe = null;
if (opts.pathRe) {
  try { pathRe = new RegExp(opts.pathRe); } catch (e) { die(`--only-path-regex: ${e.message}`); }
}

// mulberry32: small, seedable, and the same sequence on every Node version.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = mulberry32(opts.seed);
let eligibleSeen = 0;
let injected = 0;
const perPath = new Map();

// Two draws per eligible request, whether or not it gets a fault, so the
// outcome depends only on the order of eligible requests.
function decide(req) {
  if (onlyMethods.size > 0 && !onlyMethods.has(req.method)) return null;
  if (pathRe && !pathRe.test(req.url)) return null;
  eligibleSeen++;
  const r = rng();
  const k = rng();
  if (eligibleSeen <= opts.skip) return null;
  if (opts.maxFaults >= 0 && injected >= opts.maxFaults) return null;
  if (!(r < opts.rate)) return null;
  const path = splitUrl(req.url).path;
  if (opts.maxPerPath >= 0) {
    const n = perPath.get(path) || 0;
    if (n >= opts.maxPerPath) return null;
    perPath.set(path, n + 1);
  }
  injected++;
  return opts.faults[Math.min(opts.faults.length - 1, Math.floor(k * opts.faults.length))];
}

const agent = makeAgent();
const reqlog = makeRequestLog(opts.dir);
const say = (m) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);

function logLine(req, seq, fault, status) {
  const { path, query } = splitUrl(req.origUrl || req.url);
  reqlog.write({ seq, method: req.method, path, query, fault, status });
}

// Forwards the request, reads the whole upstream answer, then hands the
// status line, headers and body to cb (or null when the upstream failed).
function forwardBuffered(req, cb) {
  const up = upstreamRequest(req, upstream, agent);
  up.on("response", (upRes) => {
    const chunks = [];
    upRes.on("data", (c) => chunks.push(c));
    upRes.on("end", () => cb(upRes, Buffer.concat(chunks)));
    upRes.on("error", () => cb(null, null));
  });
  up.on("error", () => cb(null, null));
  req.pipe(up);
  return up;
}

function rawHead(upRes, length) {
  let h = `HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage || ""}\r\n`;
  const hs = responseHeaders(upRes, { dropLength: true });
  for (let i = 0; i < hs.length; i += 2) h += `${hs[i]}: ${hs[i + 1]}\r\n`;
  return Buffer.from(h + `Content-Length: ${length}\r\n\r\n`);
}

// reset / truncate / stall: the answer is written straight to the socket,
// bypassing Node's response object, so that the byte count can be wrong.
function brokenAnswer(req, res, seq, fault) {
  const sock = req.socket;
  let gone = false;
  sock.on("close", () => { gone = true; });
  forwardBuffered(req, (upRes, body) => {
    if (gone) return;
    if (!upRes) {
      logLine(req, seq, fault, 502);
      sock.resetAndDestroy();
      return;
    }
    logLine(req, seq, fault, upRes.statusCode);
    const len = req.method === "HEAD" ? 0 : body.length;
    if (len < 2) {
      // Nothing to cut: fail before the first byte.
      if (fault === "truncate") sock.end(); else sock.resetAndDestroy();
      return;
    }
    const cut = Math.floor(len / 2);
    sock.write(Buffer.concat([rawHead(upRes, len), body.subarray(0, cut)]), () => {
      if (gone) return;
      if (fault === "truncate") sock.end();
      else {
        const t = setTimeout(() => { if (!gone) sock.resetAndDestroy(); },
          fault === "stall" ? opts.slowMs : 50);
        sock.on("close", () => clearTimeout(t));
      }
    });
  });
}

// trickle: the whole answer, one body byte at a time.
function trickleAnswer(req, res, seq, fault) {
  const sock = req.socket;
  let gone = false;
  sock.on("close", () => { gone = true; });
  forwardBuffered(req, (upRes, body) => {
    if (gone) return;
    if (!upRes) {
      logLine(req, seq, fault, 502);
      sock.resetAndDestroy();
      return;
    }
    logLine(req, seq, fault, upRes.statusCode);
    const len = req.method === "HEAD" ? 0 : body.length;
    sock.write(rawHead(upRes, len));
    let at = 0, timer = null;
    sock.on("close", () => clearTimeout(timer));
    const step = () => {
      if (gone) return;
      if (at >= len) { sock.end(); return; }
      sock.write(body.subarray(at, at + 1));
      at++;
      timer = setTimeout(step, opts.trickleMs);
    };
    step();
  });
}

// corrupt: the whole answer with the right length and one byte flipped.
function corruptAnswer(req, res, seq, fault) {
  const sock = req.socket;
  let gone = false;
  sock.on("close", () => { gone = true; });
  forwardBuffered(req, (upRes, body) => {
    if (gone) return;
    if (!upRes) {
      logLine(req, seq, fault, 502);
      sock.resetAndDestroy();
      return;
    }
    logLine(req, seq, fault, upRes.statusCode);
    if (req.method === "HEAD") {
      res.writeHead(upRes.statusCode, upRes.statusMessage, responseHeaders(upRes));
      res.end();
      return;
    }
    const out = Buffer.from(body);
    if (out.length > 0) out[Math.floor(out.length / 2)] ^= 0x01;
    res.writeHead(upRes.statusCode, upRes.statusMessage,
      [...responseHeaders(upRes, { dropLength: true }), "Content-Length", String(out.length)]);
    res.end(out);
  });
}

function errorAnswer(req, res, seq, fault) {
  const code = fault === "500" ? "InternalError" : "SlowDown";
  if (!opts.errorsAfterForward) {
    logLine(req, seq, fault, fault === "500" ? 500 : 503);
    sendS3Error(req, res, code);
    return;
  }
  forwardBuffered(req, (upRes) => {
    logLine(req, seq, fault, fault === "500" ? 500 : 503);
    if (!upRes) { res.destroy(); return; }
    sendS3Error(req, res, code);
  });
}

// ------------------------------------------------------------ --list-overlap
// Query strings are handled as raw name=value pairs, so that every parameter
// this does not rewrite reaches the upstream byte for byte.
const LO_TOKEN = "lo1.";
const servedLast = new Map();  // "path\nprefix\nlast key" -> the key before it

function qsplit(query) {
  if (!query) return [];
  return query.split("&").map((p) => {
    const i = p.indexOf("=");
    return i < 0 ? [p, null] : [p.slice(0, i), p.slice(i + 1)];
  });
}
function qdecode(v) {
  if (v === null || v === undefined) return "";
  try { return decodeURIComponent(v.replace(/\+/g, " ")); } catch { return v; }
}
function qenc(v) {
  return encodeURIComponent(v).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}
function isListRequest(req) {
  if (req.method !== "GET") return false;
  return qsplit(splitUrl(req.url).query).some(([k, v]) => qdecode(k) === "list-type" && qdecode(v) === "2");
}
function loToken(prev, last) {
  return LO_TOKEN + Buffer.from(JSON.stringify([prev, last])).toString("base64url");
}
function loUntoken(t) {
  if (typeof t !== "string" || !t.startsWith(LO_TOKEN)) return null;
  try {
    const a = JSON.parse(Buffer.from(t.slice(LO_TOKEN.length), "base64url").toString("utf8"));
    if (Array.isArray(a) && a.length === 2 && a.every((x) => typeof x === "string")) return a;
  } catch { /* not ours */ }
  return null;
}
function xmlUnescape(s) {
  return s.replace(/&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g, (m, e) => {
    const named = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }[e];
    if (named) return named;
    return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}
function xmlEsc(s) {
  return String(s).replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]);
}

// Rewrites req.url (max-keys, a proxy token, a start-after to move back) and
// keeps what the answer's rewrite needs in req.listCtx.
function listRewrite(req) {
  const { path, query } = splitUrl(req.url);
  const pairs = qsplit(query);
  const val = (name) => {
    const p = pairs.find(([k]) => qdecode(k) === name);
    return p ? qdecode(p[1]) : null;
  };
  const ctx = {
    path, prefix: val("prefix") || "", token: val("continuation-token"),
    startAfter: val("start-after"), proxyToken: false, moved: false,
  };
  let newStart = null;
  const t = ctx.token !== null ? loUntoken(ctx.token) : null;
  if (t) {
    ctx.proxyToken = true;
    newStart = t[0];
  } else if (ctx.token === null && ctx.startAfter !== null) {
    const prev = servedLast.get(`${path}\n${ctx.prefix}\n${ctx.startAfter}`);
    if (prev !== undefined) {
      ctx.moved = true;
      newStart = prev;
    }
  }
  const out = pairs.filter(([k]) => {
    const n = qdecode(k);
    if (n === "max-keys") return false;
    if (ctx.proxyToken && (n === "continuation-token" || n === "start-after")) return false;
    if (ctx.moved && n === "start-after") return false;
    return true;
  });
  out.push(["max-keys", String(opts.listOverlap)]);
  if (newStart !== null) out.push(["start-after", qenc(newStart)]);
  req.origUrl = req.url;
  req.url = `${path}?${out.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join("&")}`;
  req.listCtx = ctx;
  // a compressed answer could not be rewritten
  const raw = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() !== "accept-encoding") raw.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  req.rawHeaders = raw;
}

// The upstream's page with the proxy's token (when the page is truncated and
// has two keys or more) and the client's own token and start-after echoed.
function listRewriteAnswer(ctx, body) {
  let x = body.toString("utf8");
  const urlEnc = /<EncodingType>\s*url\s*<\/EncodingType>/.test(x);
  const keys = [];
  for (const m of x.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const k = m[1].match(/<Key>([\s\S]*?)<\/Key>/);
    if (k) keys.push(urlEnc ? qdecode(xmlUnescape(k[1])) : xmlUnescape(k[1]));
  }
  const truncated = /<IsTruncated>\s*true\s*<\/IsTruncated>/.test(x);
  const next = x.match(/<NextContinuationToken>[\s\S]*?<\/NextContinuationToken>/);
  if (truncated && keys.length >= 2) {
    const prev = keys[keys.length - 2];
    const last = keys[keys.length - 1];
    if (servedLast.size > 100000) servedLast.clear();
    servedLast.set(`${ctx.path}\n${ctx.prefix}\n${last}`, prev);
    if (next) x = x.replace(next[0], `<NextContinuationToken>${xmlEsc(loToken(prev, last))}</NextContinuationToken>`);
  }
  if (ctx.proxyToken || ctx.moved) {
    x = x.replace(/<StartAfter>[\s\S]*?<\/StartAfter>\s*/, "");
    let echo = "";
    if (ctx.startAfter !== null) echo += `<StartAfter>${xmlEsc(ctx.startAfter)}</StartAfter>`;
    if (ctx.proxyToken) echo += `<ContinuationToken>${xmlEsc(ctx.token)}</ContinuationToken>`;
    if (echo) x = x.replace(/<IsTruncated>/, `${echo}<IsTruncated>`);
  }
  return Buffer.from(x, "utf8");
}

function listAnswer(req, res, seq, fault) {
  forwardBuffered(req, (upRes, body) => {
    if (res.destroyed) return;
    if (!upRes) {
      if (fault !== "slow") logLine(req, seq, fault || "list-overlap", 502);
      sendS3Error(req, res, "BadGateway");
      return;
    }
    let out = body;
    const enc = upRes.headers["content-encoding"];
    if (upRes.statusCode === 200 && (!enc || enc === "identity")) {
      if (req.listCtx) {
        try { out = listRewriteAnswer(req.listCtx, body); } catch (e) { say(`list-overlap: ${e}`); }
      }
      if (req.garble) {
        out = Buffer.from(out.toString("utf8").replace(/<ETag>((?:&quot;|&#34;|")?)[0-9a-f]/,
                                                       "<ETag>$1g"), "utf8");
      }
      if (req.garbleCopy && !opts.copyEtagKms) {
        out = Buffer.from(out.toString("utf8").replace(
          /<ETag>((?:&quot;|&#34;|")?)([0-9a-fA-F]+)/, "<ETag>$1$2-1"), "utf8");
      }
      if (req.garbleCopy && opts.copyEtagKms) {
        out = Buffer.from(out.toString("utf8").replace(
          /<ETag>((?:&quot;|&#34;|")?)([0-9a-fA-F]{32})/, (m, q, e) => {
            const fake = crypto.createHash("md5").update("kms:" + e).digest("hex");
            kmsEtags.set(fake, e);
            return `<ETag>${q}${fake}`;
          }), "utf8");
      }
    }
    if (fault !== "slow") {
      logLine(req, seq, fault || (req.listCtx ? "list-overlap" : "garble-etag"), upRes.statusCode);
    }
    const kms = req.garbleCopy && opts.copyEtagKms ? ["x-amz-server-side-encryption", "aws:kms"] : [];
    res.writeHead(upRes.statusCode, upRes.statusMessage,
      [...responseHeaders(upRes, { dropLength: true }), ...kms, "Content-Length", String(out.length)]);
    res.end(out);
  });
}

// --copy-etag-kms: the server's ETag of each copy answer rewritten, by fake
const kmsEtags = new Map();

// --copy-etag-not-md5: the Complete request's body with the "-1" this proxy
// appended to copy ETags taken off (the server knows its parts' own ETags).
function completeUnGarbled(req, res, seq, fault) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.from(Buffer.concat(chunks).toString("utf8")
      .replace(/-1((?:&quot;|&#34;|")?)<\/ETag>/g, "$1</ETag>")
      .replace(/<ETag>((?:&quot;|&#34;|")?)([0-9a-f]{32})/g,
               (m, q, e) => `<ETag>${q}${kmsEtags.get(e) || e}`), "utf8");
    const headers = forwardHeaders(req);
    for (let i = 0; i < headers.length; i += 2)
      if (headers[i].toLowerCase() === "content-length") headers[i + 1] = String(body.length);
    const up = http.request({ host: upstream.host, port: upstream.port, method: req.method,
                              path: req.url, headers, agent, setHost: false });
    up.on("response", (upRes) => {
      if (fault !== "slow") logLine(req, seq, fault, upRes.statusCode);
      res.writeHead(upRes.statusCode, upRes.statusMessage, responseHeaders(upRes));
      upRes.pipe(res);
    });
    up.on("error", () => { if (!res.headersSent) sendS3Error(req, res, "BadGateway"); else res.destroy(); });
    up.end(body);
  });
}

function plain(req, res, seq, fault) {
  if ((opts.copyEtagNotMd5 || opts.copyEtagKms) && req.method === "POST" &&
      /(^|&)uploadId=/.test(splitUrl(req.url).query)) {
    completeUnGarbled(req, res, seq, fault);
    return;
  }
  if (req.listCtx || req.garble || req.garbleCopy) {
    listAnswer(req, res, seq, fault);
    return;
  }
  passThrough(req, res, upstream, agent, (upRes) => {
    if (fault !== "slow") logLine(req, seq, fault, upRes.statusCode);
  });
}

const server = makeServer((req, res) => {
  const seq = reqlog.next();
  let fault;
  try { fault = decide(req); } catch (e) { fault = null; say(`decide: ${e}`); }
  if (opts.listOverlap > 0 && isListRequest(req)) {
    try { listRewrite(req); } catch (e) { say(`list-overlap: ${e}`); }
  }
  if (opts.garbleListEtag && isListRequest(req) &&
      splitUrl(req.url).path.split("/")[1] === opts.garbleListEtag) req.garble = true;
  if ((opts.copyEtagNotMd5 || opts.copyEtagKms) && req.method === "PUT" &&
      req.headers["x-amz-copy-source"])
    req.garbleCopy = true;
  switch (fault) {
    case "500":
    case "503":
      errorAnswer(req, res, seq, fault);
      break;
    case "reset":
    case "truncate":
    case "stall":
      brokenAnswer(req, res, seq, fault);
      break;
    case "corrupt":
      corruptAnswer(req, res, seq, fault);
      break;
    case "trickle":
      trickleAnswer(req, res, seq, fault);
      break;
    case "slow": {
      logLine(req, seq, fault, null);
      const t = setTimeout(() => {
        if (!res.destroyed && !req.socket.destroyed) plain(req, res, seq, fault);
      }, opts.slowMs);
      res.on("close", () => clearTimeout(t));
      break;
    }
    default:
      plain(req, res, seq, null);
  }
});
server.on("clientError", (err, sock) => { if (sock.writable) sock.destroy(); });

boundLifetime({ server, owner: opts.owner, maxSeconds: opts.maxSeconds, log: say });
await listenLoopback(server, opts.port, opts.dir, "faultproxy");
say(`upstream ${opts.upstream} seed ${opts.seed} rate ${opts.rate} faults ${opts.faults.join(",")}` +
  (opts.listOverlap ? ` list-overlap ${opts.listOverlap}` : ""));
