#!/usr/bin/python3
"""Small helpers of the exactly-once integration tests (tests/it_eo_*.sh).
Plain HTTP to the local server (fauxqs: path-style, unsigned) and python3-avro
(tests/torture/avrofiles.py, tests/torture/sample.py): nothing of repart's
code.

  eo_tool.py mkfile ROOT RELKEY N UID
      writes ROOT/RELKEY, a cold-tier Avro file (snappy) of N records of the
      series and start time named by RELKEY's file name
      (raw_<series>_<ts>_<quality>.avro); UID goes into every record's
      offsetInNanos, so the records are unique across a test
  eo_tool.py put ENDPOINT BUCKET KEY FILE
      PUT of FILE's bytes under KEY; prints the ETag
  eo_tool.py sample ENDPOINT COLD OUT WORKDIR START_TS DAY [--during STAGE ROOT RELKEY]...
      one run of the original sample (tests/torture/sample.py run_sample)
      over DAY, merged file merged_series_<START_TS>.avro; --during uploads
      ROOT/RELKEY to COLD/RELKEY when the run reaches STAGE (listed,
      downloaded, merged). Prints {"status", "sources", "records", "during"}
  eo_tool.py bom ENDPOINT BUCKET KEY
      rewrites the text object KEY with a UTF-8 BOM and CRLF line ends
  eo_tool.py index-src ENDPOINT BUCKET KEY
      prints the #src lines' relkeys of the index KEY (one per line)
  eo_tool.py delete ENDPOINT BUCKET KEY
      deletes one object (a source gone from the cold tier; the mirror keeps it)
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from torture import avrofiles, s3http  # noqa: E402
from torture.sample import run_sample  # noqa: E402


def parse_name(relkey):
    base = relkey.rsplit("/", 1)[-1]
    assert base.startswith("raw_") and base.endswith(".avro"), relkey
    series, ts, _q = base[len("raw_"):-len(".avro")].rsplit("_", 2)
    return series, int(ts)


def mkfile(root, relkey, n, uid):
    series, ts = parse_name(relkey)
    recs = avrofiles.make_records(series, ts, int(n), int(uid), random.Random("eo:%s" % uid))
    path = os.path.join(root, relkey)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(avrofiles.write(recs))


def put(endpoint, bucket, key, path):
    with open(path, "rb") as f:
        print(s3http.S3(endpoint).put(bucket, key, f.read()))


def sample(endpoint, cold, out, workdir, start_ts, day, during):
    s3 = s3http.S3(endpoint)
    done = []

    def hook(stage, dayname):
        for st, root, relkey in during:
            if st == stage and relkey not in done:
                with open(os.path.join(root, relkey), "rb") as f:
                    s3.put(cold, relkey, f.read())
                done.append(relkey)

    res = run_sample(endpoint, cold, "raw/", out, "consolidated/", "index/", [day], workdir,
                     hook=hook, start_ts=int(start_ts))[day]
    print(json.dumps({"status": res["status"], "sources": len(res["sources"]),
                      "records": res["records"], "during": done}))


def bom(endpoint, bucket, key):
    s3 = s3http.S3(endpoint)
    data, _ = s3.get(bucket, key)
    if data is None:
        sys.exit("no object %s/%s" % (bucket, key))
    text = data.decode("utf-8").lstrip("\ufeff")
    text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    s3.put(bucket, key, b"\xef\xbb\xbf" + text.encode("utf-8"))


def index_src(endpoint, bucket, key):
    data, _ = s3http.S3(endpoint).get(bucket, key)
    for line in (data or b"").decode("utf-8").splitlines():
        f = line.split("\t")
        if f[0] == "#src" and len(f) > 1:
            print(f[1])


def delete(endpoint, bucket, key):
    s3http.S3(endpoint).delete(bucket, key)


def main(argv):
    if len(argv) == 5 and argv[0] == "mkfile":
        return mkfile(*argv[1:])
    if len(argv) == 5 and argv[0] == "put":
        return put(*argv[1:])
    if len(argv) >= 7 and argv[0] == "sample":
        during, rest = [], argv[7:]
        while rest:
            if rest[0] != "--during" or len(rest) < 4:
                sys.exit(__doc__)
            during.append((rest[1], rest[2], rest[3]))
            rest = rest[4:]
        return sample(*argv[1:7], during)
    if len(argv) == 4 and argv[0] == "bom":
        return bom(*argv[1:])
    if len(argv) == 4 and argv[0] == "delete":
        return delete(*argv[1:])
    if len(argv) == 4 and argv[0] == "index-src":
        return index_src(*argv[1:])
    sys.stderr.write(__doc__)
    sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
