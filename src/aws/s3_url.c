#include "s3_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "awscfg.h"
#include "sigv4.h"

#define S3_KEY_MAX_BYTES 1024

static int host_char_ok(unsigned char c)
{
    return isalnum(c) || c == '.' || c == '-' || c == '_';
}

int s3_endpoint_init(struct s3_endpoint *ep, const char *region, const char *url,
                     int path_style, struct err *e)
{
    memset(ep, 0, sizeof *ep);
    if (!region || !*region)
        region = "us-east-1";
    if (!awscfg_region_ok(region))
        return err_setk(e, ERR_USAGE, "s3 region \"%.64s\" is not a region name", region);
    snprintf(ep->region, sizeof ep->region, "%s", region);
    ep->path_style = path_style ? 1 : 0;
    if (!url || !*url) {
        const struct awscfg *ac = awscfg_get();
        ep->aws = 1;
        ep->fips = ac->fips;
        ep->dualstack = ac->dualstack;
        strcpy(ep->scheme, "https");
        return 0;
    }
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0) {
        strcpy(ep->scheme, "https");
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        strcpy(ep->scheme, "http");
        p = url + 7;
    } else {
        return err_setk(e, ERR_USAGE,
                        "s3 endpoint URL \"%.200s\" must start with http:// or https://", url);
    }
    /* host: [v6] or name; then :port; then /path; no userinfo, query, fragment */
    size_t hl = 0;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close)
            return err_setk(e, ERR_USAGE, "s3 endpoint URL \"%.200s\": unterminated [", url);
        for (const char *q = p + 1; q < close; q++)
            if (!(isxdigit((unsigned char)*q) || *q == ':' || *q == '.'))
                return err_setk(e, ERR_USAGE, "s3 endpoint URL \"%.200s\": bad IPv6 host", url);
        hl = (size_t)(close - p) + 1;
    } else {
        while (p[hl] && host_char_ok((unsigned char)p[hl]))
            hl++;
    }
    if (hl == 0 || hl >= sizeof ep->host)
        return err_setk(e, ERR_USAGE, "s3 endpoint URL \"%.200s\" has no valid host", url);
    for (size_t i = 0; i < hl; i++)
        ep->host[i] = (char)tolower((unsigned char)p[i]);
    ep->host[hl] = '\0';
    p += hl;
    if (*p == ':') {
        p++;
        long port = 0;
        int digits = 0;
        while (isdigit((unsigned char)*p) && digits < 6) {
            port = port * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0 || port < 1 || port > 65535)
            return err_setk(e, ERR_USAGE, "s3 endpoint URL \"%.200s\" has a bad port", url);
        ep->port = (int)port;
        if ((ep->port == 443 && strcmp(ep->scheme, "https") == 0) ||
            (ep->port == 80 && strcmp(ep->scheme, "http") == 0))
            ep->port = 0;
    }
    if (*p && *p != '/')
        return err_setk(e, ERR_USAGE,
                        "s3 endpoint URL \"%.200s\": unexpected '%c' after the host", url, *p);
    size_t pl = strlen(p);
    while (pl > 0 && p[pl - 1] == '/')
        pl--;
    if (pl >= sizeof ep->base_path)
        return err_setk(e, ERR_USAGE, "s3 endpoint URL \"%.200s\": path too long", url);
    for (size_t i = 0; i < pl; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!(isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~'))
            return err_setk(e, ERR_USAGE,
                            "s3 endpoint URL \"%.200s\": unsupported character in the path", url);
    }
    memcpy(ep->base_path, p, pl);
    ep->base_path[pl] = '\0';
    return 0;
}

int s3_bucket_name_check(const char *bucket, struct err *e)
{
    size_t n = bucket ? strlen(bucket) : 0;
    if (n < 3 || n > 255)
        return err_setk(e, ERR_USAGE, "bucket name \"%.255s\" must be 3 to 255 characters",
                        bucket ? bucket : "");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)bucket[i];
        if (!(isalnum(c) || c == '.' || c == '-' || c == '_'))
            return err_setk(e, ERR_USAGE, "bucket name \"%.255s\" has an invalid character",
                            bucket);
    }
    return 0;
}

/* A bucket that can be the first label of a TLS host name. */
static int bucket_dns_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        if (!(islower(c) || isdigit(c) || c == '-'))
            return 0;
    }
    return b[0] != '-' && b[n - 1] != '-';
}

void s3_target_free(struct s3_target *t)
{
    if (!t)
        return;
    free(t->url);
    free(t->host);
    free(t->path);
    t->url = t->host = t->path = NULL;
}

int s3_target_build(const struct s3_endpoint *ep, const char *bucket, const char *key,
                    const char *query, struct s3_target *t, struct err *e)
{
    memset(t, 0, sizeof *t);
    if (s3_bucket_name_check(bucket, e) != 0)
        return -1;
    if (key && (key[0] == '\0' || strlen(key) > S3_KEY_MAX_BYTES))
        return err_setk(e, ERR_USAGE, "s3://%s: key is empty or longer than 1024 bytes", bucket);
    int path_style = ep->path_style || !bucket_dns_ok(bucket);

    char hostname[512];
    if (ep->aws) {
        char host[256];
        if (awscfg_aws_host(AWSCFG_S3, ep->region, ep->fips, ep->dualstack, host,
                            sizeof host) != 0)
            return err_setk(e, ERR_USAGE, "s3://%s: endpoint host too long", bucket);
        if (path_style)
            snprintf(hostname, sizeof hostname, "%s", host);
        else
            snprintf(hostname, sizeof hostname, "%s.%s", bucket, host);
    } else {
        if (path_style)
            snprintf(hostname, sizeof hostname, "%s", ep->host);
        else
            snprintf(hostname, sizeof hostname, "%s.%s", bucket, ep->host);
    }
    char hostport[600];
    if (ep->port)
        snprintf(hostport, sizeof hostport, "%s:%d", hostname, ep->port);
    else
        snprintf(hostport, sizeof hostport, "%s", hostname);

    char *kenc = NULL;
    if (key) {
        kenc = sigv4_uri_encode(key, strlen(key), 1);
        if (!kenc)
            return err_setk(e, ERR_GENERIC, "out of memory");
    }
    size_t plen = strlen(ep->base_path) + strlen(bucket) + (kenc ? strlen(kenc) : 0) + 4;
    t->path = malloc(plen);
    if (!t->path) {
        free(kenc);
        return err_setk(e, ERR_GENERIC, "out of memory");
    }
    /* key NULL: "/" (virtual) or "/BUCKET" (path style) */
    if (path_style)
        snprintf(t->path, plen, "%s/%s%s%s", ep->base_path, bucket, kenc ? "/" : "",
                 kenc ? kenc : "");
    else
        snprintf(t->path, plen, "%s/%s", ep->base_path, kenc ? kenc : "");
    free(kenc);

    int has_q = query && *query;
    size_t ulen = strlen(ep->scheme) + 3 + strlen(hostport) + strlen(t->path) +
                  (has_q ? strlen(query) + 1 : 0) + 1;
    t->url = malloc(ulen);
    t->host = strdup(hostport);
    if (!t->url || !t->host) {
        s3_target_free(t);
        return err_setk(e, ERR_GENERIC, "out of memory");
    }
    snprintf(t->url, ulen, "%s://%s%s%s%s", ep->scheme, hostport, t->path, has_q ? "?" : "",
             has_q ? query : "");
    return 0;
}
