#!/usr/bin/env bash
# The progress line: on a terminal (a tmux pane) a run shows a percentage, an
# ETA and the days done; Ctrl-C there stops it gracefully (exit 130). The same
# run with stdout and stderr piped shows no control characters at all, and -q
# shows only warnings and errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"
command -v tmux >/dev/null || fail "tmux is not installed (scripts/setup installs it)"

repart_setup cold out
G="$TEST_TMP/gen"
gen "$G" --from 2023-11-01 --to 2023-11-02 --series 20 --records-per-file 40 --seed 41 >/dev/null
put_tree "$G" cold
CFG="$TEST_TMP/config.yml"
write_config "$CFG" "locking: off"

# 1. a terminal: held halfway through the first day's merge
SOCK="$TEST_TMP/tmux.sock"
SOCK2="$TEST_TMP/tmux2.sock"
on_exit "tmux -S '$SOCK' kill-server 2>/dev/null; tmux -S '$SOCK2' kill-server 2>/dev/null"
READY="$TEST_TMP/ready"
tmux -S "$SOCK" new-session -d -x 160 -y 40 \
    "REPART_TEST_READY_AT=mid_merge:$READY '$REPART' -c '$CFG' all --days 2023-11-01; echo \$? >'$TEST_TMP/rc'; sleep 600"
await "the run halfway through its merge" 60 test -e "$READY"
pane() { tmux -S "$SOCK" capture-pane -p -t 0; }
shows_progress() { pane | grep -Eq '[0-9]+% \| ETA [0-9hms]+ \| days 0/1 \| objects [0-9]+/[0-9]+'; }
await "a progress line with % and ETA" 10 shows_progress
note "terminal: $(pane | grep -E '% \| ETA' | tail -1)"
tmux -S "$SOCK" send-keys -t 0 C-c
await "the run to end after Ctrl-C" 60 test -s "$TEST_TMP/rc"
assert_eq "$(cat "$TEST_TMP/rc")" 130 "exit after Ctrl-C on the terminal"
assert_contains "$(pane)" "stopped by SIGINT" "the stop on the terminal"

# 2. piped: no carriage return, no escape sequence, on either stream
run_repart -c "$CFG" all --from 2023-11-01 --to 2023-11-02
assert_eq "$RC" 0 "piped run ($ERR)"
if LC_ALL=C grep -q $'[\r\x1b]' "$TEST_TMP/out" "$TEST_TMP/err"; then
    fail "control characters in piped output: $(LC_ALL=C grep -c $'[\r\x1b]' "$TEST_TMP/out" "$TEST_TMP/err")"
fi
assert_contains "$OUT" "2 day(s): 2 done" "summary line"

# 3. -q on a terminal: no progress line, no info lines
gen "$G" --from 2023-11-03 --to 2023-11-03 --series 20 --records-per-file 40 --seed 42 >/dev/null
put_tree "$G" cold
rm -f "$READY" "$TEST_TMP/rc"
# A server of its own: kill-server returns before the old server has gone, and
# a new session on its socket can reach the dying server ("server exited
# unexpectedly", seen in CI).
tmux -S "$SOCK" kill-server 2>/dev/null || true
SOCK="$SOCK2"
tmux -S "$SOCK" new-session -d -x 160 -y 40 \
    "REPART_TEST_READY_AT=mid_merge:$READY '$REPART' -q -c '$CFG' all --days 2023-11-03; echo \$? >'$TEST_TMP/rc'; sleep 600"
await "the quiet run halfway through its merge" 60 test -e "$READY"
pane | grep -q 'ETA' && fail "-q drew a progress line: $(pane)"
tmux -S "$SOCK" send-keys -t 0 C-c
await "the quiet run to end" 60 test -s "$TEST_TMP/rc"
assert_eq "$(cat "$TEST_TMP/rc")" 130 "exit of the quiet run after Ctrl-C"
note "it_progress: all checks passed"
