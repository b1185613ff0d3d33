#!/usr/bin/python3
"""Checks of the deployment files (deploy/) and the docs against the binary.

  deploy_check.py commands SRC_DIR REPART
      Every `repart ...` command line in deploy/ (JSON and YAML fields that
      hold a command: Batch/ECS `command`, Kubernetes `command`/`args`,
      `sh -c` scripts) and in the docs (README.md, docs/*.md: fenced code
      blocks and inline code) uses only commands and options that
      `REPART --help` and `REPART COMMAND --help` list, with values of the
      right shape (--shard I/N or auto/N, dates, queue URLs). Synopses
      (`repart event [FILE|-]`, `repart ... event -`) are skipped.
  deploy_check.py dockerfile SRC_DIR REPART
      deploy/Dockerfile: two stages (debian:12 build, debian:12-slim
      runtime), a non-root USER, ENTRYPOINT ["repart"]; every library the
      binary needs (readelf NEEDED) belongs to a package the runtime stage
      installs (dpkg -S), every library ldd resolves to a package that apt
      installs with them (their Depends closure); every pkg-config
      module CMakeLists.txt asks for comes from a -dev package of the build
      stage.
  deploy_check.py consistency SRC_DIR REPART
      deploy/batch, deploy/k8s, deploy/iam agree: array size = N of
      --shard auto/N, completions = N, job parameters exist, configs embedded
      in ConfigMaps load in repart, IAM statements name the buckets and
      prefixes of those configs with the actions each mode needs.
Exit 0 when everything checks out, 1 otherwise (each problem on stderr).
"""
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

PROBLEMS = []


def problem(where, msg):
    PROBLEMS.append("%s: %s" % (where, msg))


# ------------------------------------------------------------------ help --

class Help:
    """What the binary's help lists."""

    def __init__(self, repart):
        self.repart = repart
        top = self.run("--help")
        self.commands = {}
        self.global_opts = {}
        section = None
        for line in top.splitlines():
            if line.startswith("Commands:"):
                section = "cmd"
                continue
            if line.startswith("Global options"):
                section = "glob"
                continue
            if not line.strip():
                if section == "cmd":
                    section = None
                continue
            if section == "cmd":
                m = re.match(r"^  ([a-z]+)\s", line)
                if m:
                    self.commands[m.group(1)] = None
            elif section == "glob":
                self.parse_opt(line, self.global_opts)
        if len(self.commands) < 5 or "--config" not in self.global_opts:
            raise SystemExit("could not parse `repart --help`:\n" + top)
        for c in list(self.commands):
            text = self.run(c, "--help")
            opts = {}
            usage = ""
            in_opts = False
            for line in text.splitlines():
                if line.startswith("Usage:"):
                    usage = line
                elif line.startswith("Options:"):
                    in_opts = True
                elif in_opts and not line.strip():
                    in_opts = False
                elif in_opts:
                    self.parse_opt(line, opts)
            rest = usage.split(" %s" % c, 1)[-1]
            rest = re.sub(r"\[-[^\]]*\]", " ", rest)          # [--opt ...] groups
            rest = re.sub(r"--?[a-z][a-z-]*(?: [A-Z][^\s]*)?", " ", rest)   # --opt VALUE
            positional = len(rest.split())
            self.commands[c] = {"opts": opts, "positional": positional}

    def run(self, *args):
        return subprocess.run([self.repart] + list(args), check=True, capture_output=True,
                              text=True).stdout

    @staticmethod
    def parse_opt(line, into):
        # "  -c, --config FILE    text" / "      --from D    text"
        m = re.match(r"^\s{2,}(?:(-[A-Za-z]),\s+)?(--[a-z][a-z-]*)(?: ([^\s]+))?(?:\s{2,}|$)", line)
        if not m:
            return
        takes = m.group(3) is not None
        into[m.group(2)] = takes
        if m.group(1):
            into[m.group(1)] = takes


# ------------------------------------------------------------ command check --

