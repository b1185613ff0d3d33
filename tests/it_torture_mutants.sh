#!/usr/bin/env bash
# The torture explorer is strong enough to find real bugs: every mutant in
# tests/torture/mutants/ (a deliberately broken repart, built in a scratch
# copy of the sources, never in the tree) must be caught by scripts/torture
# with the mutant's own arguments, and the unmutated scratch build must pass
# the same runs (scripts/torture-mutants; docs/testing.md).
#
# Runs only for the plain build: under the sanitizer (or fuzz) build it would
# only repeat the plain pass with a slower binary, and the scratch build is
# a plain one anyway. On failure the harness's logs and the explorer's
# findings are copied to $REPART_BUILD_DIR/torture-mutants-failed/.
. "$(dirname "$0")/lib.sh"

cache="$REPART_BUILD_DIR/CMakeCache.txt"
case "$(basename "$REPART_BUILD_DIR")" in *asan*|*sanit*|*fuzz*) san=1 ;; *) san=0 ;; esac
if [ "$san" = 1 ] || grep -qs '^REPART_SANITIZE:BOOL=ON' "$cache" || grep -qs '^REPART_FUZZ:BOOL=ON' "$cache"; then
    echo "it_torture_mutants: SKIP in the sanitizer/fuzz build ($REPART_BUILD_DIR): runs with the plain build"
    exit 0
fi
if [ ! -x "$REPART_SRC_DIR/scripts/torture" ]; then
    echo "it_torture_mutants: SKIP (no scripts/torture yet)"
    exit 0
fi

scratch="$TEST_TMP/mutants"
rc=0
"$REPART_SRC_DIR/scripts/torture-mutants" --scratch "$scratch" --jobs "$(nproc 2>/dev/null || echo 2)" \
    >"$TEST_TMP/mutants.out" 2>&1 || rc=$?
cat "$TEST_TMP/mutants.out"
if [ "$rc" -ne 0 ]; then
    keep="$REPART_BUILD_DIR/torture-mutants-failed"
    rm -rf "$keep"
    mkdir -p "$keep"
    cp "$TEST_TMP/mutants.out" "$scratch"/*.log "$keep/" 2>/dev/null || true
    [ -d "$scratch/out" ] && cp -r "$scratch/out" "$keep/" 2>/dev/null || true
    for f in "$scratch"/*.log; do
        [ -f "$f" ] || continue
        echo "--- last lines of $(basename "$f")" >&2
        tail -n 15 "$f" >&2
    done
    fail "scripts/torture-mutants exited $rc (logs kept in $keep)"
fi
assert_contains "$(cat "$TEST_TMP/mutants.out")" "all caught" "harness summary"
echo "it_torture_mutants: ok"
