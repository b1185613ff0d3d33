#!/usr/bin/python3
"""The original Python sample's algorithm, re-implemented for the torture
explorer: what aws-samples/aws-iot-sitewise-cold-tier-repartitioning does to a
pair of buckets, step by step, against the local S3 server (plain HTTP,
path-style, unsigned: fauxqs does not check signatures) with python3-avro.

    run_sample(endpoint, cold_bucket, cold_prefix, out_bucket, out_data_prefix,
               out_index_prefix, days, workdir, hook=None) -> dict

Source followed
---------------
The sample's current version is the AWS Glue job (commit 06fb3ed of the
sample's repository, the one whose config layout `s3.cold_tier.bucket_name /
data_prefix`, `s3.repartitioned.bucket_name / data_prefix / index_prefix`
repart's config.yml keeps): `src/job_script.py` with `src/helpers/s3.py`,
`src/helpers/sitewise.py`, `src/helpers/globals.py` (the Avro schema). The
older three-script version (`download_cold_tier_data.py`,
`repartition_data.py`, `upload_repartitioned_data.py`, commit 01f9618) has the
same download filter, merge and upload code; where the two differ it is said
below. Line numbers are those of the files at commit 06fb3ed (job_script.py)
as read through the code search; they may be off by a line or two.

Behaviours reproduced (job_script.py unless named)
--------------------------------------------------
- <start ts>: `script_start_timestamp = int(datetime.now().timestamp())`,
  taken once when the job starts (L49), so every day of one run gets the same
  name `merged_series_<ts>.avro` (L100). Two runs that start within the same
  second write the same key: the second overwrites the first's merged file
  (the sample's own data-loss hole; `start_ts=` lets a caller pin or avoid it).
- Days are processed from the last to the first (`while date_loop_dt >=
  date_start_dt`, L171/L189/L236), each one completely (download, merge,
  upload: `process_day`, L156-161) before the next. `days` is taken as the
  list of days the job's date range covers, processed in descending order.
- Listing (helpers/s3.py `get_all_s3_objects`, L42-55, `list_s3_objects`
  L30-40): ListObjectsV2 of `<cold_prefix>startYear=Y/startMonth=M/startDay=D/`
  (month and day not padded, L190/L195), paged with `StartAfter=<last key of
  the previous page>` (no continuation token), while `IsTruncated`; keys are
  concatenated as listed: a key listed twice is kept twice (no dedup). No
  `max-keys` is sent (the server's default page).
- A day with no key at all is skipped before the index is read (L197-198).
- The previous index is read only if `s3_prefix_exists(index_key)` (helpers/
  s3.py L24-28: a ListObjectsV2 with `Prefix=<index key>`, true when it
  returns any Contents, so `timeseries.txt.bak` alone counts too and then the
  GET fails), saved as `raw/<day>/timeseries-previous.txt` (L210-213) and read
  back in text mode: `f2.read().splitlines()` (L214-215). So CRLF and lone CR
  end lines, a UTF-8 BOM stays part of the first id, blank lines become ''
  entries, and nothing is trimmed.
- Series id of a key: `file_name.split('_')[1]` (helpers/s3.py
  `timeseries_id_from_key` L64-70): for `raw_<asset>_<property>_<ts>_<q>.avro`
  only the asset id. A file name without a second '_'-field raises IndexError
  and ends the whole job (as in the sample).
- Filter (`filter_keys`, L51-63): a key is taken when its id is in
  `all_timeseries_ids` and NOT among the previous index's lines (exact string
  equality); the new ids are kept in first-seen (listing) order without
  duplicates. `all_timeseries_ids` comes from SiteWise ListTimeSeries
  (helpers/sitewise.py); there is no SiteWise here, so by default every id
  passes (the `all_timeseries_ids=` argument restricts it).
- `raw/<day>/timeseries-new.txt` = `'\\n'.join(new ids)` (no final newline),
  written only when there are new ids (L220-225).
- No key taken: the raw day folder is removed and nothing is written for
  the day (L231-234). (The older version still merged and uploaded such a
  day: an empty `merged_series_<ts>.avro` plus the same index again.)
- Download (`download_objects` L74-81 -> helpers/s3.py `download_s3_object`):
  every taken key into `raw/<day>/<file name>` (flattened: the seriesBucket
  folder is dropped; a key listed twice is fetched twice into the same file).
  No checksum is compared (boto3's download_fileobj checks none).
- Merge (`merge_s3_objects` L83-127): the merged folder's children are removed
  first; one `DataFileWriter(..., schema=avro_schema.json, codec='snappy')`;
  then, for each entry of the raw day folder: `.avro` -> every record decoded
  (writer's schema) and appended (re-encoded with the fixed schema); `.txt` ->
  read in text mode and concatenated: `index_file += content if not
  index_file else '\\n' + content` (L115-118). The writer is closed, and
  `merged/<day>/timeseries.txt` is written (text mode) only if that text is
  not empty (L122-125). The sample walks `os.listdir` (hash order on ext4);
  here the entries are walked sorted (`listdir_order=` changes it), which
  puts `timeseries-new.txt` before `timeseries-previous.txt`: the new ids
  first, then the previous document as it was (its CRLF turned into LF, BOM kept, a final newline kept), with
  no final newline when the previous document had none. The index is thus
  REWRITTEN (previous + new), unsorted; `.avro` files left in the raw day
  folder by an earlier, crashed run are merged too.
- Upload (`upload_to_repartitioned_data_s3_bucket` L129-154): PUT of the
  merged file to `<data_prefix><day prefix>merged_series_<ts>.avro`, THEN PUT
  of the index to `<index_prefix><day prefix>timeseries.txt` (overwriting;
  no condition). A missing local timeseries.txt (all new ids empty strings)
  raises FileNotFoundError after the data upload, as boto3's upload_file does.
- The local folders are not cleaned per day (the Glue version keeps raw/<day>
  until the end); at the end of a successful run the whole work folder is
  removed (L242: `shutil.rmtree('/tmp/sitewise')`; here `workdir/raw` and
  `workdir/merged`). A run that raised leaves them, and a later run with the
  same workdir merges what it finds (the local-machine behaviour; a Glue job
  always starts with an empty /tmp: pass a fresh workdir to model that).
- Transfers: boto3's legacy retry mode retries 5xx, throttling and broken
  connections up to 5 attempts in all; here the same count with a short
  backoff (tests must not wait seconds). A body shorter than its
  Content-Length is retried too (s3transfer does); a corrupted body is not
  detected.

Deliberate differences: HTTP instead of boto3 (same requests: ListObjectsV2,
GET, PUT), one process instead of a multiprocessing Pool (order of downloads
does not matter: each goes to its own file), sorted instead of os.listdir
order (reproducible), explicit UTF-8 for the text files (Glue's locale).

Hook: `hook(stage, day)` is called with day "YYYY-MM-DD" at "listed" (after the
day's listing, before the previous index is read), "downloaded" (after the
downloads, before the merge), "merged" (merged file and timeseries.txt written
locally, nothing uploaded), "uploaded" (data and index PUT). Only days with
keys reach "listed"; only days with new keys reach the other three. A hook
that raises stops the run there, like a crash of the job (the exception
propagates; SampleError is not used for it).

Result: {day: summary} for every day in `days`, summary = {
  "status": "no-data" | "nothing-new" | "merged",
  "listed": [keys as listed], "previous_ids": [...] | None (no index),
  "new_ids": [...], "sources": [keys taken, listing order],
  "records": records written, "merged_key": key | None,
  "index_key": key | None, "index_text": text uploaded | None,
  "keys_written": [keys PUT, in order], "start_ts": ts }
A failure (HTTP error after the retries, bad Avro, ...) raises SampleError
with `.summary` holding the days finished so far and `.day` the failing day.
"""
import http.client
import os
import random
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from datetime import date

