#!/usr/bin/env bash
# Reports and machine-readable logs, and messages that say what happened:
#  1. a --report path that cannot be written (missing folder, a directory,
#     an s3:// URL without a key) exits 2 before any request is sent;
#  2. `all --log-format json --report s3://...`: every line one JSON object with
#     timestamp/level/event and numeric fields; the report lands in the bucket
#     and matches docs/report.schema.json;
#  3. an index PUT applied by the server whose answer is lost: the day is
#     reported as an uncertain commit (not "nothing committed": the index is
#     there), and a rerun settles it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out
fault_proxy_start   # rate 0: logs every request
G="$TEST_TMP/gen"
gen "$G" --from 2023-10-01 --to 2023-10-02 --series 5 --records-per-file 30 --seed 31 >/dev/null
put_tree "$G" cold
CFG="$TEST_TMP/config.yml"
write_config "$CFG" "locking: off"
sed -i "s|endpoint_url: .*|endpoint_url: $FAULT_ENDPOINT|" "$CFG"
SCHEMA="$REPART_SRC_DIR/docs/report.schema.json"
schema_ok() { "$PY" "$REPART_SRC_DIR/tests/helpers/schema_check.py" "$SCHEMA" "$1" >&2 || fail "$2: report does not match the schema"; }

# 1. bad --report paths: refused before any work
mkdir -p "$TEST_TMP/adir"
for bad in "$TEST_TMP/missing/r.json" "$TEST_TMP/adir" "s3://out/" "s3://out"; do
    run_repart -c "$CFG" all --from 2023-10-01 --to 2023-10-02 --report "$bad"
    assert_eq "$RC" 2 "--report $bad: exit"
    assert_contains "$ERR" "--report" "--report $bad: named"
done
assert_eq "$(fault_log_count)" 0 "requests sent before a bad --report was refused"

# 2. JSON log lines and a report written to S3
run_repart -c "$CFG" --log-format json all --from 2023-10-01 --to 2023-10-02 \
    --report s3://out/reports/run.json
assert_eq "$RC" 0 "json run ($ERR)"
"$PY" - "$TEST_TMP/out" <<'PYEOF' || fail "--log-format json lines"
import json, re, sys
events = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
assert events, "no lines"
for e in events:
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["timestamp"]), e
    assert e["level"] in ("debug", "info", "warn", "error"), e
    assert "msg" in e and "event" in e, e
committed = [e for e in events if e["event"] == "committed"]
assert sorted(e["day"] for e in committed) == ["2023-10-01", "2023-10-02"], committed
for e in committed:
    for k in ("objects", "records", "bytes_in", "bytes_out"):
        assert isinstance(e[k], int) and e[k] > 0, (k, e)
    assert isinstance(e["seconds_upload"], float), e
summary = [e for e in events if e["event"] == "summary"]
assert len(summary) == 1 and summary[0]["days"] == 2 and summary[0]["done"] == 2, summary
assert isinstance(summary[0]["seconds"], float), summary
PYEOF
curl -sf "$S3_ENDPOINT/out/reports/run.json" >"$TEST_TMP/run.json" || fail "report not in the bucket"
schema_ok "$TEST_TMP/run.json" "s3 report"
assert_eq "$(json_get "$TEST_TMP/run.json" 'd["totals"]["done"]')" 2 "report: days done"
# a file report, and one of a rerun with nothing new
run_repart -c "$CFG" all --from 2023-10-01 --to 2023-10-02 --report "$TEST_TMP/r2.json"
assert_eq "$RC" 0 "rerun"
schema_ok "$TEST_TMP/r2.json" "file report"
assert_eq "$(json_get "$TEST_TMP/r2.json" 'd["totals"]["nothing_new"]')" 2 "rerun: nothing new"

# 3. the index PUT lands upstream, its answer is lost (every attempt reset)
gen "$TEST_TMP/g3" --from 2023-10-03 --to 2023-10-03 --series 4 --records-per-file 20 --seed 32 >/dev/null
put_tree "$TEST_TMP/g3" cold
fault_proxy_stop
fault_proxy_start --rate 1 --faults reset --only PUT --only-path-regex 'timeseries\.txt'
sed -i "s|endpoint_url: .*|endpoint_url: $FAULT_ENDPOINT|" "$CFG"
REPART_S3_MAX_RETRIES=1 REPART_S3_RETRY_BASE_MS=10 \
    run_repart -c "$CFG" all --days 2023-10-03 --report "$TEST_TMP/r3.json"
assert_eq "$RC" 1 "exit when the index PUT's answer is lost"
assert_contains "$ERR" "whether this day was committed is uncertain; a rerun settles it"
case "$ERR" in *"nothing of this day was committed"*) fail "claims nothing was committed: $ERR" ;; esac
curl -sf "$S3_ENDPOINT/out/index/$(day_part 2023-10-03)/timeseries.txt" >/dev/null \
    || fail "the index PUT did not land upstream (the case is not the one tested)"
schema_ok "$TEST_TMP/r3.json" "uncertain report"
assert_eq "$(json_get "$TEST_TMP/r3.json" 'd["days"][0]["commit"]')" uncertain "report: commit"
assert_eq "$(json_get "$TEST_TMP/r3.json" 'd["totals"]["commit_uncertain"]')" 1 "report: uncertain"
fault_proxy_stop
sed -i "s|endpoint_url: .*|endpoint_url: $S3_ENDPOINT|" "$CFG"
run_repart -c "$CFG" all --days 2023-10-03
assert_eq "$RC" 0 "the rerun settles it"
check_day out 2023-10-03 "$TEST_TMP/g3/raw/$(day_part 2023-10-03)"

# 5. verify's report has its own schema (docs/verify-report.schema.json):
# an ok day and one with a problem (an orphan file), --json and --report
VSCHEMA="$REPART_SRC_DIR/docs/verify-report.schema.json"
vschema_ok() { "$PY" "$REPART_SRC_DIR/tests/helpers/schema_check.py" "$VSCHEMA" "$1" >&2 || fail "$2: verify report does not match its schema"; }
run_repart -c "$CFG" verify --days 2023-10-03 --json
assert_eq "$RC" 0 "verify of a good day ($ERR)"
printf '%s\n' "$OUT" >"$TEST_TMP/v1.json"
vschema_ok "$TEST_TMP/v1.json" "verify --json"
assert_eq "$(json_get "$TEST_TMP/v1.json" 'd["days"][0]["status"]')" ok "verify: status"
"$PY" "$REPART_SRC_DIR/tests/helpers/eo_tool.py" put "$S3_ENDPOINT" out \
    "consolidated/$(day_part 2023-10-03)/merged_0123456789abcdef0123456789abcdef.avro" "$TEST_TMP/v1.json" \
    >/dev/null || fail "placing an orphan"
run_repart -c "$CFG" verify --days 2023-10-03 --report "$TEST_TMP/v2.json"
assert_eq "$RC" 1 "verify of a day with an orphan"
vschema_ok "$TEST_TMP/v2.json" "verify --report"
assert_eq "$(json_get "$TEST_TMP/v2.json" 'd["days"][0]["status"]')" problems "verify: status with a problem"
assert_eq "$(json_get "$TEST_TMP/v2.json" 'd["days"][0]["counts"]["orphan"]')" 1 "verify: the orphan counted"
note "it_report: all checks passed"
