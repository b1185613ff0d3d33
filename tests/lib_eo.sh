# Helpers of the exactly-once regression tests (tests/it_eo_*.sh, issue 11);
# source after lib.sh and lib_repart.sh.
#
# REPART_BUILD_DIR names the repart under test; the test tools (repart-gen,
# repart-put-tree) come from it when it has them, else from the main build
# ($REPART_SRC_DIR/build), so that an old build without them
# (REPART_BUILD_DIR=/work/baseline/build) can be run against the same tests.
#
#   eo_setup [BUCKET...]        fauxqs with cold + out (+ more), $CFG written
#   eo_gen DAY SERIES RECS SEED gen into $POOL (files not yet arrived)
#   eo_arrive DAY [TS...]       the pool's files of DAY (only those whose start
#                               timestamp is one of TS, when given) arrive: PUT
#                               to the cold tier and copied to $G, the local
#                               mirror of the cold tier that check_day reads
#   eo_mkfile RELKEY N          a new file of unique records (next uid) into
#                               the mirror and the cold tier (replaces RELKEY)
#   eo_late DAY N [NTH]         a late file (new start time) of N records of
#                               the series of DAY's NTH file; sets LATE_KEY
#   eo_sample DAY [--during STAGE RELKEY]...   one run of the sample
#   repart_files DAY            the names under the day's partition that are
#                               repart's (not merged_series_*), sorted
#   assert_one_file DAY         repart_files is exactly merged.avro
#   assert_exact DAY [what]     check_day against the mirror, with a message
#   check_fail MSG              a failed check: fail, or with EO_KEEP_GOING=1
#                               note it and go on (eo_done fails at the end);
#                               for running a test against an old build
#   eo_eq GOT WANT WHAT         assert_eq through check_fail
#   eo_contains HAY NEEDLE WHAT assert_contains through check_fail
#   eo_done NAME                the end of a test
#   out_ls                      the out bucket (key size etag), sorted
#   wait_for DESC SECS CMD...   polls CMD every 50 ms until it succeeds
_EO_TOOLS="${EO_TOOLS_DIR:-$REPART_BUILD_DIR}"
[ -x "$_EO_TOOLS/repart-put-tree" ] || _EO_TOOLS="$REPART_SRC_DIR/build"
EO="$REPART_SRC_DIR/tests/helpers/eo_tool.py"

gen() {
    local dir=$1
    shift
    "$_EO_TOOLS/repart-gen" --out "$dir" "$@"
}

put_tree() {
    "$_EO_TOOLS/repart-put-tree" --endpoint "$S3_ENDPOINT" --path-style "$1" "$2" >/dev/null
}

eo_setup() {
    repart_setup cold out "$@"
    OUT_BUCKET=out
    CFG="$TEST_TMP/config.yml"
    write_config "$CFG" "locking: off"
    G="$TEST_TMP/mirror"
    POOL="$TEST_TMP/pool"
    mkdir -p "$G" "$POOL"
    EO_UID=1000
    EO_TS=1700000000
}

eo_gen() {
    gen "$TEST_TMP/gen-$1" --from "$1" --to "$1" --series "$2" --records-per-file "$3" \
        --seed "$4" >/dev/null
    mkdir -p "$POOL/raw"
    cp -r "$TEST_TMP/gen-$1/raw/." "$POOL/raw/"
    rm -rf "$TEST_TMP/gen-$1"
}

# mirror_src DAY: the mirror's folder of the day (check_day's SRC_DIR)
mirror_src() { echo "$G/raw/$(day_part "$1")"; }

eo_arrive() {
    local day=$1 stage="$TEST_TMP/stage-put" f ts rel
    shift
    rm -rf "$stage"
    (cd "$POOL" && find "raw/$(day_part "$day")" -name 'raw_*.avro' | sort) | while read -r rel; do
        if [ $# -gt 0 ]; then
            ts=${rel%_*.avro}
            ts=${ts##*_}
            case " $* " in *" $ts "*) ;; *) continue ;; esac
        fi
        mkdir -p "$stage/$(dirname "$rel")" "$G/$(dirname "$rel")"
        cp "$POOL/$rel" "$stage/$rel"
        cp "$POOL/$rel" "$G/$rel"
    done
    [ -d "$stage" ] || fail "eo_arrive $day $*: no file"
    put_tree "$stage" cold
}

