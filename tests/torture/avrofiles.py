"""Cold-tier Avro files written and read with python3-avro (never repart's
code): the RawDatum schema of docs/design.md section 1, codec snappy."""
import base64
import io
import json

import avro.datafile
import avro.io
import avro.schema

SCHEMA_JSON = json.dumps({
    "type": "record", "name": "RawDatum", "namespace": "amazon.aws.iot.sitewise.raw",
    "fields": [
        {"name": "seriesId", "type": "string"},
        {"name": "timeInSeconds", "type": "long"},
        {"name": "offsetInNanos", "type": "long"},
        {"name": "quality", "type": "string"},
        {"name": "doubleValue", "type": ["null", "double"], "default": None},
        {"name": "stringValue", "type": ["null", "string"], "default": None},
        {"name": "integerValue", "type": ["null", "int"], "default": None},
        {"name": "booleanValue", "type": ["null", "boolean"], "default": None},
        {"name": "jsonValue", "type": ["null", "string"], "default": None},
        {"name": "recordVersion", "type": ["null", "long"], "default": None},
    ],
})
SCHEMA = avro.schema.parse(SCHEMA_JSON)
FIELDS = [f.name for f in SCHEMA.fields]


class _Buf(io.BytesIO):
    def close(self):  # DataFileWriter.close() closes its file: keep the bytes
        pass


def rec_key(rec):
    """A record as a hashable tuple (the multiset element)."""
    return tuple(rec.get(f) for f in FIELDS)


def rec_text(key):
    return json.dumps(dict(zip(FIELDS, key)), sort_keys=True, separators=(",", ":"))


def write(records):
    """Avro container bytes (snappy) holding the records (dicts)."""
    buf = _Buf()
    w = avro.datafile.DataFileWriter(buf, avro.io.DatumWriter(), SCHEMA, codec="snappy")
    for r in records:
        w.append(r)
    w.close()
    return buf.getvalue()


def read(data):
    """[record tuple] of an Avro container; raises on a damaged one."""
    with avro.datafile.DataFileReader(io.BytesIO(data), avro.io.DatumReader()) as r:
        return [rec_key(x) for x in r]


def make_records(series_id, start_ts, n, uid, rng, pad=0):
    """n records of one file, unique across the whole schedule: uid (the
    event's id and the file's number in it) goes into offsetInNanos. pad > 0:
    every value a string of about pad random (incompressible) characters, so
    that day files pass S3's 5 MiB part minimum and appends copy ranges."""
    out = []
    for i in range(n):
        r = {f: None for f in FIELDS}
        r["seriesId"] = series_id
        r["timeInSeconds"] = start_ts + i * 60 + rng.randrange(60)
        r["offsetInNanos"] = uid * 1000 + i
        r["quality"] = "GOOD"
        k = rng.random()
        if k < 0.7:
            r["doubleValue"] = round(rng.uniform(-1000, 1000), 3)
        elif k < 0.85:
            r["integerValue"] = rng.randrange(-2**31, 2**31)
        elif k < 0.95:
            r["stringValue"] = "s%d" % rng.randrange(10**6)
        else:
            r["booleanValue"] = rng.random() < 0.5
        if rng.random() < 0.2:
            r["recordVersion"] = rng.randrange(1, 5)
        if pad:
            for f in ("doubleValue", "integerValue", "booleanValue"):
                r[f] = None
            r["stringValue"] = base64.b64encode(rng.randbytes(pad * 3 // 4)).decode()
        out.append(r)
    return out
