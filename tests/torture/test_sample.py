#!/usr/bin/python3
"""Self-test of tests/torture/sample.py (the original sample's algorithm)
against a fauxqs it starts itself (scripts/s3-server, --owner this process).

    /usr/bin/python3 tests/torture/test_sample.py

Checks, with its own reader (plain HTTP + python3-avro), what the sample
leaves in the output bucket: one merged_series_<ts>.avro per processed day
holding exactly the taken sources' records, the index text (new ids in
listing order, previous document after them, no final newline), that a
second run skips what the first merged (and writes nothing), that a late
file of an indexed series is skipped for good (the sample's known hole),
that a new series is merged alone and the index rewritten, the days'
descending order and hook stages, a CRLF/BOM index, a hook that raises, and
that a key without a second '_'-field fails the run. Exit 0 when all hold.
"""
import collections
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import avro.datafile
import avro.io
import avro.schema

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import sample  # noqa: E402

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
COLD, OUT = "cold", "out"
RAW, DATA, INDEX = "raw/", "consolidated/", "index/"
SCHEMA = avro.schema.parse(sample.AVRO_SCHEMA_JSON)
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what, file=sys.stderr)


def eq(got, want, what):
    check(got == want, "%s: got %r, expected %r" % (what, got, want))


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="repart-test-sample-srv.")
        out = subprocess.check_output(
            [os.path.join(ROOT, "scripts", "s3-server"), "start", "--kind", "fauxqs",
             "--dir", self.dir, "--buckets", COLD + "," + OUT, "--owner", str(os.getpid())],
            text=True).split()
        self.endpoint = "http://127.0.0.1:%s" % out[0]

    def stop(self):
        subprocess.call([os.path.join(ROOT, "scripts", "s3-server"), "stop", "--dir", self.dir])
        shutil.rmtree(self.dir, ignore_errors=True)