eo_mkfile() {
    local rel=$1 n=$2
    EO_UID=$((EO_UID + 1))
    "$PY" "$EO" mkfile "$G" "$rel" "$n" "$EO_UID"
    "$PY" "$EO" put "$S3_ENDPOINT" cold "$rel" "$G/$rel" >/dev/null
}

# late_key DAY [NTH [TS]]: sets LATE_KEY to a new key (start time TS, default
# one not used before) of the series of the NTH (default 1st) file of DAY in
# the mirror, in that series' seriesBucket folder
late_key() {
    local day=$1 nth=${2:-1} f base ts=${3:-}
    f=$(cd "$G" && find "raw/$(day_part "$day")" -name 'raw_*.avro' | sort | sed -n "${nth}p")
    [ -n "$f" ] || fail "late_key: no file $nth in the mirror of $day"
    base=$(basename "$f")
    if [ -z "$ts" ]; then EO_TS=$((EO_TS + 1)); ts=$EO_TS; fi
    LATE_KEY="$(dirname "$f")/${base%_*_*.avro}_${ts}_GOOD.avro"
}

eo_late() {
    late_key "$1" "${3:-1}"
    eo_mkfile "$LATE_KEY" "$2"
}

# eo_sample DAY [--during STAGE RELKEY]...: the original sample over DAY
# (merged_series_<ts>, a new ts each call); its JSON summary in SAMPLE_OUT.
EO_SAMPLE_TS=1690000000
eo_sample() {
    local day=$1 args=()
    shift
    while [ $# -gt 0 ]; do
        [ "$1" = --during ] || fail "eo_sample: $1"
        args+=(--during "$2" "$G" "$3")
        shift 3
    done
    EO_SAMPLE_TS=$((EO_SAMPLE_TS + 1))
    SAMPLE_OUT=$("$PY" "$EO" sample "$S3_ENDPOINT" cold out "$TEST_TMP/sample-work" \
        "$EO_SAMPLE_TS" "$day" "${args[@]+"${args[@]}"}") || fail "the sample failed on $day"
}

repart_files() {
    local p
    p="consolidated/$(day_part "$1")/"
    bucket_ls out "$p" | awk -v p="$p" '{k=substr($1, length(p)+1); if (k !~ /^merged_series_/) print k}' | sort
}

EO_FAILED=0
check_fail() {
    if [ "${EO_KEEP_GOING:-0}" = 1 ]; then
        echo "CHECK FAILED: $*" >&2
        EO_FAILED=$((EO_FAILED + 1))
        return 0
    fi
    fail "$@"
}

eo_eq() {
    [ "$1" = "$2" ] || check_fail "${3:-value}: got '$1', expected '$2'"
}

eo_contains() {
    case "$1" in
        *"$2"*) ;;
        *) check_fail "${3:-output}: '$1' does not contain '$2'" ;;
    esac
}

eo_done() {
    [ "$EO_FAILED" -eq 0 ] || fail "$EO_FAILED check(s) failed"
    note "$1: all checks passed"
}

assert_one_file() {
    local got
    got=$(repart_files "$1" | tr '\n' ' ')
    eo_eq "$got" "merged.avro " "${2:-$1}: repart's files of the day"
}

assert_exact() {
    "$PY" "$CHECK" day "$S3_ENDPOINT" out consolidated/ index/ "$1" "$(mirror_src "$1")" \
        >"$TEST_TMP/check.json" || check_fail "${2:-$1}: the day does not hold exactly its sources' records: $(cat "$TEST_TMP/check.json")"
}

out_ls() { bucket_ls out; }

wait_for() {   # as await (lib.sh), but a failure is counted, not fatal
    local desc=$1 secs=$2
    shift 2
    poll "$secs" "$@" || check_fail "waited ${secs}s for: $desc"
}

index_url() { echo "$S3_ENDPOINT/out/index/$(day_part "$1")/timeseries.txt"; }