PLACEHOLDER = re.compile(r"(\$|Ref::|<|\{\{)")
SYNOPSIS = re.compile(r"(\.\.\.|\[|\]|<[A-Z]|…)")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def value_ok(opt, val):
    if PLACEHOLDER.search(val):
        return True
    if opt == "--shard":
        m = re.match(r"^(auto|\d+)/(\d+)$", val)
        return bool(m) and int(m.group(2)) >= 1 and (m.group(1) == "auto" or int(m.group(1)) < int(m.group(2)))
    if opt in ("--from", "--to"):   # a date, or relative: today, today-N (cli.c)
        return bool(DATE.match(val)) or bool(re.match(r"^today(-\d{1,5})?$", val))
    if opt == "--days":
        return all(DATE.match(d.strip()) for d in val.split(","))
    if opt == "--queue":
        return val.startswith("https://") or val.startswith("http://")
    if opt == "--log-format":
        return val in ("text", "json")
    return True


class Checker:
    def __init__(self, helpx):
        self.h = helpx
        self.checked = 0
        self.skipped = 0
        self.seen = []

    def check_argv(self, where, argv, strict=True):
        """argv: what follows `repart`. strict: also the options a command
        requires (not for prose that only names a command)."""
        if any(SYNOPSIS.search(a) for a in argv) or not argv:
            self.skipped += 1
            return
        self.checked += 1
        self.seen.append((where, argv))
        h = self.h
        i = 0
        while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
            opt, _, inline = argv[i].partition("=")
            if opt not in h.global_opts:
                problem(where, "repart %s: unknown global option %s" % (" ".join(argv), opt))
                return
            if h.global_opts[opt] and not inline:
                i += 1
                if i >= len(argv):
                    problem(where, "repart %s: %s needs a value" % (" ".join(argv), opt))
                    return
                if not value_ok(opt, argv[i]):
                    problem(where, "repart %s: bad value %s for %s" % (" ".join(argv), argv[i], opt))
            i += 1
        if i >= len(argv):
            if not any(a in ("--help", "-h", "--version") for a in argv):
                problem(where, "repart %s: no command" % " ".join(argv))
            return
        cmd = argv[i]
        if cmd not in h.commands:
            problem(where, "repart %s: unknown command %s" % (" ".join(argv), cmd))
            return
        spec = h.commands[cmd]
        allowed = dict(h.global_opts)
        allowed.update(spec["opts"])
        given = set()
        positional = 0
        i += 1
        while i < len(argv):
            a = argv[i]
            if a.startswith("-") and a != "-":
                opt, eq, inline = a.partition("=")
                if opt not in allowed:
                    problem(where, "repart %s: %s does not take %s (not in `repart %s --help`)"
                            % (" ".join(argv), cmd, opt, cmd))
                    return
                given.add(opt)
                if allowed[opt]:
                    if eq:
                        val = inline
                    else:
                        i += 1
                        if i >= len(argv):
                            problem(where, "repart %s: %s needs a value" % (" ".join(argv), opt))
                            return
                        val = argv[i]
                    if not value_ok(opt, val):
                        problem(where, "repart %s: bad value %r for %s" % (" ".join(argv), val, opt))
                elif eq:
                    problem(where, "repart %s: %s takes no value" % (" ".join(argv), opt))
            else:
                positional += 1
            i += 1
        if positional > spec["positional"]:
            problem(where, "repart %s: %s takes %d argument(s), got %d"
                    % (" ".join(argv), cmd, spec["positional"], positional))
        if ("--from" in given) != ("--to" in given):
            problem(where, "repart %s: --from and --to go together" % " ".join(argv))
        if strict and "--queue" in spec["opts"] and "--queue" not in given and "--help" not in given:
            problem(where, "repart %s: %s needs --queue" % (" ".join(argv), cmd))

    # Text: shell lines, `sh -c` scripts, inline code.
    INVOKE = re.compile(r"(?:^|[;&|(]\s*|\bexec\s+|^\s*\$\s+)(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*"
                        r"(?:[^\s;&|()`'\"]*/)?repart(?=\s|$)")

    @staticmethod
    def cut(segment):
        """The segment up to the first unquoted shell separator or comment."""
        q = None
        for i, ch in enumerate(segment):
            if q:
                if ch == q:
                    q = None
                continue
            if ch in "'\"":
                q = ch
            elif ch in ";|&)`<>" or (ch == "#" and (i == 0 or segment[i - 1].isspace())):
                return segment[:i]
        return segment

    def check_text(self, where, text, strict=True):
        for m in self.INVOKE.finditer(text):
            seg = self.cut(text[m.end():])
            try:
                argv = shlex.split(seg)
            except ValueError:
                self.skipped += 1
                continue
            self.check_argv(where, argv, strict)

    def check_container(self, where, command, args, entrypoint_repart, after_entrypoint=False):
        """A container's command line: `command` (may be None) and `args`.
        after_entrypoint: `command` is appended to the image's ENTRYPOINT
        (AWS Batch, ECS without entryPoint), as Kubernetes `args` are."""
        command = list(command or [])
        args = list(args or [])
        if after_entrypoint and entrypoint_repart and command and \
                os.path.basename(command[0]) == "repart":
            problem(where, "command starts with repart, but the image's ENTRYPOINT is repart: it "
                    "runs `repart repart ...` (unknown command, exit 2)")
            self.check_argv(where, command[1:] + args)
        elif command and os.path.basename(command[0]) == "repart":
            self.check_argv(where, command[1:] + args)
        elif command and os.path.basename(command[0]) in ("sh", "bash") and "-c" in command:
            k = command.index("-c")
            if k + 1 < len(command):
                self.check_text(where, command[k + 1])
        elif not command and entrypoint_repart:
            self.check_argv(where, args)
        elif command and entrypoint_repart:
            self.check_argv(where, command + args)