import avro.datafile
import avro.io
import avro.schema

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"

# helpers/globals.py `avro_schema` (= avro_schema.json): the merged file's
# schema, whatever the sources' own schema is.
AVRO_SCHEMA_JSON = """{"type": "record", "name": "RawDatum",
 "namespace": "amazon.aws.iot.sitewise.raw", "fields": [
 {"type": "string", "name": "seriesId"},
 {"type": "long", "name": "timeInSeconds"},
 {"type": "long", "name": "offsetInNanos"},
 {"type": "string", "name": "quality"},
 {"type": ["null", "double"], "name": "doubleValue", "default": null},
 {"type": ["null", "string"], "name": "stringValue", "default": null},
 {"type": ["null", "int"], "name": "integerValue", "default": null},
 {"type": ["null", "boolean"], "name": "booleanValue", "default": null},
 {"type": ["null", "string"], "name": "jsonValue", "default": null},
 {"type": ["null", "long"], "name": "recordVersion", "default": null}]}"""

ATTEMPTS = 5          # botocore legacy retry mode: 5 attempts in all
BACKOFF_S = 0.02      # botocore: random 0..1 s x 2^n; scaled down for tests
HTTP_TIMEOUT = 60


class SampleError(Exception):
    """The job failed. summary: the days finished before; day: the failing one."""

    def __init__(self, msg, day=None, summary=None):
        super().__init__(msg)
        self.day = day
        self.summary = summary or {}


