#include "awscfg.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ini.h"

#define MAX_INI_BYTES (1 << 20)

static struct awscfg g;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_inited;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int awscfg_region_ok(const char *r)
{
    size_t n = r ? strlen(r) : 0;
    if (n == 0 || n > AWSCFG_REGION_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return 0;
    return 1;
}

/* ---- the config file ------------------------------------------------------ */

int awscfg_file_path(const char *var, const char *name, char *out, size_t n)
{
    const char *v = env(var), *home = getenv("HOME");
    int k;
    if (v) {
        if (v[0] == '~' && v[1] == '/' && home)
            k = snprintf(out, n, "%s%s", home, v + 1);
        else
            k = snprintf(out, n, "%s", v);
    } else {
        if (!home || !*home) {
            out[0] = '\0';
            return 1;
        }
        k = snprintf(out, n, "%s/.aws/%s", home, name);
    }
    if (k < 0 || (size_t)k >= n) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* The config file's path ("" when there is no HOME): 0, or -1 too long. */
static int config_path(char *out, size_t n)
{
    return awscfg_file_path("AWS_CONFIG_FILE", "config", out, n) < 0 ? -1 : 0;
}

/* The config file's text: 1 loaded (free *text), 0 absent, -1 error. */
static int load_file(const char *path, char **text, size_t *len, struct err *e)
{
    *text = NULL;
    *len = 0;
    if (!path[0])
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return err_setk(e, ERR_USAGE, "AWS config file %s: %s", path, strerror(errno));
    }
    char *buf = malloc(MAX_INI_BYTES + 1);
    if (!buf) {
        fclose(f);
        return err_set(e, "out of memory");
    }
    size_t n = fread(buf, 1, MAX_INI_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > MAX_INI_BYTES) {
        free(buf);
        return err_setk(e, ERR_USAGE, "AWS config file %s: %s", path,
                        bad ? "read error" : "larger than 1 MiB");
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 1;
}

/* The profile's value of key in text: [profile NAME], and [default] for
 * "default" (where [profile default] wins, as in the CLI). */
static int section_value(const char *text, size_t len, const char *profile, const char *key,
                         char *out, size_t n)
{
    char sec[AWSCFG_PROFILE_MAX + 16];
    if (strlen(profile) > AWSCFG_PROFILE_MAX)
        return 0;  /* no such section can be named */
    snprintf(sec, sizeof sec, "profile %.*s", AWSCFG_PROFILE_MAX, profile);
    int r = ini_find(text, len, sec, key, out, n);
    if (r == 0 && strcmp(profile, "default") == 0)
        r = ini_find(text, len, "default", key, out, n);
    return r;
}

static int profile_value_in(const char *path, const char *profile, const char *key, char *out,
                            size_t n, struct err *e)
{
    char *text;
    size_t len;
    int l = load_file(path, &text, &len, e);
    if (l <= 0)
        return l;
    int r = section_value(text, len, profile, key, out, n);
    free(text);
    if (r < 0)
        return err_setk(e, ERR_USAGE, "AWS config file %s: profile \"%s\": %s is too long",
                        path, profile, key);
    return r;
}

int awscfg_profile_value(const char *profile, const char *key, char *out, size_t n,
                         struct err *e)
{
    char path[AWSCFG_PATH_MAX];
    if (config_path(path, sizeof path) != 0)
        return err_setk(e, ERR_USAGE, "AWS_CONFIG_FILE: path too long");
    return profile_value_in(path, profile ? profile : awscfg_profile_name(NULL), key,
                            out, n, e);
}

/* ---- settings ----------------------------------------------------------------- */

static int parse_bool(const char *v, const char *from, int *out, struct err *e)
{
    if (strcasecmp(v, "true") == 0)
        *out = 1;
    else if (strcasecmp(v, "false") == 0)
        *out = 0;
    else
        return err_setk(e, ERR_USAGE, "%s: must be true or false (got \"%.20s\")", from, v);
    return 0;
}

/* A setting from the environment variable, else the profile's key. 1 found. */
static int setting(const char *text, size_t len, const char *profile, const char *var,
                   const char *key, char *out, size_t n, const char **from, struct err *e)
{
    const char *v = env(var);
    if (v) {
        if (strlen(v) >= n)
            return err_setk(e, ERR_USAGE, "%s is too long", var);
        snprintf(out, n, "%s", v);
        *from = var;
        return 1;
    }
    if (!text)
        return 0;
    int r = section_value(text, len, profile, key, out, n);
    if (r < 0)
        return err_setk(e, ERR_USAGE, "profile \"%s\": %s is too long", profile, key);
    if (r == 1 && out[0]) {
        *from = key;
        return 1;
    }
    return 0;
}

static int init_settings(struct awscfg *c, const char *profile, struct err *e)
{
    memset(c, 0, sizeof *c);
    const char *name = profile, *from = "--profile";
    if (!name) {
        name = env("AWS_PROFILE");
        from = "AWS_PROFILE";
    }
    if (!name) {
        name = "default";
        from = "default";
    }
    if (!*name || strlen(name) > AWSCFG_PROFILE_MAX || strpbrk(name, "[]\r\n"))
        return err_setk(e, ERR_USAGE, "%s: not a valid profile name",
                        strcmp(from, "default") ? from : "profile");
    snprintf(c->profile, sizeof c->profile, "%s", name);
    c->profile_from = from;
    if (config_path(c->config_file, sizeof c->config_file) != 0)
        return err_setk(e, ERR_USAGE, "AWS_CONFIG_FILE: path too long");

    char *text = NULL;
    size_t len = 0;
    if (load_file(c->config_file, &text, &len, e) < 0)
        return -1;
    int rc = -1;
    char v[AWSCFG_PATH_MAX];
    const char *vf = NULL;
    int r;

    if ((r = setting(text, len, c->profile, "AWS_CA_BUNDLE", "ca_bundle", v, sizeof v, &vf, e)) < 0)
        goto out;
    if (r == 1) {
        if (access(v, R_OK) != 0) {
            err_setk(e, ERR_USAGE, "%s %s: %s", vf, v, strerror(errno));
            goto out;
        }
        snprintf(c->ca_bundle, sizeof c->ca_bundle, "%s", v);
        c->ca_bundle_from = vf;
    }
    if ((r = setting(text, len, c->profile, "AWS_MAX_ATTEMPTS", "max_attempts", v, sizeof v, &vf,
                     e)) < 0)
        goto out;
    if (r == 1) {
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || *end || end == v || x < 1 || x > 100) {
            err_setk(e, ERR_USAGE, "%s: expected a number of attempts 1..100 (got \"%.20s\")",
                     vf, v);
            goto out;
        }
        c->max_attempts = (int)x;
    }
    if ((r = setting(text, len, c->profile, "AWS_RETRY_MODE", "retry_mode", v, sizeof v, &vf,
                     e)) < 0)
        goto out;
    if (r == 1) {
        if (strcasecmp(v, "legacy") == 0)
            c->retry_mode = AWSCFG_RETRY_LEGACY;
        else if (strcasecmp(v, "standard") == 0)
            c->retry_mode = AWSCFG_RETRY_STANDARD;
        else if (strcasecmp(v, "adaptive") == 0)
            c->retry_mode = AWSCFG_RETRY_ADAPTIVE;
        else {
            err_setk(e, ERR_USAGE, "%s: must be legacy, standard or adaptive (got \"%.20s\")",
                     vf, v);
            goto out;
        }
    }
    static const struct { const char *var, *key; size_t off; } bools[] = {
        { "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint", offsetof(struct awscfg, fips) },
        { "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint",
          offsetof(struct awscfg, dualstack) },
        { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "ignore_configured_endpoint_urls",
          offsetof(struct awscfg, ignore_endpoints) },
    };
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        if ((r = setting(text, len, c->profile, bools[i].var, bools[i].key, v, sizeof v, &vf,
                         e)) < 0)
            goto out;
        if (r == 1 && parse_bool(v, vf, (int *)((char *)c + bools[i].off), e) != 0)
            goto out;
    }
    rc = 0;
out:
    free(text);
    return rc;
}

