#!/usr/bin/python3
"""Independent Avro reader for repart's tests (python3-avro, not Avro C).

Usage: /usr/bin/python3 tests/avro_dump.py [--count] FILE...

Prints every record of every FILE as canonical JSON, one per line: object
keys sorted, no spaces, bytes/fixed as lowercase hex strings. Tests sort the
lines and compare record multisets of a merged output with its sources.
--count prints only the number of records per file.
--to-files writes each FILE's records, sorted, to FILE.dump (or the error to
FILE.err) instead of stdout: one process for many files.
Exits 1 (with the file named on stderr) when a file cannot be read fully:
python3-avro raises on bad magic, truncation, bad sync markers, unknown
codecs and on stray bytes after the last block.
"""
import json
import math
import sys

import avro.datafile
import avro.io


def canon(v):
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, dict):
        return {k: canon(x) for k, x in v.items()}
    if isinstance(v, list):
        return [canon(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)  # keep NaN/inf distinguishable without invalid JSON
    return v


def dump(path, count_only, out):
    n = 0
    with open(path, "rb") as f:
        with avro.datafile.DataFileReader(f, avro.io.DatumReader()) as r:
            for rec in r:
                n += 1
                if not count_only:
                    out.write(json.dumps(canon(rec), sort_keys=True,
                                         separators=(",", ":"),
                                         ensure_ascii=True))
                    out.write("\n")
    return n


def main(argv):
    count_only = False
    if argv and argv[0] == "--count":
        count_only = True
        argv = argv[1:]
    if argv and argv[0] == "--to-files":
        rc = 0
        for path in argv[1:]:
            lines = []

            class Sink:
                def write(self, s):
                    lines.append(s)
            try:
                dump(path, False, Sink())
                text = "".join(lines).splitlines(True)
                with open(path + ".dump", "w") as f:
                    f.writelines(sorted(text, key=lambda x: x.encode()))
            except Exception as e:  # noqa: BLE001
                with open(path + ".err", "w") as f:
                    f.write("%s: %s\n" % (type(e).__name__, e))
                rc = 1
        return rc
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    rc = 0
    for path in argv:
        try:
            n = dump(path, count_only, sys.stdout)
            if count_only:
                sys.stdout.write("%d %s\n" % (n, path))
        except Exception as e:  # noqa: BLE001 - any failure is a read error
            sys.stdout.flush()
            sys.stderr.write("avro_dump: %s: %s: %s\n" % (path, type(e).__name__, e))
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