class _S3:
    """The few S3 calls the sample makes, path-style and unsigned."""

    def __init__(self, endpoint):
        self.endpoint = endpoint.rstrip("/")

    def _url(self, bucket, key="", query=None):
        u = "%s/%s" % (self.endpoint, bucket)
        if key:
            u += "/" + urllib.parse.quote(key, safe="/~")
        if query:
            u += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="~")
        return u

    def _call(self, method, url, body=None, headers=None):
        last = None
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.random() * BACKOFF_S * (2 ** attempt))
            req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
            try:
                with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
                    data = r.read()
                    want = r.headers.get("Content-Length")
                    if want is not None and method != "HEAD" and len(data) != int(want):
                        raise http.client.IncompleteRead(data, int(want) - len(data))
                    return data
            except urllib.error.HTTPError as e:
                payload = e.read() if e.fp else b""
                last = "%s %s: HTTP %d %s" % (method, url, e.code, payload[:200])
                if e.code == 404:
                    raise SampleError(last)
                if e.code < 500 and e.code != 429:
                    raise SampleError(last)
            except (urllib.error.URLError, http.client.HTTPException, socket.timeout,
                    ConnectionError, OSError) as e:
                last = "%s %s: %r" % (method, url, e)
        raise SampleError("%s (after %d attempts)" % (last, ATTEMPTS))

    def list_page(self, bucket, prefix, start_after=""):
        # helpers/s3.py list_s3_objects: list_objects_v2(Prefix=, StartAfter=)
        q = {"list-type": "2", "prefix": prefix}
        if start_after:
            q["start-after"] = start_after
        root = ET.fromstring(self._call("GET", self._url(bucket, query=q)))
        keys = [c.findtext(NS + "Key") for c in root.iter(NS + "Contents")]
        truncated = (root.findtext(NS + "IsTruncated") or "false").strip() == "true"
        return keys, truncated

    def get(self, bucket, key):
        return self._call("GET", self._url(bucket, key))

    def put(self, bucket, key, data):
        # boto3 upload_file sends no Content-Type of its own; fauxqs needs
        # one that is not a form type to keep the body as bytes.
        self._call("PUT", self._url(bucket, key), body=data,
                   headers={"Content-Type": "binary/octet-stream",
                            "Content-Length": str(len(data))})


def _day_prefix(d):
    # job_script.py L190: f'startYear={Y}/startMonth={M}/startDay={D}/' (not padded)
    return "startYear=%04d/startMonth=%d/startDay=%d/" % (d.year, d.month, d.day)


def _day_folder(d):
    # job_script.py L200: f"{year}-{month}-{day}" (not padded)
    return "%d-%d-%d" % (d.year, d.month, d.day)


def get_all_s3_objects(s3, bucket, prefix):
    """helpers/s3.py get_all_s3_objects: StartAfter paging, no dedup."""
    keys_all = []
    has_more = True
    key_marker = ""
    while has_more:
        keys, has_more = s3.list_page(bucket, prefix, key_marker)
        keys_all.extend(keys)
        if len(keys) > 0:
            key_marker = keys[-1]
    return keys_all


def s3_prefix_exists(s3, bucket, key):
    """helpers/s3.py s3_prefix_exists: any object under Prefix=key."""
    keys, _ = s3.list_page(bucket, key)
    return len(keys) > 0


def filename_from_key(key):
    tokens = key.split("/")
    return tokens[len(tokens) - 1]


def timeseries_id_from_key(key):
    """helpers/s3.py: the second '_'-field of the file name (IndexError if none)."""
    return filename_from_key(key).split("_")[1]


