#!/usr/bin/python3
"""What the original Python sample (aws-samples/aws-iot-sitewise-cold-tier-
repartitioning) leaves in a bucket, re-created for tests with python3-avro:
its merged file `merged_series_<ts>.avro` (records decoded and re-encoded,
snappy) and its `timeseries.txt` holding the sample's series ids, i.e. the
second '_'-field of the file name (for `<asset>_<property>` series: the asset
id alone, a "legacy short entry").

  python_sample.py merge SRC_DIR OUT_DIR N_IDS
      takes the sources whose sample id is among the first N_IDS sample ids
      (sorted), writes OUT_DIR/merged_series_1690000000.avro and
      OUT_DIR/timeseries.txt, and prints the chosen file names.
  python_sample.py skipped INDEX_FILE SRC_DIR
      the sample's filter on a later run: prints how many source files it
      would download again (those whose sample id is not an index line).
"""
import os
import sys

import avro.datafile
import avro.io
import avro.schema


def sample_id(name):
    return name.split("_")[1]


def sources(src_dir):
    for root, _, files in os.walk(src_dir):
        for f in sorted(files):
            if f.startswith("raw_") and f.endswith(".avro"):
                yield os.path.join(root, f), f


def merge(src_dir, out_dir, n_ids):
    ids = sorted({sample_id(f) for _, f in sources(src_dir)})[:int(n_ids)]
    chosen = [(p, f) for p, f in sources(src_dir) if sample_id(f) in ids]
    schema = None
    os.makedirs(out_dir, exist_ok=True)
    writer = None
    for path, _ in chosen:
        with open(path, "rb") as fh:
            reader = avro.datafile.DataFileReader(fh, avro.io.DatumReader())
            if writer is None:
                schema = avro.schema.parse(reader.get_meta("avro.schema").decode())
                writer = avro.datafile.DataFileWriter(
                    open(os.path.join(out_dir, "merged_series_1690000000.avro"), "wb"),
                    avro.io.DatumWriter(), schema, codec="snappy")
            for rec in reader:
                writer.append(rec)
            reader.close()
    writer.close()
    with open(os.path.join(out_dir, "timeseries.txt"), "w") as f:
        f.write("\n".join(ids))
    for _, name in chosen:
        print(name)


def skipped(index_file, src_dir):
    with open(index_file) as f:
        previous = f.read().splitlines()
    print(sum(1 for _, f in sources(src_dir) if sample_id(f) not in previous))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "merge":
        merge(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "skipped":
        skipped(*sys.argv[2:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
