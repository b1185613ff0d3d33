#!/usr/bin/env python3
"""Checks a #file line of a repart index against the object it names, with
its own reading of the MD5 field (not repart's code), as docs/design.md
describes it:

    <md5>[@<end>+<md5>...][/<header md5>]

Segment i covers bytes [end of i-1 (0 for the first), end of i); the last
one runs to the file's size. The header MD5 covers the first header-length
bytes (the #file line's fifth field).

usage: md5chain.py check INDEX OBJECT [NAME]   exit 0 when the line for NAME
                                               (default merged.avro) names
                                               exactly OBJECT's bytes; prints
                                               "segments=N header=yes|no"
       md5chain.py segments INDEX [NAME]       prints one "start end md5" per
                                               segment
"""
import hashlib
import re
import sys

SEG = re.compile(r"^[0-9a-f]{32}$")


def file_line(index_path, name):
    with open(index_path, "rb") as fh:
        for raw in fh.read().decode("utf-8").splitlines():
            f = raw.split("\t")
            if f[0] == "#file" and len(f) >= 6 and f[1] == name:
                return int(f[2]), f[3], int(f[5])
    sys.exit("no #file line for %s in %s" % (name, index_path))


def parse(field, size):
    """[(start, end, md5)], header md5 or ""; ValueError when malformed."""
    chain, _, header = field.partition("/")
    if header and not SEG.match(header):
        raise ValueError("bad header MD5 %r" % header)
    segs, start = [], 0
    parts = chain.split("+")
    for i, p in enumerate(parts):
        if i + 1 < len(parts):
            md5, at, end = p.partition("@")
            if not at or not end.isdigit() or (len(end) > 1 and end[0] == "0"):
                raise ValueError("bad segment %r" % p)
            end = int(end)
        else:
            md5, end = p, size
        if not SEG.match(md5) or end <= start and not (end == start == size == 0):
            raise ValueError("bad segment %r (start %d)" % (p, start))
        segs.append((start, end, md5))
        start = end
    if start != size:
        raise ValueError("segments end at %d, the file has %d bytes" % (start, size))
    return segs, header


def mismatch(field, size, header_len, data):
    """None when data is exactly the bytes the #file line names, else why."""
    if len(data) != size:
        return "the object has %d bytes, the index %d" % (len(data), size)
    try:
        segs, header = parse(field, size)
    except ValueError as e:
        return str(e)
    for s, e, m in segs:
        got = hashlib.md5(data[s:e]).hexdigest()
        if got != m:
            return "bytes %d to %d: MD5 %s, the index names %s" % (s, e, got, m)
    if header:
        got = hashlib.md5(data[:header_len]).hexdigest()
        if got != header:
            return "header (%d bytes): MD5 %s, the index names %s" % (header_len, got, header)
    return None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "segments":
        name = sys.argv[3] if len(sys.argv) > 3 else "merged.avro"
        size, field, _ = file_line(sys.argv[2], name)
        try:
            segs = parse(field, size)[0]
        except ValueError as e:
            sys.exit(str(e))
        for s, e, m in segs:
            print(s, e, m)
        return
    if cmd != "check" or len(sys.argv) < 4:
        sys.exit(__doc__)
    name = sys.argv[4] if len(sys.argv) > 4 else "merged.avro"
    size, field, header_len = file_line(sys.argv[2], name)
    data = open(sys.argv[3], "rb").read()
    why = mismatch(field, size, header_len, data)
    if why:
        sys.exit(why)
    segs, header = parse(field, size)
    print("segments=%d header=%s" % (len(segs), "yes" if header else "no"))


if __name__ == "__main__":
    main()
