# Helpers for the pipeline's integration tests; source after lib.sh.
#
#   repart_setup BUCKET...      start fauxqs with the buckets (cold tier first)
#   write_config FILE [YAML]    a config for the running server (+ extra YAML lines)
#   gen DIR ARGS...             repart-gen into DIR (prints its JSON summary)
#   put_tree DIR BUCKET         upload DIR's files under their relative paths
#   run_repart ARGS...          runs build/repart; sets RC, OUT (stdout), ERR (stderr)
#   check_day BUCKET DAY SRCDIR independent check of one day (python3-avro)
#   bucket_ls BUCKET [PREFIX]   "key size etag" lines, sorted
PY=/usr/bin/python3
REPART="$REPART_BUILD_DIR/repart"
CHECK="$REPART_SRC_DIR/tests/helpers/bucket_check.py"
[ -x "$REPART" ] || fail "no binary at $REPART"

repart_setup() {
    s3_start fauxqs "$@"
    COLD_BUCKET="$1"
}

write_config() {
    local file=$1 extra=${2:-}
    cat >"$file" <<YAML
s3:
  region: us-east-1
  endpoint_url: $S3_ENDPOINT
  path_style: true
  cold_tier: { bucket_name: ${COLD_BUCKET:-cold}, data_prefix: raw/ }
  repartitioned: { bucket_name: ${OUT_BUCKET:-out}, data_prefix: consolidated/, index_prefix: index/ }
work_dir: $TEST_TMP/work
concurrency: 8
part_size_mb: 5
$extra
YAML
}

gen() {
    local dir=$1
    shift
    "$REPART_BUILD_DIR/repart-gen" --out "$dir" "$@"
}

put_tree() {
    "$REPART_BUILD_DIR/repart-put-tree" --endpoint "$S3_ENDPOINT" --path-style "$1" "$2" >/dev/null
}

run_repart() {
    RC=0
    "$REPART" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || RC=$?
    OUT=$(cat "$TEST_TMP/out")
    ERR=$(cat "$TEST_TMP/err")
}

# day partition folder of YYYY-MM-DD
day_part() {
    local y m d
    IFS=- read -r y m d <<<"$1"
    echo "startYear=$y/startMonth=$((10#$m))/startDay=$((10#$d))"
}

check_day() {
    local bucket=$1 day=$2 src=$3
    "$PY" "$CHECK" day "$S3_ENDPOINT" "$bucket" consolidated/ index/ "$day" "$src" \
        || fail "day $day does not hold exactly its sources' records"
}

bucket_ls() {
    "$PY" "$CHECK" ls "$S3_ENDPOINT" "$1" "${2:-}"
}

# json_get FILE EXPR: evaluates a Python expression on the JSON document `d`
json_get() {
    "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
