/* commands: the table of repart's commands, their options and help (cli.h
 * reads it; cmd.h declares the commands). Kept apart from cli.c so that the
 * parser does not depend on the commands that depend on it. */
#include "cli.h"
#include "cmd.h"

#define RANGE CLI_OPT_RANGE

const struct cli_command cli_commands[] = {
    { "plan", cmd_plan, RANGE | CLI_OPT_JSON, "",
      "show what would be done per day; writes nothing",
      "Lists each day's cold-tier objects and tells which are new and which the index\n"
      "already covers, with their sizes. Reads only; writes nothing anywhere." },
    { "download", cmd_download, RANGE | CLI_OPT_REPORT, "",
      "fetch each day's new objects into <work_dir>/raw/<day>/",
      "Fetches the objects of each day that the index does not cover yet into\n"
      "<work_dir>/raw/<Y-M-D>/, together with the day's index state, for `merge`." },
    { "merge", cmd_merge, RANGE | CLI_OPT_REPORT, "",
      "merge each downloaded day into <work_dir>/merged/<day>/",
      "Merges the objects staged by `download` into one Avro file per day in\n"
      "<work_dir>/merged/<Y-M-D>/. Without --from/--to or --days, every day staged\n"
      "in <work_dir> is merged." },
    { "upload", cmd_upload, RANGE | CLI_OPT_REPORT, "",
      "upload merged data, then the updated index; clean the day's work dir",
      "Uploads each merged day to the repartitioned bucket, then its updated index\n"
      "(the commit), then removes the day's work directories. Without --from/--to\n"
      "or --days, every merged day in <work_dir> is uploaded." },
    { "all", cmd_all, RANGE | CLI_OPT_REPORT, "",
      "download, merge and upload in one process, streamed",
      "Does what download, merge and upload do, day by day, streaming from the cold\n"
      "tier to the repartitioned bucket without staging on disk." },
    { "event", cmd_event, CLI_OPT_REPORT | CLI_OPT_INPUT | CLI_OPT_OBJECT, "[FILE|-]",
      "process the days named by an S3 event notification",
      "Reads one S3 event (a plain S3 notification, the same inside an SQS message or\n"
      "an SNS envelope, or an EventBridge \"Object Created\" event) from FILE, or from\n"
      "standard input when FILE is - or absent, and processes each day it names once.\n"
      "With --object, the objects named take the place of an event document.\n"
      "Keys outside the configured bucket and prefix are ignored (with a log line).\n"
      "A document that cannot be read as an event exits 1; an s3:TestEvent, or an\n"
      "event that names no day, exits 0 with nothing done." },
    { "watch", cmd_watch, CLI_OPT_QUEUE | CLI_OPT_ONCE, "",
      "long-poll an SQS queue for S3 events and process them",
      "Long-polls the SQS queue for S3 event notifications, gathers them into\n"
      "batches (config: watch.batch_messages, watch.quiet_seconds,\n"
      "watch.batch_seconds) and processes each day a batch names once. A message is\n"
      "deleted only after every day it names is committed; after a failure it stays\n"
      "in the queue and comes back after its visibility timeout (extended while its\n"
      "batch runs). Messages that are not S3 events are left for the dead-letter\n"
      "queue. SIGTERM or SIGINT: stop receiving, finish the batch in progress, exit\n"
      "0. With --once: exit when the queue is drained, 1 if a day failed or a\n"
      "message was not an event." },
    { "status", cmd_status, RANGE | CLI_OPT_JSON, "",
      "per day: raw objects, indexed series, merged files, pending work",
      "Shows, per day, the cold-tier objects, the series and objects the index\n"
      "covers, the merged files, and what a run would still have to do." },
    { "verify", cmd_verify, RANGE | CLI_OPT_JSON | CLI_OPT_REPORT | CLI_OPT_DEEP | CLI_OPT_REPAIR, "",
      "check merged files against their sources and the index",
      "Compares, per day, the record counts of the merged files with those of their\n"
      "source objects, the index with the merged data, and reports orphans (merged\n"
      "files no index names). Exits 1 when a day does not check out." },
    { "athena", cmd_athena, RANGE | CLI_OPT_ATHENA, "",
      "print CREATE EXTERNAL TABLE DDL for the output layout",
      "Prints Athena DDL (an Avro table with partition projection on startYear,\n"
      "startMonth and startDay) per dataset: <table> for raw, <table>_agg for agg.\n"
      "Columns and avro.schema.literal come from the committed day files' headers\n"
      "(widened into one schema; raw falls back to RawDatum when none can be\n"
      "read). The projected years run from 2021 (or the earliest year of\n"
      "--from/--to or date_range) to 2099, so the table keeps working as new days\n"
      "arrive; filter on startyear. With --partitions, prints instead ALTER TABLE\n"
      "... ADD IF NOT EXISTS PARTITION statements for the days that have merged\n"
      "files in the bucket (all, or those of --from/--to or --days), for a table\n"
      "created with --no-projection." },
    { NULL, NULL, 0, NULL, NULL, NULL },
};
