// Launcher for a local S3 (+SQS) test server bound to 127.0.0.1, used by
// scripts/s3-server. Not meant to be run by hand.
//
//   node s3-server.mjs --kind fauxqs|s3rver --dir DIR --local LOCALDIR
//        [--buckets a,b] [--queues q1,q2] [--region R] [--owner PID] [--port N]
//
// Writes DIR/port (atomically, once the server listens) and logs to stdout.
// Exits on SIGTERM/SIGINT, and by itself when the --owner process is gone so
// that a test killed hard leaves no server behind.
import { createRequire } from "node:module";
import net from "node:net";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

function parseArgs(argv) {
  const o = { kind: "fauxqs", buckets: "", queues: "", region: "us-east-1", port: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case "--kind": o.kind = v; i++; break;
      case "--dir": o.dir = v; i++; break;
      case "--local": o.local = v; i++; break;
      case "--buckets": o.buckets = v; i++; break;
      case "--queues": o.queues = v; i++; break;
      case "--region": o.region = v; i++; break;
      case "--owner": o.owner = parseInt(v, 10); i++; break;
      case "--port": o.port = parseInt(v, 10); i++; break;
      case "--persist": o.persist = v === "1"; i++; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!o.dir || !o.local) throw new Error("--dir and --local are required");
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const list = (s) => (s ? s.split(",").filter((x) => x.length > 0) : []);
const buckets = list(opts.buckets);
const queues = list(opts.queues);
const modules = path.join(opts.local, "node_modules");

// fauxqs hard-codes host "0.0.0.0" in its listen call; force every listening
// socket of this process onto loopback instead.
const origListen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args.length > 0 && args[0] !== null && typeof args[0] === "object") {
    args[0] = { ...args[0], host: "127.0.0.1" };
  } else if (typeof args[0] === "number" || typeof args[0] === "string") {
    // listen(port[, host][, backlog][, cb]): replace or insert the host
    if (typeof args[1] === "string") args[1] = "127.0.0.1";
    else args.splice(1, 0, "127.0.0.1");
  }
  return origListen.apply(this, args);
};

let port;

if (opts.kind === "fauxqs") {
  const mod = await import(pathToFileURL(path.join(modules, "fauxqs", "dist", "app.js")).href);
  // In memory unless asked to persist: writing two files per object makes
  // PUTs several times slower.
  let storage;
  if (opts.persist) {
    storage = path.join(opts.dir, "data");
    fs.mkdirSync(storage, { recursive: true });
  }
  const server = await mod.startFauxqs({
    port: opts.port,
    host: "127.0.0.1",
    defaultRegion: opts.region,
    logger: false,
    ...(storage ? { s3StorageDir: storage } : {}),
    init: {
      region: opts.region,
      buckets,
      queues: queues.map((name) => ({ name })),
    },
  });
  port = server.port;
} else if (opts.kind === "s3rver") {
  const require = createRequire(path.join(modules, "noop.js"));
  const S3rver = require("@20minutes/s3rver");
  const storage = path.join(opts.dir, "data");
  fs.mkdirSync(storage, { recursive: true });
  const server = new S3rver({
    address: "127.0.0.1",
    port: opts.port,
    silent: true,
    directory: storage,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const addr = await server.run();
  port = addr.port;
} else {
  throw new Error(`unknown --kind ${opts.kind} (fauxqs or s3rver)`);
}

const portFile = path.join(opts.dir, "port");
fs.writeFileSync(portFile + ".tmp", `${port}\n`);
fs.renameSync(portFile + ".tmp", portFile);
console.log(`${opts.kind} listening on 127.0.0.1:${port} (pid ${process.pid})`);

// Exit at once: fauxqs writes synchronously and the servers hold nothing
// else worth a graceful close (which waits for keep-alive clients).
let stopping = false;
function shutdown(sig) {
  if (stopping) return;
  stopping = true;
  console.log(`stopping (${sig})`);
  process.exit(0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGHUP", () => shutdown("SIGHUP"));

if (opts.owner > 0) {
  setInterval(() => {
    try { process.kill(opts.owner, 0); } catch { shutdown("owner gone"); }
  }, 500).unref();
}
