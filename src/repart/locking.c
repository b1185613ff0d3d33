#include "locking.h"
#include "awscfg.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "lease.h"
#include "log.h"
#include "s3_url.h"

/* A server that does not implement a conditional header answers 501
 * NotImplemented (which the client retries as a 5xx, then reports). */
static int not_implemented(const struct err *e)
{
    return strstr(e->msg, "NotImplemented") != NULL || strstr(e->msg, "HTTP 501") != NULL;
}

/* An ETag no object of the probe has (never the MD5 of real bytes). */
#define WRONG_ETAG "00000000000000000000000000000000"

int locking_probe(struct s3_client *s3, const char *bucket, const char *key_prefix,
                  int *honoured, struct err *e)
{
    *honoured = 0;
    unsigned char r[8];
    if (RAND_bytes(r, sizeof r) != 1)
        return err_set(e, "locking probe: no random bytes");
    char key[1100];
    int n = snprintf(key, sizeof key, "%s" LOCKING_PROBE_NAME "%02x%02x%02x%02x%02x%02x%02x%02x",
                     key_prefix ? key_prefix : "", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    if (n < 0 || (size_t)n >= sizeof key)
        return err_setk(e, ERR_USAGE, "locking probe: key prefix too long");
    /* Different bytes each time: s3_put takes a refused If-None-Match PUT
     * whose bytes are already there as its own earlier attempt. */
    char body[3][240];
    for (int i = 0; i < 3; i++)
        snprintf(body[i], sizeof body[i], "repart locking probe, write %d, by %s\n", i + 1,
                 lease_owner());
    char etag[80] = "";
    struct s3_put_opts inm = {.content_type = "text/plain", .if_none_match = "*"};
    struct s3_put_opts im = {.content_type = "text/plain", .if_match = WRONG_ETAG};
    struct err pe = {0};
    int rc = 0, created = 0, refused_inm = 0, refused_im = 0;

    if (s3_put(s3, bucket, key, body[0], strlen(body[0]), &inm, etag, &pe) == 0)
        created = 1;
    else if (!not_implemented(&pe))
        rc = -1;
    if (created) {
        if (s3_put(s3, bucket, key, body[1], strlen(body[1]), &inm, NULL, &pe) != 0) {
            if (pe.kind == ERR_CONFLICT)
                refused_inm = 1;
            else if (!not_implemented(&pe))
                rc = -1;
        }
    }
    if (refused_inm) {
        if (s3_put(s3, bucket, key, body[2], strlen(body[2]), &im, NULL, &pe) != 0) {
            if (pe.kind == ERR_CONFLICT)
                refused_im = 1;
            else if (!not_implemented(&pe))
                rc = -1;
        }
    }
    /* Clean up; on the way, see whether DeleteObject honours If-Match. */
    int gone = 0, refused_del = 0;
    if (created && refused_im) {
        struct err de = {0};
        if (s3_delete_if_match(s3, bucket, key, WRONG_ETAG, &de) == 0 || de.kind == ERR_NOT_FOUND)
            gone = 1;
        else if (de.kind == ERR_CONFLICT)
            refused_del = 1;
        if (refused_del && s3_delete_if_match(s3, bucket, key, etag, &de) == 0)
            gone = 1;
    }
    if (!gone) {
        struct err de = {0};
        s3_delete(s3, bucket, key, &de);  /* best effort: a probe object is harmless */
    }
    if (rc != 0) {
        *e = pe;
        return err_prefix(e, "locking probe: ");
    }
    *honoured = refused_inm && refused_im;
    if (*honoured && !refused_del)
        log_msg(LOG_WARN, NULL, "locking_probe",
                "s3://%s honours conditional PUTs but ignored If-Match on DeleteObject: a lease "
                "is released even if another writer took it over meanwhile", bucket);
    return 0;
}

int locking_decide(int mode, int honoured, const char *endpoint, int *on, struct err *e)
{
    *on = 0;
    if (mode == CONFIG_LOCK_OFF)
        return 0;
    if (honoured) {
        *on = 1;
        return 0;
    }
    if (mode == CONFIG_LOCK_AUTO)
        return 0;
    return err_setk(e, ERR_USAGE,
                    "locking: on, but the S3 endpoint %s does not honour conditional writes (a "
                    "second If-None-Match: * PUT of one key, or an If-Match PUT with a wrong "
                    "ETag, was accepted): it cannot keep two writers of one day apart. Use an "
                    "endpoint that supports them (AWS S3 does), or set locking: off and run one "
                    "writer per day",
                    endpoint);
}

void locking_off_text(int mode, const char *endpoint, char *buf, size_t size)
{
    if (mode == CONFIG_LOCK_OFF)
        snprintf(buf, size, "locking is off (locking: off): nothing keeps two writers of one day "
                            "apart; run one writer per day (shards never overlap)");
    else
        snprintf(buf, size, "locking is off: the S3 endpoint %s does not honour conditional "
                            "writes (probed); nothing keeps two writers of one day apart; run "
                            "one writer per day (shards never overlap)",
                 endpoint);
}

const char *locking_endpoint_name(const struct config *cfg, char *buf, size_t size)
{
    char ubuf[AWSCFG_URL_MAX + 1];
    const char *url = awscfg_endpoint(AWSCFG_S3, cfg->s3.endpoint_url, cfg->s3.region, ubuf,
                                      sizeof ubuf, NULL, NULL) == 1 ? ubuf : "";
    if (!*url) {
        snprintf(buf, size, "AWS S3 (%s)", cfg->s3.region[0] ? cfg->s3.region : "us-east-1");
        return buf;
    }
    /* never print credentials written into the URL */
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        snprintf(buf, size, "%.*s%s", (int)(host - url), url, at + 1);
    else
        snprintf(buf, size, "%s", url);
    return buf;
}

int locking_setup(struct s3_client *s3, const struct config *cfg, int *on, char *off_text,
                  size_t off_size, struct err *e)
{
    *on = 0;
    char ep[CONFIG_URL_MAX + 64];
    locking_endpoint_name(cfg, ep, sizeof ep);
    int honoured = 0;
    if (cfg->locking != CONFIG_LOCK_OFF &&
        locking_probe(s3, cfg->s3.repartitioned.bucket_name, cfg->s3.repartitioned.index_prefix,
                      &honoured, e) != 0)
        return err_prefix(e, "finding out whether %s honours conditional writes: ", ep);
    if (locking_decide(cfg->locking, honoured, ep, on, e) != 0)
        return -1;
    if (!*on && off_text && off_size)
        locking_off_text(cfg->locking, ep, off_text, off_size);
    return 0;
}
