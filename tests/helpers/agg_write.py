#!/usr/bin/python3
"""Writes an agg (metrics, transforms, aggregates) source with python3-avro,
an Avro writer independent of repart, for tests/it_agg.sh:
  agg_write.py KIND OUT SERIES T0
KIND: plain (the field list of the user guide as repart-gen writes it),
stddev (no "sum"; an added optional "standardDeviation"), countlong
(count as ["null","long"], values below 2^53: a day of double counts
promotes them exactly), countbig (the same with 2^53 + 1: a double cannot
hold it),
bigexact (count long 2^63 - 1024 and -2^63: exact as doubles), fieldorder
(count and average in the other order), noseries (a record without
seriesId), notrecord (the schema "string"), incompat (resolution as long),
othername (record x.y.Other)."""
import json, sys, avro.schema, avro.datafile, avro.io

def opt(name, t="double"):
    return {"name": name, "type": ["null", t], "default": None}

AGG = [{"name": "seriesId", "type": "string"}, {"name": "timeInSeconds", "type": "long"},
       {"name": "offsetInNanos", "type": "long"}, {"name": "quality", "type": "string"},
       {"name": "resolution", "type": "string"},
       opt("count"), opt("average"), opt("min"), opt("max"), opt("sum"), opt("recordVersion", "long")]

def write(path, fields, recs, name="AggregatedDatum", ns="amazon.aws.iot.sitewise.agg"):
    s = avro.schema.parse(json.dumps({"type": "record", "name": name, "namespace": ns,
                                      "fields": fields}))
    with open(path, "wb") as f:
        w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), s, codec="snappy")
        for r in recs:
            w.append(r)
        w.close()

def rec(sid, t, i, fields):
    r = {"seriesId": sid, "timeInSeconds": t, "offsetInNanos": 0, "quality": "GOOD",
         "resolution": ["1m", "15m", "1h", "1d"][i % 4]}
    for f in fields[5:]:
        r[f["name"]] = None
    for n, v in (("count", 3.0 + i), ("average", 1.25 * i), ("min", -0.5 * i), ("max", 2.0 * i),
                 ("sum", 3.75 * i), ("standardDeviation", 0.1 * i)):
        if n in r:
            r[n] = v
    if i % 3 == 0:
        r["recordVersion"] = 1000 + i
    return r

kind, out, sid, t0 = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
f = [dict(x) for x in AGG]
if kind == "stddev":
    f = [x for x in f if x["name"] != "sum"] + [opt("standardDeviation")]
elif kind in ("countlong", "countbig"):
    f[5] = opt("count", "long")
elif kind == "incompat":
    f[4] = {"name": "resolution", "type": "long"}
elif kind == "bigexact":
    f[5] = opt("count", "long")
elif kind == "fieldorder":
    f[5], f[6] = f[6], f[5]
elif kind == "noseries":
    f = f[1:]
elif kind == "notrecord":
    s = avro.schema.parse('"string"')
    with open(out, "wb") as fh:
        w = avro.datafile.DataFileWriter(fh, avro.io.DatumWriter(), s, codec="snappy")
        for i in range(3):
            w.append("%s-%d" % (sid, i))
        w.close()
    sys.exit(0)
recs = [rec(sid, t0 + 60 * i, i, f) for i in range(6)]
if kind == "countlong":
    for i, r in enumerate(recs):
        r["count"] = (1 << 40) + i
if kind == "bigexact":
    for i, r in enumerate(recs):
        r["count"] = (1 << 63) - 1024 if i % 2 else -(1 << 63)
if kind == "noseries":
    for r in recs:
        del r["seriesId"]
if kind == "countbig":
    for i, r in enumerate(recs):
        r["count"] = (1 << 53) + 1 + 2 * i
if kind == "incompat":
    for i, r in enumerate(recs):
        r["resolution"] = 60
write(out, f, recs, *((("Other", "x.y"),) if kind == "othername" else ()))
