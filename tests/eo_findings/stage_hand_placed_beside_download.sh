#!/usr/bin/env bash
# Finding (issue 11, class 9, minor): an .avro file put by hand into
# <work_dir>/raw/<YYYY-M-D>/ beside what `repart download` staged is left
# out by `merge` without a word (exit 0); a folder of hand-placed files
# alone is refused with "run `repart download`".
# Not run by ctest. Exit 1 while it reproduces, 0 once fixed.
#   bash tests/eo_findings/stage_hand_placed_beside_download.sh
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_repart.sh"
. "$(dirname "$0")/../lib_eo.sh"
EO_KEEP_GOING=1
eo_setup
D=2023-07-03
eo_gen $D 3 20 93
eo_arrive $D
run_repart -c "$CFG" download --days $D
assert_eq "$RC" 0 "download ($ERR)"
src=$(cd "$G" && find "raw/$(day_part $D)" -name 'raw_*.avro' | sort | head -1)
"$PY" "$EO" mkfile "$TEST_TMP/hand" "x/raw_handplaced-series_1688400000_GOOD.avro" 9 1
cp "$TEST_TMP/hand/x/raw_handplaced-series_1688400000_GOOD.avro" "$TEST_TMP/work/raw/2023-7-3/"
run_repart -c "$CFG" merge --days $D
note "merge exit $RC: $(tail -1 <<<"$ERR")"
[ "$RC" -ne 0 ] || grep -q handplaced <<<"$OUT$ERR" \
    || check_fail "merge left the hand-placed file out without a word (exit 0)"
eo_done stage_hand_placed_beside_download