def filter_keys(keys, all_timeseries_ids, previous_timeseries_ids):
    """job_script.py filter_keys, verbatim in behaviour."""
    filtered_keys = []
    new_timeseries_ids = []
    for key in keys:
        timeseries_id = timeseries_id_from_key(key)
        wanted = all_timeseries_ids is None or timeseries_id in all_timeseries_ids
        if wanted and timeseries_id not in previous_timeseries_ids:
            filtered_keys.append(key)
            if timeseries_id not in new_timeseries_ids:
                new_timeseries_ids.append(timeseries_id)
    return filtered_keys, new_timeseries_ids


def _merge_day(raw_dir, merged_root, day_folder, start_ts, schema, order=sorted):
    """job_script.py merge_s3_objects. Returns (merged path, index path or
    None, records appended). order: how os.listdir's entries are walked."""
    if not os.path.exists(merged_root):
        os.mkdir(merged_root)
    else:
        for child in [x for x in os.listdir(merged_root) if not x.startswith(".")]:
            shutil.rmtree(os.path.join(merged_root, child))
    out_dir = os.path.join(merged_root, day_folder)
    if not os.path.exists(out_dir):
        os.mkdir(out_dir)
    merged_name = "merged_series_%d.avro" % start_ts
    merged_path = os.path.join(out_dir, merged_name)
    writer = avro.datafile.DataFileWriter(open(merged_path, "wb"), avro.io.DatumWriter(),
                                          schema, codec="snappy")
    index_file = ""
    n = 0
    for target_file in order(os.listdir(raw_dir)):
        file_path = os.path.join(raw_dir, target_file)
        if target_file.endswith(".avro"):
            with open(file_path, "rb") as fh:
                reader = avro.datafile.DataFileReader(fh, avro.io.DatumReader())
                records = [record for record in reader]
                reader.close()
            for record in records:
                writer.append(record)
                n += 1
        if target_file.endswith(".txt"):
            with open(file_path, "r", encoding="utf-8") as f:
                file_content = f.read()
            index_file += file_content if not index_file else "\n" + file_content
    writer.close()
    index_path = None
    if index_file:
        index_path = os.path.join(out_dir, "timeseries.txt")
        with open(index_path, "w", encoding="utf-8") as f:
            f.write(index_file)
    return merged_path, index_path, n



class _HookAbort(Exception):
    """A hook raised: re-raised unchanged by run_sample."""

    def __init__(self, orig):
        super().__init__(repr(orig))
        self.orig = orig


def _hook(hook, stage, dayname):
    if hook:
        try:
            hook(stage, dayname)
        except BaseException as e:
            raise _HookAbort(e)


