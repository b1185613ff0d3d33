"""Drawing a schedule from a seed.

A schedule is plain JSON: the setting (days, series, config) and a list of
events, each carrying everything it needs (its own id, keys, counts, and
fractions `pick` that choose among what exists when it runs), so that any
subset of the events (shrinking) still runs, and a schedule replays exactly
from its JSON.
"""
import math
import random
import uuid

from . import model

ARRIVALS = ["export", "late", "overwrite", "new-series", "new-property", "dup-name"]
RUNS = ["all", "stages", "event", "watch", "verify-repair", "two-writers"]
SAMPLE = ["sample", "sample-concurrent"]
CRASHES = ["kill9", "sigterm", "crashpoint", "stage-crash"]
FAULTS = ["faults", "lost-write", "index-corrupt", "list-overlap"]
EDITS = ["index-bom-crlf", "index-edit", "stage-tamper", "hand-placed"]
TIME = ["tick"]
KINDS = ARRIVALS + RUNS + SAMPLE + CRASHES + FAULTS + EDITS + TIME
GROUPS = {"arrivals": ARRIVALS, "runs": RUNS, "sample-all": SAMPLE, "crashes": CRASHES,
          "fault-all": FAULTS, "edits": EDITS}

# Relative weights of the kinds (the schedule also starts with an export).
WEIGHTS = {
    "export": 10, "late": 4, "overwrite": 2, "new-series": 2, "new-property": 2, "dup-name": 1,
    "all": 8, "stages": 3, "event": 3, "watch": 2, "verify-repair": 1, "two-writers": 2,
    "sample": 2, "sample-concurrent": 1,
    "kill9": 3, "sigterm": 1, "crashpoint": 3, "stage-crash": 1,
    "faults": 3, "lost-write": 2, "index-corrupt": 2, "list-overlap": 1,
    "index-bom-crlf": 1, "index-edit": 1, "stage-tamper": 1, "hand-placed": 1,
    "tick": 2,
}
# Kinds that need something outside the explorer (checked at start-up).
OPTIONAL = {"sample": "tests/torture/sample.py", "sample-concurrent": "tests/torture/sample.py",
            "list-overlap": "faultproxy.mjs --list-overlap"}

CRASH_POINTS = ["mid_merge", "before_index", "after_index", "after_lease"]
SLOTS = [0, 6 * 3600, 12 * 3600, 18 * 3600]


def expand_kinds(names):
    out = []
    for n in names:
        n = n.strip()
        if not n:
            continue
        if n in GROUPS:
            out.extend(GROUPS[n])
        elif n in KINDS:
            out.append(n)
        else:
            raise ValueError("unknown event kind %r (kinds: %s; groups: %s)"
                             % (n, ", ".join(KINDS), ", ".join(GROUPS)))
    return sorted(set(out), key=KINDS.index)


