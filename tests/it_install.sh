#!/usr/bin/env bash
# Installing repart like a Debian tool:
#  1. `cmake --install` puts the binary, repart(1) and bash completion in
#     place; the man page holds every command's --help text, the completion
#     completes commands and a command's options;
#  2. CPack builds a .deb whose Depends name the package of every library the
#     binary links; unpacked (dpkg -x), its repart runs --version and a
#     `plan` against the local S3 server;
#  3. dpkg -i installs it into a root of its own with this machine's package
#     database (Depends checked), it runs, dpkg -r removes it; without a
#     package it depends on, dpkg -i refuses.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

# 1. cmake --install into a prefix
INST="$TEST_TMP/inst"
cmake --install "$REPART_BUILD_DIR" --prefix "$INST" >/dev/null
[ -x "$INST/bin/repart" ] || fail "no bin/repart installed"
MAN="$INST/share/man/man1/repart.1"
[ -s "$MAN" ] || fail "no man page installed"
# groff source back to plain text: every command's help is in it
plain=$(sed -e 's/\\-/-/g; s/\\e/\\/g; s/\\&//g' "$MAN")
for c in plan download merge upload all event watch status verify athena; do
    first=$("$INST/bin/repart" "$c" --help | head -1)
    assert_contains "$plain" "$first" "man page: usage of $c"
    assert_contains "$plain" ".SS $c" "man page: section of $c"
done
assert_contains "$plain" "$("$INST/bin/repart" --help | grep -m1 'Exit status')" "man page: exit status"
COMP="$INST/share/bash-completion/completions/repart"
[ -s "$COMP" ] || fail "no bash completion installed"
complete_words() {  # words...: what completing the last word offers
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _repart; echo "${COMPREPLY[*]}"' \
        _ "$COMP" "$@"
}
assert_eq "$(complete_words repart ver)" "verify" "completion of a command"
assert_eq "$(complete_words repart -c x.yml all --rep)" "--report" "completion of an option"
assert_eq "$(complete_words repart --log-format j)" "json" "completion of --log-format"

# 2. the .deb
PKG="$TEST_TMP/pkg"
mkdir -p "$PKG"
(cd "$PKG" && cpack --config "$REPART_BUILD_DIR/CPackConfig.cmake" -B "$PKG" >"$PKG/cpack.log" 2>&1) \
    || { cat "$PKG/cpack.log" >&2; fail "cpack"; }
DEB=$(ls "$PKG"/repart_*.deb)
depends=$(dpkg-deb -f "$DEB" Depends)
note "Depends: $depends"
# the package of each library the binary needs directly
for so in $(objdump -p "$REPART_BUILD_DIR/repart" | awk '$1 == "NEEDED" {print $2}'); do
    path=$(ldd "$REPART_BUILD_DIR/repart" | awk -v s="$so" '$1 == s {print $3}')
    [ -n "$path" ] || fail "ldd does not resolve $so"
    pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(realpath "$path")" 2>/dev/null \
          || dpkg -S "/usr$path" 2>/dev/null || true)
    pkg=${pkg%%:*}
    [ -n "$pkg" ] || fail "no package owns $path ($so)"
    case ", $depends" in *", $pkg"*) ;; *) fail "Depends lacks $pkg (for $so): $depends" ;; esac
done
ROOT="$TEST_TMP/root"
dpkg -x "$DEB" "$ROOT"
[ -s "$ROOT/usr/share/man/man1/repart.1" ] || fail "the .deb has no man page"
[ -s "$ROOT/usr/share/bash-completion/completions/repart" ] || fail "the .deb has no completion"
out=$("$ROOT/usr/bin/repart" --version)
assert_contains "$out" "repart " "--version from the .deb"
repart_setup cold out
gen "$TEST_TMP/gen" --from 2023-12-01 --to 2023-12-01 --series 3 --records-per-file 10 --seed 51 >/dev/null
put_tree "$TEST_TMP/gen" cold
write_config "$TEST_TMP/c.yml"
REPART="$ROOT/usr/bin/repart" run_repart -c "$TEST_TMP/c.yml" plan --days 2023-12-01
assert_eq "$RC" 0 "plan from the .deb ($ERR)"
assert_contains "$OUT" "2023-12-01" "plan names the day"

# 3. dpkg -i, into a root of its own (the test machine's packages are not
# touched) whose package database is a copy of this machine's: dpkg checks
# the Depends against what is installed, installs, the binary runs, and
# dpkg -r removes every file. Without one of the Depends, dpkg refuses.
dpkg_root() {  # dpkg_root DIR [STATUS-FILE]: an empty root with a package database
    mkdir -p "$1/var/lib/dpkg/info" "$1/var/lib/dpkg/updates" "$1/var/lib/dpkg/triggers"
    cp "${2:-/var/lib/dpkg/status}" "$1/var/lib/dpkg/status"
    touch "$1/var/lib/dpkg/available"
}
DR="$TEST_TMP/dpkgroot"
dpkg_root "$DR"
dpkg --root="$DR" --force-not-root --log=/dev/null -i "$DEB" >"$TEST_TMP/dpkg.log" 2>&1 \
    || { tail -20 "$TEST_TMP/dpkg.log" >&2; fail "dpkg -i of the .deb"; }
assert_contains "$(dpkg --root="$DR" -s repart 2>/dev/null)" "Status: install ok installed" "dpkg status"
assert_contains "$("$DR/usr/bin/repart" --version)" "repart " "--version of the installed package"
dpkg --root="$DR" --force-not-root --log=/dev/null -r repart >>"$TEST_TMP/dpkg.log" 2>&1 \
    || fail "dpkg -r repart"
[ ! -e "$DR/usr/bin/repart" ] || fail "dpkg -r left usr/bin/repart"
first=$(printf '%s\n' "$depends" | sed 's/,.*//; s/ .*//')
"$PY" - "$first" /var/lib/dpkg/status "$TEST_TMP/status.less" <<'PYEOF'
import sys
pkg, src, dst = sys.argv[1:]
stanzas = open(src, encoding="utf-8", errors="surrogateescape").read().split("\n\n")
keep = [s for s in stanzas if not any(l == "Package: " + pkg for l in s.splitlines())]
assert len(keep) < len(stanzas), "no stanza for " + pkg
open(dst, "w", encoding="utf-8", errors="surrogateescape").write("\n\n".join(keep))
PYEOF
DR2="$TEST_TMP/dpkgroot2"
dpkg_root "$DR2" "$TEST_TMP/status.less"
if dpkg --root="$DR2" --force-not-root --log=/dev/null -i "$DEB" >"$TEST_TMP/dpkg2.log" 2>&1; then
    fail "dpkg -i went ahead without $first installed"
fi
assert_contains "$(cat "$TEST_TMP/dpkg2.log")" "$first" "dpkg names the missing dependency"
note "it_install: all checks passed"
