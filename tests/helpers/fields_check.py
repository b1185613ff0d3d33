#!/usr/bin/python3
"""Every field value of every source record is in the merged file (issue 12).

  fields_check.py MERGED.avro SRC.avro...

Reads with python3-avro. Each source record, completed with null for the
fields of the merged schema it lacks, must be in the merged file as many times
as in the sources (multisets, every field compared; ints and floats compared
as numbers, so int->long and float->double promotions keep the value).
Prints the merged schema's field names; exit 1 on any difference."""
import collections, json, sys
import avro.datafile, avro.io


def read(path):
    with open(path, "rb") as f:
        r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        sch = json.loads(str(r.schema))
        recs = list(r)
        r.close()
    return sch, recs


def num(v):
    # a promoted value (long -> double) equals its source when it is the same
    # number: an integral double in the int64 range compares as the int it
    # holds exactly; a long that the double rounded stays different
    if isinstance(v, float) and v.is_integer() and -2 ** 63 <= v < 2 ** 63:
        return int(v)
    return v


def canon(rec, names):
    return json.dumps([[n, num(rec.get(n))] for n in names], sort_keys=True, default=repr)


msch, mrecs = read(sys.argv[1])
names = [f["name"] for f in msch["fields"]]
got = collections.Counter(canon(r, names) for r in mrecs)
want = collections.Counter()
for p in sys.argv[2:]:
    sch, recs = read(p)
    missing = [f["name"] for f in sch["fields"] if f["name"] not in names]
    if missing:
        print("%s: fields %s are not in the merged schema" % (p, missing))
        sys.exit(1)
    for r in recs:
        want[canon(r, names)] += 1
if got != want:
    extra = got - want
    lost = want - got
    print("merged file differs: %d record(s) not from the sources, %d source record(s) "
          "missing or changed" % (sum(extra.values()), sum(lost.values())))
    for k in list(lost)[:3]:
        print("  missing:", k)
    for k in list(extra)[:3]:
        print("  extra:  ", k)
    sys.exit(1)
print(" ".join(names))