int awscfg_init(const char *profile, struct err *e)
{
    struct awscfg c;
    struct err e2 = {0};
    int rc = init_settings(&c, profile, &e2);
    if (rc != 0) {
        /* keep a usable profile name for what follows */
        snprintf(c.profile, sizeof c.profile, "default");
        c.profile_from = "default";
    }
    g = c;
    g_inited = 1;
    if (rc != 0 && e)
        *e = e2;
    return rc;
}

static void init_once(void)
{
    if (!g_inited)
        awscfg_init(NULL, NULL);
}

const struct awscfg *awscfg_get(void)
{
    if (!g_inited)
        pthread_once(&g_once, init_once);
    return &g;
}

const char *awscfg_profile_name(const char **from)
{
    const struct awscfg *c = awscfg_get();
    const char *name = c->profile, *f = "--profile";
    if (strcmp(c->profile_from, "--profile") != 0) {
        name = env("AWS_PROFILE");
        f = "AWS_PROFILE";
        if (!name) {
            name = "default";
            f = "default";
        }
    }
    if (from)
        *from = f;
    return name;
}

/* ---- region ------------------------------------------------------------------- */

int awscfg_region(const char *explicit, const char *explicit_from, char *out, size_t n,
                  const char **from, struct err *e)
{
    const char *v = explicit && *explicit ? explicit : NULL, *f = explicit_from;
    char pv[AWSCFG_REGION_MAX + 2];
    if (!v) {
        static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
        for (size_t i = 0; i < 2 && !v; i++)
            if ((v = env(vars[i])) != NULL)
                f = vars[i];
    }
    if (!v) {
        int r = awscfg_profile_value(NULL, "region", pv, sizeof pv, e);
        if (r < 0)
            return -1;
        if (r == 1 && pv[0]) {
            v = pv;
            f = "profile region";
        }
    }
    if (!v)
        return 0;
    if (!awscfg_region_ok(v)) {
        if (f && strcmp(f, "profile region") == 0)
            return err_setk(e, ERR_USAGE, "profile \"%s\" in %s: region \"%.64s\" is not a "
                            "region name (e.g. us-east-1)", awscfg_profile_name(NULL),
                            env("AWS_CONFIG_FILE") ? env("AWS_CONFIG_FILE") : "~/.aws/config", v);
        return err_setk(e, ERR_USAGE, "%s: \"%.64s\" is not a region name (e.g. us-east-1)",
                        f ? f : "region", v);
    }
    if (strlen(v) >= n)
        return err_setk(e, ERR_USAGE, "region name too long");
    snprintf(out, n, "%s", v);
    if (from)
        *from = f;
    return 1;
}