def check_json(ck, path, doc):
    def walk(node, where):
        if isinstance(node, dict):
            if "containerDefinitions" in node:   # ECS task definition
                for cd in node["containerDefinitions"]:
                    ep = cd.get("entryPoint") or []
                    is_repart = bool(ep) and os.path.basename(ep[0]) == "repart"
                    if is_repart:
                        ck.check_argv(where + ":" + cd.get("name", "?"), ep[1:] + cd.get("command", []))
                    else:
                        ck.check_container(where + ":" + cd.get("name", "?"), cd.get("command"), [],
                                           not ep, after_entrypoint=not ep)
                    if (cd.get("command") and ep and not is_repart
                            and os.path.basename(ep[0]) not in ("sh", "bash")):
                        problem(where, "ECS entryPoint %s is not repart or a shell" % ep)
            for key in ("containerProperties", "containerOverrides"):   # Batch
                cp = node.get(key)
                if isinstance(cp, dict) and "command" in cp:
                    cmd = cp["command"]
                    if cmd and os.path.basename(cmd[0]) in ("sh", "bash"):
                        # With the image's ENTRYPOINT ["repart"] Batch would run `repart sh -c ...`:
                        # AWS Batch has no entryPoint override.
                        print("WARNING: %s: %s.command starts with %s, but the image's ENTRYPOINT is "
                              "repart (Batch cannot override it): it would run `repart %s ...`"
                              % (where, key, cmd[0], cmd[0]), file=sys.stderr)
                    ck.check_container(where + ":" + key, cmd, [], True, after_entrypoint=True)
            for k, v in node.items():
                if k in ("containerDefinitions", "containerProperties", "containerOverrides"):
                    continue
                walk(v, where)
        elif isinstance(node, list):
            if node and all(isinstance(x, str) for x in node) and \
                    re.match(r"^(?:repart|(?:/|\./|build/)\S*/repart)$", node[0]):
                ck.check_argv(where, node[1:])
            else:
                for x in node:
                    walk(x, where)
        elif isinstance(node, str) and "repart" in node:
            ck.check_text(where, node)
    walk(doc, path)


def check_yaml(ck, path, docs):
    def walk(node):
        if isinstance(node, dict):
            if "containers" in node and isinstance(node["containers"], list):
                for c in node["containers"]:
                    ck.check_container("%s:%s" % (path, c.get("name", "?")), c.get("command"),
                                       c.get("args"), True)
            for k, v in node.items():
                if k != "containers":
                    walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)
    for d in docs:
        walk(d)


FENCE = re.compile(r"^(\s*)(```|~~~)\s*([A-Za-z0-9_+-]*)")


