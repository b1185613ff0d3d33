// A pass-through proxy that holds every request for a fixed delay before
// forwarding it: the round trip to a distant S3 endpoint, for benchmarks
// (scripts/bench-pipeline). Only Node built-in modules.
//
//   node delayproxy.mjs --upstream http://127.0.0.1:PORT --delay-ms 30
//        [--port 0] [--dir DIR] [--owner PID] [--max-seconds N]
//
// Prints "delayproxy listening on 127.0.0.1:PORT (pid N)"; with --dir, writes
// DIR/port and DIR/pid. Counts nothing and logs nothing: the point is time.
import {
  parseArgs, parseUpstream, boundLifetime, listenLoopback, passThrough, makeServer, makeAgent,
} from "./proxycommon.mjs";

const usage = `usage: node delayproxy.mjs --upstream URL --delay-ms N [--port 0] [--dir DIR] [--owner PID] [--max-seconds N]
`;
const opts = parseArgs(process.argv.slice(2), {
  "--upstream": { key: "upstream", type: "str", def: "" },
  "--delay-ms": { key: "delayMs", type: "int", def: 0 },
  "--port": { key: "port", type: "int", def: 0 },
  "--dir": { key: "dir", type: "str", def: "" },
  "--owner": { key: "owner", type: "int", def: 0 },
  "--max-seconds": { key: "maxSeconds", type: "int", def: 3600 },
}, usage);
if (!opts.upstream) { process.stderr.write(usage); process.exit(2); }
if (opts.delayMs < 0) { process.stderr.write("--delay-ms must be >= 0\n"); process.exit(2); }
const upstream = parseUpstream(opts.upstream);
const agent = makeAgent();

// The request body is paused while it waits (Node buffers what arrives), so
// the delay is one added round trip per request, as over a long link.
const server = makeServer((req, res) => {
  req.pause();
  setTimeout(() => { passThrough(req, res, upstream, agent); }, opts.delayMs);
});
boundLifetime({ server, owner: opts.owner, maxSeconds: opts.maxSeconds, log: () => {} });
await listenLoopback(server, opts.port, opts.dir, "delayproxy");
