#!/usr/bin/env bash
# The command line as a user meets it: version, help of every command, exit
# status 2 with a message naming the culprit for usage and config errors.
. "$(dirname "$0")/lib.sh"

R="$REPART_BUILD_DIR/repart"
[ -x "$R" ] || fail "no binary at $R"
cd "$TEST_TMP"            # no ./config.yml here
unset REPART_CONFIG AWS_BATCH_JOB_ARRAY_INDEX JOB_COMPLETION_INDEX

# run ARGS...: sets OUT, ERR, RC
run() {
    set +e
    "$R" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    RC=$?
    set -e
    OUT=$(cat "$TEST_TMP/out")
    ERR=$(cat "$TEST_TMP/err")
}

# --version
run --version
assert_eq "$RC" 0 "--version exit"
[[ "$(head -1 <<<"$OUT")" =~ ^repart\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed '$OUT'"
# and the libraries, as built and as running
assert_contains "$OUT" "built with: avro-c 1.11" "--version: Avro C"
assert_contains "$OUT" "libcurl" "--version: libcurl"
assert_contains "$OUT" "running with: libcurl/" "--version: runtime libraries"
# the integration tests run a build with the test hooks, and it says so
assert_contains "$OUT" "test hooks: on" "--version: a test build"

# Global help lists every command and global option.
run --help
assert_eq "$RC" 0 "--help exit"
for c in plan download merge upload all event watch status verify athena; do
    grep -Eq "^  $c " <<<"$OUT" || fail "--help does not list $c"
done
for o in --config --verbose --quiet --log-format --version --help; do
    assert_contains "$OUT" "$o" "--help"
done
run -h
assert_eq "$RC" 0 "-h exit"

# Every command's --help exits 0 and shows exactly its options.
declare -A OPTS=(
    [plan]="--from --to --days --shard --json"
    [download]="--from --to --days --shard --report"
    [merge]="--from --to --days --shard --report"
    [upload]="--from --to --days --shard --report"
    [all]="--from --to --days --shard --report"
    [event]="--report"
    [watch]="--queue --once"
    [status]="--from --to --days --shard --json"
    [verify]="--from --to --days --shard --json --report --deep --repair"
    [athena]="--from --to --days --shard --table --database --partitions --no-projection"
)
ALL_OPTS="--from --to --days --shard --json --report --queue --once --deep --repair --table --database --partitions --no-projection"
for c in "${!OPTS[@]}"; do
    run "$c" --help
    assert_eq "$RC" 0 "$c --help exit"
    assert_contains "$OUT" "Usage: repart [GLOBAL OPTIONS] $c" "$c --help"
    for o in $ALL_OPTS; do
        if [[ " ${OPTS[$c]} " == *" $o "* ]]; then
            grep -Eq -- "$o( |$)" <<<"$OUT" || fail "$c --help does not mention $o"
        else
            grep -Eq -- "$o( |\]|$)" <<<"$OUT" && fail "$c --help mentions $o, which $c does not take"
        fi
    done
    # Each option shown is accepted: the parser must not call it unknown.
    for o in ${OPTS[$c]}; do
        run "$c" "$o" --help
        case "$ERR" in *"unknown option"*|*"does not take"*) fail "$c refuses $o: $ERR" ;; esac
    done
    run "$c" -h
    assert_eq "$RC" 0 "$c -h exit"
done

# Usage errors: exit 2, message on stderr naming the problem, nothing on stdout.
usage_error() {  # expected-substring args...
    local want=$1; shift
    run "$@"
    assert_eq "$RC" 2 "exit of: repart $*"
    assert_contains "$ERR" "$want" "stderr of: repart $*"
    assert_eq "$OUT" "" "stdout of: repart $*"
}
usage_error "no command given"
usage_error 'unknown command "frobnicate"' frobnicate
usage_error "unknown option --frob" --frob plan
usage_error "unknown option --frob" plan --frob
usage_error "unknown option -Z" plan -Z
usage_error "merge does not take --json" merge --json
usage_error "needs a value" plan --from
usage_error "--from needs --to" plan --from 2023-01-01
usage_error "no such day" plan --from 2023-02-29 --to 2023-03-01
usage_error "is after --to" plan --from 2023-03-02 --to 2023-03-01
usage_error "--shard" plan --shard 4/4
usage_error "watch needs --queue" watch
usage_error "plan takes no arguments" plan extra

# Config errors: exit 2 naming the file and the key.
CFG="$TEST_TMP/c.yml"
good='s3:
  cold_tier:
    bucket_name: cold-bucket
  repartitioned:
    bucket_name: rep-bucket
'
config_error() {  # expected-substring yaml
    printf '%s' "$2" >"$CFG"
    run -c "$CFG" plan --days 2023-01-01
    assert_eq "$RC" 2 "exit with config: $2"
    assert_contains "$ERR" "$CFG" "config error names the file"
    assert_contains "$ERR" "$1" "config error"
}
config_error "s3.cold_tier.bucket_name: missing" 's3:
  repartitioned:
    bucket_name: rep-bucket
'
config_error "c.yml:6: s3.repartitioned.data_prefix: must end with '/'" "$good"'    data_prefix: out
'
config_error "c.yml:4: s3.cold_tier.data_prefix: must end with '/'" 's3:
  cold_tier:
    bucket_name: cold-bucket
    data_prefix: raw
  repartitioned:
    bucket_name: rep-bucket
'
config_error "s3.repartitioned.index_prefix: must not start with '/'" "$good"'    index_prefix: /index/
'
config_error "c.yml:6: colour: unknown key" "$good"'colour: blue
'
config_error "concurrency: 0 is outside 1..1024" "$good"'concurrency: 0
'
config_error "part_size_mb: 4 is outside 5..5120" "$good"'part_size_mb: 4
'
config_error 'timeseries_type: "SOME" is not one of' "$good"'timeseries_type: SOME
'
config_error "date_range.date_start: 2023-02-01 is after date_end 2023-01-31" "$good"'date_range:
  date_start: "2023-02-01"
  date_end: "2023-01-31"
'
config_error 'date_range.date_end: "2023-02-30": no such day' "$good"'date_range:
  date_start: "2023-02-01"
  date_end: "2023-02-30"
'
config_error "s3.cold_tier: duplicate key" "$good"'  cold_tier:
    bucket_name: x
'
config_error "work_dir: must be a single value, not a mapping" "$good"'work_dir:
  a: b
'
config_error "YAML syntax error" 's3: {
'

# Missing config file: exit 2, path named (the default, REPART_CONFIG, -c).
run plan --days 2023-01-01
assert_eq "$RC" 2 "missing default config exit"
assert_contains "$ERR" "./config.yml" "missing default config"
REPART_CONFIG="$TEST_TMP/from-env.yml" run plan --days 2023-01-01
assert_eq "$RC" 2 "missing REPART_CONFIG exit"
assert_contains "$ERR" "$TEST_TMP/from-env.yml" "missing REPART_CONFIG"
run -c "$TEST_TMP/nope/x.yml" status --days 2023-01-01
assert_eq "$RC" 2 "missing -c config exit"
assert_contains "$ERR" "$TEST_TMP/nope/x.yml" "missing -c config"

# A config path that is a FIFO (nobody writing: reading it would hang) or a
# device is refused at once, exit 2.
mkfifo "$TEST_TMP/fifo.yml"
RC=0
timeout 20 "$R" -c "$TEST_TMP/fifo.yml" plan --days 2023-01-01 >/dev/null 2>"$TEST_TMP/fifo.err" || RC=$?
assert_eq "$RC" 2 "config that is a FIFO: exit"
assert_contains "$(cat "$TEST_TMP/fifo.err")" "is a pipe or socket, not a regular file" "FIFO config"
run -c /dev/zero plan --days 2023-01-01
assert_eq "$RC" 2 "config that is a device: exit"
assert_contains "$ERR" "is a device, not a regular file" "device config"

# The example config at the repo root is valid: loading it gets past the
# config stage (whatever the command then does, it is not a config error).
run -c "$REPART_SRC_DIR/config.yml.example" athena
case "$ERR" in *config.yml.example*) fail "example config refused: $ERR" ;; esac

note "it_cli: all checks passed"