def http(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/octet-stream"}
                                 if body is not None else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def put(ep, bucket, key, data):
    http("PUT", "%s/%s/%s" % (ep, bucket, urllib.parse.quote(key)), data)


def get(ep, bucket, key):
    return http("GET", "%s/%s/%s" % (ep, bucket, urllib.parse.quote(key)))


def ls(ep, bucket, prefix=""):
    out, token = {}, None
    while True:
        q = {"list-type": "2", "prefix": prefix}
        if token:
            q["continuation-token"] = token
        root = ET.fromstring(http("GET", "%s/%s?%s" % (ep, bucket, urllib.parse.urlencode(q))))
        for c in root.iter(NS + "Contents"):
            out[c.findtext(NS + "Key")] = c.findtext(NS + "ETag")
        if root.findtext(NS + "IsTruncated") != "true":
            return out
        token = root.findtext(NS + "NextContinuationToken")


def avro_file(series, t0, n, codec="snappy"):
    buf = io.BytesIO()
    w = avro.datafile.DataFileWriter(buf, avro.io.DatumWriter(), SCHEMA, codec=codec)
    recs = []
    for i in range(n):
        r = {"seriesId": series, "timeInSeconds": t0 + i, "offsetInNanos": i * 7,
             "quality": "GOOD", "doubleValue": t0 * 0.5 + i, "stringValue": None,
             "integerValue": None, "booleanValue": None, "jsonValue": None,
             "recordVersion": None}
        w.append(r)
        recs.append(r)
    w.flush()
    data = buf.getvalue()
    w.close()
    return data, recs


def records_of(data):
    r = avro.datafile.DataFileReader(io.BytesIO(data), avro.io.DatumReader())
    out = [json.dumps(x, sort_keys=True) for x in r]
    r.close()
    return collections.Counter(out)


def canon(recs):
    return collections.Counter(json.dumps(x, sort_keys=True) for x in recs)


def cold_key(day, bucket_hex, series, ts, quality="GOOD"):
    y, m, d = (int(x) for x in day.split("-"))
    return "%sstartYear=%d/startMonth=%d/startDay=%d/seriesBucket=%s/raw_%s_%d_%s.avro" % (
        RAW, y, m, d, bucket_hex, series, ts, quality)


def day_part(day):
    y, m, d = (int(x) for x in day.split("-"))
    return "startYear=%d/startMonth=%d/startDay=%d/" % (y, m, d)


def main():
    srv = Server()
    ep = srv.endpoint
    work = tempfile.mkdtemp(prefix="repart-test-sample-work.")
    try:
        run(ep, work)
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    if FAILS:
        print("test_sample: %d failure(s)" % len(FAILS), file=sys.stderr)
        return 1
    print("test_sample: ok")
    return 0


def run(ep, work):
    D1, D2 = "2024-03-05", "2024-03-06"
    src = {}  # key -> records
    # D1: a plain series (two six-hour files), an associated series
    # <asset>_<property> (two files), a second property of the same asset.
    for key, (series, t0, n) in {
        cold_key(D1, "1a", "s0001", 1709596800): ("s0001", 1709596800, 5),
        cold_key(D1, "1a", "s0001", 1709618400): ("s0001", 1709618400, 3),
        cold_key(D1, "2b", "a77_p1", 1709596800): ("a77_p1", 1709596800, 4),
        cold_key(D1, "2b", "a77_p1", 1709618400): ("a77_p1", 1709618400, 2),
        cold_key(D1, "3c", "a77_p2", 1709596800): ("a77_p2", 1709596800, 6),
        cold_key(D2, "1a", "s0001", 1709683200): ("s0001", 1709683200, 7),
    }.items():
        data, recs = avro_file(series, t0, n, codec="deflate" if n == 3 else "snappy")
        put(ep, COLD, key, data)
        src[key] = recs

    stages = []

    def hook(stage, day):
        stages.append((stage, day))

    # ---- first run: both days, descending, everything merged
    res = sample.run_sample(ep, COLD, RAW, OUT, DATA, INDEX, [D1, D2, "2024-03-07"],
                            os.path.join(work, "w1"), hook=hook, start_ts=1700000001)
    eq(stages, [("listed", D2), ("downloaded", D2), ("merged", D2), ("uploaded", D2),
                ("listed", D1), ("downloaded", D1), ("merged", D1), ("uploaded", D1)],
       "hook stages (days descending, no stage for an empty day)")
    eq(res["2024-03-07"]["status"], "no-data", "empty day")
    eq(res[D1]["status"], "merged", "D1 status")
    d1_keys = sorted(k for k in src if "startDay=5/" in k)
    eq(sorted(res[D1]["sources"]), d1_keys, "D1 sources taken")
    eq(res[D1]["new_ids"], ["s0001", "a77"], "D1 new ids: listing order, asset id only")
    eq(res[D1]["records"], 5 + 3 + 4 + 2 + 6, "D1 records written")
    out = ls(ep, OUT)
    merged1 = DATA + day_part(D1) + "merged_series_1700000001.avro"
    merged2 = DATA + day_part(D2) + "merged_series_1700000001.avro"
    eq(sorted(out), sorted([merged1, merged2, INDEX + day_part(D1) + "timeseries.txt",
                            INDEX + day_part(D2) + "timeseries.txt"]),
       "output bucket after run 1 (one merged_series file per day + index)")
    want = collections.Counter()
    for k in d1_keys:
        want += canon(src[k])
    eq(records_of(get(ep, OUT, merged1)), want, "D1 merged file holds exactly the sources' records")
    m = avro.datafile.DataFileReader(io.BytesIO(get(ep, OUT, merged1)), avro.io.DatumReader())
    eq(m.get_meta("avro.codec"), b"snappy", "merged codec")
    m.close()
    eq(get(ep, OUT, INDEX + day_part(D1) + "timeseries.txt"), b"s0001\na77",
       "D1 index: ids joined by LF, no final newline")
    eq(get(ep, OUT, INDEX + day_part(D2) + "timeseries.txt"), b"s0001", "D2 index")
    check(not os.path.exists(os.path.join(work, "w1", "raw")), "work folders removed at the end")

    # ---- second run: nothing new, nothing written
    etags = ls(ep, OUT)
    stages.clear()
    res = sample.run_sample(ep, COLD, RAW, OUT, DATA, INDEX, [D1, D2],
                            os.path.join(work, "w2"), hook=hook, start_ts=1700000002)
    eq(res[D1]["status"], "nothing-new", "rerun D1")
    eq(res[D2]["status"], "nothing-new", "rerun D2")
    eq(res[D1]["previous_ids"], ["s0001", "a77"], "rerun D1 previous ids")
    eq(stages, [("listed", D2), ("listed", D1)], "rerun stages")
    eq(ls(ep, OUT), etags, "rerun wrote nothing")

    # ---- late file of an indexed series (skipped for good) + a new series
    late = cold_key(D1, "1a", "s0001", 1709640000)
    data, recs = avro_file("s0001", 1709640000, 4)
    put(ep, COLD, late, data)
    src[late] = recs
    new = cold_key(D1, "4d", "s0002", 1709596800)
    data, recs = avro_file("s0002", 1709596800, 3)
    put(ep, COLD, new, data)
    src[new] = recs
    res = sample.run_sample(ep, COLD, RAW, OUT, DATA, INDEX, [D1],
                            os.path.join(work, "w3"), start_ts=1700000003)
    eq(res[D1]["sources"], [new], "run 3 takes only the new series (the late file is lost)")
    eq(res[D1]["records"], 3, "run 3 records")
    merged3 = DATA + day_part(D1) + "merged_series_1700000003.avro"
    eq(records_of(get(ep, OUT, merged3)), canon(src[new]), "run 3 merged file")
    eq(get(ep, OUT, INDEX + day_part(D1) + "timeseries.txt"), b"s0002\ns0001\na77",
       "run 3 index: new ids, then the previous document (rewritten, unsorted)")
    eq(sorted(k for k in ls(ep, OUT) if k.startswith(DATA + day_part(D1))),
       sorted([merged1, merged3]), "D1 now has two sample files")

    # ---- a previous index with a BOM and CRLF (as Windows tools save it)
    put(ep, OUT, INDEX + day_part(D2) + "timeseries.txt", b"\xef\xbb\xbfs0001\r\nzzz\r\n")
    res = sample.run_sample(ep, COLD, RAW, OUT, DATA, INDEX, [D2],
                            os.path.join(work, "w4"), start_ts=1700000004)
    eq(res[D2]["previous_ids"], ["\ufeffs0001", "zzz"], "BOM stays in the first id")
    eq(res[D2]["new_ids"], ["s0001"], "BOM: the first series looks new")
    eq(get(ep, OUT, INDEX + day_part(D2) + "timeseries.txt"),
       b"s0001\n\xef\xbb\xbfs0001\nzzz\n", "BOM/CRLF index rewritten: new, then the old "
       "text with LF and its BOM")
    eq(records_of(get(ep, OUT, DATA + day_part(D2) + "merged_series_1700000004.avro")),
       canon(src[cold_key(D2, "1a", "s0001", 1709683200)]), "BOM: the day merged again")

    # ---- a hook that raises stops the run where it is (a crash)
    data, recs = avro_file("s0003", 1709596800, 2)
    put(ep, COLD, cold_key(D1, "5e", "s0003", 1709596800), data)
    before = ls(ep, OUT)

    class Crash(Exception):
        pass

    def crash(stage, day):
        if stage == "merged":
            raise Crash()
    try:
        sample.run_sample(ep, COLD, RAW, OUT, DATA, INDEX, [D1], os.path.join(work, "w5"),
                          hook=crash, start_ts=1700000005)
        check(False, "a raising hook must stop the run")
    except Crash:
        pass
    eq(ls(ep, OUT), before, "crash before upload: nothing written")
    check(os.path.exists(os.path.join(work, "w5", "raw", "2024-3-5", "raw_s0003_1709596800_GOOD.avro")),
          "crash leaves the raw folder (the next run with this workdir merges it)")

    # ---- a key whose file name has no second '_'-field ends the job
    put(ep, COLD, RAW + day_part(D1) + "seriesBucket=00/junk.avro", b"x")
    try:
        sample.run_sample(ep, COLD, RAW, OUT, DATA, INDEX, [D1], os.path.join(work, "w6"))
        check(False, "a key without '_' must fail the run")
    except sample.SampleError as e:
        eq(e.day, D1, "failing day named")
        check("IndexError" in str(e), "IndexError reported: %s" % e)

    # ---- the other os.listdir order: the previous index first, then the new ids
    D3 = "2024-03-09"
    for series in ("s0009", "s0010"):
        data, recs = avro_file(series, 1709942400, 2)
        put(ep, COLD, cold_key(D3, "7f", series, 1709942400), data)
        if series == "s0009":
            sample.run_sample(ep, COLD, RAW, OUT, DATA, INDEX, [D3], os.path.join(work, "w7"),
                              start_ts=1700000007)
    res = sample.run_sample(ep, COLD, RAW, OUT, DATA, INDEX, [D3], os.path.join(work, "w8"),
                            start_ts=1700000008, listdir_order=lambda xs: sorted(xs, reverse=True))
    eq(res[D3]["new_ids"], ["s0010"], "reverse order: new id")
    eq(get(ep, OUT, INDEX + day_part(D3) + "timeseries.txt"), b"s0009\ns0010",
       "reverse listdir order: previous document, then the new ids")

    eq(sample._day_prefix(sample.date(2024, 3, 5)), "startYear=2024/startMonth=3/startDay=5/",
       "day prefix not padded")


if __name__ == "__main__":
    sys.exit(main())
