#!/usr/bin/python3
"""A reader of one day that runs while writers run and crash (issue 11: a
reader never sees a committed record twice or missing), for
tests/it_eo_reader.sh. Plain HTTP to the local server (fauxqs: path-style,
unsigned) and python3-avro: nothing of repart's code.

  day_reader.py watch ENDPOINT COLD OUT DAY LOG --stop FILE [--max-seconds N]
                      [--interval S]
      Takes snapshots of DAY until FILE exists (or N seconds, default 300),
      S seconds apart (default 0.01), one JSON line each in LOG. A snapshot, in this order:
        1. GET the index (index/<day>/timeseries.txt): the committed sources
           are its #src lines (key, size, ETag) -- a record is committed once
           an index naming its source was written;
        2. list consolidated/<day>/ and GET every object a query would read
           (names not starting with '_' or '.'), as a query would: the
           multiset of records it sees;
        3. list the cold tier's day and read every source (cached by key and
           ETag): the sources available.
      Violations of the snapshot: `dup` (a record seen more often than the
      available sources hold it), `missing` (a record of a committed source
      not seen; the source's records are taken from the cold tier when its
      ETag is the one the #src line names), `unknown` (a record of no
      available source). `early` counts records seen of sources not (yet)
      committed, which the design allows (a run's data written, its index
      not yet). An object deleted between the listing and its GET means the
      snapshot is taken again.
  day_reader.py summary LOG
      Prints the totals as JSON; exit 1 when a snapshot had a violation (its
      first examples printed), or no snapshot was taken.

Every record of the tests' sources is unique (eo_tool.py mkfile), so a
duplicate is always visible.
"""
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torture import avrofiles, s3http  # noqa: E402


def partition(day):
    y, m, d = (int(x) for x in day.split("-"))
    return "startYear=%d/startMonth=%d/startDay=%d/" % (y, m, d)


class Watcher:
    def __init__(self, endpoint, cold, out, day):
        self.s3 = s3http.S3(endpoint)
        self.cold, self.out, self.day = cold, out, day
        self.part = partition(day)
        self.cache = {}  # (bucket, key, etag) -> [record tuples] | Exception
        self.cold_listing, self.cold_view = None, None

    def _records(self, bucket, key, etag=None):
        """(records, etag) of the object now, or (None, None) when gone."""
        if etag is not None and (bucket, key, etag) in self.cache:
            return self.cache[(bucket, key, etag)], etag
        data, got = self.s3.get(bucket, key)
        if data is None:
            return None, None
        hit = self.cache.get((bucket, key, got))
        if hit is None:
            try:
                hit = avrofiles.read(data)
            except Exception as e:  # a query would fail on it
                hit = e
            self.cache[(bucket, key, got)] = hit
        return hit, got

    def committed(self):
        data, _ = self.s3.get(self.out, "index/" + self.part + "timeseries.txt")
        out = {}
        for line in (data or b"").decode("utf-8", "replace").splitlines():
            f = line.split("\t")
            if f[0] == "#src" and len(f) >= 5:
                out[f[1]] = (int(f[2]), f[3].strip('"'), f[4])
        return out

    def snapshot(self):
        t0 = time.time()
        committed = self.committed()
        for _ in range(20):
            files, seen, bad, gone = [], collections.Counter(), [], False
            prefix = "consolidated/" + self.part
            for key, size, etag in self.s3.list(self.out, prefix):
                name = key[len(prefix):]
                if "/" in name or name.startswith("_") or name.startswith("."):
                    continue
                recs, got = self._records(self.out, key, etag)
                if recs is None:
                    gone = True
                    break
                if isinstance(recs, Exception):
                    bad.append([key, str(recs)[:200]])
                    continue
                files.append([name, got, len(recs)])
                seen.update(recs)
            if not gone:
                break
        else:
            raise RuntimeError("objects of %s kept disappearing between listing and GET" % self.day)
        # the sources available (listed after the data was read: the cold
        # tier only grows in these tests)
        cprefix = "raw/" + self.part
        listing = tuple(self.s3.list(self.cold, cprefix))
        if listing != self.cold_listing:
            avail, source_of, src_recs = collections.Counter(), {}, {}
            for key, size, etag in listing:
                recs, got = self._records(self.cold, key, etag)
                if recs is None or isinstance(recs, Exception):
                    continue
                rel = key[len(cprefix):]
                src_recs[rel] = (got, recs)
                avail.update(recs)
                for r in recs:
                    source_of[r] = rel
            self.cold_listing, self.cold_view = listing, (avail, source_of, src_recs)
        avail, source_of, src_recs = self.cold_view
        missing, unchecked, want = [], [], collections.Counter()
        for rel, (size, etag, _file) in committed.items():
            have = src_recs.get(rel)
            if have is None or have[0] != etag:
                unchecked.append(rel)   # gone or overwritten since: not in these tests
                continue
            want.update(have[1])
        for r, n in want.items():
            if seen[r] < n:
                missing.append([avrofiles.rec_text(r), source_of.get(r)])
        dup = [[avrofiles.rec_text(r), source_of.get(r), n] for r, n in seen.items()
               if n > avail.get(r, 0) and r in avail]
        unknown = [avrofiles.rec_text(r) for r in seen if r not in avail]
        early = sum(1 for r in seen if r not in want)
        return {"t": round(t0, 3), "secs": round(time.time() - t0, 3), "files": files,
                "bad": bad, "committed": len(committed), "records": sum(seen.values()),
                "committed_records": sum(want.values()), "early": early,
                "unchecked": unchecked, "dup": len(dup), "missing": len(missing),
                "unknown": len(unknown), "examples": (dup[:3] + missing[:3] + unknown[:3])}