def _process_day(s3, d, s, hook, cold_bucket, cold_prefix, out_bucket, out_data_prefix,
                 out_index_prefix, raw_root, merged_root, wanted, start_ts, schema, order):
    """One day of job_script.py start() + process_day(); fills the summary s."""
    dayname = d.isoformat()
    day_prefix = _day_prefix(d)
    keys = get_all_s3_objects(s3, cold_bucket, cold_prefix + day_prefix)
    s["listed"] = list(keys)
    if len(keys) == 0:
        return
    _hook(hook, "listed", dayname)
    day_folder = _day_folder(d)
    raw_dir = os.path.join(raw_root, day_folder)
    if not os.path.exists(raw_dir):
        os.mkdir(raw_dir)
    previous_index_key = out_index_prefix + day_prefix + "timeseries.txt"
    previous_ids = []
    if s3_prefix_exists(s3, out_bucket, previous_index_key):
        prev_path = os.path.join(raw_dir, "timeseries-previous.txt")
        with open(prev_path, "w+b") as f1:
            f1.write(s3.get(out_bucket, previous_index_key))
        with open(prev_path, "r", encoding="utf-8") as f2:
            previous_ids = f2.read().splitlines()
        s["previous_ids"] = list(previous_ids)
    filtered, new_ids = filter_keys(keys, wanted, previous_ids)
    s["new_ids"] = list(new_ids)
    if len(new_ids) > 0:
        with open(os.path.join(raw_dir, "timeseries-new.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(new_ids))
    if len(filtered) == 0:
        s["status"] = "nothing-new"
        if os.path.exists(raw_dir):
            shutil.rmtree(raw_dir)
        return
    s["sources"] = list(filtered)
    # download_objects -> download_s3_object (flattened file names)
    for key in filtered:
        with open(os.path.join(raw_dir, filename_from_key(key)), "w+b") as f:
            f.write(s3.get(cold_bucket, key))
    _hook(hook, "downloaded", dayname)
    merged_path, index_path, n = _merge_day(raw_dir, merged_root, day_folder, start_ts, schema,
                                            order)
    s["records"] = n
    _hook(hook, "merged", dayname)
    # upload_to_repartitioned_data_s3_bucket: the data, then the index
    data_key = out_data_prefix + day_prefix + os.path.basename(merged_path)
    index_key = out_index_prefix + day_prefix + "timeseries.txt"
    with open(merged_path, "rb") as f:
        s3.put(out_bucket, data_key, f.read())
    s["merged_key"] = data_key
    s["keys_written"].append(data_key)
    if index_path is None:  # boto3 upload_file of a missing file
        raise FileNotFoundError(os.path.join(os.path.dirname(merged_path), "timeseries.txt"))
    with open(index_path, "rb") as f:
        body = f.read()
    s3.put(out_bucket, index_key, body)
    s["index_key"] = index_key
    s["index_text"] = body.decode("utf-8")
    s["keys_written"].append(index_key)
    s["status"] = "merged"


def run_sample(endpoint, cold_bucket, cold_prefix, out_bucket, out_data_prefix,
               out_index_prefix, days, workdir, hook=None, *, start_ts=None,
               all_timeseries_ids=None, listdir_order=None):
    """One run of the sample's Glue job over `days` (see the module doc).
    start_ts: the merged file's timestamp (default: now, in whole seconds, as
    the job takes it at start). all_timeseries_ids: the ids ListTimeSeries
    would return (default None: every id is wanted). listdir_order: a
    function ordering the raw day folder's entries for the merge, standing
    for os.listdir's file-system order (default sorted: the new ids before
    the previous index; `lambda xs: sorted(xs, reverse=True)` puts the
    previous index first, the other order the sample can produce)."""
    order = listdir_order or sorted
    if start_ts is None:
        start_ts = int(time.time())
    s3 = _S3(endpoint)
    schema = avro.schema.parse(AVRO_SCHEMA_JSON)
    raw_root = os.path.join(workdir, "raw")
    merged_root = os.path.join(workdir, "merged")
    os.makedirs(workdir, exist_ok=True)
    if not os.path.exists(raw_root):
        os.mkdir(raw_root)
    wanted = None if all_timeseries_ids is None else set(all_timeseries_ids)

    summary = {}
    ordered = sorted({date.fromisoformat(d) for d in days}, reverse=True)
    for d in ordered:
        dayname = d.isoformat()
        s = {"status": "no-data", "listed": [], "previous_ids": None, "new_ids": [],
             "sources": [], "records": 0, "merged_key": None, "index_key": None,
             "index_text": None, "keys_written": [], "start_ts": start_ts}
        try:
            _process_day(s3, d, s, hook, cold_bucket, cold_prefix, out_bucket, out_data_prefix,
                         out_index_prefix, raw_root, merged_root, wanted, start_ts, schema,
                         order)
        except _HookAbort as h:
            raise h.orig
        except SampleError as e:
            err = SampleError("%s: %s" % (dayname, e), day=dayname, summary=summary)
            err.partial = s
            raise err from e
        except Exception as e:  # IndexError on a key, bad Avro, local I/O...
            err = SampleError("%s: %s: %s" % (dayname, type(e).__name__, e), day=dayname,
                              summary=summary)
            err.partial = s
            raise err from e
        summary[dayname] = s
        if s["status"] == "merged" and hook:
            hook("uploaded", dayname)
    for p in (raw_root, merged_root):
        shutil.rmtree(p, ignore_errors=True)
    return summary


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser(description="one run of the original sample's algorithm")
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--cold-bucket", required=True)
    ap.add_argument("--cold-prefix", default="raw/")
    ap.add_argument("--out-bucket", required=True)
    ap.add_argument("--data-prefix", default="consolidated/")
    ap.add_argument("--index-prefix", default="index/")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--start-ts", type=int)
    ap.add_argument("days", nargs="+")
    a = ap.parse_args()
    print(json.dumps(run_sample(a.endpoint, a.cold_bucket, a.cold_prefix, a.out_bucket,
                                a.data_prefix, a.index_prefix, a.days, a.workdir,
                                start_ts=a.start_ts), indent=1))