/* ---- endpoints ---------------------------------------------------------------- */

static const struct {
    const char *env;      /* AWS_ENDPOINT_URL_<env> */
    const char *key;      /* the key in a services section */
    const char *host;     /* AWS host prefix */
    const char *name;
} SERVICES[] = {
    [AWSCFG_S3] = {"S3", "s3", "s3", "S3"},
    [AWSCFG_SQS] = {"SQS", "sqs", "sqs", "SQS"},
    [AWSCFG_STS] = {"STS", "sts", "sts", "STS"},
    [AWSCFG_SITEWISE] = {"IOTSITEWISE", "iotsitewise", "api.iotsitewise", "IoT SiteWise"},
    [AWSCFG_SSO] = {"SSO", "sso", "portal.sso", "SSO"},
};

int awscfg_url_check(const char *url, const char *from, char *out, size_t n, struct err *e)
{
    size_t ul = strlen(url);
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return err_setk(e, ERR_USAGE, "%s: not an http(s)://host[:port][/path] URL", from);
    /* credentials in the URL: refused before anything could print it */
    const char *auth = strstr(url, "://") + 3;
    size_t al = strcspn(auth, "/?#");
    if (al == 0)
        return err_setk(e, ERR_USAGE, "%s: not an http(s)://host[:port][/path] URL (no host)",
                        from);
    if (memchr(auth, '@', al))
        return err_setk(e, ERR_USAGE, "%s: the URL holds a user name or password "
                        "(user:password@host); refused. Give credentials through the AWS "
                        "credential chain, not in the endpoint URL", from);
    if (ul >= AWSCFG_URL_MAX || strpbrk(url, "?# \t\r\n"))
        return err_setk(e, ERR_USAGE, "%s: not an http(s)://host[:port][/path] URL "
                        "(no query, fragment or spaces; at most %d bytes)", from,
                        AWSCFG_URL_MAX - 1);
    CURLU *u = curl_url();
    if (!u)
        return err_set(e, "out of memory");
    char *host = NULL;
    int ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
    curl_free(host);
    curl_url_cleanup(u);
    if (!ok)
        return err_setk(e, ERR_USAGE, "%s \"%.200s\": not an http(s)://host[:port][/path] URL",
                        from, url);
    while (ul > 0 && url[ul - 1] == '/')
        ul--;
    if (ul >= n)
        return err_setk(e, ERR_USAGE, "%s: URL too long", from);
    memcpy(out, url, ul);
    out[ul] = '\0';
    return 0;
}