def check_markdown(ck, path, text):
    lines = text.split("\n")
    out_of_fence = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            out_of_fence.append(lines[i])
            i += 1
            continue
        lang = m.group(3).lower()
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(m.group(2)):
            body.append(lines[i])
            i += 1
        i += 1
        if lang in ("json", "yaml", "yml", "sql", "text", "avro", "diff", "c"):
            continue
        # join continuation lines
        joined, cur = [], ""
        for b in body:
            if b.rstrip().endswith("\\"):
                cur += b.rstrip()[:-1] + " "
            else:
                joined.append(cur + b)
                cur = ""
        if cur:
            joined.append(cur)
        for n, line in enumerate(joined):
            ck.check_text("%s (code block)" % path, line)
        out_of_fence.append("")
    prose = "\n".join(out_of_fence)
    for m in re.finditer(r"`([^`]+)`", prose, re.S):
        code = " ".join(m.group(1).split())
        if re.match(r"^(?:\S*/)?repart(\s|$)", code):
            ck.check_text("%s (inline)" % path, code, strict=False)


def cmd_commands(src, repart):
    h = Help(repart)
    ck = Checker(h)
    for f in sorted(glob.glob(os.path.join(src, "deploy", "**", "*.json"), recursive=True)):
        with open(f) as fh:
            check_json(ck, os.path.relpath(f, src), json.load(fh))
    for f in sorted(glob.glob(os.path.join(src, "deploy", "**", "*.y*ml"), recursive=True)):
        with open(f) as fh:
            check_yaml(ck, os.path.relpath(f, src), list(yaml.safe_load_all(fh)))
    docs = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md"))) \
        + sorted(glob.glob(os.path.join(src, "deploy", "**", "*.md"), recursive=True))
    for f in docs:
        with open(f) as fh:
            check_markdown(ck, os.path.relpath(f, src), fh.read())
    # Dockerfile: ENTRYPOINT + CMD
    df = os.path.join(src, "deploy", "Dockerfile")
    if os.path.exists(df):
        cmd = [l for l in open(df) if l.startswith("CMD ")]
        if cmd:
            ck.check_argv("deploy/Dockerfile CMD", json.loads(cmd[-1][4:]))
    print("command lines checked: %d (synopses skipped: %d)" % (ck.checked, ck.skipped))
    # every command of the binary appears at least once in the docs/deploy
    used = {a[i] for _, a in ck.seen for i in range(len(a)) if a[i] in h.commands}
    for c in ("all", "watch", "status", "verify", "athena"):
        if c not in used:
            problem("docs/deploy", "no example of `repart %s`" % c)
    if ck.checked < 20:
        problem("docs/deploy", "only %d command lines found: the extraction is broken" % ck.checked)


# -------------------------------------------------------------- dockerfile --

def run(*args):
    return subprocess.run(list(args), check=True, capture_output=True, text=True).stdout


def apt_list(instr):
    """Packages of an `apt-get install` in a RUN instruction."""
    m = re.search(r"apt-get install((?:\s+-\S+)*)\s+(.*?)(?:&&|$)", instr, re.S)
    if not m:
        return []
    return [t for t in m.group(2).split() if not t.startswith("-")]


def dpkg_search(patterns):
    out = subprocess.run(["dpkg", "-S"] + sorted(set(patterns)), capture_output=True,
                         text=True).stdout
    owner = {}
    for line in out.splitlines():
        pkgs, _, path = line.partition(": ")
        if path:
            owner.setdefault(path.strip(), pkgs.split(",")[0].split(":")[0].strip())
    return owner


def pkgs_of(paths):
    """{path: package} for files installed by dpkg (usrmerge: /lib is
    /usr/lib, so several spellings are asked for; a glob on the file name
    only for what those miss)."""
    cands = {}
    for p in paths:
        real = os.path.realpath(p)
        cands[p] = [p, real, "/usr" + p, "/usr" + real]
    owner = dpkg_search([c for v in cands.values() for c in v])
    res = {}
    for p, cs in cands.items():
        hit = [owner[c] for c in cs if c in owner]
        if hit:
            res[p] = hit[0]
    missing = [p for p in paths if p not in res]
    if missing:
        owner = dpkg_search(["*/" + os.path.basename(os.path.realpath(p)) for p in missing])
        for p in missing:
            name = "/" + os.path.basename(os.path.realpath(p))
            hits = [pk for path, pk in owner.items() if path.endswith(name)]
            if not hits:
                raise SystemExit("dpkg -S: no package has %s" % p)
            res[p] = hits[0]
    return res


