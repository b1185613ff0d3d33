/* locking: whether this run keeps writers of one day apart (src/aws/lease.h).
 *
 * The lease protocol needs a server that honours conditional writes. AWS S3
 * does; most S3-compatible servers and every local test server ignore the
 * headers, and ignoring them silently is the dangerous case (two writers
 * both "win"). So instead of guessing from the endpoint, a run asks the
 * server once: locking_probe writes a probe object next to the leases and
 * checks that a second If-None-Match: * PUT and an If-Match PUT with a
 * wrong ETag are refused. `locking: auto` is then on exactly when they were,
 * `on` fails when they were not, and `off` does not probe.
 *
 * Typical use, once per run (the runtime):
 *     int on; char off[LOCKING_TEXT_MAX];
 *     if (locking_setup(s3, cfg, &on, off, sizeof off, &e) != 0) ...   (ERR_USAGE: exit 2)
 *     if (!on) log_msg(LOG_WARN, NULL, "locking_off", "%s", off);
 */
#ifndef REPART_LOCKING_H
#define REPART_LOCKING_H

#include <stddef.h>
#include "err.h"
#include "s3.h"

struct config;

#define LOCKING_PROBE_NAME ".repart-probe-"
#define LOCKING_TEXT_MAX 512

/* Writes `<key_prefix>.repart-probe-<random hex>` with If-None-Match: *,
 * again with If-None-Match: * and other bytes, then with If-Match on a
 * wrong ETag, and deletes it (If-Match, then unconditionally if still
 * there). *honoured = 1 only when both later PUTs were refused (412/409);
 * 0 when either was accepted or the server answered 501 NotImplemented to
 * the condition. A server that honours conditional PUTs but not If-Match
 * on DeleteObject still counts as honouring them (logged as a warning:
 * leases are then released unconditionally). Other failures (403, network)
 * are errors: nothing is known then. About 5 requests. */
int locking_probe(struct s3_client *s3, const char *bucket, const char *key_prefix,
                  int *honoured, struct err *e);

/* mode: CONFIG_LOCK_AUTO / _ON / _OFF. `honoured`: the probe's answer
 * (ignored for off). *on = 1 for auto+honoured and on+honoured; 0 for off
 * and auto+not honoured. on+not honoured is ERR_USAGE naming `endpoint`. */
int locking_decide(int mode, int honoured, const char *endpoint, int *on, struct err *e);

/* The line to say once per run when locking is off (mode off, or auto on a
 * server that ignores conditional writes). */
void locking_off_text(int mode, const char *endpoint, char *buf, size_t size);

/* Where the run's S3 requests go, for messages: the endpoint URL as the
 * client resolves it (config, else AWS_ENDPOINT_URL_S3, else
 * AWS_ENDPOINT_URL; any user:password@ removed), or "AWS S3 (<region>)". */
const char *locking_endpoint_name(const struct config *cfg, char *buf, size_t size);

/* All of the above for one run: probes the repartitioned bucket under its
 * index prefix (where the leases live) unless locking is off, decides, and
 * fills off_text (may be NULL) when the answer is off. */
int locking_setup(struct s3_client *s3, const struct config *cfg, int *on, char *off_text,
                  size_t off_size, struct err *e);

#endif