def _uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Drawer:
    def __init__(self, seed, kinds, weights=None, data_prefix="raw/", series=(5, 60)):
        self.rng = random.Random(seed)
        self.seed = seed
        self.kinds = [k for k in kinds if (weights or WEIGHTS).get(k, 0) > 0]
        self.weights = weights or WEIGHTS
        self.prefix = data_prefix
        self.next_id = 1
        rng = self.rng
        ndays = rng.randint(2, 5)
        d0 = model.DAY0.toordinal() + rng.randrange(0, 200)
        import datetime
        self.days = [datetime.date.fromordinal(d0 + i).isoformat() for i in range(ndays)]
        nseries = int(round(math.exp(rng.uniform(math.log(series[0]), math.log(series[1])))))
        self.series = []
        self.assets = []
        while len(self.series) < nseries:
            if rng.random() < 0.5:
                self.series.append(_uuid(rng))
            else:
                a = _uuid(rng)
                self.assets.append(a)
                for _ in range(rng.randint(1, 3)):
                    if len(self.series) < nseries:
                        self.series.append("%s_%s" % (a, _uuid(rng)))
        # SiteWise's exports in time order; `export` takes the next one
        self.pending = [(d, s) for d in self.days for s in SLOTS]
        self.done = []
        self.records_max = rng.choice([10, 20, 40])

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def _file(self, day, series_id, ts):
        return {"key": model.cold_key(self.prefix, day, model.series_bucket(series_id), series_id, ts,
                                      "GOOD" if self.rng.random() < 0.95 else "UNCERTAIN"),
                "series": series_id, "ts": ts, "n": self.rng.randint(5, self.records_max)}

    def _export(self, which=None):
        if not self.pending:
            return self._late()
        day, slot = self.pending.pop(0) if which is None else which
        if which is not None:
            self.pending.remove(which)
        self.done.append((day, slot))
        ts = model.day_ts(day) + slot
        files = [self._file(day, s, ts) for s in self.series if self.rng.random() < 0.85]
        if not files:
            files = [self._file(day, self.rng.choice(self.series), ts)]
        return {"kind": "export", "id": self._id(), "day": day, "slot": slot // 3600, "files": files}

    def _done_days(self):
        return sorted({d for d, _ in self.done}) or [self.days[0]]

    def _late(self):
        days = self._done_days()
        if len(days) > 1 and self.rng.random() < 0.7:
            days = days[:-1]  # an earlier day, most of the time
        day = self.rng.choice(days)
        files = []
        for _ in range(self.rng.randint(1, 3)):
            ts = model.day_ts(day) + self.rng.choice(SLOTS) + self.rng.randrange(1, 6 * 3600)
            files.append(self._file(day, self.rng.choice(self.series), ts))
        return {"kind": "late", "id": self._id(), "files": files}

    def _new_series(self, prop):
        if prop and self.assets:
            sid = "%s_%s" % (self.rng.choice(self.assets), _uuid(self.rng))
        elif self.rng.random() < 0.5:
            sid = _uuid(self.rng)
        else:
            a = _uuid(self.rng)
            self.assets.append(a)
            sid = "%s_%s" % (a, _uuid(self.rng))
        self.series.append(sid)
        day = self._done_days()[-1]
        # only slots already exported for that day: a later export of the
        # day includes the new series, and must not write the same key again
        done = [s for d, s in self.done if d == day] or [SLOTS[0]]
        slots = sorted(self.rng.sample(done, min(len(done), self.rng.randint(1, 2))))
        files = [self._file(day, sid, model.day_ts(day) + s) for s in slots]
        return {"kind": "new-property" if prop else "new-series", "id": self._id(), "files": files}

    def _arrival(self, kinds=None):
        kinds = [k for k in (kinds or ARRIVALS) if k in self.kinds] or ["export"]
        k = self._pick_kind(kinds)
        return self._draw(k)

    def _arrivals(self, lo, hi):
        return [self._arrival() for _ in range(self.rng.randint(lo, hi))]

    def _pick_kind(self, kinds):
        ws = [self.weights.get(k, 1) for k in kinds]
        return self.rng.choices(kinds, weights=ws)[0]

    def _run_locking(self):
        return self.rng.choice([None, None, "on", "off"])

    def _draw(self, k):
        r = self.rng
        if k == "export":
            return self._export()
        if k == "late":
            return self._late()
        if k in ("new-series", "new-property"):
            return self._new_series(k == "new-property")
        if k == "overwrite":
            return {"kind": k, "id": self._id(), "pick": r.random(), "n": r.randint(5, self.records_max)}
        if k == "dup-name":
            return {"kind": k, "id": self._id(), "pick": r.random(), "bucket": "%02x" % r.randrange(256),
                    "n": r.randint(5, self.records_max)}
        e = {"kind": k, "id": self._id()}
        if k == "all":
            if r.random() < 0.2:
                e["days"] = sorted(r.sample(self.days, r.randint(1, len(self.days))))
        elif k == "stages":
            e["between"] = [self._arrivals(0, 2) if r.random() < 0.5 else [],
                            self._arrivals(0, 2) if r.random() < 0.5 else []]
        elif k == "event":
            e.update(pick=r.random(), n=r.randint(1, 4),
                     shape=r.choice(["s3", "s3", "sns", "eventbridge", "lambda-sqs"]))
        elif k == "watch":
            e.update(pick=r.random(), n=r.randint(1, 6))
        elif k == "two-writers":
            mode = r.choice(["all-all", "watch-all", "shards"])
            e.update(mode=mode, slow_ms=r.choice([0, 5, 10, 20, 40]),
                     gap=round(math.exp(r.uniform(math.log(0.005), math.log(0.3))), 3),
                     arrive=self._arrivals(0, 2), locking=self._run_locking())
            # two writers of one day are kept apart by locking only: without
            # it (fauxqs ignores conditional writes: `auto` is off there) one
            # writer per day is the operator's promise (docs/design.md), so
            # the explorer does not break it (the draw stays as it was, so
            # that seeds keep their schedules otherwise)
            e["locking"] = "on"
            if r.random() < 0.5:
                # writer A holds at a point of its day (REPART_TEST_PAUSE_AT)
                # while B runs: the interleaving is then (nearly) certain
                e["pause"] = "%s:%d" % (r.choice(["after_lease", "mid_merge", "before_index", "after_index"]),
                                        r.choice([150, 400, 1000]))
            if mode == "shards":
                n1, n2 = r.sample([2, 3, 4], 2)
                e["shards"] = ["%d/%d" % (r.randrange(n1), n1), "%d/%d" % (r.randrange(n2), n2)]
            if mode == "watch-all":
                e.update(pick=r.random(), n=r.randint(1, 6))
        elif k in ("sample", "verify-repair", "tick"):
            pass
        elif k == "sample-concurrent":
            e.update(arrive=self._arrivals(1, 3), pick=r.random(),
                     at=r.choice(["listed", "downloaded", "merged"]))
            # half of them run the sample during a repart run instead: while
            # an `all` holds before its index commit, or between `download`
            # and `upload`. Drawn from a generator of the event's own, so
            # the main draw (and every older seed's schedule) stays as it was
            sub = random.Random(self.seed * 7919 + e["id"])
            if sub.random() < 0.5:
                e["during"] = sub.choice(["all", "stages"])
        elif k in ("kill9", "sigterm"):
            e.update(cmd=r.choice(["all", "all", "all", "watch"]),
                     slow_ms=r.choice([10, 25, 40]), delay=round(r.uniform(0.01, 0.8), 3),
                     arrive=self._arrivals(0, 1) if r.random() < 0.3 else [],
                     locking=self._run_locking())
            if e["cmd"] == "watch":
                e.update(pick=r.random(), n=r.randint(1, 6))
        elif k == "crashpoint":
            e.update(point=r.choice(CRASH_POINTS), cmd="all", locking=self._run_locking())
            if e["point"] == "after_lease":
                e["locking"] = "on"
        elif k == "stage-crash":
            # download + merge, then `upload` killed (at a crash point or at
            # a random instant through a slow proxy)
            how = r.choice(["before_index", "kill9"])
            e.update(how=how, cmd="upload", locking=self._run_locking())
            if how == "kill9":
                e.update(slow_ms=r.choice([10, 25, 40]), delay=round(r.uniform(0.01, 0.5), 3))
            else:
                e["point"] = how
        elif k == "faults":
            fs = r.sample(["500", "503", "reset", "truncate", "corrupt", "slow"], r.randint(1, 4))
            e.update(faults=fs, rate=round(r.uniform(0.05, 0.4), 3), pseed=r.randrange(1, 10**6),
                     max_per_path=r.choice([1, 2, 3]), locking=self._run_locking())
        elif k == "lost-write":
            mode = r.choice(["reset", "truncate", "500", "503"])
            e.update(faults=[mode], rate=round(r.uniform(0.2, 0.8), 3), pseed=r.randrange(1, 10**6),
                     after_forward=mode in ("500", "503"), max_per_path=r.choice([1, 2]),
                     locking=self._run_locking())
        elif k == "index-corrupt":
            # skip: the first index reads pass (the scan's read is checked
            # against its ETag; a later read may not be)
            e.update(rate=round(r.uniform(0.3, 1.0), 3), pseed=r.randrange(1, 10**6),
                     max_per_path=r.choice([1, 2, 3, 4]), locking=r.choice(["on", "on", None]),
                     skip=r.choice([0, 1, 1, 2, 3]))
        elif k == "list-overlap":
            e.update(max_keys=r.choice([2, 3, 5]))
        elif k == "index-bom-crlf":
            bom, crlf = r.choice([(True, False), (False, True), (True, True)])
            e.update(pick=r.random(), bom=bom, crlf=crlf, final_newline=r.random() < 0.5)
        elif k == "index-edit":
            e.update(pick=r.random(), mode=r.choice(["drop-all-src", "drop-some-src", "deploy-repair"]),
                     pick2=r.random())
        elif k == "stage-tamper":
            e.update(pick=r.random(), pick2=r.random())
        elif k == "hand-placed":
            e.update(pick=r.random())
        else:
            raise ValueError(k)
        return e

    def draw(self, n_events=None, backfill=False):
        r = self.rng
        n = n_events or r.randint(6, 20)
        events = []
        if backfill:
            # every day's first export before anything else (no day is empty)
            events.extend(self._export((d, SLOTS[0])) for d in self.days)
            n += len(self.days)
        elif "export" in self.kinds:
            events.append(self._export())
        while len(events) < n:
            events.append(self._draw(self._pick_kind(self.kinds)))
        return events


def draw(seed, kinds, weights=None, locking=None, n_events=None, backfill=False, series=(5, 60),
         dataset="raw", pad=0):
    """dataset: raw, agg (every arrival an agg_ file under agg/, repart run
    with datasets: agg; the original sample only ever did raw, so its kinds
    are left out), both (a raw schedule whose arrivals each have an agg twin;
    repart runs both datasets at once), or mixed (raw, agg and both in turn
    by seed)."""
    if dataset == "mixed":
        dataset = ("raw", "agg", "both")[seed % 3]
    if dataset == "agg":
        kinds = [k for k in kinds if k not in SAMPLE]
    dr = Drawer(seed, kinds, weights, data_prefix=model.Layout(dataset).cold, series=series)
    r = dr.rng
    setting = {
        "days": dr.days,
        "series": len(dr.series),
        "locking": locking or r.choice(["auto", "auto", "on", "off"]),
        "concurrency": r.choice([2, 4, 8]),
    }
    if dataset != "raw":
        setting["dataset"] = dataset
    if pad:
        setting["pad"] = pad
    events = dr.draw(n_events, backfill)
    return {"version": 1, "seed": seed, "setting": setting, "events": events}


def describe(e):
    """One line for an event."""
    k = e["kind"]
    if "files" in e:
        days = sorted({model.day_of_key(f["key"]) for f in e["files"]})
        return "%s #%d: %d file(s) of %s%s" % (k, e["id"], len(e["files"]), ",".join(days),
                                               " slot %dh" % e["slot"] if "slot" in e else "")
    skip = {"kind", "id", "arrive", "between"}
    parts = ["%s=%s" % (a, b) for a, b in e.items() if a not in skip]
    s = "%s #%d %s" % (k, e["id"], " ".join(parts))
    for a in ("arrive",):
        if e.get(a):
            s += " arrive=[%s]" % "; ".join(describe(x) for x in e[a])
    if e.get("between"):
        s += " between=[%s | %s]" % tuple("; ".join(describe(x) for x in b) for b in e["between"])
    return s