def installed_closure(roots):
    """Packages apt installs with `roots`: the Depends/Pre-Depends closure
    over the installed packages' records (/var/lib/dpkg/status), alternatives
    and virtual packages resolved to what is installed."""
    recs, provides = {}, {}
    with open("/var/lib/dpkg/status") as f:
        for block in f.read().split("\n\n"):
            fields, key = {}, None
            for line in block.split("\n"):
                if line.startswith((" ", "\t")) and key:
                    fields[key] += " " + line.strip()
                elif ":" in line:
                    key, _, val = line.partition(":")
                    fields[key] = val.strip()
            if "installed" not in fields.get("Status", "").split():
                continue
            name = fields.get("Package")
            deps = []
            for k in ("Depends", "Pre-Depends"):
                for alt in filter(None, (x.strip() for x in fields.get(k, "").split(","))):
                    deps.append([re.split(r"[\s(:]", a.strip())[0] for a in alt.split("|")])
            recs[name] = deps
            for pv in filter(None, (x.strip() for x in fields.get("Provides", "").split(","))):
                provides.setdefault(re.split(r"[\s(:]", pv)[0], []).append(name)
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        if p not in recs:
            todo.extend(provides.get(p, []))
            seen.add(p)
            continue
        seen.add(p)
        for alts in recs[p]:
            inst = [a for a in alts if a in recs] or [q for a in alts for q in provides.get(a, [])]
            todo.extend(inst[:1])
    return seen


