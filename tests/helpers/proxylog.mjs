// Counts lines of a proxy's log.jsonl (faultproxy.mjs, condproxy.mjs) that
// match every given filter, and prints the count.
//
//   node proxylog.mjs LOG [--method M] [--path-regex RE] [--query-regex RE]
//        [--fault F|none|any] [--result R] [--status N|none]
//
// --fault none: lines without a fault; any: lines with one.
import fs from "node:fs";

const argv = process.argv.slice(2);
if (argv.length < 1) {
  process.stderr.write("usage: proxylog.mjs LOG [--method M] [--path-regex RE] [--query-regex RE] [--fault F|none|any] [--result R] [--status N|none]\n");
  process.exit(2);
}
const file = argv[0];
const f = {};
for (let i = 1; i < argv.length; i += 2) {
  const k = argv[i];
  const v = argv[i + 1];
  if (v === undefined) { process.stderr.write(`proxylog: ${k} needs a value\n`); process.exit(2); }
  switch (k) {
    case "--method": f.method = v.toUpperCase(); break;
    case "--path-regex": f.path = new RegExp(v); break;
    case "--query-regex": f.query = new RegExp(v); break;
    case "--fault": f.fault = v; break;
    case "--result": f.result = v; break;
    case "--status": f.status = v; break;
    default: process.stderr.write(`proxylog: unknown filter ${k}\n`); process.exit(2);
  }
}

let n = 0;
const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
for (const l of text.split("\n")) {
  if (l.length === 0) continue;
  const o = JSON.parse(l);
  if (f.method !== undefined && o.method !== f.method) continue;
  if (f.path !== undefined && !f.path.test(o.path)) continue;
  if (f.query !== undefined && !f.query.test(o.query)) continue;
  if (f.fault === "none" && o.fault) continue;
  if (f.fault === "any" && !o.fault) continue;
  if (f.fault !== undefined && f.fault !== "none" && f.fault !== "any" && o.fault !== f.fault) continue;
  if (f.result !== undefined && o.result !== f.result) continue;
  if (f.status === "none" && o.status !== null && o.status !== undefined) continue;
  if (f.status !== undefined && f.status !== "none" && String(o.status) !== f.status) continue;
  n++;
}
process.stdout.write(`${n}\n`);
