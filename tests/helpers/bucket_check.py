#!/usr/bin/python3
"""Independent checks of a consolidated bucket for repart's integration tests.

Talks plain HTTP (path-style, unsigned: the local server does not check
signatures) and reads Avro with python3-avro, so nothing of repart's own code
is involved in deciding whether its output is right.

  bucket_check.py ls ENDPOINT BUCKET PREFIX
      every key under PREFIX with its size and ETag, sorted (one per line)
  bucket_check.py day ENDPOINT BUCKET DATA_PREFIX INDEX_PREFIX DAY SRC_DIR
      DAY is YYYY-MM-DD; SRC_DIR holds the day's source files (any depth).
      Checks that the merged files of the day hold exactly the records of
      the sources (as multisets), that every source series is in the
      index, and prints a JSON summary. Exit 1 on any difference.
"""
import collections
import io
import json
import math
import os
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import avro.datafile
import avro.io

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def http_get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


def list_objects(endpoint, bucket, prefix):
    out, token = [], None
    while True:
        q = {"list-type": "2", "prefix": prefix}
        if token:
            q["continuation-token"] = token
        url = "%s/%s?%s" % (endpoint, bucket, urllib.parse.urlencode(q))
        root = ET.fromstring(http_get(url))
        for c in root.iter(NS + "Contents"):
            out.append((c.find(NS + "Key").text, int(c.find(NS + "Size").text),
                        (c.find(NS + "ETag").text or "").strip('"')))
        if (root.findtext(NS + "IsTruncated") or "false") != "true":
            break
        token = root.findtext(NS + "NextContinuationToken")
    return sorted(out)


def get_object(endpoint, bucket, key):
    return http_get("%s/%s/%s" % (endpoint, bucket, urllib.parse.quote(key, safe="/")))


def canon(v):
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, dict):
        return {k: canon(x) for k, x in v.items()}
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return v


def records(data):
    with avro.datafile.DataFileReader(io.BytesIO(data), avro.io.DatumReader()) as r:
        for rec in r:
            yield json.dumps(canon(rec), sort_keys=True, separators=(",", ":"))


def partition(day):
    y, m, d = (int(x) for x in day.split("-"))
    return "startYear=%d/startMonth=%d/startDay=%d/" % (y, m, d)


def series_of(name):
    base = name[len("raw_"):-len(".avro")]   # raw_ or agg_: both 4 characters
    return base.rsplit("_", 2)[0]


def check_day(endpoint, bucket, data_prefix, index_prefix, day, src_dir):
    expected = collections.Counter()
    series = set()
    n_src = 0
    for root, _, files in os.walk(src_dir):
        for f in files:
            if f.startswith(("raw_", "agg_")) and f.endswith(".avro"):
                with open(os.path.join(root, f), "rb") as fh:
                    expected.update(records(fh.read()))
                series.add(series_of(f))
                n_src += 1
    part = partition(day)
    merged = [k for k, _, _ in list_objects(endpoint, bucket, data_prefix + part)]
    got = collections.Counter()
    for k in merged:
        got.update(records(get_object(endpoint, bucket, k)))
    problems = []
    if got != expected:
        missing = expected - got
        extra = got - expected
        problems.append("records differ: %d missing, %d extra (of %d expected)"
                        % (sum(missing.values()), sum(extra.values()), sum(expected.values())))
    index_key = index_prefix + part + "timeseries.txt"
    try:
        text = get_object(endpoint, bucket, index_key).decode()
        lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    except urllib.error.HTTPError as e:
        lines = []
        if series:
            problems.append("no index %s (%s)" % (index_key, e.code))
    missing_series = sorted(s for s in series
                            if s not in lines and s.split("_")[0] not in lines)
    if missing_series:
        problems.append("%d series not in the index, e.g. %s" % (len(missing_series), missing_series[0]))
    print(json.dumps({"day": day, "sources": n_src, "series": len(series),
                      "merged_files": len(merged), "records_expected": sum(expected.values()),
                      "records_got": sum(got.values()), "index_series": len(lines),
                      "problems": problems}))
    return 1 if problems else 0


def main(argv):
    if len(argv) == 4 and argv[0] == "ls":
        for k, size, etag in list_objects(argv[1], argv[2], argv[3]):
            print("%s %d %s" % (k, size, etag))
        return 0
    if len(argv) == 7 and argv[0] == "day":
        return check_day(*argv[1:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
