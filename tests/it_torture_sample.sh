#!/usr/bin/env bash
# tests/torture/sample.py (the original Python sample's algorithm, used by
# the torture explorer) checked against a fauxqs of its own: what it leaves
# in a bucket, that a rerun skips what it merged, its index rewrite, its
# known holes (tests/torture/test_sample.py; docs/testing.md).
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 "$REPART_SRC_DIR/tests/torture/test_sample.py"
