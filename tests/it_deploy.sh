#!/usr/bin/env bash
# The deployment samples and docs agree with the binary (tests/helpers/deploy_check.py):
#  - every deploy/**/*.json and *.yaml parses;
#  - every `repart ...` command line in deploy/ and the docs uses only
#    commands and options that `repart --help` / `repart CMD --help` list;
#  - deploy/Dockerfile: two stages, non-root, ENTRYPOINT repart, and its
#    runtime packages cover every library the binary loads (readelf, ldd,
#    dpkg -S, the packages' Depends); its build stage has every -dev package;
#  - deploy/batch, deploy/k8s, deploy/iam agree with each other and with the
#    configs they embed (which repart loads).
# Then each check is shown to fail on a broken copy (so that it can fail).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
CHECK="$REPART_SRC_DIR/tests/helpers/deploy_check.py"
REPART="$REPART_BUILD_DIR/repart"
[ -x "$REPART" ] || fail "no binary at $REPART"
"$PY" -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing (scripts/setup installs it)"

cd "$REPART_SRC_DIR"
n=0
while IFS= read -r -d '' f; do
    "$PY" -m json.tool "$f" >/dev/null || fail "$f is not valid JSON"
    n=$((n + 1))
done < <(find deploy -name '*.json' -print0)
[ "$n" -ge 10 ] || fail "only $n JSON files under deploy/"
while IFS= read -r -d '' f; do
    "$PY" -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f" || fail "$f is not valid YAML"
done < <(find deploy \( -name '*.yaml' -o -name '*.yml' \) -print0)

"$PY" "$CHECK" commands "$REPART_SRC_DIR" "$REPART" || fail "command lines"
"$PY" "$CHECK" dockerfile "$REPART_SRC_DIR" "$REPART" || fail "Dockerfile"
"$PY" "$CHECK" consistency "$REPART_SRC_DIR" "$REPART" || fail "deploy samples disagree"

# --- the checks fail on broken copies
copy() {
    rm -rf "$TEST_TMP/c"
    mkdir -p "$TEST_TMP/c"
    cp -r "$REPART_SRC_DIR/deploy" "$REPART_SRC_DIR/docs" "$REPART_SRC_DIR/README.md" \
        "$REPART_SRC_DIR/CMakeLists.txt" "$TEST_TMP/c/"
}
expect_fail() {  # mode needle
    local rc=0
    "$PY" "$CHECK" "$1" "$TEST_TMP/c" "$REPART" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
    assert_eq "$rc" 1 "$1 on a broken copy"
    assert_contains "$(cat "$TEST_TMP/err")" "$2" "$1 names the problem"
}
copy
printf '\n```sh\nrepart verify --days 2023-01-01 --frobnicate\nrepart -c x.yml all --shard 3/2\n```\n' \
    >>"$TEST_TMP/c/docs/deploy-batch.md"
expect_fail commands "verify does not take --frobnicate"
assert_contains "$(cat "$TEST_TMP/err")" "bad value '3/2' for --shard"
copy
sed -i 's/"all",/"al",/' "$TEST_TMP/c/deploy/batch/job-definition.json"
expect_fail commands "unknown command al"
copy
# the image's ENTRYPOINT is repart: a Batch command starting with it runs `repart repart`
sed -i '0,/"command": \[/s//"command": [ "repart",/' "$TEST_TMP/c/deploy/events/batch-job-definition.json"
expect_fail commands "runs \`repart repart ...\`"
copy
sed -i 's/ libsnappy1v5//' "$TEST_TMP/c/deploy/Dockerfile"
expect_fail dockerfile "libsnappy.so.1 (package libsnappy1v5)"
copy
sed -i 's/^USER 65532:65532/USER root/' "$TEST_TMP/c/deploy/Dockerfile"
expect_fail dockerfile "non-root USER"
copy
sed -i 's/ libjansson-dev//' "$TEST_TMP/c/deploy/Dockerfile"
expect_fail dockerfile "pkg-config module jansson comes from libjansson-dev"
copy
sed -i 's/"size": 16/"size": 12/' "$TEST_TMP/c/deploy/batch/submit-backfill.json"
expect_fail consistency "arrayProperties.size 12 != N of --shard auto/16"
copy
sed -i 's/completions: 8/completions: 6/' "$TEST_TMP/c/deploy/k8s/backfill-indexed-job.yaml"
expect_fail consistency "completions 6 != N of --shard auto/8"
copy
sed -i 's/"s3:DeleteObject",/"s3:DeleteObject", "s3:PutObjectAcl",/' "$TEST_TMP/c/deploy/iam/consolidated-readwrite.json"
expect_fail consistency "consolidated-readwrite.json: actions"
copy
sed -i 's|sitewise-cold-example/raw/\*|sitewise-cold-example/*|' "$TEST_TMP/c/deploy/iam/cold-tier-read.json"
expect_fail consistency "cold-tier-read.json does not grant"
copy
sed -i 's/part_size_mb: 16/part_size_mb: 1/' "$TEST_TMP/c/deploy/k8s/backfill-indexed-job.yaml"
expect_fail consistency "repart refuses this config"
note "it_deploy: all checks passed"
