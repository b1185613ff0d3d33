"""The explorer's own picture of the cold tier: key -> current content, and
for every record the source object (and version) that holds it."""
import collections
import datetime
import random
import threading

from . import avrofiles

DAY0 = datetime.date(2023, 6, 1)


def day_parts(day):
    y, m, d = (int(x) for x in day.split("-"))
    return y, m, d


def partition(day):
    return "startYear=%d/startMonth=%d/startDay=%d/" % day_parts(day)


def folder(day):
    """<work_dir>/raw/<folder>: YYYY-M-D, not padded."""
    return "%d-%d-%d" % day_parts(day)


def day_of_key(key):
    """YYYY-MM-DD of a cold-tier (or consolidated) key, or None."""
    try:
        parts = dict(p.split("=", 1) for p in key.split("/") if "=" in p)
        return "%04d-%02d-%02d" % (int(parts["startYear"]), int(parts["startMonth"]),
                                   int(parts["startDay"]))
    except (KeyError, ValueError):
        return None


def day_ts(day):
    dt = datetime.datetime(*day_parts(day), tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def series_bucket(series_id):
    """seriesBucket=XX of a series: a fixed function of its id, as in SiteWise."""
    h = 0
    for ch in series_id:
        h = (h * 131 + ord(ch)) & 0xFFFFFFFF
    return "%02x" % (h & 0xFF)


def cold_key(prefix, day, bucket, series_id, ts, quality="GOOD"):
    """raw_<series>_<ts>_<q>.avro under raw/, agg_... under agg/ (the agg
    dataset of issue 12)."""
    head = "agg_" if prefix.endswith("agg/") else "raw_"
    return "%s%sseriesBucket=%s/%s%s_%d_%s.avro" % (prefix, partition(day), bucket, head, series_id,
                                                      ts, quality)


def series_of_key(key):
    base = key.rsplit("/", 1)[-1]
    return base[len("raw_"):-len(".avro")].rsplit("_", 2)[0]   # raw_ or agg_


class Layout:
    """Where one dataset lives: the cold prefix, repart's output and index
    prefixes, the stage root under work_dir."""

    def __init__(self, dataset="raw"):
        agg = dataset == "agg"
        self.dataset = dataset
        # both: a raw schedule whose every arrival has an agg twin (other
        # records, under agg/), repart run with datasets: all
        self.twin = dataset == "both"
        self.cold = "agg/" if agg else "raw/"
        self.data = "consolidated_agg/" if agg else "consolidated/"
        self.index = "index_agg/" if agg else "index/"
        self.stage = "agg" if agg else ""
        self.config_datasets = "all" if self.twin else dataset


def twin_key(key):
    """The agg twin of a raw cold-tier key: agg/..., agg_<series>_..."""
    head, _, base = key.rpartition("/")
    return head.replace("raw/", "agg/", 1) + "/agg_" + base[len("raw_"):]


class Obj:
    __slots__ = ("key", "version", "data", "records", "day")

    def __init__(self, key, version, data, records, day):
        self.key, self.version, self.data, self.records, self.day = key, version, data, records, day


class Model:
    """Thread-safe: the concurrent reader looks at it while the main thread
    adds arrivals."""

    def __init__(self):
        self.lock = threading.RLock()
        self.objects = {}                 # key -> Obj
        self.where = {}                   # record -> (key, version) of its current source
        self.arrivals = []                # keys in arrival order (repeats allowed)
        self.version = 0
        self.pad = 0                      # the schedule's setting "pad" (avrofiles.make_records)

    def make_file(self, key, series_id, ts, n, uid):
        rng = random.Random("rec:%d" % uid)
        recs = avrofiles.make_records(series_id, ts, n, uid, rng, self.pad)
        return avrofiles.write(recs), [avrofiles.rec_key(r) for r in recs]

    def put(self, key, data, records):
        with self.lock:
            old = self.objects.get(key)
            if old:
                for r in old.records:
                    if self.where.get(r, (None,))[0] == key:
                        del self.where[r]
            self.version += 1
            o = Obj(key, self.version, data, records, day_of_key(key))
            self.objects[key] = o
            for r in records:
                self.where[r] = (key, o.version)
            self.arrivals.append(key)
            return o

    def keys(self, day=None):
        with self.lock:
            return sorted(k for k, o in self.objects.items() if day is None or o.day == day)

    def day_counter(self, day):
        with self.lock:
            c = collections.Counter()
            for o in self.objects.values():
                if o.day == day:
                    c.update(o.records)
            return c

    def current(self, rec):
        """(key, version) of the current source holding rec, or None."""
        with self.lock:
            return self.where.get(rec)

    def days_with_sources(self):
        with self.lock:
            return sorted({o.day for o in self.objects.values()})