def watch(endpoint, cold, out, day, log, stop, max_seconds, interval):
    w = Watcher(endpoint, cold, out, day)
    end = time.time() + max_seconds
    with open(log, "a") as f:
        while time.time() < end:
            last = os.path.exists(stop)
            try:
                snap = w.snapshot()
            except (s3http.InfraError, RuntimeError) as e:
                snap = {"t": round(time.time(), 3), "error": str(e)[:300]}
            f.write(json.dumps(snap, sort_keys=True) + "\n")
            f.flush()
            if last:  # one snapshot after the stop file appeared
                return 0
            time.sleep(interval)  # pacing (leaves the writers some CPU), not synchronisation
    return 0


def summary(log):
    snaps = [json.loads(l) for l in open(log) if l.strip()]
    errors = [s for s in snaps if "error" in s]
    ok = [s for s in snaps if "error" not in s]
    viol = [s for s in ok if s["dup"] or s["missing"] or s["unknown"] or s["bad"]]
    versions = {tuple(map(tuple, s["files"])) for s in ok}
    out = {"snapshots": len(ok), "errors": len(errors), "violations": len(viol),
           "versions": len(versions), "with_early": sum(1 for s in ok if s["early"]),
           "max_records": max([s["records"] for s in ok] or [0]),
           "max_committed": max([s["committed"] for s in ok] or [0])}
    print(json.dumps(out, sort_keys=True))
    for s in viol[:3]:
        print(json.dumps(s, sort_keys=True))
    for s in errors[:3]:
        print(json.dumps(s, sort_keys=True))
    return 1 if viol or errors or not ok else 0


def main(argv):
    if len(argv) >= 6 and argv[0] == "watch":
        rest = argv[6:]
        opts = {"--stop": None, "--max-seconds": "300", "--interval": "0.01"}
        while rest:
            if rest[0] not in opts or len(rest) < 2:
                sys.exit(__doc__)
            opts[rest[0]] = rest[1]
            rest = rest[2:]
        if not opts["--stop"]:
            sys.exit(__doc__)
        return watch(*argv[1:6], opts["--stop"], float(opts["--max-seconds"]),
                     float(opts["--interval"]))
    if len(argv) == 2 and argv[0] == "summary":
        return summary(argv[1])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
