#!/usr/bin/python3
"""Writes cold-tier sources with python3-avro (an Avro writer independent of
repart) whose schemas differ from RawDatum, for tests/it_schema.sh:
  avro_variants.py KIND OUT SERIES T0
KIND: plain, extra (an added optional field "unit"), union (doubleValue
["null","double","string"]), promo (integerValue long), float (doubleValue
float), incompat (quality
long), othername (record x.y.Other)."""
import json, sys, avro.schema, avro.datafile, avro.io
RAW = [
 {"name":"seriesId","type":"string"},{"name":"timeInSeconds","type":"long"},
 {"name":"offsetInNanos","type":"long"},{"name":"quality","type":"string"},
 {"name":"doubleValue","type":["null","double"],"default":None},
 {"name":"stringValue","type":["null","string"],"default":None},
 {"name":"integerValue","type":["null","int"],"default":None},
 {"name":"booleanValue","type":["null","boolean"],"default":None},
 {"name":"jsonValue","type":["null","string"],"default":None},
 {"name":"recordVersion","type":["null","long"],"default":None}]
def schema(fields, name="RawDatum", ns="amazon.aws.iot.sitewise.raw"):
    return {"type":"record","name":name,"namespace":ns,"fields":fields}
def write(path, sch, recs, codec="snappy"):
    s = avro.schema.parse(json.dumps(sch))
    with open(path,"wb") as f:
        w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), s, codec=codec)
        for r in recs: w.append(r)
        w.close()
def base(sid, t, **kw):
    r = {"seriesId":sid,"timeInSeconds":t,"offsetInNanos":0,"quality":"GOOD","doubleValue":None,"stringValue":None,"integerValue":None,"booleanValue":None,"jsonValue":None,"recordVersion":None}
    r.update(kw); return r
kind = sys.argv[1]; out = sys.argv[2]; sid = sys.argv[3]; t0 = int(sys.argv[4])
if kind == "extra":   # an extra optional field
    f = RAW + [{"name":"unit","type":["null","string"],"default":None}]
    write(out, schema(f), [base(sid, t0+i, doubleValue=i*1.5, unit="degC") for i in range(5)])
elif kind == "union": # a wider union: doubleValue also string
    f = [dict(x) for x in RAW]; f[4] = {"name":"doubleValue","type":["null","double","string"],"default":None}
    write(out, schema(f), [base(sid, t0+i, doubleValue=("x%d"%i if i%2 else float(i))) for i in range(5)])
elif kind == "promo": # integerValue as long
    f = [dict(x) for x in RAW]; f[6] = {"name":"integerValue","type":["null","long"],"default":None}
    write(out, schema(f), [base(sid, t0+i, integerValue=(1<<40)+i) for i in range(5)])
elif kind == "float": # doubleValue as float (promoted to double)
    f = [dict(x) for x in RAW]; f[4] = {"name":"doubleValue","type":["null","float"],"default":None}
    write(out, schema(f), [base(sid, t0+i, doubleValue=0.25*i) for i in range(5)])
elif kind == "incompat": # quality as long
    f = [dict(x) for x in RAW]; f[3] = {"name":"quality","type":"long"}
    write(out, schema(f), [dict(base(sid, t0+i), quality=i) for i in range(5)])
elif kind == "othername":
    write(out, schema(RAW, name="Other", ns="x.y"), [base(sid, t0+i, doubleValue=1.0) for i in range(5)])
elif kind == "plain":
    write(out, schema(RAW), [base(sid, t0+i, doubleValue=2.0) for i in range(5)])
