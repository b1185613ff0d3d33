"""scripts/torture: the command line of the explorer (see docs/testing.md)."""
import argparse
import collections
import json
import os
import shutil
import signal
import sys
import time

from . import runner, schedule, shrink
from .env import REPO, Env
from .s3http import InfraError

USAGE_EPILOG = """
event kinds (--kinds, comma list; groups: %s):
  %s
checks (--checks, comma list):
  %s
exit: 0 no violation, 1 violation(s) found, 2 usage or infrastructure error
""" % (", ".join(schedule.GROUPS), ", ".join(schedule.KINDS), ", ".join(runner.CHECKS))


def parse(argv):
    ap = argparse.ArgumentParser(prog="scripts/torture", description=(
        "Seeded schedules of arrivals, repart runs, crashes and faults against a local fauxqs "
        "server; every step checked by an independent python3-avro reader."),
        epilog=USAGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repart", default=os.path.join(REPO, "build", "repart"),
                    help="the repart binary (default: build/repart of the repo)")
    ap.add_argument("--seed", type=int, default=1, help="first seed; schedule i uses seed+i")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--schedules", type=int, help="how many schedules (default 10)")
    g.add_argument("--minutes", type=float, help="run schedules for this long")
    g.add_argument("--replay", metavar="FILE", help="run exactly this schedule.json (or shrunk.json)")
    ap.add_argument("--kinds", help="event kinds to draw (default: all)")
    ap.add_argument("--dataset", choices=["raw", "agg", "both", "mixed"], default="raw",
                    help="the cold-tier dataset the arrivals go to (both: raw arrivals with agg "
                         "twins, repart on both datasets; mixed: raw, agg, both by seed)")
    ap.add_argument("--pad", type=int, default=0, metavar="CHARS",
                    help="every record value a random string of about CHARS characters (e.g. "
                         "40000), so that day files pass 5 MiB and appends have the server "
                         "copy committed ranges (default 0: small values)")
    ap.add_argument("--repart-flag", action="append", default=[], metavar="FLAG",
                    help="a global option given to every repart command (repeatable; e.g. -vv)")
    ap.add_argument("--count-lines", action="append", default=[], metavar="TEXT",
                    help="count the repart output lines holding TEXT (repeatable; in "
                         "summary.json line_counts, e.g. to show a code path was taken)")
    ap.add_argument("--checks", help="checks to apply (default: all)")
    ap.add_argument("--weights", help="kind=weight,... overriding the default weights")
    ap.add_argument("--events", type=int, help="events per schedule (default: 6..20, drawn)")
    ap.add_argument("--series", default="5-60", help="range of the number of series per schedule "
                    "(default 5-60, drawn log-uniform)")
    ap.add_argument("--backfill", action="store_true", help="every day's first export comes before "
                    "anything else (no run meets a day without objects)")
    ap.add_argument("--locking", choices=["auto", "on", "off"], help="locking for every schedule "
                    "(default: drawn per schedule)")
    ap.add_argument("--out", default=os.path.join(REPO, "torture-out"),
                    help="where violations and summary.json go (default torture-out/)")
    ap.add_argument("--no-shrink", action="store_true", help="do not shrink a failing schedule")
    ap.add_argument("--shrink-seconds", type=float, default=300, help="shrinking budget per violation")
    ap.add_argument("--keep-going", action="store_true", help="after a violation, run the schedule's "
                    "remaining steps too (default: stop the schedule at its first failing step)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every step")
    a = ap.parse_args(argv)
    try:
        a.kind_list = schedule.expand_kinds(a.kinds.split(",")) if a.kinds else list(schedule.KINDS)
    except ValueError as e:
        ap.error(str(e))
    a.check_list = runner.CHECKS if not a.checks else [c.strip() for c in a.checks.split(",") if c.strip()]
    for c in a.check_list:
        if c not in runner.CHECKS:
            ap.error("unknown check %r (checks: %s)" % (c, ", ".join(runner.CHECKS)))
    try:
        lo, _, hi = a.series.partition("-")
        a.series_range = (int(lo), int(hi or lo))
        if not 1 <= a.series_range[0] <= a.series_range[1] <= 1000:
            raise ValueError
    except ValueError:
        ap.error("--series: want MIN-MAX within 1..1000, e.g. 5-60")
    a.weight_map = dict(schedule.WEIGHTS)
    if a.weights:
        for kv in a.weights.split(","):
            k, _, v = kv.partition("=")
            if k not in schedule.KINDS:
                ap.error("--weights: unknown kind %r" % k)
            try:
                a.weight_map[k] = float(v)
            except ValueError:
                ap.error("--weights: %r is not a number" % v)
    if a.schedules is None and a.minutes is None and not a.replay:
        a.schedules = 10
    return a


