#!/usr/bin/env bash
# The source folders are layers (CMakeLists.txt: src/util < src/aws,
# src/avro < src/repart < src/cli), each a static library that sees only its
# own headers and those below it. With each layer's real compile command
# (compile_commands.json), a file that includes a header of its own layer or
# a lower one compiles, and one that includes a header of a higher layer
# does not: an upward include fails the build.
. "$(dirname "$0")/lib.sh"

CC_JSON="$REPART_BUILD_DIR/compile_commands.json"
[ -f "$CC_JSON" ] || fail "no $CC_JSON (CMAKE_EXPORT_COMPILE_COMMANDS)"
PY=/usr/bin/python3

# compiles PROBE with the command CMake uses for a source of LAYER; 0 if it compiles
compile_as() {  # layer probe
    "$PY" - "$CC_JSON" "$REPART_SRC_DIR/src/$1/" "$2" <<'PY'
import json, shlex, subprocess, sys
cmds, layer_dir, probe = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
for c in cmds:
    if c["file"].startswith(layer_dir):
        args = c.get("arguments") or shlex.split(c["command"])
        out = []
        skip = False
        for a in args:
            if skip:
                skip = False
                continue
            if a in ("-o", "-c", "-MF", "-MT", "-MD"):
                skip = a in ("-o", "-MF", "-MT")
                continue
            if a == c["file"] or a.endswith(".c"):
                continue
            out.append(a)
        sys.exit(subprocess.run(out + ["-fsyntax-only", probe], cwd=c["directory"],
                                stderr=subprocess.DEVNULL).returncode)
sys.exit(2)
PY
}

probe() {  # header -> a probe file that includes it
    printf '#include "%s"\nint probe_%s;\n' "$1" "${1%.h}" >"$TEST_TMP/probe.c"
    echo "$TEST_TMP/probe.c"
}

# own layer and lower ones: compile
for pair in util:hex.h aws:s3.h aws:hex.h avro:merge.h avro:err.h repart:dayfile.h repart:s3.h \
            repart:merge.h cli:cmd.h cli:pipeline.h; do
    compile_as "${pair%%:*}" "$(probe "${pair#*:}")" || fail "${pair%%:*} cannot include ${pair#*:}"
done
# upward (and sideways between aws and avro): do not
for pair in util:s3.h util:merge.h util:config.h util:cli.h aws:merge.h aws:config.h aws:dayfile.h \
            aws:runtime.h avro:s3.h avro:index.h avro:cmd.h repart:cli.h repart:runtime.h; do
    rc=0
    compile_as "${pair%%:*}" "$(probe "${pair#*:}")" || rc=$?
    [ "$rc" = 1 ] || fail "${pair%%:*} including ${pair#*:}: compile status $rc, expected a failure (1)"
done
note "it_layers: upward includes do not compile"

# No include cycle between modules (a module: foo.c and foo.h): the graph of
# quoted includes of src/ has no cycle. The probe below proves the check can
# fail: a copy of the tree with one include added upward has a cycle.
cycles() {  # src-dir -> prints each cycle found, one per line
    "$PY" - "$1" <<'PY'
import glob, os, re, sys
root = sys.argv[1]
hdr = {os.path.basename(f) for f in glob.glob(os.path.join(root, "**", "*.h"), recursive=True)}
deps = {}
for f in glob.glob(os.path.join(root, "**", "*.[ch]"), recursive=True):
    m = os.path.splitext(os.path.basename(f))[0]
    inc = re.findall(r'#include "([^"]+)"', open(f, errors="replace").read())
    deps.setdefault(m, set()).update(os.path.splitext(h)[0] for h in inc if h in hdr)
    deps[m].discard(m)
state, found = {}, []
def visit(u, stack):
    state[u] = 1
    stack.append(u)
    for v in sorted(deps.get(u, ())):
        if state.get(v) == 1:
            found.append(" -> ".join(stack[stack.index(v):] + [v]))
        elif v not in state:
            visit(v, stack)
    stack.pop()
    state[u] = 2
for u in sorted(deps):
    if u not in state:
        visit(u, [])
print("\n".join(found))
PY
}
found=$(cycles "$REPART_SRC_DIR/src")
[ -z "$found" ] || fail "include cycles in src/: $found"
mkdir -p "$TEST_TMP/cyc" && cp -r "$REPART_SRC_DIR/src/." "$TEST_TMP/cyc/"
printf '#include "creds.h"\n' >>"$TEST_TMP/cyc/aws/creds_types.h"
found=$(cycles "$TEST_TMP/cyc")
assert_contains "$found" "creds" "the cycle check finds an added cycle"
note "it_layers: no include cycle between modules"

# One HTTP engine: only src/aws/awsreq.c performs transfers (issue 16)
performers=$(cd "$REPART_SRC_DIR" && grep -rl 'curl_easy_perform\|curl_multi_perform' src | sort)
assert_eq "$performers" "src/aws/awsreq.c" "files that perform HTTP transfers"
# No function in src/ longer than 100 lines (issue 16); the lister finds a long one
long=$("$PY" "$REPART_SRC_DIR/scripts/long-functions")
assert_eq "$long" "" "functions of src/ over 100 lines"
mkdir -p "$TEST_TMP/lf/scripts" "$TEST_TMP/lf/src/x"
cp "$REPART_SRC_DIR/scripts/long-functions" "$TEST_TMP/lf/scripts/"
{ printf 'static int f(void)\n{\n'; for i in $(seq 1 101); do printf '    (void)%d;\n' "$i"; done
  printf '    return 0;\n}\n'; } >"$TEST_TMP/lf/src/x/f.c"
assert_contains "$("$PY" "$TEST_TMP/lf/scripts/long-functions")" "src/x/f.c:2 f" "the lister finds a long function"
note "it_layers: one file performs HTTP transfers; no function over 100 lines"