def cmd_dockerfile(src, repart):
    path = os.path.join(src, "deploy", "Dockerfile")
    text = open(path).read()
    # logical instructions
    instrs, cur = [], ""
    for line in text.split("\n"):
        if line.strip().startswith("#") and not cur:
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        if cur.strip():
            instrs.append(cur.strip())
        cur = ""
    stages = []
    for ins in instrs:
        if ins.upper().startswith("FROM "):
            stages.append({"from": ins[5:].strip(), "instrs": []})
        elif stages:
            stages[-1]["instrs"].append(ins)
    where = "deploy/Dockerfile"
    if [s["from"] for s in stages] != ["debian:12 AS build", "debian:12-slim"]:
        problem(where, "stages are %s, expected debian:12 AS build, then debian:12-slim"
                % [s["from"] for s in stages])
        return
    build, rt = stages
    build_pkgs = [p for i in build["instrs"] if i.startswith("RUN") for p in apt_list(i)]
    rt_pkgs = [p for i in rt["instrs"] if i.startswith("RUN") for p in apt_list(i)]
    if not build_pkgs or not rt_pkgs:
        problem(where, "no apt-get install found in a stage")
        return
    for p in rt_pkgs:
        if p.endswith("-dev"):
            problem(where, "runtime stage installs the -dev package %s" % p)
    users = [i.split(None, 1)[1] for i in rt["instrs"] if i.startswith("USER ")]
    if not users or users[-1].split(":")[0] in ("0", "root"):
        problem(where, "the runtime stage must end with a non-root USER (got %s)" % users)
    eps = [i for i in rt["instrs"] if i.startswith("ENTRYPOINT")]
    if not eps or json.loads(eps[-1][len("ENTRYPOINT"):]) != ["repart"]:
        problem(where, "ENTRYPOINT must be [\"repart\"] (exec form)")
    if not any(re.match(r"COPY --from=build \S*/repart /usr/local/bin/repart$", i) for i in rt["instrs"]):
        problem(where, "no COPY --from=build of the binary to /usr/local/bin/repart")
    uid = re.search(r"useradd[^&]*--uid (\d+)", " ".join(rt["instrs"]))
    if not uid or users[-1].split(":")[0] not in (uid.group(1), "repart"):
        problem(where, "USER is not the user the image creates")

    # libraries the binary needs
    sanitizer = re.compile(r"^lib(asan|ubsan|lsan|tsan)\.")
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", repart))
    ldd = {}
    for line in run("ldd", repart).splitlines():
        m = re.match(r"^\s*(\S+) => (\S+)", line)
        if m:
            ldd[m.group(1)] = m.group(2)
        elif "not found" in line:
            problem(where, "ldd: %s" % line.strip())
    rt_set = set(rt_pkgs)
    cm = open(os.path.join(src, "CMakeLists.txt")).read()
    m = re.search(r"pkg_check_modules\(\s*DEPS\s+REQUIRED\s+IMPORTED_TARGET\s+([^)]*)\)", cm)
    mods = m.group(1).split() if m else []
    pcs = {mod: os.path.join(run("pkg-config", "--variable=pcfiledir", mod).strip(), mod + ".pc")
           for mod in mods}
    owner = pkgs_of([p for lib, p in ldd.items() if not sanitizer.match(lib)] + list(pcs.values()))
    pkg_of = owner.__getitem__
    for lib in needed:
        if sanitizer.match(lib):
            continue
        if lib not in ldd:
            problem(where, "NEEDED %s: not resolved by ldd" % lib)
            continue
        pkg = pkg_of(ldd[lib])
        if pkg not in rt_set and pkg != "libc6":
            problem(where, "the binary needs %s (package %s), which the runtime stage does not install"
                    % (lib, pkg))
    closure = installed_closure(rt_pkgs)
    for lib, p in ldd.items():
        if sanitizer.match(lib):
            continue
        pkg = pkg_of(p)
        if pkg not in closure:
            problem(where, "%s (package %s, loaded by the binary) is not installed with %s"
                    % (lib, pkg, " ".join(rt_pkgs)))
    # build stage: every pkg-config module and snappy
    if not mods:
        problem("CMakeLists.txt", "no pkg_check_modules(DEPS ...) found")
    for mod in mods:
        pkg = pkg_of(pcs[mod])
        if pkg not in build_pkgs:
            problem(where, "pkg-config module %s comes from %s, which the build stage does not install"
                    % (mod, pkg))
    if "libsnappy-dev" not in build_pkgs:
        problem(where, "the build stage needs libsnappy-dev (find_library snappy)")
    for tool in ("cmake", "pkg-config", "build-essential"):
        if tool not in build_pkgs:
            problem(where, "the build stage does not install %s" % tool)
    print("Dockerfile: %d NEEDED libraries, %d loaded, runtime packages %s"
          % (len(needed), len(ldd), " ".join(rt_pkgs)))


# ------------------------------------------------------------- consistency --

def load_json(src, rel):
    with open(os.path.join(src, rel)) as f:
        return json.load(f)


def shard_n(argv, where):
    if "--shard" not in argv:
        problem(where, "no --shard")
        return None
    v = argv[argv.index("--shard") + 1]
    m = re.match(r"^auto/(\d+)$", v)
    if not m:
        problem(where, "--shard %s is not auto/N" % v)
        return None
    return int(m.group(1))


def actions(stmt):
    a = stmt["Action"]
    return {a} if isinstance(a, str) else set(a)


def resources(stmt):
    r = stmt["Resource"]
    return {r} if isinstance(r, str) else set(r)


