#!/usr/bin/env python3
"""schema_check.py SCHEMA DOC: validates the JSON document DOC against SCHEMA
(the subset of JSON Schema that docs/*.schema.json use: type (one or a list),
enum, required, properties, additionalProperties false, items, minimum,
pattern). Prints each violation with its path; exit 1 if any. (No jsonschema
package: repart's test dependencies are Debian packages only.)"""
import json, re, sys

TYPES = {"object": dict, "array": list, "string": str, "null": type(None), "boolean": bool}


def is_type(v, t):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, TYPES[t])


def check(s, v, path, out):
    if "type" in s:
        ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(is_type(v, t) for t in ts):
            out.append(f"{path}: {v!r} is not of type {s['type']}")
            return
    if "enum" in s and v not in s["enum"]:
        out.append(f"{path}: {v!r} not one of {s['enum']}")
    if "minimum" in s and isinstance(v, (int, float)) and v < s["minimum"]:
        out.append(f"{path}: {v} < {s['minimum']}")
    if "pattern" in s and isinstance(v, str) and not re.search(s["pattern"], v):
        out.append(f"{path}: {v!r} does not match {s['pattern']}")
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                out.append(f"{path}: missing {k}")
        props = s.get("properties", {})
        for k, x in v.items():
            if k in props:
                check(props[k], x, f"{path}.{k}", out)
            elif s.get("additionalProperties") is False:
                out.append(f"{path}: unexpected member {k}")
    if isinstance(v, list) and "items" in s:
        for i, x in enumerate(v):
            check(s["items"], x, f"{path}[{i}]", out)


def main():
    schema = json.load(open(sys.argv[1]))
    doc = json.load(open(sys.argv[2]))
    out = []
    check(schema, doc, "$", out)
    for line in out:
        print(line)
    sys.exit(1 if out else 0)


if __name__ == "__main__":
    main()
