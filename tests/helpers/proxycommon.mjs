// Shared pieces of the test proxies (faultproxy.mjs, condproxy.mjs): option
// parsing, bounded lifetime, port file, JSON-lines request log, S3 XML error
// answers and plain request forwarding. Only Node built-in modules.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";

// Headers that belong to one hop; never forwarded. `expect` is answered by
// the proxy itself (Node sends "100 Continue"), so the upstream never sees it.
export const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
  "trailer", "upgrade", "expect", "proxy-authorization", "proxy-authenticate",
]);

// spec: { "--name": { key, type: "int"|"float"|"str"|"list"|"flag", def } }.
// A later occurrence of an option wins (the shell wrappers put defaults first).
export function parseArgs(argv, spec, usage) {
  const o = {};
  for (const s of Object.values(spec)) o[s.key] = s.def;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") { process.stdout.write(usage); process.exit(0); }
    const s = spec[a];
    if (!s) die(`unknown argument ${a}\n${usage}`);
    if (s.type === "flag") { o[s.key] = true; continue; }
    if (i + 1 >= argv.length) die(`${a} needs a value`);
    const v = argv[++i];
    switch (s.type) {
      case "int": {
        if (!/^-?\d+$/.test(v)) die(`${a}: not an integer: ${v}`);
        o[s.key] = parseInt(v, 10);
        break;
      }
      case "float": {
        const f = Number(v);
        if (v === "" || !Number.isFinite(f)) die(`${a}: not a number: ${v}`);
        o[s.key] = f;
        break;
      }
      case "list": o[s.key] = v.split(",").map((x) => x.trim()).filter((x) => x.length > 0); break;
      default: o[s.key] = v;
    }
  }
  return o;
}

export function die(msg) {
  process.stderr.write(`${path.basename(process.argv[1] || "proxy")}: ${msg}\n`);
  process.exit(2);
}

export function parseUpstream(u) {
  let url;
  try { url = new URL(u); } catch { die(`--upstream: not a URL: ${u}`); }
  if (url.protocol !== "http:") die("--upstream must be an http:// URL");
  return { host: url.hostname, port: url.port ? parseInt(url.port, 10) : 80 };
}

// Ends the process when the owner is gone or the lifetime is over, so that a
// test killed hard never leaves a proxy behind. Returns the shutdown function.
export function boundLifetime({ server, owner, maxSeconds, log }) {
  let stopping = false;
  function shutdown(why) {
    if (stopping) return;
    stopping = true;
    log(`stopping (${why})`);
    try { server.close(); server.closeAllConnections(); } catch { /* already closed */ }
    // Exit now: pending timers (a slow fault) must not outlive the proxy.
    process.exit(0);
  }
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGHUP", () => shutdown("SIGHUP"));
  if (maxSeconds > 0) setTimeout(() => shutdown("max-seconds"), maxSeconds * 1000).unref();
  if (owner > 0) {
    setInterval(() => {
      try { process.kill(owner, 0); } catch (e) { if (e.code !== "EPERM") shutdown("owner gone"); }
    }, 250).unref();
  }
  return shutdown;
}

// Listens on 127.0.0.1 (port 0: the kernel picks a free one), writes DIR/port
// and DIR/pid atomically and prints the port on stdout.
export function listenLoopback(server, port, dir, name) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port }, () => {
      const p = server.address().port;
      if (dir) {
        fs.mkdirSync(dir, { recursive: true });
        for (const [f, v] of [["pid", process.pid], ["port", p]]) {
          const file = path.join(dir, f);
          fs.writeFileSync(file + ".tmp", `${v}\n`);
          fs.renameSync(file + ".tmp", file);
        }
      }
      process.stdout.write(`${name} listening on 127.0.0.1:${p} (pid ${process.pid})\n`);
      resolve(p);
    });
  });
}

// One JSON object per line, appended synchronously (a test reading the log
// after its request returned must find the line).
export function makeRequestLog(dir) {
  const file = dir ? path.join(dir, "log.jsonl") : null;
  if (file) { fs.mkdirSync(dir, { recursive: true }); fs.writeFileSync(file, ""); }
  const t0 = Date.now();
  let seq = 0;
  return {
    next() { return ++seq; },
    write(obj) {
      if (!file) return;
      fs.appendFileSync(file, JSON.stringify({ t: Date.now() - t0, ...obj }) + "\n");
    },
  };
}

export function splitUrl(url) {
  const q = url.indexOf("?");
  return q < 0 ? { path: url, query: "" } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function xmlEscape(s) {
  return String(s).replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]);
}

