#!/usr/bin/env bash
# Short libFuzzer runs of every tests/fuzz/fuzz_*.c target (a smoke test, not
# a fuzzing campaign): builds them with clang and -DREPART_FUZZ=ON in a
# separate build directory, then runs each for FUZZ_SECONDS (default 3).
# Seeds per target: tests/fuzz/corpus/<target>/ and the directories listed,
# one per line relative to the repo, in tests/fuzz/<target>.seeds. Inputs
# the fuzzer finds go to a temp dir, never into the repo. A crash, leak or
# sanitizer report fails the test and leaves the reproducer in
# $REPART_BUILD_DIR/fuzz-artifacts/. Skipped (exit 0) without clang/libFuzzer.
#   FUZZ_SECONDS=60 tests/it_fuzz_short.sh     # longer run
#   FUZZ_TARGETS="fuzz_ocf" tests/it_fuzz_short.sh
set -euo pipefail
S=${REPART_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
B=${REPART_BUILD_DIR:-$S/build}
SECS=${FUZZ_SECONDS:-3}
FB=${REPART_FUZZ_BUILD_DIR:-$B/fuzz-build}
ART="$B/fuzz-artifacts"
# The fuzzers always run under ASan+UBSan: the sanitizer pass of scripts/test
# would only repeat the plain pass.
if [ -z "${FUZZ_FORCE:-}" ] && grep -qs '^REPART_SANITIZE:BOOL=ON' "$B/CMakeCache.txt"; then
  echo "it_fuzz_short: SKIP in the sanitizer build (fuzzers are sanitized anyway; FUZZ_FORCE=1 runs them)"
  exit 0
fi
if ! command -v clang >/dev/null 2>&1; then
  echo "it_fuzz_short: SKIP (no clang)"; exit 0
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' \
     | clang -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then
  echo "it_fuzz_short: SKIP (clang cannot link libFuzzer: install libclang-rt-14-dev)"; exit 0
fi
targets=${FUZZ_TARGETS:-$(cd "$S/tests/fuzz" && ls fuzz_*.c 2>/dev/null | sed 's/\.c$//')}
[ -n "$targets" ] || { echo "it_fuzz_short: no targets"; exit 0; }
CC=clang cmake -S "$S" -B "$FB" -DREPART_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# shellcheck disable=SC2086
cmake --build "$FB" -j"$(nproc)" --target $targets >"$FB/build.log" 2>&1 \
  || { tail -30 "$FB/build.log"; echo "it_fuzz_short: build failed"; exit 1; }
T=$(mktemp -d /tmp/repart-it-fuzz.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$ART"
fail=0
for t in $targets; do
  seeds=()
  [ -d "$S/tests/fuzz/corpus/$t" ] && seeds+=("$S/tests/fuzz/corpus/$t")
  if [ -f "$S/tests/fuzz/$t.seeds" ]; then
    while IFS= read -r d; do
      [ -n "$d" ] && [ -d "$S/$d" ] && seeds+=("$S/$d")
    done <"$S/tests/fuzz/$t.seeds"
  fi
  mkdir -p "$T/$t"
  # -max_total_time bounds the run; -timeout flags an input slower than 10 s
  if "$FB/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$ART/$t-" "$T/$t" "${seeds[@]+"${seeds[@]}"}" >"$T/$t.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$t.log")
    echo "it_fuzz_short: $t ok (${runs:-?} runs in ${SECS}s, ${#seeds[@]} seed dir(s))"
  else
    echo "it_fuzz_short: $t FAILED; log tail:"
    tail -40 "$T/$t.log"
    fail=1
  fi
done
exit "$fail"
