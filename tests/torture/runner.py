"""Runs one schedule against fresh buckets and checks the invariants after
every step with the independent reader (see docs/reliability.md, "Torture
explorer").

Checks (names for --checks):
  final-exact        after a clean run that exited 0 with nothing arriving
                     during it (and after the final run): the records of the
                     day's consolidated partition == the records of the day's
                     current cold-tier objects (multisets)
  no-dup             at every step no record is read more often than the
                     sources hold it
  no-loss            a record seen after a successful run (committed) whose
                     source is unchanged stays visible at every later step
  readable           every object a query reads parses as Avro
  concurrent-reader  while runs go on in the background, a reader thread
                     lists and reads the days again and again: no-dup,
                     no-loss and readable on every snapshot
  one-file           after the final run a day holds one repart file
  verify-agrees      after the final run `verify --deep` exits 0 exactly when
                     the reader found nothing wrong
  clean-exit         a run without faults, crashes or concurrency exits 0
  stage-ok           `merge` + `upload` of hand-placed files that both exit
                     0 leave those files' records readable
"""
import collections
import json
import math
import os
import random
import re
import shutil
import signal
import threading
import time
import traceback

from . import avrofiles, model, schedule
from .env import Proc, safe_name
from .reader import Reader, Unreadable
from .s3http import InfraError

CHECKS = ["final-exact", "no-dup", "no-loss", "readable", "concurrent-reader", "one-file",
          "verify-agrees", "clean-exit", "stage-ok"]

RUN_TIMEOUT = float(os.environ.get("TORTURE_RUN_TIMEOUT", "240"))

# make_event.py builds the notification documents
import importlib.util as _ilu  # noqa: E402
_spec = _ilu.spec_from_file_location(
    "make_event", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "helpers", "make_event.py"))
make_event = _ilu.module_from_spec(_spec)
_spec.loader.exec_module(make_event)
# md5chain.py reads a #file line's MD5 chain (its own reading of the format)
_spec = _ilu.spec_from_file_location(
    "md5chain", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "helpers", "md5chain.py"))
md5chain = _ilu.module_from_spec(_spec)
_spec.loader.exec_module(md5chain)


class Violation:
    def __init__(self, cls, step, where, message, examples=()):
        self.cls, self.step, self.where, self.message = cls, step, where, message
        self.examples = list(examples)[:5]

    def to_json(self):
        return {"class": self.cls, "step": self.step, "event": self.where, "message": self.message,
                "examples": self.examples}

    def line(self):
        return "%s at step %s (%s): %s" % (self.cls, self.step, self.where, self.message)


class Skip(Exception):
    """An event that has nothing to act on (e.g. no index yet): a no-op."""


class StepInfo:
    def __init__(self):
        self.commit_days = set()    # a run committed these days; nothing else was writing
        self.exact_days = set()     # ... and nothing arrived meanwhile: view == sources
        self.clean = []             # (description, rc) of clean runs
        self.placed = None          # (day, [records]) for stage-ok
        self.uncommit = []          # records the explorer itself removed from view
        self.sample = False         # the original sample wrote
        self.note = ""