// S3 error document. extra: more elements after Message (e.g. Condition).
export function s3ErrorBody(code, message, extra = {}) {
  const rid = crypto.randomBytes(8).toString("hex").toUpperCase();
  let x = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code>` +
    `<Message>${xmlEscape(message)}</Message>`;
  for (const [k, v] of Object.entries(extra)) x += `<${k}>${xmlEscape(v)}</${k}>`;
  x += `<RequestId>${rid}</RequestId><HostId>${crypto.randomBytes(24).toString("base64")}</HostId></Error>`;
  return { body: Buffer.from(x), rid };
}

export const S3_ERRORS = {
  InternalError: [500, "We encountered an internal error. Please try again."],
  SlowDown: [503, "Please reduce your request rate."],
  PreconditionFailed: [412, "At least one of the pre-conditions you specified did not hold"],
  ConditionalRequestConflict: [409, "A conflicting conditional operation is currently in progress against this resource. Please try again."],
  NoSuchKey: [404, "The specified key does not exist."],
  NotImplemented: [501, "A header you provided implies functionality that is not implemented"],
  BadGateway: [502, "The proxy could not reach the upstream server."],
};

// Answers with an S3 XML error. closeConn: the request body was not read (the
// client still waits for "100 Continue"), so the connection cannot be reused.
export function sendS3Error(req, res, code, extra = {}, closeConn = false) {
  const [status, message] = S3_ERRORS[code];
  const { body, rid } = s3ErrorBody(code, message, extra);
  const headers = {
    "Content-Type": "application/xml",
    "Content-Length": body.length,
    "x-amz-request-id": rid,
    "x-amz-id-2": crypto.randomBytes(24).toString("base64"),
  };
  if (closeConn) headers.Connection = "close";
  if (!res.headersSent) res.writeHead(status, headers);
  res.end(req.method === "HEAD" ? undefined : body);
  req.resume(); // drain an unread body so that a kept-alive connection stays usable
  return status;
}

export function forwardHeaders(req) {
  const out = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

export function responseHeaders(upRes, { dropLength = false } = {}) {
  const out = [];
  const raw = upRes.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(k)) continue;
    if (dropLength && k === "content-length") continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

// Sends req to the upstream (same method, target and headers, Host included
// so that a SigV4 signature still matches) and streams the body. Returns the
// ClientRequest; the caller handles "response" and "error" and pipes the body.
export function upstreamRequest(req, upstream, agent) {
  // A flat [name, value, ...] array keeps case and repeated headers.
  const headers = forwardHeaders(req);
  return http.request({
    host: upstream.host,
    port: upstream.port,
    method: req.method,
    path: req.url,
    headers,
    agent,
    setHost: false,
  });
}

// Plain pass-through: forward req, stream the answer back. onHead(upRes) is
// called with the upstream answer before anything is sent to the client (for
// logging); returns a promise that settles when the exchange is over.
export function passThrough(req, res, upstream, agent, onHead) {
  return new Promise((resolve) => {
    const up = upstreamRequest(req, upstream, agent);
    let done = false;
    const finish = (how) => { if (!done) { done = true; resolve(how); } };
    up.on("response", (upRes) => {
      if (onHead) onHead(upRes);
      res.writeHead(upRes.statusCode, upRes.statusMessage, responseHeaders(upRes));
      upRes.pipe(res);
      upRes.on("error", () => { res.destroy(); finish("upstream-error"); });
      res.on("finish", () => finish("ok"));
    });
    res.on("close", () => { if (!res.writableFinished) { up.destroy(); finish("client-gone"); } });
    up.on("error", (e) => {
      if (!res.headersSent) {
        if (onHead) onHead({ statusCode: 502, error: String(e.message || e) });
        sendS3Error(req, res, "BadGateway");
      } else {
        res.destroy();
      }
      finish("upstream-error");
    });
    req.on("close", () => { if (!req.complete) { up.destroy(); finish("client-gone"); } });
    req.pipe(up);
  });
}

export function makeServer(handler) {
  const server = http.createServer({ keepAlive: true }, handler);
  // Longer than a client's typical idle reuse window, so the client (not the
  // proxy) decides when an idle kept-alive connection closes.
  server.keepAliveTimeout = 30000;
  server.headersTimeout = 60000;
  server.requestTimeout = 0;
  return server;
}

export function makeAgent() {
  return new http.Agent({ keepAlive: true, maxSockets: 256 });
}
