#include "lease.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char owner_id[160];
static pthread_once_t owner_once = PTHREAD_ONCE_INIT;

static void owner_init(void)
{
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    unsigned char r[6] = {0};
    RAND_bytes(r, sizeof r);
    snprintf(owner_id, sizeof owner_id, "%s:%ld:%02x%02x%02x%02x%02x%02x", host, (long)getpid(),
             r[0], r[1], r[2], r[3], r[4], r[5]);
}

const char *lease_owner(void)
{
    pthread_once(&owner_once, owner_init);
    return owner_id;
}

static char *lease_body(int ttl_secs, size_t *len)
{
    long long now = (long long)time(NULL);
    json_t *o = json_pack("{s:s, s:I, s:I}", "owner", lease_owner(), "acquired", (json_int_t)now,
                          "expires", (json_int_t)(now + ttl_secs));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (s)
        *len = strlen(s);
    return s;
}

int lease_acquire(struct s3_client *s3, const char *bucket, const char *key, int ttl_secs,
                  struct lease *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    snprintf(out->key, sizeof out->key, "%s", key);
    size_t len = 0;
    char *body = lease_body(ttl_secs, &len);
    if (!body)
        return err_set(e, "out of memory");
    struct s3_put_opts create = {.content_type = "application/json", .if_none_match = "*"};
    struct err pe = {0};
    int rc = s3_put(s3, bucket, key, body, len, &create, out->etag, &pe);
    if (rc == 0) {
        out->held = 1;
        free(body);
        return 0;
    }
    if (pe.kind != ERR_CONFLICT) {
        free(body);
        *e = pe;
        return err_prefix(e, "taking the day's lease: ");
    }
    /* Someone holds it, or held it and died: read who and until when. */
    struct s3_buf b = {0};
    struct s3_get_info info = {0};
    struct err ge = {0};
    if (s3_get_buffer(s3, bucket, key, &b, &info, &ge) != 0) {
        free(body);
        s3_buf_free(&b);
        if (ge.kind == ERR_NOT_FOUND)  /* released meanwhile: let the caller retry later */
            return err_setk(e, ERR_CONFLICT, "the day's lease s3://%s/%s changed hands; retry",
                            bucket, key);
        *e = ge;
        return err_prefix(e, "reading the day's lease: ");
    }
    json_error_t je;
    json_t *o = json_loadb((const char *)b.data, b.len, 0, &je);
    s3_buf_free(&b);
    const char *who = json_string_value(json_object_get(o, "owner"));
    json_int_t expires = json_integer_value(json_object_get(o, "expires"));
    char whobuf[160];
    snprintf(whobuf, sizeof whobuf, "%s", who ? who : "(unreadable lease)");
    json_decref(o);
    long long now = (long long)time(NULL);
    if (expires > now) {
        free(body);
        return err_setk(e, ERR_CONFLICT,
                        "another writer (%s) holds this day until %lld (%lld s from now); "
                        "rerun the day after that",
                        whobuf, (long long)expires, (long long)expires - now);
    }
    /* Expired (or unreadable): take it over, only if nobody else did first. */
    struct s3_put_opts takeover = {.content_type = "application/json", .if_match = info.etag};
    rc = s3_put(s3, bucket, key, body, len, &takeover, out->etag, &pe);
    free(body);
    if (rc == 0) {
        out->held = 1;
        return 0;
    }
    if (pe.kind == ERR_CONFLICT || pe.kind == ERR_NOT_FOUND)
        return err_setk(e, ERR_CONFLICT, "another writer took over the expired lease of %s first",
                        whobuf);
    *e = pe;
    return err_prefix(e, "taking over the day's lease: ");
}

void lease_release(struct s3_client *s3, const char *bucket, struct lease *l)
{
    if (!l->held)
        return;
    struct err ignored = {0};
    s3_delete(s3, bucket, l->key, &ignored);
    l->held = 0;
}
