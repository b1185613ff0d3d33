"""The independent reader: lists a day's partition of the consolidated bucket
and reads every object a query would read (Athena skips names starting with
'_' or '.'), with python3-avro over plain HTTP. Decoded objects are cached by
(key, ETag)."""
import collections
import threading

from . import avrofiles, model


class Unreadable(Exception):
    pass


class Snapshot:
    def __init__(self, day, files, counter, bad):
        self.day = day
        self.files = files          # [(key, etag, n_records)]
        self.counter = counter      # Counter of record tuples
        self.bad = bad              # [(key, error)] objects a query would fail on

    def repart_files(self):
        # merged.avro (one per day, index v2) and merged_<hash>.avro (v1)
        return [k for k, _, _ in self.files
                if k.rsplit("/", 1)[-1] == "merged.avro"
                or (k.rsplit("/", 1)[-1].startswith("merged_")
                    and not k.rsplit("/", 1)[-1].startswith("merged_series_"))]

    def sample_files(self):
        return [k for k, _, _ in self.files if k.rsplit("/", 1)[-1].startswith("merged_series_")]


class Reader:
    def __init__(self, s3, bucket, data_prefix):
        self.s3 = s3
        self.bucket = bucket
        self.prefix = data_prefix
        self.cache = {}
        self.lock = threading.Lock()

    def _records(self, key, etag, data=None):
        with self.lock:
            hit = self.cache.get((key, etag))
        if hit is not None:
            return hit, etag
        if data is None:
            data, got = self.s3.get(self.bucket, key)
            if data is None:
                return None, None
            etag = got
            with self.lock:
                hit = self.cache.get((key, etag))
            if hit is not None:
                return hit, etag
        try:
            recs = avrofiles.read(data)
        except Exception as e:  # a query reading it would fail
            recs = e
        with self.lock:
            self.cache[(key, etag)] = recs
        return recs, etag

    def snapshot(self, day, attempts=20):
        """Lists the day and reads it. An object deleted between the listing
        and its GET means a new listing (a query planned then would have
        failed and been retried)."""
        part = self.prefix + model.partition(day)
        for _ in range(attempts):
            listing = self.s3.list(self.bucket, part)
            files, counter, bad, by_file = [], collections.Counter(), [], []
            gone = False
            for key, size, etag in listing:
                name = key[len(part):]
                if "/" in name or name.startswith("_") or name.startswith("."):
                    continue
                recs, got = self._records(key, etag)
                if recs is None:
                    gone = True
                    break
                if isinstance(recs, Exception):
                    bad.append((key, str(recs)[:200]))
                    continue
                files.append((key, got, len(recs)))
                counter.update(recs)
                by_file.append((key, got, recs))
            if not gone:
                s = Snapshot(day, files, counter, bad)
                s._by_file = by_file
                return s
        raise Unreadable("day %s: objects kept disappearing between listing and GET" % day)

    def files_holding(self, snap, rec):
        return [k for k, _, recs in getattr(snap, "_by_file", []) if rec in recs]