class Explorer:
    def __init__(self, a):
        self.a = a
        self.env = None
        self.summary = {"schedules": 0, "events": collections.Counter(), "violations": collections.Counter(),
                        "violating_seeds": [], "repart_runs": 0, "seconds": 0.0, "skipped_kinds": {},
                        "sample_failures": 0, "line_counts": {}}

    def log(self, m):
        print(m, flush=True)

    def available_kinds(self):
        kinds = []
        for k in self.a.kind_list:
            if k in ("sample", "sample-concurrent") and not self.env.sample:
                self.summary["skipped_kinds"][k] = "no tests/torture/sample.py with run_sample"
                continue
            if k == "list-overlap" and not self.env.list_overlap:
                self.summary["skipped_kinds"][k] = "tests/helpers/faultproxy.mjs has no --list-overlap"
                continue
            kinds.append(k)
        for k, why in self.summary["skipped_kinds"].items():
            self.log("note: kind %s skipped: %s" % (k, why))
        return kinds

    def attempt(self, sched, stop=None, keep=None):
        """Runs one schedule from fresh buckets; returns the ScheduleRun."""
        wd = os.path.join(self.env.tmp, "seed-%s-%d" % (sched["seed"], self.env.n + 1))
        os.makedirs(wd, exist_ok=True)
        sr = runner.ScheduleRun(self.env, sched, self.a.check_list, wd, verbose=self.a.verbose and keep is not None,
                                log=self.log, repart_flags=self.a.repart_flag,
                                count_lines=self.a.count_lines)
        try:
            sr.execute(stop=stop)
            if keep is not None and sr.violations:
                keep(sr)
        finally:
            sr.teardown()
            if not self.env.server_alive():
                raise InfraError("the fauxqs server died (see %s/server.log)" % self.env.server_dir)
            shutil.rmtree(wd, ignore_errors=True)
        return sr

    def save(self, sr, dest):
        os.makedirs(dest, exist_ok=True)
        with open(os.path.join(dest, "schedule.json"), "w") as f:
            json.dump(sr.sched, f, indent=1)
        with open(os.path.join(dest, "violations.json"), "w") as f:
            json.dump([v.to_json() for v in sr.violations], f, indent=1)
        with open(os.path.join(dest, "trace.txt"), "w") as f:
            f.write("\n".join(sr.trace) + "\n")
        if os.path.isdir(os.path.join(dest, "logs")):
            shutil.rmtree(os.path.join(dest, "logs"))
        shutil.copytree(sr.logs, os.path.join(dest, "logs"))
        for p in os.listdir(sr.dir):
            if p.startswith("config-") or p.startswith("event-"):
                shutil.copy(os.path.join(sr.dir, p), os.path.join(dest, "logs", p))
        bd = os.path.join(dest, "bucket")
        if os.path.isdir(bd):
            shutil.rmtree(bd)
        sr.dump(bd)

    def one(self, sched, shrinking=True):
        seed = sched["seed"]
        dest = os.path.join(self.a.out, "seed-%s" % seed)
        t0 = time.monotonic()
        stop = (lambda vs: False) if self.a.keep_going else None
        sr = self.attempt(sched, stop=stop, keep=lambda r: self.save(r, dest))
        secs = time.monotonic() - t0
        self.summary["schedules"] += 1
        self.summary["repart_runs"] += len(sr.runs)
        self.summary["sample_failures"] += sr.sample_failures
        for t, n in sr.line_counts.items():
            self.summary["line_counts"][t] = self.summary["line_counts"].get(t, 0) + n
        for k, v in sr.counts.items():
            self.summary["events"][k] += v
        n_ev = len(sched["events"])
        classes = sorted({v.cls for v in sr.violations})
        verdict = "ok" if not classes else "VIOLATION " + ",".join(classes)
        self.log("seed %s: %d events, %d repart runs, %.1f s: %s" % (seed, n_ev, len(sr.runs), secs, verdict))
        if not sr.violations:
            return sr
        for c in classes:
            self.summary["violations"][c] += 1
        self.summary["violating_seeds"].append({"seed": seed, "classes": classes, "dir": dest})
        self.log("  schedule (seed %s, days %s, %d series, locking %s):" % (
            seed, ",".join(sched["setting"]["days"]), sched["setting"]["series"],
            sched["setting"]["locking"]))
        for i, e in enumerate(sched["events"]):
            self.log("    %2d. %s" % (i + 1, schedule.describe(e)))
        self.log("    final. clean all over the range")
        for v in sr.violations:
            self.log("  " + v.line())
            for x in v.examples[:3]:
                self.log("      e.g. " + x[:400])
        self.log("  kept in %s (schedule.json, trace.txt, logs/, bucket/)" % dest)
        if shrinking and not self.a.no_shrink and len(sched["events"]) > 1:
            target = sr.violations[0].cls
            self.log("  shrinking for %s (budget %.0f s)..." % (target, self.a.shrink_seconds))

            def att(c):
                r = self.attempt(c, stop=lambda vs: any(v.cls == target for v in vs))
                return {v.cls for v in r.violations}
            small, tried, ran_out = shrink.shrink(sched, target, att, self.a.shrink_seconds,
                                                  log=self.log if self.a.verbose else (lambda m: None))
            with open(os.path.join(dest, "shrunk.json"), "w") as f:
                json.dump(small, f, indent=1)
            self.log("  shrunk to %d event(s) in %d replays%s: %s/shrunk.json" % (
                len(small["events"]), tried, " (budget ran out)" if ran_out else "", dest))
            for i, e in enumerate(small["events"]):
                self.log("    %2d. %s" % (i + 1, schedule.describe(e)))
            self.log("    final. clean all over the range")
            self.log("  replay: scripts/torture --replay %s/shrunk.json" % dest)
        return sr

    def write_summary(self, t0, status):
        s = dict(self.summary)
        s["seconds"] = round(time.monotonic() - t0, 1)
        s["events"] = dict(sorted(s["events"].items()))
        s["violations"] = dict(sorted(s["violations"].items()))
        s["schedules_per_minute"] = round(s["schedules"] / (s["seconds"] / 60), 2) if s["seconds"] else None
        s["status"] = status
        s["repart"] = self.a.repart
        s["first_seed"] = self.a.seed
        s["kinds"] = self.a.kind_list
        s["checks"] = self.a.check_list
        os.makedirs(self.a.out, exist_ok=True)
        with open(os.path.join(self.a.out, "summary.json"), "w") as f:
            json.dump(s, f, indent=1)
        self.log("summary: %d schedule(s) in %.0f s (%s/min), %d repart runs; events: %s" % (
            s["schedules"], s["seconds"], s["schedules_per_minute"], s["repart_runs"],
            ", ".join("%s %d" % kv for kv in s["events"].items())))
        for t, n in s["line_counts"].items():
            self.log("output lines holding %r: %d" % (t, n))
        self.log("violations: %s" % (", ".join("%s %d" % kv for kv in s["violations"].items()) or "none"))
        if s["violating_seeds"]:
            self.log("violating seeds: %s" % ", ".join(str(x["seed"]) for x in s["violating_seeds"]))
        self.log("summary written to %s" % os.path.join(self.a.out, "summary.json"))

    def main(self):
        a = self.a
        t0 = time.monotonic()
        status = "infra-error"
        try:
            self.env = Env(a.repart, verbose=a.verbose)
            self.env.start_server()
            if a.replay:
                with open(a.replay) as f:
                    sched = json.load(f)
                self.log("replaying %s (seed %s, %d events)" % (a.replay, sched["seed"], len(sched["events"])))
                for i, e in enumerate(sched["events"]):
                    self.log("    %2d. %s" % (i + 1, schedule.describe(e)))
                sr = self.one(sched, shrinking=False)
                status = "violations" if sr.violations else "ok"
                return 1 if sr.violations else 0
            kinds = self.available_kinds()
            if not kinds:
                self.log("torture: no event kind left to draw")
                return 2
            deadline = time.monotonic() + a.minutes * 60 if a.minutes else None
            i = 0
            while True:
                if a.schedules is not None and i >= a.schedules:
                    break
                if deadline and time.monotonic() >= deadline:
                    break
                sched = schedule.draw(a.seed + i, kinds, a.weight_map, locking=a.locking, n_events=a.events,
                                       backfill=a.backfill, series=a.series_range, dataset=a.dataset,
                                       pad=a.pad)
                self.one(sched)
                i += 1
            status = "violations" if self.summary["violations"] else "ok"
            return 1 if self.summary["violations"] else 0
        except InfraError as e:
            self.log("torture: infrastructure error (not a finding): %s" % e)
            return 2
        except KeyboardInterrupt:
            self.log("torture: interrupted")
            status = "interrupted"
            return 2
        finally:
            if self.env:
                self.env.close()
            try:
                self.write_summary(t0, status)
            except OSError as e:
                self.log("torture: cannot write the summary: %s" % e)


def main(argv=None):
    a = parse(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, lambda *x: (_ for _ in ()).throw(KeyboardInterrupt()))
    return Explorer(a).main()
