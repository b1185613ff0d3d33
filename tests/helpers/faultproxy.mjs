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
//   corrupt   forwards the request, then sends the upstream status, headers
//             and whole body with one byte flipped (the middle one), so that
//             Content-Length holds and only a checksum tells; an empty body
//             is sent unchanged
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
// stall requests, 500/503 for injected errors, null for slow).
import {
  parseArgs, die, parseUpstream, boundLifetime, listenLoopback, makeRequestLog, splitUrl,
  sendS3Error, upstreamRequest, responseHeaders, passThrough, makeServer, makeAgent,
} from "./proxycommon.mjs";

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
  --only METHODS          only these methods are eligible (comma list, e.g. GET,PUT)
  --only-path-regex RE    only requests whose target (path?query as sent) matches RE
  --skip N                the first N eligible requests never get a fault
  --max-faults N          inject at most N faults (default: no limit)
  --max-per-path N        inject at most N faults into requests for one path
                          (default: no limit), so that a retrying client wins
  --errors-after-forward  500/503: forward first, then answer with the error
`;

const FAULTS = new Set(["500", "503", "reset", "truncate", "slow", "stall", "corrupt"]);

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
  "--only": { key: "only", type: "list", def: [] },
  "--only-path-regex": { key: "pathRe", type: "str" },
  "--skip": { key: "skip", type: "int", def: 0 },
  "--max-faults": { key: "maxFaults", type: "int", def: -1 },
  "--max-per-path": { key: "maxPerPath", type: "int", def: -1 },
  "--errors-after-forward": { key: "errorsAfterForward", type: "flag", def: false },
}, USAGE);

if (!opts.upstream) die(`--upstream is required\n${USAGE}`);
if (!(opts.rate >= 0 && opts.rate <= 1)) die("--rate must be within 0..1");
if (opts.faults.length === 0) die("--faults is empty");
for (const f of opts.faults) if (!FAULTS.has(f)) die(`--faults: unknown fault ${f}`);
if (opts.slowMs < 0 || opts.slowMs > 600000) die("--slow-ms must be within 0..600000");
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
  const { path, query } = splitUrl(req.url);
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

function plain(req, res, seq, fault) {
  passThrough(req, res, upstream, agent, (upRes) => {
    if (fault !== "slow") logLine(req, seq, fault, upRes.statusCode);
  });
}

const server = makeServer((req, res) => {
  const seq = reqlog.next();
  let fault;
  try { fault = decide(req); } catch (e) { fault = null; say(`decide: ${e}`); }
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
say(`upstream ${opts.upstream} seed ${opts.seed} rate ${opts.rate} faults ${opts.faults.join(",")}`);