int awscfg_endpoint(enum awscfg_service svc, const char *explicit, const char *region,
                    char *out, size_t n, const char **from, struct err *e)
{
    const struct awscfg *c = awscfg_get();
    const char *profile = awscfg_profile_name(NULL);
    char v[AWSCFG_URL_MAX + 1];
    static _Thread_local char from_buf[160];
    if (from)
        *from = NULL;
    if (explicit && *explicit) {
        if (awscfg_url_check(explicit, "endpoint_url", out, n, e) != 0)
            return -1;
        if (from)
            *from = "endpoint_url";
        return 1;
    }
    int ignore = c->ignore_endpoints;
    const char *iv = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");   /* read now, as the rest */
    if (iv && parse_bool(iv, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", &ignore, e) != 0)
        return -1;
    if (!ignore) {
        char var[64];
        snprintf(var, sizeof var, "AWS_ENDPOINT_URL_%s", SERVICES[svc].env);
        const char *ev = env(var);
        if (ev) {
            snprintf(from_buf, sizeof from_buf, "%s", var);
        } else {
            char *text;
            size_t len;
            char path[AWSCFG_PATH_MAX];
            if (config_path(path, sizeof path) != 0)
                return err_setk(e, ERR_USAGE, "AWS_CONFIG_FILE: path too long");
            int l = load_file(path, &text, &len, e);
            if (l < 0)
                return -1;
            char sname[AWSCFG_PROFILE_MAX + 1];
            int r = 0;
            if (l == 1 && section_value(text, len, profile, "services", sname,
                                        sizeof sname) == 1 && sname[0]) {
                char sec[AWSCFG_PROFILE_MAX + 16];
                snprintf(sec, sizeof sec, "services %s", sname);
                r = ini_subvalue(text, len, sec, SERVICES[svc].key, "endpoint_url", v,
                                        sizeof v);
                if (r == 1 && v[0]) {
                    ev = v;
                    snprintf(from_buf, sizeof from_buf, "[services %.60s] %s endpoint_url",
                             sname, SERVICES[svc].key);
                }
            }
            if (!ev && (ev = env("AWS_ENDPOINT_URL")) != NULL)
                snprintf(from_buf, sizeof from_buf, "AWS_ENDPOINT_URL");
            if (!ev && l == 1 && section_value(text, len, profile, "endpoint_url", v,
                                               sizeof v) == 1 && v[0]) {
                ev = v;
                snprintf(from_buf, sizeof from_buf, "profile \"%.60s\" endpoint_url",
                         profile);
            }
            free(text);
            if (r < 0)
                return err_setk(e, ERR_USAGE, "services section of profile \"%s\": "
                                "endpoint_url too long", profile);
        }
        if (ev) {
            if (awscfg_url_check(ev, from_buf, out, n, e) != 0)
                return -1;
            if (from)
                *from = from_buf;
            return 1;
        }
    }
    /* AWS */
    if (region && *region && !awscfg_region_ok(region))
        return err_setk(e, ERR_USAGE, "region \"%.64s\" is not a region name", region);
    int global_sts = svc == AWSCFG_STS && (!region || !*region) && !c->fips && !c->dualstack;
    if (!region || !*region)
        region = "us-east-1";
    char host[256];
    int k = -1;
    if (global_sts)
        k = snprintf(out, n, "https://sts.amazonaws.com");
    else if (awscfg_aws_host(svc, region, c->fips, c->dualstack, host, sizeof host) == 0)
        k = snprintf(out, n, "https://%s", host);
    if (k < 0 || (size_t)k >= n)
        return err_setk(e, ERR_USAGE, "%s endpoint URL too long", SERVICES[svc].name);
    return 0;
}

int awscfg_aws_host(enum awscfg_service svc, const char *region, int fips, int dualstack,
                    char *out, size_t n)
{
    int cn = strncmp(region, "cn-", 3) == 0;
    const char *dom = cn ? "amazonaws.com.cn" : "amazonaws.com";
    const char *f = fips ? "-fips" : "";
    int k;
    if (svc == AWSCFG_S3)   /* S3's dual-stack names stay under amazonaws.com */
        k = snprintf(out, n, "s3%s%s.%s.%s", f, dualstack ? ".dualstack" : "", region, dom);
    else if (dualstack)
        k = snprintf(out, n, "%s%s.%s.%s", SERVICES[svc].host, f, region,
                     cn ? "api.amazonwebservices.com.cn" : "api.aws");
    else
        k = snprintf(out, n, "%s%s.%s.%s", SERVICES[svc].host, f, region, dom);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

void awscfg_curl_tls(CURL *h)
{
    const struct awscfg *c = awscfg_get();
    if (c->ca_bundle[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
}

const char *awscfg_retry_mode_name(int mode)
{
    switch (mode) {
    case AWSCFG_RETRY_LEGACY: return "legacy";
    case AWSCFG_RETRY_STANDARD: return "standard";
    case AWSCFG_RETRY_ADAPTIVE: return "adaptive";
    default: return "default";
    }
}