def cmd_consistency(src, repart):
    # Batch
    jd = load_json(src, "deploy/batch/job-definition.json")
    sub = load_json(src, "deploy/batch/submit-backfill.json")
    ver = load_json(src, "deploy/batch/submit-verify.json")
    cmd = jd["containerProperties"]["command"]
    for k in jd["parameters"]:
        if "Ref::" + k not in cmd:
            problem("batch/job-definition.json", "parameter %s is not used in command" % k)
    for s, name in ((sub, "submit-backfill.json"), (ver, "submit-verify.json")):
        if s["jobDefinition"] != jd["jobDefinitionName"]:
            problem(name, "jobDefinition %s is not %s" % (s["jobDefinition"], jd["jobDefinitionName"]))
        extra = set(s.get("parameters", {})) - set(jd["parameters"])
        if extra:
            problem(name, "parameters %s not in the job definition" % sorted(extra))
    filled = [sub["parameters"].get(c[5:], c) if c.startswith("Ref::") else c for c in cmd]
    n = shard_n(filled, "submit-backfill.json")
    if n is not None and sub["arrayProperties"]["size"] != n:
        problem("submit-backfill.json", "arrayProperties.size %d != N of --shard auto/%d"
                % (sub["arrayProperties"]["size"], n))
    if not re.match(r"^\d+/\d+$", jd["parameters"]["shard"]):
        problem("job-definition.json", "the default shard must work without an array (I/N)")
    n = shard_n(ver["containerOverrides"]["command"], "submit-verify.json")
    if n is not None and ver["arrayProperties"]["size"] != n:
        problem("submit-verify.json", "arrayProperties.size != N of --shard auto/N")
    if not 2 <= sub["arrayProperties"]["size"] <= 10000:
        problem("submit-backfill.json", "array size must be 2..10000 (AWS Batch)")

    # Kubernetes: the Indexed Job
    docs = list(yaml.safe_load_all(open(os.path.join(src, "deploy/k8s/backfill-indexed-job.yaml"))))
    job = [d for d in docs if d["kind"] == "Job"][0]
    spec = job["spec"]
    c = spec["template"]["spec"]["containers"][0]
    argv = (c.get("command") or [])[1:] + c["args"]
    n = shard_n(argv, "backfill-indexed-job.yaml")
    if spec.get("completionMode") != "Indexed":
        problem("backfill-indexed-job.yaml", "completionMode is not Indexed (JOB_COMPLETION_INDEX)")
    if n is not None and spec["completions"] != n:
        problem("backfill-indexed-job.yaml", "completions %d != N of --shard auto/%d"
                % (spec["completions"], n))
    if spec["parallelism"] > spec["completions"]:
        problem("backfill-indexed-job.yaml", "parallelism > completions")
    if spec["template"]["spec"].get("restartPolicy") not in ("Never", "OnFailure"):
        problem("backfill-indexed-job.yaml", "a Job's restartPolicy must be Never or OnFailure")
    df = open(os.path.join(src, "deploy/Dockerfile")).read()
    uid = re.search(r"--uid (\d+)", df).group(1)
    for f in glob.glob(os.path.join(src, "deploy", "**", "*.y*ml"), recursive=True):
        for d in yaml.safe_load_all(open(f)):
            if not isinstance(d, dict):
                continue
            for cont in (d.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []):
                sc = cont.get("securityContext", {})
                if str(sc.get("runAsUser", uid)) != uid:
                    problem(os.path.relpath(f, src), "runAsUser %s is not the image's uid %s"
                            % (sc.get("runAsUser"), uid))

    # every config embedded in a ConfigMap loads, and names what the IAM policies grant
    cold = load_json(src, "deploy/iam/cold-tier-read.json")
    rw = load_json(src, "deploy/iam/consolidated-readwrite.json")
    ro = load_json(src, "deploy/iam/consolidated-read.json")
    for f in sorted(glob.glob(os.path.join(src, "deploy", "**", "*.y*ml"), recursive=True)):
        for d in yaml.safe_load_all(open(f)):
            if not (isinstance(d, dict) and d.get("kind") == "ConfigMap"):
                continue
            for name, body in (d.get("data") or {}).items():
                if not name.endswith((".yml", ".yaml")):
                    continue
                where = "%s:%s" % (os.path.relpath(f, src), name)
                with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as t:
                    t.write(body)
                try:
                    # athena reads the config and touches no bucket
                    r = subprocess.run([repart, "-c", t.name, "athena"], capture_output=True, text=True)
                    if r.returncode != 0:
                        problem(where, "repart refuses this config: %s" % r.stderr.strip())
                finally:
                    os.unlink(t.name)
                cfg = yaml.safe_load(body)
                cb = cfg["s3"]["cold_tier"]["bucket_name"]
                cp = cfg["s3"]["cold_tier"]["data_prefix"]
                ob = cfg["s3"]["repartitioned"]["bucket_name"]
                prefixes = [cfg["s3"]["repartitioned"]["data_prefix"], cfg["s3"]["repartitioned"]["index_prefix"]]
                if "arn:aws:s3:::%s/%s*" % (cb, cp) not in json.dumps(cold):
                    problem(where, "cold-tier-read.json does not grant s3://%s/%s*" % (cb, cp))
                for pol, pname in ((rw, "consolidated-readwrite.json"), (ro, "consolidated-read.json")):
                    for p in prefixes:
                        if "arn:aws:s3:::%s/%s*" % (ob, p) not in json.dumps(pol):
                            problem(where, "%s does not grant s3://%s/%s*" % (pname, ob, p))

    # IAM: the actions of each mode, nothing more
    want = {
        "cold-tier-read.json": {"s3:ListBucket", "s3:GetObject"},
        "consolidated-read.json": {"s3:ListBucket", "s3:GetObject"},
        "consolidated-readwrite.json": {"s3:ListBucket", "s3:GetObject", "s3:PutObject",
                                        "s3:DeleteObject", "s3:AbortMultipartUpload",
                                        "s3:ListBucketMultipartUploads"},
        "watch-sqs.json": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                           "sqs:GetQueueAttributes"},
        "sitewise-list-timeseries.json": {"iotsitewise:ListTimeSeries"},
    }
    for name, acts in want.items():
        pol = load_json(src, "deploy/iam/" + name)
        got = set()
        for st in pol["Statement"]:
            if st["Effect"] != "Allow":
                problem(name, "only Allow statements expected")
            got |= actions(st)
            for a in actions(st):
                if "*" in a:
                    problem(name, "wildcard action %s" % a)
            if "s3:ListBucket" in actions(st):
                if any("/" in r.split(":::")[1] for r in resources(st)):
                    problem(name, "s3:ListBucket applies to the bucket ARN, not objects")
                pre = st.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
                if not pre:
                    problem(name, "s3:ListBucket without an s3:prefix condition")
            elif actions(st) == {"s3:ListBucketMultipartUploads"}:
                # a bucket-level action (no s3:prefix condition key): the bucket ARN
                if any("/" in r.split(":::")[1] for r in resources(st)):
                    problem(name, "s3:ListBucketMultipartUploads applies to the bucket ARN")
            elif any(a.startswith("s3:") for a in actions(st)):
                for r in resources(st):
                    if not re.match(r"^arn:aws:s3:::[a-z0-9.-]+/[^*]+/\*$", r):
                        problem(name, "object statement on %s: expected bucket/prefix/*" % r)
        if got != acts:
            problem(name, "actions %s, expected %s" % (sorted(got), sorted(acts)))
    # the watch queue is the queue of the events samples, if present
    ev = os.path.join(src, "deploy/events/watch-role-policy.json")
    if os.path.exists(ev):
        q = [s for s in load_json(src, "deploy/events/watch-role-policy.json")["Statement"]
             if any(a.startswith("sqs:") for a in actions(s))]
        mine = load_json(src, "deploy/iam/watch-sqs.json")["Statement"][0]
        if q and resources(q[0]) != resources(mine):
            problem("watch-sqs.json", "queue %s differs from deploy/events (%s)"
                    % (resources(mine), resources(q[0])))
    trust = {"ecs-tasks-trust.json": "ecs-tasks.amazonaws.com",
             "eks-pod-identity-trust.json": "pods.eks.amazonaws.com"}
    for name, svc in trust.items():
        st = load_json(src, "deploy/iam/" + name)["Statement"][0]
        if st["Principal"].get("Service") != svc or "sts:AssumeRole" not in actions(st):
            problem(name, "must let %s assume the role" % svc)
    print("consistency: batch, k8s, iam checked")


def main(argv):
    if len(argv) != 3 or argv[0] not in ("commands", "dockerfile", "consistency"):
        sys.stderr.write(__doc__)
        return 2
    {"commands": cmd_commands, "dockerfile": cmd_dockerfile,
     "consistency": cmd_consistency}[argv[0]](argv[1], argv[2])
    for p in PROBLEMS:
        print("FAIL: " + p, file=sys.stderr)
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