class ScheduleRun:
    def __init__(self, env, sched, checks, workdir, verbose=False, log=print, repart_flags=(),
                 count_lines=()):
        self.env = env
        self.repart_flags = list(repart_flags)     # before every command (e.g. -vv)
        self.line_counts = {t: 0 for t in count_lines}  # text -> output lines holding it
        self.s3 = env.s3
        self.sched = sched
        self.setting = sched["setting"]
        self.days = list(self.setting["days"])
        self.checks = set(checks)
        self.dir = workdir
        self.verbose = verbose
        self.log = log
        n = env.next_n()
        self.cold = "cold-%d" % n
        self.out = "out-%d" % n
        self.queue_name = "q-%d" % n
        self.work = os.path.join(self.dir, "work")
        self.logs = os.path.join(self.dir, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.model = model.Model()
        self.model.pad = self.setting.get("pad", 0)
        self.lay = model.Layout(self.setting.get("dataset", "raw"))
        self.stage = os.path.join(self.work, self.lay.stage) if self.lay.stage else self.work
        self.reader = Reader(self.s3, self.out, self.lay.data)
        # dataset both: the agg twins of the arrivals, checked after the final run
        self.twin_model = model.Model() if self.lay.twin else None
        if self.twin_model:
            self.twin_model.pad = self.model.pad
        self.twin_reader = Reader(self.s3, self.out, "consolidated_agg/") if self.lay.twin else None
        self.committed = {d: {} for d in self.days}   # day -> rec -> (key, version)
        self.violations = []
        self.trace = []
        self.runs = []
        self.edited = set()      # days whose index was edited by hand (index-edit)
        self.stage_moved = False # an arrival between `download` and `upload`
        self.sample_tail = set() # days the sample merged over a repart tail (tail_days)
        self.sample_during_ran = False  # the sample ran during a held repart run
        self.any_stopped = False # some repart run exited non-zero (tail_days applies)
        self.counts = collections.Counter()
        self.step = 0
        self.step_name = ""
        self.bg_lock = threading.Lock()
        self.sample_failures = 0
        self.queue_url = None
        self.last_sample_ts = 0
        self.seen = {}

    # ------------------------------------------------------------ plumbing
    def say(self, msg):
        self.trace.append("[%s] %s" % (self.step, msg))
        if self.verbose:
            self.log("    " + msg)

    def setup(self):
        self.s3.create_bucket(self.cold)
        self.s3.create_bucket(self.out)
        self.queue_url = self.s3.create_queue(self.queue_name)
        os.makedirs(self.work, exist_ok=True)

    def teardown(self):
        """Empties the buckets (fauxqs keeps everything in memory)."""
        for b in (self.cold, self.out):
            try:
                for k, _, _ in self.s3.list(b):
                    self.s3.delete(b, k)
            except InfraError:
                pass
        if self.queue_url:
            self.s3.delete_queue(self.queue_url)

    def dump(self, dest):
        for b in (self.cold, self.out):
            for k, _, _ in self.s3.list(b):
                data, _ = self.s3.get(b, k)
                if data is None:
                    continue
                p = os.path.join(dest, b, k)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "wb") as f:
                    f.write(data)

    def config(self, endpoint=None, locking=None):
        s = self.setting
        n = len(self.runs) + 1
        locking = locking or s.get("locking", "auto")
        endpoint = endpoint or self.env.endpoint
        if locking == "on":
            endpoint = self.env.cond_proxy(endpoint)
        path = os.path.join(self.dir, "config-%03d.yml" % n)
        with open(path, "w") as f:
            f.write("""s3:
  region: us-east-1
  endpoint_url: %s
  path_style: true
  cold_tier: { bucket_name: %s, data_prefix: raw/ }
  repartitioned: { bucket_name: %s, data_prefix: consolidated/, index_prefix: index/ }
date_range: { date_start: "%s", date_end: "%s" }
work_dir: %s
concurrency: %d
part_size_mb: 5
locking: %s
watch: { batch_messages: 100, quiet_seconds: 0, batch_seconds: 1, visibility_timeout: 5 }
datasets: %s
""" % (endpoint, self.cold, self.out, self.days[0], self.days[-1], self.work,
                s.get("concurrency", 4), locking, self.lay.config_datasets))
        return path

    def proc_env(self, extra=None):
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("AWS_") and not k.startswith("REPART_TEST_")}
        e.update(AWS_ACCESS_KEY_ID="test-access-key", AWS_SECRET_ACCESS_KEY="test-secret-key",
                 AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
                 AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                 AWS_EC2_METADATA_DISABLED="true",
                 REPART_S3_RETRY_BASE_MS=e.get("REPART_S3_RETRY_BASE_MS", "20"))
        e.pop("REPART_CONFIG", None)
        if extra:
            e.update(extra)
        return e

    def start(self, args, endpoint=None, locking=None, extra_env=None, tag=""):
        cfg = self.config(endpoint, locking)
        n = len(self.runs) + 1
        name = "%03d-step%s-%s" % (n, self.step, safe_name(tag or args[0]))
        argv = [self.env.repart] + self.repart_flags + ["-c", cfg] + list(args)
        p = Proc(argv, os.path.join(self.logs, name + ".out"), os.path.join(self.logs, name + ".err"),
                 env=self.proc_env(extra_env))
        p.name = name
        p.args = args
        self.runs.append(p)
        return p

    def finish(self, p, timeout=RUN_TIMEOUT):
        rc = p.wait(timeout)
        for path in (p.out_path, p.err_path) if self.line_counts else ():
            try:
                with open(path, errors="replace") as f:
                    for ln in f:
                        for t in self.line_counts:
                            self.line_counts[t] += t in ln
            except OSError:
                pass
        if rc != 0:
            self.any_stopped = True   # a run that did not finish: it may have left a tail
        with open(p.out_path, "ab") as f:
            f.write(("# argv: %s\n# exit %s after %.2f s%s\n" % (
                " ".join(p.argv), rc, p.secs, " (timed out, killed)" if p.timed_out else "")).encode())
        self.say("  %s -> exit %s (%.2f s)%s" % (" ".join(p.args), rc, p.secs,
                                                   " TIMEOUT" if p.timed_out else ""))
        if rc not in (0, None) and not p.timed_out:
            try:
                with open(p.err_path, errors="replace") as f:
                    errs = [ln.rstrip() for ln in f if ln.startswith("error: ")]
                if errs:
                    self.say("    %s" % errs[0][:400])
            except OSError:
                pass
        if p.timed_out:
            self.violation("clean-exit", "%s did not finish within %.0f s (killed)"
                           % (" ".join(p.args), RUN_TIMEOUT), force=True)
        return rc

    def run(self, args, operator=True, **kw):
        p = self.start(args, **kw)
        rc = self.finish(p)
        if rc == 1 and operator:
            rc = self.operator(p, args, kw)
        return rc

    # What repart asks the operator to do when it stops on purpose, done as
    # the operator would, only where the schedule made it necessary; the
    # command is then run again and that exit counts. A stop anywhere else
    # stays a violation.
    ASK_REPAIR = re.compile(r"^error: (?:agg:)?(\d{4}-\d{2}-\d{2}): .*run `repart verify --repair` for this day",
                            re.M)
    ASK_DOWNLOAD = re.compile(r"^error: (?:agg:)?(\d{4}-\d{2}-\d{2}): .*since `repart download` staged it; "
                              r"run `repart download`", re.M)

    def operator(self, p, args, kw):
        try:
            with open(p.err_path, errors="replace") as f:
                err = f.read()
        except OSError:
            return 1
        repair = sorted(set(self.ASK_REPAIR.findall(err)))
        if repair and set(repair) <= self.edited:
            self.say("  operator: verify --repair --days %s, as asked, then again" % ",".join(repair))
            vrc = self.finish(self.start(["verify", "--repair", "--days", ",".join(repair)],
                                         extra_env={"REPART_REPAIR_MIN_AGE": "0"},
                                         tag="operator-repair"))
            if vrc != 0:
                return 1
            self.edited -= set(repair)
            return self.run(args, operator=False, **kw)
        if self.ASK_DOWNLOAD.search(err) and args[0] == "upload" and self.stage_moved:
            self.say("  operator: the stages again, as asked")
            rest = list(args[1:])
            for stage in ("download", "merge"):
                if self.run([stage] + rest, operator=False, **kw) != 0:
                    return 1
            return self.run(args, operator=False, **kw)
        return 1

    def range_args(self):
        return ["--from", self.days[0], "--to", self.days[-1]]

    def violation(self, cls, message, examples=(), force=False):
        if cls not in self.checks and not force:
            return
        v = Violation(cls, self.step, self.step_name, message, examples)
        # one report per class, step and day (the concurrent reader sees the
        # same state many times)
        sig = (cls, self.step, message.split(":", 1)[0], "dup" if "more often" in message else
               "loss" if "no longer" in message else message[:60])
        with self.bg_lock:
            if sig in self.seen:
                self.seen[sig] += 1
                return
            self.seen[sig] = 1
            self.violations.append(v)
        self.say("VIOLATION " + v.line())

    def proxy(self, args):
        d = os.path.join(self.dir, "proxy-%03d" % (len(self.runs) + 1))
        return self.env.start_proxy("faultproxy", args, d)

    # ------------------------------------------------------------ arrivals
    def put_file(self, key, series_id, ts, n, uid):
        data, recs = self.model.make_file(key, series_id, ts, n, uid)
        self.s3.put(self.cold, key, data)
        self.model.put(key, data, recs)
        if self.twin_model is not None:
            tk = model.twin_key(key)
            data, recs = self.twin_model.make_file(tk, series_id, ts, n, uid + 50000000)
            self.s3.put(self.cold, tk, data)
            self.twin_model.put(tk, data, recs)

    def arrival(self, e):
        k = e["kind"]
        self.counts[k] += 1
        if "files" in e:
            for i, f in enumerate(e["files"]):
                self.put_file(f["key"], f["series"], f["ts"], f["n"], e["id"] * 100 + i)
            return
        keys = self.model.keys()
        if not keys:
            raise Skip("no object yet")
        key = keys[int(e["pick"] * len(keys)) % len(keys)]
        sid = model.series_of_key(key)
        ts = int(key.rsplit("_", 2)[-2])
        if k == "overwrite":
            self.put_file(key, sid, ts, e["n"], e["id"] * 100)
            self.say("  overwrote %s" % key)
        elif k == "dup-name":
            cur = key.split("seriesBucket=")[1][:2]
            b = e["bucket"] if e["bucket"] != cur else "%02x" % ((int(cur, 16) + 1) % 256)
            nk = key.replace("seriesBucket=%s/" % cur, "seriesBucket=%s/" % b)
            self.put_file(nk, sid, ts, e["n"], e["id"] * 100)
            self.say("  %s also as %s" % (key.rsplit("/", 1)[-1], nk))
        else:
            raise ValueError(k)

    def arrivals(self, evs):
        for e in evs:
            try:
                self.arrival(e)
            except Skip:
                pass
            self.say("  arrived: " + schedule.describe(e))

    # ------------------------------------------------------------ checks
    def check_day(self, snap, info, concurrent=False):
        day = snap.day
        src = self.model.day_counter(day)
        cls_dup = "concurrent-reader" if concurrent else "no-dup"
        cls_loss = "concurrent-reader" if concurrent else "no-loss"
        cls_read = "concurrent-reader" if concurrent else "readable"
        if snap.bad:
            self.violation(cls_read, "day %s: %d object(s) a query cannot read, e.g. %s: %s"
                           % (day, len(snap.bad), snap.bad[0][0], snap.bad[0][1]),
                           [k for k, _ in snap.bad])
        dups = [(r, c) for r, c in snap.counter.items() if c > 1 and c > src.get(r, 0)]
        if dups and (day in self.sample_tail or self.folded_present(snap)):
            dups = []   # see tail_days, folded_present
        if dups and self.fold_uncommitted(snap, dups, live=concurrent):
            dups = []   # see fold_uncommitted
        if dups and self.sample_copy_unaccounted(snap, dups):
            dups = []   # see sample_copy_unaccounted
        if dups:
            ex = ["%s x%d (source %s) in %s" % (avrofiles.rec_text(r), c,
                                                 (self.model.current(r) or ("gone",))[0],
                                                 ", ".join(self.reader.files_holding(snap, r)))
                  for r, c in dups[:3]]
            self.violation(cls_dup, "day %s: %d record(s) read more often than the sources hold them "
                           "(%d extra copies)%s" % (day, len(dups), sum(c - max(1, src.get(r, 0)) for r, c in dups),
                                                    " [concurrent snapshot]" if concurrent else ""), ex)
        with self.model.lock:
            comm = dict(self.committed[day])
        lost = [r for r, kv in comm.items()
                if snap.counter.get(r, 0) == 0 and self.model.current(r) == kv]
        if lost:
            ex = ["%s (source %s)" % (avrofiles.rec_text(r), comm[r][0]) for r in lost[:3]]
            self.violation(cls_loss, "day %s: %d committed record(s) of unchanged sources no longer "
                           "read%s" % (day, len(lost), " [concurrent snapshot]" if concurrent else ""), ex)
        if info is None:
            return
        if day in info.exact_days:
            self.check_exact(snap, src, "final-exact")
        if info.placed and info.placed[0] == day:
            miss = [r for r in info.placed[1] if snap.counter.get(r, 0) == 0]
            if miss:
                self.violation("stage-ok", "day %s: merge and upload of %d hand-placed file(s) exited 0 "
                               "but %d of their records are not read" % (day, info.placed[2], len(miss)),
                               [avrofiles.rec_text(r) for r in miss[:3]])
        if day in info.commit_days:
            with self.model.lock:
                for r in snap.counter:
                    cur = self.model.current(r)
                    if cur:
                        self.committed[day][r] = cur

    def check_exact(self, snap, src, cls):
        missing = src - snap.counter
        extra = snap.counter - src
        if missing or extra:
            ex = []
            for r in list(missing)[:2]:
                ex.append("missing %s (source %s)" % (avrofiles.rec_text(r), (self.model.current(r) or ("?",))[0]))
            for r in list(extra)[:2]:
                cur = self.model.current(r)
                ex.append("extra %s (source %s) in %s" % (
                    avrofiles.rec_text(r), cur[0] if cur else "none: an old version or gone",
                    ", ".join(self.reader.files_holding(snap, r))))
            self.violation(cls, "day %s: %d record(s) missing, %d extra (sources hold %d, the "
                           "partition %d, in %d file(s))" % (snap.day, sum(missing.values()),
                                                            sum(extra.values()), sum(src.values()),
                                                            sum(snap.counter.values()), len(snap.files)),
                           ex)
            return False
        return True

    def check_step(self, info):
        self.check_step_uncommit(info)
        for day in self.days:
            snap = self.reader.snapshot(day)
            self.check_day(snap, info)
        if self.sample_tail and not info.sample:
            # until a run writes the committed version again (`all`,
            # `event`, `watch`; the stage commands leave the tail)
            self.sample_tail &= self.tail_days()

    def clean_exit(self, info):
        for desc, rc in info.clean:
            if rc != 0:
                self.violation("clean-exit", "%s exited %s (no fault, crash or concurrency)" % (desc, rc))

    # ------------------------------------------------------------ concurrent reader
    class Watcher:
        def __init__(self, run):
            self.run = run
            self.stop = threading.Event()
            self.t = threading.Thread(target=self.loop, daemon=True)
            self.snaps = 0
            self.error = None

        def loop(self):
            r = self.run
            try:
                while not self.stop.is_set():
                    for day in r.days:
                        if self.stop.is_set():
                            break
                        try:
                            snap = r.reader.snapshot(day)
                        except Unreadable:
                            continue
                        r.check_day(snap, None, concurrent=True)
                        self.snaps += 1
                    self.stop.wait(0.01)  # pacing: leave the CPUs to the writers
            except InfraError as e:
                self.error = e

        def __enter__(self):
            if "concurrent-reader" in self.run.checks:
                self.t.start()
            return self

        def __exit__(self, *a):
            self.stop.set()
            if self.t.is_alive():
                self.t.join(60)
            if self.snaps:
                self.run.say("  concurrent reader: %d snapshot(s)" % self.snaps)
            if self.error:
                raise self.error

    def watching(self):
        return ScheduleRun.Watcher(self)

    # ------------------------------------------------------------ events
    def ev_all(self, e, info):
        args = ["all"] + (["--days", ",".join(e["days"])] if e.get("days") else self.range_args())
        rc = self.run(args)
        days = set(e.get("days") or self.days)
        info.clean.append((" ".join(args), rc))
        if rc == 0:
            info.commit_days |= days
            info.exact_days |= days

    def ev_stages(self, e, info):
        rcs = []
        moved = False
        for i, stage in enumerate(["download", "merge", "upload"]):
            args = [stage] + self.range_args()
            if stage == "download":
                self.stage_moved = False
            rc = self.run(args)
            rcs.append(rc)
            info.clean.append((" ".join(args), rc))
            if i < 2 and e.get("between") and e["between"][i]:
                self.arrivals(e["between"][i])
                moved = True
                self.stage_moved = True
        if all(rc == 0 for rc in rcs):
            info.commit_days |= set(self.days)
            if not moved:
                info.exact_days |= set(self.days)

    def recent_keys(self, pick, n):
        with self.model.lock:
            recent = list(dict.fromkeys(reversed(self.model.arrivals)))[:12]
        if not recent:
            raise Skip("nothing arrived yet")
        rng = random.Random(pick)
        return rng.sample(recent, min(n, len(recent)))

    def event_doc(self, keys, shape):
        objs = [(self.cold, k, "ObjectCreated:Put") for k in keys]
        if shape == "eventbridge":
            return json.dumps(make_event.eventbridge(self.cold, keys[0])), keys[:1]
        s3doc = json.dumps({"Records": [make_event.s3_record(b, k, n) for b, k, n in objs]})
        if shape == "sns":
            return json.dumps(make_event.sns(s3doc)), keys
        if shape == "lambda-sqs":
            return json.dumps(make_event.lambda_sqs(s3doc)), keys
        return s3doc, keys

    def ev_event(self, e, info):
        keys = self.recent_keys(e["pick"], e["n"])
        doc, keys = self.event_doc(keys, e["shape"])
        path = os.path.join(self.dir, "event-%d.json" % e["id"])
        with open(path, "w") as f:
            f.write(doc)
        rc = self.run(["event", path])
        info.clean.append(("event %s" % path, rc))
        days = {model.day_of_key(k) for k in keys}
        if rc == 0:
            info.commit_days |= days
            info.exact_days |= days

    def send_events(self, pick, n):
        keys = self.recent_keys(pick, n)
        rng = random.Random(pick + 1)
        for k in keys:
            doc, _ = self.event_doc([k], rng.choice(["s3", "sns", "eventbridge"]))
            self.s3.send_message(self.queue_url, doc)
        return keys

    def ev_watch(self, e, info):
        keys = self.send_events(e["pick"], e["n"])
        rc = self.run(["watch", "--queue", self.queue_url, "--once"])
        info.clean.append(("watch --once", rc))
        if rc == 0:
            days = {model.day_of_key(k) for k in keys}
            info.commit_days |= days

    def ev_verify_repair(self, e, info):
        self.run(["verify", "--repair"] + self.range_args(), extra_env={"REPART_REPAIR_MIN_AGE": "0"},
                 tag="verify-repair")

    def ev_two_writers(self, e, info):
        mode = e["mode"]
        endpoint = self.env.slow_proxy(e["slow_ms"]) if e.get("slow_ms") else None
        if mode == "all-all":
            a_args, b_args = ["all"] + self.range_args(), ["all"] + self.range_args()
        elif mode == "shards":
            a_args = ["all"] + self.range_args() + ["--shard", e["shards"][0]]
            b_args = ["all"] + self.range_args() + ["--shard", e["shards"][1]]
        else:
            try:
                self.send_events(e["pick"], e["n"])
            except Skip:
                pass
            a_args, b_args = ["watch", "--queue", self.queue_url, "--once"], ["all"] + self.range_args()
        with self.watching():
            a = self.start(a_args, endpoint=endpoint, locking=e.get("locking"), tag="writer-a",
                           extra_env={"REPART_TEST_PAUSE_AT": e["pause"]} if e.get("pause") else None)
            time.sleep(e.get("gap", 0) / 2)
            self.arrivals(e.get("arrive", []))
            time.sleep(e.get("gap", 0) / 2)
            b = self.start(b_args, endpoint=endpoint, locking=e.get("locking"), tag="writer-b")
            self.finish(a)
            self.finish(b)

    def sample_call(self, days, hook=None):
        # a start timestamp of its own per run: two runs of the sample in one
        # second would overwrite each other's merged_series_<ts>.avro (the
        # sample's own hole, not what is tested here)
        ts = max(int(time.time()), self.last_sample_ts + 1)
        self.last_sample_ts = ts
        return self.env.sample(self.env.endpoint, self.cold, "raw/", self.out, "consolidated/", "index/",
                               list(days), os.path.join(self.dir, "sample-work-%d" % self.step), hook,
                               start_ts=ts)

    def tail_days(self):
        """Days whose merged.avro holds bytes after the committed ones: a
        repart run stopped between its data PUT and its index PUT. Those
        records are of real sources, visible once, early (docs/design.md);
        but the original sample, which takes no lease and reads only the
        index, merges the same sources again: the day shows them twice until
        repart's next run of the day writes the committed version again. A
        second writer that knows nothing of repart (like two writers without
        locking): documented, and not counted as a finding until then."""
        out = set()
        for d in self.days:
            part = model.partition(d)
            data, _ = self.s3.get(self.out, self.lay.index + "%stimeseries.txt" % part)
            size = None
            for line in (data or b"").decode("utf-8", "replace").splitlines():
                f = line.rstrip("\r").split("\t")
                if f[0] == "#file" and len(f) > 1 and f[1] == "merged.avro":
                    size = int(f[2])
            obj, _ = self.s3.get(self.out, self.lay.data + "%smerged.avro" % part)
            if obj is not None and len(obj) != size:
                out.add(d)
        return out

    def folded_present(self, snap):
        """A file the committed index says was folded into merged.avro
        (#folded) is still in the partition: a run stopped (or its delete
        failed) between the commit of the fold and the delete. Queries count
        its records twice until the next run of the day deletes it
        (docs/design.md, consistency model); not counted as a finding then,
        and the final run must leave none (final-exact)."""
        data, _ = self.s3.get(self.out, self.lay.index + "%stimeseries.txt" % model.partition(snap.day))
        names = set()
        for line in (data or b"").decode("utf-8", "replace").splitlines():
            f = line.rstrip("\r").split("\t")
            if f[0] == "#folded" and len(f) > 1:
                names.add(f[1])
        return any(k.rsplit("/", 1)[-1] in names for k, _, _ in snap.files)

    def fold_uncommitted(self, snap, dups, live=False):
        """A run that folds an adopted sample file into merged.avro writes the
        rebuilt merged.avro (holding the sample file's records) first, commits
        the index, and only then deletes the sample file. Stopped between the
        data PUT and the index commit, the partition shows those records in
        both until the next run of the day (docs/design.md, "The fold
        window"): S3 cannot replace one object and delete another at once,
        and a window that shows records twice is chosen over one that hides
        them. Excused only while merged.avro is not the committed version
        and each duplicated record is held exactly by merged.avro and files
        the committed index lists as adopted (#file), or sample files when
        repart never committed the day (the crashed run was adopting them);
        final-exact after the last run still requires one copy. A concurrent
        snapshot (live) may fall into the window of a run still going (seed
        126141: a watch run folding the sample's file it had just adopted)."""
        if not self.any_stopped and not live:
            return False   # only a run that did not finish leaves a fold uncommitted
        data, _ = self.s3.get(self.out, self.lay.index + "%stimeseries.txt" % model.partition(snap.day))
        committed, adopted = None, set()
        for line in (data or b"").decode("utf-8", "replace").splitlines():
            f = line.lstrip("\ufeff").rstrip("\r").split("\t")
            if f[0] == "#file" and len(f) > 5:
                if f[1] == "merged.avro":
                    committed = (f[2], f[3], f[5])
                else:
                    adopted.add(f[1])
        if committed is None and not adopted:
            # never committed by repart: the index (if any) is the sample's,
            # and the run that crashed was adopting (and folding) its files
            adopted = {k.rsplit("/", 1)[-1] for k in snap.sample_files()}
        if not adopted:
            return False
        merged = [k for k, _, _ in snap.files if k.rsplit("/", 1)[-1] == "merged.avro"]
        if not merged:
            return False
        obj, _ = self.s3.get(self.out, merged[0])
        if obj is None:
            return False
        if committed is not None and committed[0].isdigit() and committed[2].isdigit() and \
                md5chain.mismatch(committed[1], int(committed[0]), int(committed[2]), obj) is None:
            return False   # merged.avro is the committed version: no fold in flight
        for r, c in dups:
            holders = [k.rsplit("/", 1)[-1] for k in self.reader.files_holding(snap, r)]
            if "merged.avro" not in holders or c > len(holders):
                return False
            if any(h != "merged.avro" and h not in adopted for h in holders):
                return False
        return True

    def sample_copy_unaccounted(self, snap, dups):
        """The sample ran while a repart run held before its commit
        (sample_during): it merged the same new sources into its own file,
        which repart then committed in merged.avro too. The design says so
        (docs/design.md, consistency model: "a copy left all the same (the
        sample ran during the run) is folded by the day's next run"). Excused
        only after such a run of the sample, and only where each duplicated
        record is held once by merged.avro and otherwise by sample files the
        committed index does not account for (no #file line); a successful
        run of the day is checked for exactness all the same (exact_days)."""
        if not self.sample_during_ran:
            return False
        data, _ = self.s3.get(self.out, self.lay.index + "%stimeseries.txt" % model.partition(snap.day))
        accounted = set()
        for line in (data or b"").decode("utf-8", "replace").splitlines():
            f = line.lstrip("\ufeff").rstrip("\r").split("\t")
            if f[0] in ("#file", "#folded") and len(f) > 1:
                accounted.add(f[1])
        for r, c in dups:
            holders = [k.rsplit("/", 1)[-1] for k in self.reader.files_holding(snap, r)]
            if holders.count("merged.avro") != 1 or c > len(holders):
                return False
            if any(h != "merged.avro" and (not h.startswith("merged_series_") or h in accounted)
                   for h in holders):
                return False
        return True

    def sample_reads_bom(self):
        """The sample reads an index with a UTF-8 BOM as it is: its first
        series id then carries the BOM, matches nothing, and the sample
        merges that series again (its own defect, class 8 of issue 11 is
        repart's side of it). repart writes no BOM; an index saved with one
        by hand stays that way until repart's next commit of the day. The
        sample is not run then."""
        for d in self.days:
            data, _ = self.s3.get(self.out, self.lay.index + "%stimeseries.txt" % model.partition(d))
            if data and data.startswith(b"\xef\xbb\xbf"):
                raise Skip("the index of %s starts with a BOM, which the sample misreads" % d)

    def ev_sample(self, e, info):
        if not self.env.sample:
            raise Skip("no tests/torture/sample.py")
        self.sample_reads_bom()
        if self.any_stopped:
            self.sample_tail |= self.tail_days()
        info.sample = True
        try:
            res = self.sample_call(self.days)
        except Exception as x:  # noqa: BLE001 - the sample's own failure is not repart's
            self.sample_failures += 1
            self.say("  sample failed: %s" % traceback.format_exception_only(type(x), x)[-1].strip())
            return
        self.say("  sample: %s" % ", ".join("%s %s" % (d, s["status"]) for d, s in sorted(res.items())))
        info.commit_days |= set(self.days)

    def sample_during(self, e, info):
        """The sample runs while repart does (its users' cron beside
        repart's): new files arrive, then either an `all` holds before its
        index commit (REPART_TEST_PAUSE_AT, with a file that says the hold
        started) while the sample merges the same new sources, or the
        sample runs between `download` and `merge`/`upload`. The day then
        holds the sample's copy of sources repart commits: the design
        promises one copy again after repart's next run of the day (folded),
        and, for the stages, at once (upload judges the sample's files)."""
        self.arrivals(e.get("arrive", []))
        if e["during"] == "stages":
            rcs = [self.run(["download"] + self.range_args())]
            self.say("  the sample between download and merge")
            try:
                self.sample_call(self.days)
            except Exception as x:  # noqa: BLE001 - the sample's own failure is not repart's
                self.sample_failures += 1
                self.say("  sample failed: %s" % x)
            for stage in ("merge", "upload"):
                rcs.append(self.run([stage] + self.range_args()))
            if all(rc == 0 for rc in rcs):
                info.commit_days |= set(self.days)
                # a day where the sample merged over a stopped run's tail
                # shows those records twice until repart's next `all`,
                # `event` or `watch` of it: the stage commands leave the
                # tail (docs/design.md, consistency model; seed 100213)
                info.exact_days |= set(self.days) - self.sample_tail
            return
        flag = os.path.join(self.dir, "paused-%d" % self.step)
        self.sample_during_ran = True
        with self.watching():
            p = self.start(["all"] + self.range_args(), tag="all-paused",
                           extra_env={"REPART_TEST_PAUSE_AT": "before_index:2500:%s" % flag})
            deadline = time.time() + RUN_TIMEOUT
            while not os.path.exists(flag) and p.running() and time.time() < deadline:
                time.sleep(0.02)
            self.say("  the sample %s" % ("while `all` holds before its index commit"
                                          if os.path.exists(flag) else "after `all` (no hold)"))
            try:
                self.sample_call(self.days)
            except Exception as x:  # noqa: BLE001 - the sample's own failure is not repart's
                self.sample_failures += 1
                self.say("  sample failed: %s" % x)
            self.finish(p)
        info.commit_days |= set(self.days)

    def ev_sample_concurrent(self, e, info):
        """The sample runs in a thread; at a stage of one of its days (its
        hook: after the listing, the downloads or the merge) files arrive,
        while the concurrent reader reads. With `during`: sample_during."""
        if not self.env.sample:
            raise Skip("no tests/torture/sample.py")
        self.sample_reads_bom()
        if e.get("during"):
            if self.any_stopped:
                self.sample_tail |= self.tail_days()
            info.sample = True
            return self.sample_during(e, info)
        if self.any_stopped:
            self.sample_tail |= self.tail_days()
        info.sample = True
        err, res = [], []
        fired = []
        days_with = self.model.days_with_sources() or self.days
        at_day = days_with[int(e.get("pick", 0) * len(days_with)) % len(days_with)]

        def hook(stage, day):
            if not fired and day == at_day and stage == e.get("at", "listed"):
                fired.append(1)
                self.arrivals(e.get("arrive", []))

        def go():
            try:
                res.append(self.sample_call(self.days, hook))
            except Exception as x:  # noqa: BLE001
                err.append(x)
        t = threading.Thread(target=go, daemon=True)
        with self.watching():
            t.start()
            t.join(RUN_TIMEOUT)
        if not fired:
            self.arrivals(e.get("arrive", []))
            self.say("  (the sample did not reach %s of %s: arrivals after it)" % (e.get("at"), at_day))
        if err:
            self.sample_failures += 1
            self.say("  sample failed: %s" % err[0])
        else:
            info.commit_days |= set(self.days)

    def staged_upload_ready(self):
        """download + merge (clean), so that an `upload` can be crashed."""
        for stage in ("download", "merge"):
            rc = self.run([stage] + self.range_args())
            if rc != 0:
                return False
        return True

    def ev_kill(self, e, info, sig):
        endpoint = self.env.slow_proxy(e["slow_ms"])
        cmd = e["cmd"]
        if cmd == "upload":
            if not self.staged_upload_ready():
                return
            args = ["upload"] + self.range_args()
        elif cmd == "watch":
            try:
                self.send_events(e["pick"], e["n"])
            except Skip:
                pass
            args = ["watch", "--queue", self.queue_url] + (["--once"] if sig == signal.SIGKILL else [])
        else:
            args = ["all"] + self.range_args()
        with self.watching():
            p = self.start(args, endpoint=endpoint, locking=e.get("locking"),
                           tag="%s-%s" % (args[0], "kill9" if sig == signal.SIGKILL else "sigterm"))
            d = e["delay"]
            if e.get("arrive"):
                time.sleep(d / 2)
                self.arrivals(e["arrive"])
                time.sleep(d / 2)
            else:
                time.sleep(d)
            hit = p.running() and p.kill(sig)
            rc = self.finish(p)
        self.say("  %s %s" % ("signal landed" if hit else "run had ended before the signal", sig.name))
        if rc != 0:
            self.expire_leases()
        if not hit and rc == 0:
            info.commit_days |= set(self.days)

    def expire_leases(self):
        """A killed run leaves its day lease (locking on) until the lease's TTL
        (30 min) passes; every later run with locking on is refused the day
        until then, as designed. The explorer lets that time pass: it deletes
        the leases once no run is left (nothing else is writing then)."""
        gone = []
        # A request the killed run had sent in full (another day's lease PUT)
        # may still be applied by the server after the kill: list again until
        # a pass, a moment after the last removal, finds none.
        prefixes = [self.lay.index] + (["index_agg/"] if self.lay.twin else [])
        for n in range(6):
            found = [k for p in prefixes for k, _, _ in self.s3.list(self.out, p)
                     if k.endswith("/.repart-lease")]
            for k in found:
                self.s3.delete(self.out, k)
            gone += found
            if not found and (gone or n >= 1):
                break
            time.sleep(0.3)
        if gone:
            self.say("  lease TTL passed: %d lease(s) of the killed run removed" % len(gone))

    def ev_crashpoint(self, e, info):
        if e["cmd"] == "upload":
            if not self.staged_upload_ready():
                return
            args = ["upload"] + self.range_args()
        else:
            args = ["all"] + self.range_args()
        rc = self.run(args, locking=e.get("locking"), extra_env={"REPART_TEST_CRASH_AT": e["point"]},
                      tag="%s-crash-%s" % (args[0], e["point"]))
        if rc != 0:
            self.expire_leases()
        else:
            info.commit_days |= set(self.days)  # the crash point was not reached: a run like any

    def ev_faulted(self, e, info, proxy_args, extra_env=None):
        endpoint, pp = self.proxy(proxy_args)
        try:
            rc = self.run(["all"] + self.range_args(), endpoint=endpoint, locking=e.get("locking"),
                          extra_env=extra_env, tag="all-" + e["kind"])
            if rc == 0:
                # it says every day is committed, faults or not
                info.commit_days |= set(self.days)
        finally:
            self.env.stop_proxy(pp)

    def ev_faults(self, e, info):
        args = ["--rate", str(e["rate"]), "--seed", str(e["pseed"]), "--faults", ",".join(e["faults"]),
                "--max-per-path", str(e["max_per_path"]), "--slow-ms", "1000"]
        self.ev_faulted(e, info, args, {"REPART_S3_TIMEOUT_MS": "400"} if "slow" in e["faults"] else None)

    def ev_lost_write(self, e, info):
        args = ["--rate", str(e["rate"]), "--seed", str(e["pseed"]), "--faults", ",".join(e["faults"]),
                "--only", "PUT,POST,DELETE", "--max-per-path", str(e["max_per_path"])]
        if e.get("after_forward"):
            args.append("--errors-after-forward")
        self.ev_faulted(e, info, args)

    def ev_index_corrupt(self, e, info):
        args = ["--rate", str(e["rate"]), "--seed", str(e["pseed"]), "--faults", "corrupt",
                "--only", "GET", "--only-path-regex", "^/%s/%s" % (self.out, self.lay.index),
                "--max-per-path", str(e["max_per_path"]), "--skip", str(e.get("skip", 0))]
        self.ev_faulted(e, info, args)

    def ev_list_overlap(self, e, info):
        if not self.env.list_overlap:
            raise Skip("faultproxy.mjs has no --list-overlap")
        self.ev_faulted(e, info, ["--list-overlap", str(max(2, e.get("max_keys", 2)))])

    def index_days(self):
        out = []
        for d in self.days:
            key = self.lay.index + "%stimeseries.txt" % model.partition(d)
            data, _ = self.s3.get(self.out, key)
            if data is not None:
                out.append((d, key, data))
        if not out:
            raise Skip("no index yet")
        return out

    def ev_index_bom_crlf(self, e, info):
        ixs = self.index_days()
        day, key, data = ixs[int(e["pick"] * len(ixs)) % len(ixs)]
        text = data.decode("utf-8", errors="surrogateescape")
        if text.startswith("\ufeff"):
            text = text[1:]
        lines = text.replace("\r\n", "\n").split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        nl = "\r\n" if e["crlf"] else "\n"
        out = nl.join(lines) + (nl if e["final_newline"] else "")
        raw = out.encode("utf-8", errors="surrogateescape")
        if e["bom"]:
            raw = b"\xef\xbb\xbf" + raw
        self.s3.put(self.out, key, raw)
        self.say("  rewrote %s (bom=%s crlf=%s)" % (key, e["bom"], e["crlf"]))

    def ev_index_edit(self, e, info):
        ixs = self.index_days()
        day, key, data = ixs[int(e["pick"] * len(ixs)) % len(ixs)]
        lines = data.decode("utf-8", errors="surrogateescape").split("\n")
        src = [i for i, l in enumerate(lines) if l.startswith("#src\t")]
        if not src:
            raise Skip("index of %s has no #src lines" % day)
        rng = random.Random(e["pick2"])
        mode = e["mode"]
        if mode == "drop-all-src":
            drop = set(src)
        elif mode == "drop-some-src":
            if len(src) < 2:
                drop = set(src)
            else:
                drop = set(rng.sample(src, rng.randint(1, len(src) - 1)))
        else:
            names = sorted({lines[i].split("\t")[-1].strip() for i in src})
            name = names[rng.randrange(len(names))]
            drop = {i for i in src if lines[i].split("\t")[-1].strip() == name}
            okey = self.lay.data + "%s%s" % (model.partition(day), name)
            odata, oetag = self.s3.get(self.out, okey)
            if odata is not None:
                recs, _ = self.reader._records(okey, oetag, odata)
                if isinstance(recs, list):
                    info.uncommit.extend(recs)
                self.s3.delete(self.out, okey)
            self.say("  deleted %s (%s), as docs/deploy-batch.md says" % (okey, "existed" if odata else "absent"))
        self.edited.add(day)
        kept = [l for i, l in enumerate(lines) if i not in drop]
        self.s3.put(self.out, key, "\n".join(kept).encode("utf-8", errors="surrogateescape"))
        self.say("  %s: removed %d of %d #src line(s) of %s" % (mode, len(drop), len(src), key))

    def staged_days(self):
        base = os.path.join(self.stage, "raw")
        out = []
        if os.path.isdir(base):
            for d in sorted(os.listdir(base)):
                p = os.path.join(base, d)
                fs = sorted(f for f in os.listdir(p) if f.endswith(".avro")) if os.path.isdir(p) else []
                if fs and os.path.exists(os.path.join(p, "repart-day.json")):
                    out.append((p, fs))
        return out

    def ev_stage_tamper(self, e, info):
        rc = self.run(["download"] + self.range_args())
        staged = self.staged_days()
        if rc != 0 or not staged:
            raise Skip("nothing staged")
        p, fs = staged[int(e["pick"] * len(staged)) % len(staged)]
        victim = fs[int(e["pick2"] * len(fs)) % len(fs)]
        others = [f for f in fs if f != victim]
        if others:
            donor = others[int(e["pick2"] * 7919) % len(others)]
            with open(os.path.join(p, donor), "rb") as f:
                data = f.read()
            what = "staged %s" % donor
        else:
            keys = [k for k in self.model.keys() if not k.endswith("/" + victim)]
            if not keys:
                raise Skip("no other source")
            dk = keys[int(e["pick2"] * len(keys)) % len(keys)]
            data = self.model.objects[dk].data
            what = dk
        with open(os.path.join(p, victim), "wb") as f:
            f.write(data)
        self.say("  replaced %s/%s with the bytes of %s" % (os.path.basename(p), victim, what))
        rcs = [self.run(["merge"] + self.range_args()), self.run(["upload"] + self.range_args())]
        if all(rc == 0 for rc in rcs):
            info.commit_days |= set(self.days)

    def ev_hand_placed(self, e, info):
        days = self.model.days_with_sources()
        if not days:
            raise Skip("no sources yet")
        day = days[int(e["pick"] * len(days)) % len(days)]
        p = os.path.join(self.stage, "raw", model.folder(day))
        shutil.rmtree(p, ignore_errors=True)
        shutil.rmtree(os.path.join(self.stage, "merged", model.folder(day)), ignore_errors=True)
        os.makedirs(p)
        recs, n = [], 0
        with self.model.lock:
            objs = [o for o in self.model.objects.values() if o.day == day]
        for o in objs:
            with open(os.path.join(p, o.key.rsplit("/", 1)[-1]), "wb") as f:
                f.write(o.data)
            recs.extend(o.records)
            n += 1
        self.say("  placed %d cold-tier file(s) of %s in %s" % (n, day, p))
        rcs = [self.run(["merge", "--days", day]), self.run(["upload", "--days", day])]
        if all(rc == 0 for rc in rcs):
            info.placed = (day, recs, n)
            info.commit_days.add(day)

    def ev_tick(self, e, info):
        """Time passes: the wall clock moves into its next second, so that what
        follows carries a later LastModified (S3 dates objects to the second)
        than what came before."""
        t = time.time()
        time.sleep(math.floor(t) + 1.001 - t)

    HANDLERS = {
        "all": ev_all, "stages": ev_stages, "event": ev_event, "watch": ev_watch,
        "verify-repair": ev_verify_repair, "two-writers": ev_two_writers,
        "sample": ev_sample, "sample-concurrent": ev_sample_concurrent,
        "crashpoint": ev_crashpoint, "faults": ev_faults, "lost-write": ev_lost_write,
        "index-corrupt": ev_index_corrupt, "list-overlap": ev_list_overlap,
        "index-bom-crlf": ev_index_bom_crlf, "index-edit": ev_index_edit,
        "stage-tamper": ev_stage_tamper, "hand-placed": ev_hand_placed, "tick": ev_tick,
    }

    def do_event(self, e, info):
        k = e["kind"]
        if k in schedule.ARRIVALS:
            self.arrival(e)
            return
        self.counts[k] += 1
        if k == "kill9" or (k == "stage-crash" and e.get("how") == "kill9"):
            self.ev_kill(e, info, signal.SIGKILL)
        elif k == "stage-crash":
            self.ev_crashpoint(e, info)
        elif k == "sigterm":
            self.ev_kill(e, info, signal.SIGTERM)
        else:
            self.HANDLERS[k](self, e, info)

    # ------------------------------------------------------------ final
    def final(self):
        self.step = "final"
        self.step_name = "final clean all"
        info = StepInfo()
        args = ["all"] + self.range_args()
        rc = self.run(args, tag="final-all")
        info.clean.append(("final " + " ".join(args), rc))
        self.counts["final"] += 1
        if "clean-exit" in self.checks:
            self.clean_exit(info)
        problems = {}
        snaps = {}
        for day in self.days:
            snap = self.reader.snapshot(day)
            snaps[day] = snap
            src = self.model.day_counter(day)
            self.check_day(snap, info)
            ok = self.check_exact(snap, src, "final-exact") and not snap.bad
            problems[day] = not ok
            if "one-file" in self.checks and src:
                rf = snap.repart_files()
                sample_recs = collections.Counter()
                for k, _, recs in snap._by_file:
                    if k in snap.sample_files():
                        sample_recs.update(recs)
                need = bool(src - sample_recs)
                if len(rf) > 1 or (need and len(rf) != 1):
                    self.violation("one-file", "day %s: %d repart file(s) after the final run (%s)%s"
                                   % (day, len(rf), ", ".join(k.rsplit("/", 1)[-1] for k in rf),
                                      "; plus %d of the sample" % len(snap.sample_files())
                                      if snap.sample_files() else ""))
        if self.twin_model is not None:
            # the agg twins: exactly their current records in the agg
            # partition, one repart file, nothing of raw (and the raw
            # checks above saw nothing of agg)
            for day in self.days:
                snap = self.twin_reader.snapshot(day)
                src = self.twin_model.day_counter(day)
                missing, extra = src - snap.counter, snap.counter - src
                rf = snap.repart_files()
                bad = missing or extra or snap.bad or (src and len(rf) != 1) or len(rf) > 1
                problems["agg:" + day] = bool(bad)
                if bad:
                    ex = ["missing %s" % avrofiles.rec_text(r) for r in list(missing)[:2]]
                    ex += ["extra %s in %s" % (avrofiles.rec_text(r),
                                               ", ".join(self.twin_reader.files_holding(snap, r)))
                           for r in list(extra)[:2]]
                    self.violation("final-exact", "agg day %s: %d record(s) missing, %d extra, %d "
                                   "repart file(s), %d unreadable (the twins hold %d)"
                                   % (day, sum(missing.values()), sum(extra.values()), len(rf),
                                      len(snap.bad), sum(src.values())), ex)
        if "verify-agrees" in self.checks:
            p = self.start(["verify", "--deep", "--json"] + self.range_args(), tag="final-verify")
            vrc = self.finish(p)
            vdays = {}
            try:
                with open(p.out_path) as f:
                    txt = f.read()
                # one document per dataset, one after the other
                dec, pos, docs = json.JSONDecoder(), 0, []
                txt = txt[:txt.rfind("}") + 1]
                while pos < len(txt):
                    while pos < len(txt) and txt[pos].isspace():
                        pos += 1
                    if pos >= len(txt):
                        break
                    doc, pos = dec.raw_decode(txt, pos)
                    docs.append(doc)
                for i, doc in enumerate(docs):
                    for d in doc.get("days", []):
                        vdays[("agg:" if i else "") + d["day"]] = d.get("status")
            except (ValueError, KeyError, OSError):
                pass
            bad_days = sorted(d for d, b in problems.items() if b)
            if vrc not in (0, 1):
                self.violation("verify-agrees", "verify --deep exited %s" % vrc)
            elif (vrc == 0) != (not bad_days):
                detail = ", ".join("%s: verify %s, reader %s" % (d, vdays.get(d, "?"),
                                                                 "problem" if problems[d] else "ok")
                                   for d in sorted(problems) if (vdays.get(d) == "ok") == problems[d])
                self.violation("verify-agrees", "verify --deep exited %d, the reader found %s (%s)"
                               % (vrc, "problems on %s" % ", ".join(bad_days) if bad_days else "none",
                                  detail))
        self.check_step_uncommit(info)

    def check_step_uncommit(self, info):
        for r in info.uncommit:
            for d in self.days:
                self.committed[d].pop(r, None)

    # ------------------------------------------------------------ main loop
    def execute(self, stop=None):
        """Runs the schedule; returns the violations. stop(violations) -> True
        ends it early (default: at the first step with a violation)."""
        stop = stop or (lambda vs: bool(vs))
        self.setup()
        events = self.sched["events"]
        for i, e in enumerate(events):
            self.step = i + 1
            self.step_name = schedule.describe(e)
            self.say(self.step_name)
            info = StepInfo()
            try:
                self.do_event(e, info)
            except Skip as s:
                self.say("  (nothing to do: %s)" % s)
                self.counts["skipped"] += 1
            if "clean-exit" in self.checks:
                self.clean_exit(info)
            self.check_step(info)
            if stop(self.violations):
                return self.violations
        self.final()
        return self.violations
