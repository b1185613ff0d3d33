// A fault-injecting HTTP proxy in front of a local S3 server, for the retry
// tests (tests/it_s3_retry.sh). Binds 127.0.0.1, writes DIR/port, logs one
// line per request to DIR/requests.log:
//   "METHOD URL range=R if-match=M sha256=S md5=M token=set|- -> ACTION".
//
//   node chaos-proxy.mjs --upstream PORT --dir DIR --owner PID --plan PLAN
//
// PLAN: rules separated by ';', each METHOD[~TEXT]:ACTION:COUNT[:ARG]; METHOD
// is GET, PUT, POST, DELETE, HEAD or ANY; ~TEXT also requires TEXT in the
// request URL. A request takes the first rule that matches and has count left
// (one count per use). ACTION:
//   503    answer 503 SlowDown (S3 XML error)       500  answer 500 InternalError
//   429    answer 429 (no body)                     400  answer 400 InvalidArgument (not retryable)
//   412    answer 412 PreconditionFailed
//   reset  destroy the connection without an answer
//   stall  never answer (the client must time out)
//   cut    forward, but close the connection after ARG body bytes of a 2xx answer
//   norange  forward without the Range header (the server answers 200, whole body)
//   slowxml  answer 200 with an <Error> InternalError body (as S3 may for Complete)
//   lost   forward, then drop the connection: the server acted, the answer is lost
//   newetag  forward, with another ETag in the answer (a server without If-Match)
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

const o = { plan: "" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, "");
  o[k] = argv[i + 1];
}
const upstream = parseInt(o.upstream, 10);
const rules = (o.plan || "")
  .split(";")
  .filter((s) => s.length > 0)
  .map((s) => {
    const [sel, action, count, arg] = s.split(":");
    const [method, urlPart] = sel.split("~");
    return { method: method.toUpperCase(), urlPart: urlPart ?? "", action, left: parseInt(count, 10), arg: parseInt(arg ?? "0", 10) };
  });
const logFile = path.join(o.dir, "requests.log");

function log(req, action) {
  fs.appendFileSync(
    logFile,
    `${req.method} ${req.url} range=${req.headers["range"] ?? "-"} if-match=${req.headers["if-match"] ?? "-"}` +
      ` sha256=${req.headers["x-amz-content-sha256"] ?? "-"} md5=${req.headers["content-md5"] ?? "-"}` +
      ` token=${req.headers["x-amz-security-token"] ? "set" : "-"} -> ${action}\n`,
  );
}

function pick(req) {
  for (const r of rules) {
    if (r.left > 0 && (r.method === "ANY" || r.method === req.method) && req.url.includes(r.urlPart)) {
      r.left--;
      return r;
    }
  }
  return null;
}

function s3error(res, status, code, message) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>chaos</RequestId></Error>`;
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

const stalled = new Set();
const server = http.createServer((req, res) => {
  const rule = pick(req);
  const action = rule ? rule.action : "pass";
  log(req, action);
  switch (action) {
    case "503":
      req.resume();
      return req.on("end", () => s3error(res, 503, "SlowDown", "Please reduce your request rate."));
    case "500":
      req.resume();
      return req.on("end", () => s3error(res, 500, "InternalError", "We encountered an internal error."));
    case "429":
      req.resume();
      return req.on("end", () => { res.writeHead(429, { "content-length": 0 }); res.end(); });
    case "slowxml":
      req.resume();
      return req.on("end", () => s3error(res, 200, "InternalError", "Injected error in a 200 answer."));
    case "412":
      req.resume();
      return req.on("end", () => s3error(res, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"));
    case "400":
      req.resume();
      return req.on("end", () => s3error(res, 400, "InvalidArgument", "Injected bad request."));
    case "reset":
      return req.socket.destroy();
    case "stall":
      stalled.add(req.socket);
      req.socket.on("close", () => stalled.delete(req.socket));
      req.resume();
      return;
    default:
      break;
  }
  const headers = { ...req.headers };
  if (action === "norange") delete headers["range"];
  const up = http.request(
    { host: "127.0.0.1", port: upstream, method: req.method, path: req.url, headers },
    (ures) => {
      const ok = ures.statusCode >= 200 && ures.statusCode < 300;
      if (action === "lost") {
        ures.resume();
        return req.socket.destroy();
      }
      if (action === "newetag") ures.headers["etag"] = '"00000000000000000000000000000000"';
      res.writeHead(ures.statusCode, ures.headers);
      if (action === "cut" && ok) {
        let sent = 0;
        const limit = rule.arg;
        ures.on("data", (chunk) => {
          if (sent >= limit) return;
          const take = Math.min(chunk.length, limit - sent);
          res.write(chunk.subarray(0, take));
          sent += take;
          if (sent >= limit) {
            ures.destroy();
            // let the bytes out, then drop the connection mid-body
            res.socket.end();
            setTimeout(() => res.socket && res.socket.destroy(), 50);
          }
        });
        ures.on("end", () => { if (sent < limit) res.end(); });
        return;
      }
      ures.pipe(res);
    },
  );
  up.on("error", (err) => {
    if (!res.headersSent) s3error(res, 502, "BadGateway", String(err));
    else res.destroy();
  });
  req.pipe(up);
});

server.listen(0, "127.0.0.1", () => {
  const port = server.address().port;
  fs.writeFileSync(path.join(o.dir, "port.tmp"), `${port}\n`);
  fs.renameSync(path.join(o.dir, "port.tmp"), path.join(o.dir, "port"));
});

function stop() {
  for (const s of stalled) s.destroy();
  server.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
const owner = parseInt(o.owner ?? "0", 10);
if (owner > 0) {
  setInterval(() => {
    try { process.kill(owner, 0); } catch { stop(); }
  }, 500).unref();
}
