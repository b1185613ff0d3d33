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
