#include "creds.h"
#include "awscfg.h"
#include "awsreq.h"
#include "creds_sts.h"
#include "datetime.h"
#include "hex.h"
#include "ini.h"
#include "retry.h"
#include "sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define REFRESH_MARGIN_S   300          /* refresh this long before expiry */
#define RETRY_AFTER_FAIL_S 10           /* while old creds still valid */
#define MAX_INI_BYTES      (1 << 20)
#define MAX_BODY_BYTES     (64 * 1024)
#define FORM_TYPE          "application/x-www-form-urlencoded; charset=utf-8"
#define MAX_TOKEN_FILE     (16 * 1024)
#define CONTAINER_HOST     "http://169.254.170.2"
#define IMDS_DEFAULT       "http://169.254.169.254"

struct creds_provider {
    pthread_mutex_t mu;
    int is_static;
    int have;
    struct creds cur;
    long long next_attempt;   /* no refresh before this (after a failed one) */
    long long margin;         /* refresh this long before expiry */
    CURL *curl;               /* private handle, used under mu */
};

/* ---- "what was tried", for the error when nothing is found ------------ */

struct trace {
    char buf[ERR_MSG_MAX];
    size_t len;
};

static void trace_add(struct trace *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void trace_add(struct trace *t, const char *fmt, ...)
{
    if (t->len + 1 >= sizeof t->buf)
        return;
    if (t->len) {
        int k = snprintf(t->buf + t->len, sizeof t->buf - t->len, "; ");
        if (k > 0)
            t->len += (size_t)k;
        if (t->len >= sizeof t->buf) {
            t->len = sizeof t->buf - 1;
            return;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->len += (size_t)k;
    if (t->len >= sizeof t->buf)
        t->len = sizeof t->buf - 1;
}

/* ---- small helpers ---------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int copy_field(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        return -1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

static void creds_wipe(struct creds *c) { OPENSSL_cleanse(c, sizeof *c); }

/* Reads a whole file of at most max bytes. 0 ok, -1 errno set (EFBIG when
 * too large). Caller frees *out. */
static int slurp(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return -1;
    }
    size_t n = fread(buf, 1, max + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        errno = EIO;
        return -1;
    }
    if (n > max) {
        OPENSSL_cleanse(buf, max + 1);
        free(buf);
        errno = EFBIG;
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static void free_secret(char *p, size_t len)
{
    if (p) {
        OPENSSL_cleanse(p, len);
        free(p);
    }
}

/* ---- time ------------------------------------------------------------- */

/* An STS answer into out (creds_sts, below this module, has its own result
 * type); the copy in between is wiped. */
static int sts_parse(const char *xml, size_t len, struct creds *out, struct creds_sts_error *se,
                     struct err *e)
{
    struct creds_sts_result r;
    _Static_assert(sizeof r.access_key == sizeof out->access_key &&
                   sizeof r.secret_key == sizeof out->secret_key &&
                   sizeof r.session_token == sizeof out->session_token, "same sizes");
    int rc = creds_sts_parse(xml, len, &r, se, e);
    if (rc == 0) {
        memcpy(out->access_key, r.access_key, sizeof r.access_key);
        memcpy(out->secret_key, r.secret_key, sizeof r.secret_key);
        memcpy(out->session_token, r.session_token, sizeof r.session_token);
        out->expires_at = r.expires_at;
    }
    OPENSSL_cleanse(&r, sizeof r);
    return rc;
}

/* ---- environment ------------------------------------------------------ */

static int from_env(struct trace *t, struct creds *out, struct err *e)
{
    const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
    const char *tok = env("AWS_SESSION_TOKEN");
    if (!ak && !sk) {
        trace_add(t, "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY not set)");
        return 0;
    }
    if (!ak || !sk)
        return err_setk(e, ERR_USAGE, "credentials: %s is set but %s is not",
                        ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                        ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    if (copy_field(out->access_key, sizeof out->access_key, ak, strlen(ak)) ||
        copy_field(out->secret_key, sizeof out->secret_key, sk, strlen(sk)) ||
        copy_field(out->session_token, sizeof out->session_token, tok ? tok : "",
                   tok ? strlen(tok) : 0))
        return err_setk(e, ERR_USAGE, "credentials: an AWS_* credential variable is too long");
    out->expires_at = 0;
    snprintf(out->source, sizeof out->source, "env");
    return 1;
}

/* ---- profile files ---------------------------------------------------- */


static const char *const UNSUPPORTED_KEYS[] = {
    "role_arn", "web_identity_token_file", "credential_source",
};

enum { SEC_NONE, SEC_EMPTY, SEC_PARTIAL, SEC_OK, SEC_TOOLONG, SEC_WEBID, SEC_ROLE, SEC_PROCESS,
       SEC_SSO, SEC_PARTIAL_SSO };

/* An assume-role or credential_process profile. */
struct role_cfg {
    char profile[130];          /* the profile these settings are from */
    char role[2049];
    char source_profile[130];
    char credential_source[40];
    char external_id[1300];
    char mfa_serial[300];
    char session[80];
    char duration[16];
    char process[4096];
    char sso_session[130];      /* "" for the legacy form */
    char sso_start_url[1024];
    char sso_region[64];
    char sso_account[40];
    char sso_role[130];
};

/* Web identity settings, from the environment or a profile. */
struct webid_cfg {
    char file[1024];
    char role[2049];
    char session[80];      /* "" = AWS_ROLE_SESSION_NAME or generated */
    char origin[200];      /* for messages: "AWS_ROLE_ARN" or "profile \"x\" in FILE" */
};

/* A profile with role_arn + web_identity_token_file (and no other way to get
 * a role's source credentials) is a web-identity profile, as in the SDKs.
 * 1 when it is (wi filled), 0 when not, -1 when a value is too long. */
static int profile_webid(const char *text, size_t len, const char *sec, struct webid_cfg *wi)
{
    char tmp[8];
    static const char *const other[] = {"source_profile", "credential_source",
                                        "credential_process"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (ini_find(text, len, sec, other[i], tmp, sizeof tmp) != 0)
            return 0;
    int f = ini_find(text, len, sec, "web_identity_token_file", wi->file, sizeof wi->file);
    int r = ini_find(text, len, sec, "role_arn", wi->role, sizeof wi->role);
    int n = ini_find(text, len, sec, "role_session_name", wi->session, sizeof wi->session);
    if (f < 0 || r < 0 || n < 0)
        return -1;
    if (f != 1 || r != 1 || !wi->file[0] || !wi->role[0])
        return 0;
    if (n != 1)
        wi->session[0] = '\0';
    return 1;
}

/* role_arn with source_profile or credential_source: 1 (rc filled), 0 not,
 * -1 a value too long. */
static int profile_role(const char *text, size_t len, const char *sec, struct role_cfg *rc)
{
    int r = ini_find(text, len, sec, "role_arn", rc->role, sizeof rc->role);
    if (r <= 0 || !rc->role[0])
        return r < 0 ? -1 : 0;
    int sp = ini_find(text, len, sec, "source_profile", rc->source_profile,
                            sizeof rc->source_profile);
    int cs = ini_find(text, len, sec, "credential_source", rc->credential_source,
                            sizeof rc->credential_source);
    if (sp < 0 || cs < 0)
        return -1;
    if (sp != 1)
        rc->source_profile[0] = '\0';
    if (cs != 1)
        rc->credential_source[0] = '\0';
    if (!rc->source_profile[0] && !rc->credential_source[0])
        return 0;
    static const struct { const char *key; size_t off, size; } opt[] = {
        {"external_id", offsetof(struct role_cfg, external_id), sizeof ((struct role_cfg *)0)->external_id},
        {"mfa_serial", offsetof(struct role_cfg, mfa_serial), sizeof ((struct role_cfg *)0)->mfa_serial},
        {"role_session_name", offsetof(struct role_cfg, session), sizeof ((struct role_cfg *)0)->session},
        {"duration_seconds", offsetof(struct role_cfg, duration), sizeof ((struct role_cfg *)0)->duration},
    };
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++) {
        char *dst = (char *)rc + opt[i].off;
        int k = ini_find(text, len, sec, opt[i].key, dst, opt[i].size);
        if (k < 0)
            return -1;
        if (k == 0)
            dst[0] = '\0';
    }
    return 1;
}

/* An IAM Identity Center profile: sso_session (whose [sso-session NAME]
 * gives sso_region and sso_start_url) or the legacy sso_start_url +
 * sso_region, with sso_account_id and sso_role_name. 1 (rc filled), 0 not,
 * -1 too long, -2 incomplete. */
static int profile_sso(const char *text, size_t len, const char *sec, struct role_cfg *rc)
{
    int ss = ini_find(text, len, sec, "sso_session", rc->sso_session,
                            sizeof rc->sso_session);
    int su = ini_find(text, len, sec, "sso_start_url", rc->sso_start_url,
                            sizeof rc->sso_start_url);
    if (ss < 0 || su < 0)
        return -1;
    if (ss != 1)
        rc->sso_session[0] = '\0';
    if (su != 1)
        rc->sso_start_url[0] = '\0';
    if (!rc->sso_session[0] && !rc->sso_start_url[0])
        return 0;
    int sr = ini_find(text, len, sec, "sso_region", rc->sso_region, sizeof rc->sso_region);
    int sa = ini_find(text, len, sec, "sso_account_id", rc->sso_account,
                            sizeof rc->sso_account);
    int sn = ini_find(text, len, sec, "sso_role_name", rc->sso_role, sizeof rc->sso_role);
    if (sr < 0 || sa < 0 || sn < 0)
        return -1;
    if (sr != 1)
        rc->sso_region[0] = '\0';
    if (rc->sso_session[0]) {
        char ssec[160];
        snprintf(ssec, sizeof ssec, "sso-session %s", rc->sso_session);
        if (!ini_has_section(text, len, ssec))
            return -2;
        int a = ini_find(text, len, ssec, "sso_region", rc->sso_region,
                               sizeof rc->sso_region);
        int b = ini_find(text, len, ssec, "sso_start_url", rc->sso_start_url,
                               sizeof rc->sso_start_url);
        if (a < 0 || b < 0)
            return -1;
    }
    if (sa != 1 || sn != 1 || !rc->sso_account[0] || !rc->sso_role[0] || !rc->sso_region[0] ||
        !rc->sso_start_url[0])
        return -2;
    return 1;
}

/* Looks at one section; *unsupported names a key we cannot use. With
 * keys_only, only access keys count (a profile that is its own
 * source_profile). */
static int profile_section(const char *text, size_t len, const char *sec, struct creds *out,
                           const char **unsupported, struct webid_cfg *wi, struct role_cfg *rc,
                           int keys_only)
{
    if (!ini_has_section(text, len, sec))
        return SEC_NONE;
    if (!keys_only) {
        int r = profile_role(text, len, sec, rc);
        if (r != 0)
            return r > 0 ? SEC_ROLE : SEC_TOOLONG;
        r = profile_sso(text, len, sec, rc);
        if (r != 0)
            return r > 0 ? SEC_SSO : r == -2 ? SEC_PARTIAL_SSO : SEC_TOOLONG;
    }
    int a = ini_find(text, len, sec, "aws_access_key_id", out->access_key,
                           sizeof out->access_key);
    int s = ini_find(text, len, sec, "aws_secret_access_key", out->secret_key,
                           sizeof out->secret_key);
    int t = ini_find(text, len, sec, "aws_session_token", out->session_token,
                           sizeof out->session_token);
    if (a < 0 || s < 0 || t < 0)
        return SEC_TOOLONG;
    if (t == 0)
        out->session_token[0] = '\0';
    if (a == 1 && s == 1 && out->access_key[0] && out->secret_key[0])
        return SEC_OK;
    if (a == 1 || s == 1)
        return SEC_PARTIAL;
    if (keys_only)
        return SEC_EMPTY;
    int pr = ini_find(text, len, sec, "credential_process", rc->process,
                            sizeof rc->process);
    if (pr < 0)
        return SEC_TOOLONG;
    if (pr == 1 && rc->process[0])
        return SEC_PROCESS;
    int w = profile_webid(text, len, sec, wi);
    if (w != 0)
        return w > 0 ? SEC_WEBID : SEC_TOOLONG;
    char tmp[8];
    for (size_t i = 0; i < sizeof UNSUPPORTED_KEYS / sizeof UNSUPPORTED_KEYS[0]; i++) {
        if (ini_find(text, len, sec, UNSUPPORTED_KEYS[i], tmp, sizeof tmp) != 0) {
            *unsupported = UNSUPPORTED_KEYS[i];
            break;
        }
    }
    return SEC_EMPTY;
}

/* Loads a file for the profile lookup. 1 loaded, 0 missing, -1 error. */
static int load_ini(const char *path, char **text, size_t *len, struct trace *t,
                    const char *label, struct err *e)
{
    if (slurp(path, MAX_INI_BYTES, text, len) == 0)
        return 1;
    if (errno == ENOENT || errno == ENOTDIR) {
        trace_add(t, "%s %s: no such file", label, path);
        return 0;
    }
    if (errno == EFBIG)
        return err_setk(e, ERR_USAGE, "credentials: %s %s is larger than %d bytes", label,
                        path, MAX_INI_BYTES);
    return err_setk(e, ERR_USAGE, "credentials: cannot read %s %s: %s", label, path,
                    strerror(errno));
}

/* 1 with credentials in out, 2 with web identity settings in *wi, 0 when
 * the profile has nothing, -1 on error. */
/* What a profile section found means for the chain: 1 credentials (in
 * *out), 2 web identity (in *wi), -1 an error, 0 go on looking. */
static int section_outcome(int st, const char *profile, const char *path, struct creds *out,
                           struct webid_cfg *wi, struct err *e)
{
    if (st == SEC_OK) {
        snprintf(out->source, sizeof out->source, "profile:%.50s", profile);
        return 1;
    }
    if (st == SEC_WEBID) {
        snprintf(wi->origin, sizeof wi->origin, "profile \"%.50s\" in %.120s", profile, path);
        return 2;
    }
    if (st == SEC_ROLE || st == SEC_PROCESS) {
        snprintf(out->source, sizeof out->source, "profile:%.50s", profile);
        return st == SEC_ROLE ? 3 : 4;
    }
    if (st == SEC_SSO)
        return 5;
    if (st == SEC_PARTIAL_SSO)
        return err_setk(e, ERR_USAGE, "credentials: profile \"%s\" in %s: an SSO profile (sso_session "
                        "or sso_start_url) needs sso_account_id, sso_role_name, and sso_region and sso_start_url (in "
                        "the profile or its [sso-session NAME] section)", profile, path);
    if (st == SEC_PARTIAL || st == SEC_TOOLONG)
        return err_setk(e, ERR_USAGE, "credentials: profile \"%s\" in %s: %s", profile, path,
                        st == SEC_PARTIAL ? "needs both aws_access_key_id and aws_secret_access_key"
                                          : "a credential value is too long");
    return 0;
}

/* The credentials of one profile: 1 credentials in *out, 2 web identity
 * (*wi), 3 assume role (*rc), 4 credential_process (*rc), 0 nothing, -1
 * error. profile_from names where the name came from, for messages. */
static int from_profile_named(struct trace *t, const char *profile, const char *profile_from,
                              int explicit_profile, int keys_only, struct creds *out,
                              struct webid_cfg *wi, struct role_cfg *rc, struct err *e)
{
    if (strlen(profile) > 128 || strpbrk(profile, "[]\r\n"))
        return err_setk(e, ERR_USAGE, "credentials: %s is not a valid profile name", profile_from);
    snprintf(rc->profile, sizeof rc->profile, "%s", profile);

    char cpath[1024], fpath[1024];
    int have_c = awscfg_file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", cpath, sizeof cpath) == 0;
    int have_f = awscfg_file_path("AWS_CONFIG_FILE", "config", fpath, sizeof fpath) == 0;
    if (!have_c && !have_f) {
        trace_add(t, "profile \"%s\" (HOME not set)", profile);
        return explicit_profile
                   ? err_setk(e, ERR_USAGE, "credentials: profile \"%s\": HOME is not set and "
                              "no AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE", profile)
                   : 0;
    }

    const char *unsupported = NULL, *unsupported_file = NULL;
    int found_section = 0;
    char *text = NULL;
    size_t len = 0;
    struct trace sub = {.len = 0};

    /* 1. credentials file, section [NAME] */
    if (have_c) {
        int l = load_ini(cpath, &text, &len, &sub, "credentials file", e);
        if (l < 0)
            return -1;
        if (l == 1) {
            const char *u = NULL;
            int st = profile_section(text, len, profile, out, &u, wi, rc, keys_only);
            free_secret(text, len);
            text = NULL;
            int r = section_outcome(st, profile, cpath, out, wi, e);
            if (r != 0)
                return r;
            if (st != SEC_NONE)
                found_section = 1;
            if (u) {
                unsupported = u;
                unsupported_file = cpath;
            }
            trace_add(&sub, "%s: %s", cpath,
                      st == SEC_NONE ? "no such section" : "section has no keys");
        }
    }

    /* 2. config file, [profile NAME] (or [default]) */
    if (have_f) {
        int l = load_ini(fpath, &text, &len, &sub, "config file", e);
        if (l < 0)
            return -1;
        if (l == 1) {
            char sec[160];
            snprintf(sec, sizeof sec, "profile %s", profile);
            const char *u = NULL;
            int st = SEC_NONE;
            if (strcmp(profile, "default") == 0)
                st = profile_section(text, len, "default", out, &u, wi, rc, keys_only);
            if (st == SEC_NONE || st == SEC_EMPTY) {
                const char *u2 = NULL;
                int st2 = profile_section(text, len, sec, out, &u2, wi, rc, keys_only);
                if (st2 != SEC_NONE && !(st2 == SEC_EMPTY && st == SEC_EMPTY && u)) {
                    st = st2;
                    u = u2;
                }
            }
            free_secret(text, len);
            text = NULL;
            int r = section_outcome(st, profile, fpath, out, wi, e);
            if (r != 0)
                return r;
            if (st != SEC_NONE)
                found_section = 1;
            if (u && !unsupported) {
                unsupported = u;
                unsupported_file = fpath;
            }
            trace_add(&sub, "%s: %s", fpath,
                      st == SEC_NONE ? "no such section" : "section has no keys");
        }
    }
    creds_wipe(out);

    if (unsupported)
        return err_setk(e, ERR_USAGE,
                        "credentials: profile \"%s\" in %s uses %s, which repart does not "
                        "support; use access keys, or export temporary ones with "
                        "`eval \"$(aws configure export-credentials --profile %s --format env)\"`",
                        profile, unsupported_file, unsupported, profile);
    if (explicit_profile && !found_section)
        return err_setk(e, ERR_USAGE, "credentials: profile \"%s\" (%s) not found (%s)",
                        profile, profile_from, sub.buf);
    trace_add(t, "profile \"%s\" (%s)", profile, sub.buf);
    return 0;
}

static int from_profile(struct trace *t, struct creds *out, struct webid_cfg *wi,
                        struct role_cfg *rc, struct err *e)
{
    const char *profile_from;
    const char *profile = awscfg_profile_name(&profile_from);
    return from_profile_named(t, profile, profile_from, strcmp(profile_from, "default") != 0, 0,
                              out, wi, rc, e);
}

/* ---- HTTP --------------------------------------------------------------- */

struct body {
    char *p;
    size_t len;
    int too_big;
};

static size_t on_data(char *ptr, size_t sz, size_t n, void *ud)
{
    struct body *b = ud;
    size_t k = sz * n;
    if (k > MAX_BODY_BYTES - b->len) {
        b->too_big = 1;
        return 0;
    }
    memcpy(b->p + b->len, ptr, k);
    b->len += k;
    b->p[b->len] = '\0';
    return k;
}

/* The URL without its query string, for messages. */
static void url_for_msg(const char *url, char *out, size_t n)
{
    size_t l = strcspn(url, "?#");
    snprintf(out, n, "%.*s", (int)(l > 300 ? 300 : l), url);
}

/* One request on the provider's handle. Returns 0 when an HTTP response
 * arrived (any status, *status set), -1 on a transport failure (why filled).
 * A POST sends post[0..post_len) as a form. With `internet` (STS, SSO) the
 * usual proxy variables apply; otherwise (link-local or loopback endpoints)
 * no proxy is used. */
/* The provider's curl handle, made on first use; NULL when it cannot be. */
static CURL *provider_curl(struct creds_provider *p)
{
    if (!p->curl)
        p->curl = awsreq_handle_new();
    return p->curl;
}

static int add_header(struct curl_slist **hl, const char *line)
{
    struct curl_slist *t = curl_slist_append(*hl, line);
    if (!t)
        return -1;
    *hl = t;
    return 0;
}

static int http_do_body(struct creds_provider *p, const char *method, const char *url,
                        int internet, const char *const *headers, size_t n_headers,
                        const char *post, size_t post_len,
                        long connect_ms, long total_ms, long *status, struct body *b,
                        char *why, size_t why_n)
{
    CURL *c = provider_curl(p);
    if (!c) {
        snprintf(why, why_n, "cannot create a curl handle");
        return -1;
    }
    struct curl_slist *hl = NULL;
    int bad = 0;
    for (size_t i = 0; i < n_headers && !bad; i++)
        bad = add_header(&hl, headers[i]) < 0;
    int put = strcmp(method, "PUT") == 0, post_form = strcmp(method, "POST") == 0;
    /* an empty PUT with Content-Length: 0, as the SDKs send */
    if (!bad && put)
        bad = add_header(&hl, "Content-Type:") < 0;
    if (!bad && post_form)
        bad = add_header(&hl, "Content-Type: application/x-www-form-urlencoded; charset=utf-8") < 0 ||
              add_header(&hl, "Expect:") < 0;
    if (bad) {
        curl_slist_free_all(hl);
        snprintf(why, why_n, "out of memory");
        return -1;
    }
    b->len = 0;
    b->too_big = 0;
    b->p[0] = '\0';
    struct awsreq_xfer x = {
        .method = method, .url = url, .headers = hl,
        .send = put || post_form ? AWSREQ_SEND_FIELDS : AWSREQ_SEND_NONE,
        .body = post_form ? post : "", .body_len = post_form ? post_len : 0,
        .no_proxy = !internet,   /* link-local / loopback endpoints */
        .connect_ms = connect_ms, .timeout_ms = total_ms, .on_body = on_data, .body_ud = b,
    };
    struct awsreq_result r;
    awsreq_transfer(c, &x, &r);
    curl_slist_free_all(hl);
    if (r.cc != CURLE_OK) {
        if (b->too_big)
            snprintf(why, why_n, "response larger than %d bytes", MAX_BODY_BYTES);
        else
            snprintf(why, why_n, "%s", r.error[0] ? r.error : curl_easy_strerror(r.cc));
        return -1;
    }
    *status = r.status;
    return 0;
}

static int http_do(struct creds_provider *p, const char *method, const char *url,
                   const char *header, long connect_ms, long total_ms, long *status,
                   struct body *b, char *why, size_t why_n)
{
    return http_do_body(p, method, url, 0, header ? &header : NULL, header ? 1 : 0, NULL, 0,
                        connect_ms, total_ms, status, b, why, why_n);
}

/* Parses {"AccessKeyId","SecretAccessKey","Token","Expiration"[,"Code"]}.
 * Messages never quote the body (it holds the secret). */
int creds_parse_json(const char *body, size_t len, const char *what, struct creds *out,
                     struct err *e)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root)
        return err_set(e, "credentials: %s: response is not valid JSON (line %d, column %d)",
                       what, jerr.line, jerr.column);
    int rc = -1;
    if (!json_is_object(root)) {
        err_set(e, "credentials: %s: response is not a JSON object", what);
        goto out;
    }
    const char *code = json_string_value(json_object_get(root, "Code"));
    if (code && strcmp(code, "Success") != 0) {
        int safe = strlen(code) < 64;
        for (const char *c = code; safe && *c; c++)
            safe = isalnum((unsigned char)*c) || *c == '_' || *c == '-';
        err_set(e, "credentials: %s: Code is %s%s%s", what, safe ? "\"" : "",
                safe ? code : "not Success", safe ? "\"" : "");
        goto out;
    }
    json_t *ak = json_object_get(root, "AccessKeyId");
    json_t *sk = json_object_get(root, "SecretAccessKey");
    json_t *tok = json_object_get(root, "Token");
    json_t *exp = json_object_get(root, "Expiration");
    if (!json_is_string(ak) || !json_is_string(sk) || json_string_length(ak) == 0 ||
        json_string_length(sk) == 0) {
        err_set(e, "credentials: %s: response lacks AccessKeyId or SecretAccessKey", what);
        goto out;
    }
    if (tok && !json_is_null(tok) && !json_is_string(tok)) {
        err_set(e, "credentials: %s: Token is not a string", what);
        goto out;
    }
    if (copy_field(out->access_key, sizeof out->access_key, json_string_value(ak),
                   json_string_length(ak)) ||
        copy_field(out->secret_key, sizeof out->secret_key, json_string_value(sk),
                   json_string_length(sk)) ||
        copy_field(out->session_token, sizeof out->session_token,
                   json_is_string(tok) ? json_string_value(tok) : "",
                   json_is_string(tok) ? json_string_length(tok) : 0)) {
        err_set(e, "credentials: %s: a credential value is too long", what);
        goto out;
    }
    out->expires_at = 0;
    if (exp && !json_is_null(exp)) {
        if (!json_is_string(exp) ||
            datetime_parse_iso8601(json_string_value(exp), &out->expires_at) != 0) {
            err_set(e, "credentials: %s: Expiration is not an ISO 8601 time", what);
            goto out;
        }
    }
    rc = 0;
out:
    if (rc != 0)
        creds_wipe(out);
    json_decref(root);   /* jansson does not wipe; the body is wiped by the caller */
    return rc;
}

/* ---- container endpoint ---------------------------------------------- */

static int host_allowed(const char *host)
{
    static const char *const ok[] = {"localhost", "169.254.170.2", "169.254.170.23", "[::1]",
                                     "[fd00:ec2::23]"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcasecmp(host, ok[i]) == 0)
            return 1;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return 0;
}

int creds_container_url(char *out, size_t out_size, struct err *e)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    int k;
    if (rel) {
        if (strpbrk(rel, " \t\r\n"))
            return err_setk(e, ERR_USAGE, "credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                            "contains whitespace");
        k = snprintf(out, out_size, "%s%s%s", CONTAINER_HOST, rel[0] == '/' ? "" : "/", rel);
        if (k < 0 || (size_t)k >= out_size)
            return err_setk(e, ERR_USAGE, "credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                            "is too long");
        return 1;
    }
    if (!full)
        return 0;
    CURLU *u = curl_url();
    if (!u)
        return err_set(e, "credentials: out of memory");
    char *scheme = NULL, *host = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, full, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        err_setk(e, ERR_USAGE, "credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid URL");
    } else if (strcasecmp(scheme, "https") != 0 &&
               !(strcasecmp(scheme, "http") == 0 && host_allowed(host))) {
        err_setk(e, ERR_USAGE,
                 "credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI %s://%.200s is not allowed: it "
                 "must be https, or http to a loopback address, 169.254.170.2 or 169.254.170.23",
                 scheme, host);
    } else {
        k = snprintf(out, out_size, "%s", full);
        if (k < 0 || (size_t)k >= out_size)
            err_setk(e, ERR_USAGE, "credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI is too long");
        else
            rc = 1;
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* Builds "Authorization: TOKEN" into hdr (malloc'd) or NULL when no token. */
static int container_auth_header(char **hdr, struct err *e)
{
    *hdr = NULL;
    const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    char *tok = NULL;
    size_t len = 0;
    if (file) {
        if (slurp(file, MAX_TOKEN_FILE, &tok, &len) != 0)
            return err_setk(e, ERR_USAGE, "credentials: cannot read "
                            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", file,
                            errno == EFBIG ? "file too large" : strerror(errno));
    } else {
        const char *v = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        if (!v)
            return 0;
        len = strlen(v);
        tok = strdup(v);
        if (!tok)
            return err_set(e, "credentials: out of memory");
    }
    while (len > 0 && isspace((unsigned char)tok[len - 1]))
        tok[--len] = '\0';
    size_t start = 0;
    while (start < len && isspace((unsigned char)tok[start]))
        start++;
    if (start == len || memchr(tok + start, '\r', len - start) ||
        memchr(tok + start, '\n', len - start) || memchr(tok, '\0', len)) {
        free_secret(tok, len);
        return err_setk(e, ERR_USAGE, "credentials: the container authorization token (%s) is "
                        "empty or contains a line break",
                        file ? "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
                             : "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    }
    size_t hl = len - start + 16;
    *hdr = malloc(hl);
    if (*hdr)
        snprintf(*hdr, hl, "Authorization: %s", tok + start);
    free_secret(tok, len);
    return *hdr ? 0 : err_set(e, "credentials: out of memory");
}

static int from_container(struct creds_provider *p, struct trace *t, struct creds *out,
                          struct err *e)
{
    char url[2048], shown[400];
    int u = creds_container_url(url, sizeof url, e);
    if (u <= 0) {
        if (u == 0)
            trace_add(t, "container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, "
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI not set)");
        return u;
    }
    url_for_msg(url, shown, sizeof shown);
    char *auth = NULL;
    if (container_auth_header(&auth, e) != 0)
        return -1;
    struct body b = {.p = malloc(MAX_BODY_BYTES + 1)};
    if (!b.p) {
        free_secret(auth, auth ? strlen(auth) : 0);
        return err_set(e, "credentials: out of memory");
    }
    long status = 0;
    char why[CURL_ERROR_SIZE + 64];
    int rc = http_do(p, "GET", url, auth, 2000, 5000, &status, &b, why, sizeof why);
    free_secret(auth, auth ? strlen(auth) : 0);
    char what[460];
    snprintf(what, sizeof what, "container endpoint %s", shown);
    if (rc != 0) {
        err_setk(e, ERR_TRANSIENT, "credentials: %s: %s", what, why);
    } else if (status != 200) {
        rc = err_setk(e, status >= 500 ? ERR_TRANSIENT : ERR_USAGE,
                      "credentials: %s: HTTP %ld", what, status);
    } else if (creds_parse_json(b.p, b.len, what, out, e) != 0) {
        rc = -1;
    } else {
        snprintf(out->source, sizeof out->source, "container");
        rc = 1;
    }
    free_secret(b.p, MAX_BODY_BYTES + 1);
    return rc;
}

/* ---- EC2 IMDSv2 --------------------------------------------------------- */

static int from_imds(struct creds_provider *p, struct trace *t, struct creds *out, struct err *e)
{
    const char *dis = env("AWS_EC2_METADATA_DISABLED");
    if (dis && strcasecmp(dis, "true") == 0) {
        trace_add(t, "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
        return 0;
    }
    const char *base0 = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char base[512];
    int k = snprintf(base, sizeof base, "%s", base0 ? base0 : IMDS_DEFAULT);
    if (k < 0 || (size_t)k >= sizeof base)
        return err_setk(e, ERR_USAGE, "credentials: AWS_EC2_METADATA_SERVICE_ENDPOINT is too long");
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        base[--bl] = '\0';
    char shown[400];
    url_for_msg(base, shown, sizeof shown);

    struct body b = {.p = malloc(MAX_BODY_BYTES + 1)};
    if (!b.p)
        return err_set(e, "credentials: out of memory");
    char url[1024], hdr[1200], why[CURL_ERROR_SIZE + 64], role[160];
    long status = 0;
    int rc = 0;

    /* 1. session token; a failure here means "no IMDS": go on quietly */
    snprintf(url, sizeof url, "%s/latest/api/token", base);
    if (http_do(p, "PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600", 1000, 2000,
                &status, &b, why, sizeof why) != 0) {
        trace_add(t, "EC2 instance metadata (%s: %s)", shown, why);
        goto out;
    }
    if (status != 200) {
        trace_add(t, "EC2 instance metadata (%s: token request: HTTP %ld)", shown, status);
        goto out;
    }
    while (b.len > 0 && isspace((unsigned char)b.p[b.len - 1]))
        b.p[--b.len] = '\0';
    if (b.len == 0 || b.len > 1000 || strpbrk(b.p, "\r\n") || memchr(b.p, '\0', b.len)) {
        rc = err_set(e, "credentials: EC2 instance metadata %s: malformed session token", shown);
        goto out;
    }
    snprintf(hdr, sizeof hdr, "X-aws-ec2-metadata-token: %s", b.p);

    /* 2. role name */
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", base);
    if (http_do(p, "GET", url, hdr, 1000, 2000, &status, &b, why, sizeof why) != 0) {
        rc = err_setk(e, ERR_TRANSIENT, "credentials: EC2 instance metadata %s: %s", shown, why);
        goto out;
    }
    if (status == 404) {
        trace_add(t, "EC2 instance metadata (%s: no IAM role attached)", shown);
        goto out;
    }
    if (status != 200) {
        rc = err_setk(e, status >= 500 ? ERR_TRANSIENT : ERR_GENERIC,
                      "credentials: EC2 instance metadata %s: role name: HTTP %ld", shown, status);
        goto out;
    }
    size_t rl = strcspn(b.p, "\r\n");
    int ok = rl > 0 && rl < 129;
    for (size_t i = 0; ok && i < rl; i++)
        ok = isalnum((unsigned char)b.p[i]) || strchr("+=,.@_-", b.p[i]) != NULL;
    if (!ok) {
        rc = err_set(e, "credentials: EC2 instance metadata %s: malformed role name", shown);
        goto out;
    }
    memcpy(role, b.p, rl);
    role[rl] = '\0';

    /* 3. credentials of the role */
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/%s", base, role);
    char what[600];
    snprintf(what, sizeof what, "EC2 instance metadata %s role %s", shown, role);
    if (http_do(p, "GET", url, hdr, 1000, 5000, &status, &b, why, sizeof why) != 0) {
        rc = err_setk(e, ERR_TRANSIENT, "credentials: %s: %s", what, why);
        goto out;
    }
    if (status != 200) {
        rc = err_setk(e, status >= 500 ? ERR_TRANSIENT : ERR_GENERIC, "credentials: %s: HTTP %ld",
                      what, status);
        goto out;
    }
    if (creds_parse_json(b.p, b.len, what, out, e) != 0) {
        rc = -1;
        goto out;
    }
    snprintf(out->source, sizeof out->source, "imds");
    rc = 1;
out:
    OPENSSL_cleanse(hdr, sizeof hdr);
    free_secret(b.p, MAX_BODY_BYTES + 1);
    return rc;
}

/* ---- web identity (Kubernetes IRSA) ------------------------------------ */

#define STS_ATTEMPTS     4      /* first try + 3 retries */
#define STS_BACKOFF_MS   200
#define STS_BACKOFF_CAP  3000

/* The STS URL: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the regional
 * endpoint of AWS_REGION / AWS_DEFAULT_REGION, else the global one. */
int creds_sts_url(char *out, size_t n, struct err *e)
{
    char region[AWSCFG_REGION_MAX + 1];
    struct err re = {0};
    int r = awscfg_region(NULL, NULL, region, sizeof region, NULL, &re);
    int k = awscfg_endpoint(AWSCFG_STS, NULL, r == 1 ? region : NULL, out, n, NULL, e);
    if (k < 0)
        return err_prefix(e, "credentials: ");
    if (k == 0 && r < 0) {   /* the region only matters for AWS's endpoint */
        if (e)
            *e = re;
        return err_prefix(e, "credentials: ");
    }
    const char *path = strchr(strstr(out, "://") + 3, '/');
    size_t l = strlen(out);
    if (!path) {
        if (l + 1 >= n)
            return err_setk(e, ERR_USAGE, "credentials: the STS endpoint URL is too long");
        out[l] = '/';
        out[l + 1] = '\0';
    }
    return 0;
}

/* STS error codes worth another try (besides 5xx and transport errors). */
static int sts_code_retryable(const char *code)
{
    static const char *const c[] = {"Throttling", "ThrottlingException", "RequestLimitExceeded",
                                    "TooManyRequestsException", "IDPCommunicationError",
                                    "ServiceUnavailable", "InternalFailure", "InternalError"};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (strcmp(code, c[i]) == 0)
            return 1;
    return 0;
}

/* One STS call (AssumeRole, AssumeRoleWithWebIdentity) over its attempts. */
struct sts_call {
    struct awsreq rq;           /* the request, signed or anonymous */
    const char *what;           /* "credentials: ...: role R, STS URL" for messages */
    const char *withhold;       /* a message that quotes this is not shown (NULL: none) */
    const char *source;         /* creds.source on success */
    struct creds *out;
    struct err *e;
};

/* A retry_try_fn: 0 with credentials in sc->out. */
static int sts_try(void *ud, int att, struct retry_verdict *v)
{
    (void)att;
    struct sts_call *sc = ud;
    struct awsreq_answer ans;
    struct err *e = sc->e;
    if (awsreq_once(&sc->rq, &ans, e) < 0) {
        awsreq_answer_free(&ans);
        return err_prefix(e, "%s: ", sc->what);
    }
    const char *body = ans.body.p ? ans.body.p : "";
    struct creds_sts_error se;
    int rc = -1;
    if (ans.cc != CURLE_OK) {
        if (ans.too_long)
            err_setk(e, ERR_TRANSIENT, "%s: response larger than %d bytes", sc->what,
                     MAX_BODY_BYTES);
        else
            err_setk(e, ERR_TRANSIENT, "%s: %s", sc->what, ans.error);
        v->retryable = 1;
    } else if (ans.status == 200) {
        struct err pe = {.kind = 0};
        int pr = sts_parse(body, ans.body.len, sc->out, &se, &pe);
        if (pr == 0) {
            snprintf(sc->out->source, sizeof sc->out->source, "%s", sc->source);
            rc = 0;
        } else {
            err_set(e, "%s: HTTP 200 but %s", sc->what, pr == 1 ? "an error document" : pe.msg);
        }
    } else {
        struct creds dummy;
        struct err pe = {.kind = 0};
        if (sts_parse(body, ans.body.len, &dummy, &se, &pe) != 1)
            memset(&se, 0, sizeof se);
        creds_wipe(&dummy);
        /* STS's own Message on a 4xx says why (AccessDenied, InvalidIdentityToken);
         * a 5xx body may come from anything in between, so it is not quoted, and
         * neither is a message quoting a secret (or its start) */
        if (ans.status >= 500)
            se.message[0] = '\0';
        if (se.message[0] && sc->withhold && strstr(se.message, sc->withhold))
            snprintf(se.message, sizeof se.message, "(message withheld)");
        awsreq_redact(&ans, se.message);
        v->retryable = ans.status >= 500 || ans.status == 429 || sts_code_retryable(se.code);
        v->throttled = ans.status == 429 || strstr(se.code, "Throttl") != NULL;
        err_setk(e, v->retryable ? ERR_TRANSIENT : ERR_USAGE, "%s: HTTP %ld%s%s%s%s", sc->what,
                 ans.status, se.code[0] ? " " : "", se.code, se.message[0] ? ": " : "",
                 se.message);
    }
    v->why = e ? e->msg : NULL;
    awsreq_answer_free(&ans);
    return rc;
}

/* Runs sc with the STS retry policy. 0 with credentials in sc->out, -1. */
static int sts_run(struct creds_provider *p, struct sts_call *sc)
{
    sc->rq.curl = provider_curl(p);
    if (!sc->rq.curl)
        return err_set(sc->e, "%s: cannot create a curl handle", sc->what);
    sc->rq.method = "POST";
    sc->rq.service = "sts";
    sc->rq.connect_ms = 3000;
    sc->rq.timeout_ms = 10000;
    sc->rq.max_answer = MAX_BODY_BYTES;
    sc->rq.secret_answer = 1;
    struct retry_policy pol;
    awsreq_retry_policy(&pol, STS_ATTEMPTS, STS_BACKOFF_MS, STS_BACKOFF_CAP, NULL, sc->what);
    struct retry_verdict last;
    int retries = 0;
    int rc = retry_run(&pol, sts_try, sc, &retries, &last);
    if (rc != 0 && last.retryable)
        err_prefix(sc->e, "after %d attempts: ", retries + 1);
    return rc;
}

/* The host (with its port) and the path of an STS URL, for signing. */
static int sts_host_path(const char *url, char *host, size_t hn, char *path, size_t pn)
{
    char *h = NULL, *port = NULL, *pa = NULL;
    CURLU *u = curl_url();
    int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_PATH, &pa, 0) == CURLUE_OK;
    if (ok) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        ok = (size_t)snprintf(host, hn, "%s%s%s", h, port ? ":" : "", port ? port : "") < hn &&
             (size_t)snprintf(path, pn, "%s", pa) < pn;
    }
    curl_url_cleanup(u);
    curl_free(h);
    curl_free(port);
    curl_free(pa);
    return ok ? 0 : -1;
}

/* Reads and checks the token (whitespace around it trimmed). The caller frees
 * *tok with free_secret(*tok, *cap). */
static int webid_token(const char *file, char **tok, size_t *cap, size_t *len, struct err *e)
{
    char *buf = NULL;
    size_t n = 0;
    if (slurp(file, MAX_TOKEN_FILE, &buf, &n) != 0)
        return err_setk(e, ERR_USAGE, "credentials: web identity: cannot read "
                        "the token file %.300s: %s", file,
                        errno == EFBIG ? "larger than 16384 bytes" : strerror(errno));
    size_t a = 0, b = n;
    while (b > 0 && isspace((unsigned char)buf[b - 1]))
        b--;
    while (a < b && isspace((unsigned char)buf[a]))
        a++;
    if (a == b || memchr(buf + a, '\0', b - a)) {
        free_secret(buf, n + 1);
        return err_setk(e, ERR_USAGE, "credentials: web identity: the token file %.300s is "
                        "empty or binary", file);
    }
    memmove(buf, buf + a, b - a);
    OPENSSL_cleanse(buf + (b - a), n + 1 - (b - a));
    *tok = buf;
    *cap = n + 1;
    *len = b - a;
    return 0;
}

static int webid_assume(struct creds_provider *p, const struct webid_cfg *wi,
                        struct creds *out, struct err *e);

static int from_webid(struct creds_provider *p, struct trace *t, struct creds *out,
                      struct err *e)
{
    const char *file = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = env("AWS_ROLE_ARN");
    if (!file || !role) {
        /* as the SDKs: both are needed, one alone is not an error */
        if (!file && !role)
            trace_add(t, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN not set)");
        else
            trace_add(t, "web identity (%s is set but %s is not)",
                      file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
                      file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
        return 0;
    }
    struct webid_cfg wi = {.session = ""};
    if (strlen(file) >= sizeof wi.file || strlen(role) >= sizeof wi.role)
        return err_setk(e, ERR_USAGE, "credentials: web identity: AWS_WEB_IDENTITY_TOKEN_FILE "
                        "or AWS_ROLE_ARN is too long");
    snprintf(wi.file, sizeof wi.file, "%s", file);
    snprintf(wi.role, sizeof wi.role, "%s", role);
    snprintf(wi.origin, sizeof wi.origin, "AWS_ROLE_ARN");
    return webid_assume(p, &wi, out, e);
}

/* AssumeRoleWithWebIdentity with the settings in wi. 1 with credentials in
 * out, -1 (with e) otherwise. */
static int webid_assume(struct creds_provider *p, const struct webid_cfg *wi,
                        struct creds *out, struct err *e)
{
    const char *file = wi->file, *role = wi->role;
    size_t role_len = strlen(role);
    char session[80];
    const char *sn = wi->session[0] ? wi->session : env("AWS_ROLE_SESSION_NAME");
    if (sn) {
        size_t l = strlen(sn);
        int ok = l >= 2 && l <= 64;
        for (size_t i = 0; ok && i < l; i++)
            ok = isalnum((unsigned char)sn[i]) || strchr("_+=,.@-", sn[i]) != NULL;
        if (!ok)
            return err_setk(e, ERR_USAGE, "credentials: web identity: the session name (%s) "
                            "must be 2 to 64 characters of A-Z a-z 0-9 _+=,.@-",
                            wi->session[0] ? "role_session_name" : "AWS_ROLE_SESSION_NAME");
        snprintf(session, sizeof session, "%s", sn);
    } else {
        snprintf(session, sizeof session, "repart-%lld", (long long)time(NULL));
    }

    char url[1024], shown[400];
    if (creds_sts_url(url, sizeof url, e) != 0)
        return -1;
    url_for_msg(url, shown, sizeof shown);
    char what[1400];
    snprintf(what, sizeof what, "credentials: web identity%s%s: role %.300s, token file "
             "%.200s, STS %.300s", wi->origin[0] == 'p' ? " from " : "",
             wi->origin[0] == 'p' ? wi->origin : "", role, file, shown);

    /* re-read on every call: Kubernetes rotates the projected token */
    char *tok = NULL;
    size_t tok_cap = 0, tok_len = 0;
    if (webid_token(file, &tok, &tok_cap, &tok_len, e) != 0)
        return -1;

    size_t fcap = 128 + 3 * (role_len + strlen(session) + tok_len);
    char *form = malloc(fcap);
    int rc = -1;
    if (!form) {
        err_set(e, "credentials: out of memory");
        goto out;
    }
    size_t fl = (size_t)snprintf(form, fcap,
                                 "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=");
    fl = creds_form_append(form, fcap, fl, role, role_len);
    if (fl != (size_t)-1 && fl + 17 < fcap) {
        memcpy(form + fl, "&RoleSessionName=", 18);
        fl += 17;
        fl = creds_form_append(form, fcap, fl, session, strlen(session));
    }
    if (fl != (size_t)-1 && fl + 18 < fcap) {
        memcpy(form + fl, "&WebIdentityToken=", 19);
        fl += 18;
        fl = creds_form_append(form, fcap, fl, tok, tok_len);
    }
    if (fl == (size_t)-1) {   /* cannot happen: fcap covers the worst case */
        err_set(e, "%s: request too large", what);
        goto out;
    }

    char head[17] = "";
    if (tok_len >= 16) {
        memcpy(head, tok, 16);
        head[16] = '\0';
    }
    const struct awsreq_header ctype = {"content-type", FORM_TYPE};
    struct sts_call sc = {
        .rq = {.anonymous = 1, .url = url, .headers = &ctype, .n_headers = 1, .body = form,
               .body_len = fl},
        .what = what, .withhold = head[0] ? head : NULL, .source = "web-identity", .out = out,
        .e = e,
    };
    rc = sts_run(p, &sc) == 0 ? 1 : -1;
    OPENSSL_cleanse(head, sizeof head);
out:
    free_secret(tok, tok_cap);
    if (form)
        free_secret(form, fcap);
    return rc;
}

/* ---- credential_process -------------------------------------------------- */

#define MAX_PROCESS_OUT (64 * 1024)

/* Runs the command (with /bin/sh, as the CLI does) and reads its JSON:
 * {"Version": 1, "AccessKeyId", "SecretAccessKey"[, "SessionToken",
 * "Expiration"]}. Messages never quote its output. */
static int from_process(const struct role_cfg *rc, struct creds *out, struct err *e)
{
    char what[200];
    snprintf(what, sizeof what, "credential_process of profile \"%.60s\"", rc->profile);
    fflush(NULL);
    FILE *f = popen(rc->process, "r");
    if (!f)
        return err_setk(e, ERR_USAGE, "credentials: %s: cannot run it: %s", what, strerror(errno));
    char *buf = malloc(MAX_PROCESS_OUT + 1);
    size_t n = 0;
    int too_big = 0;
    if (buf) {
        size_t k;
        while ((k = fread(buf + n, 1, MAX_PROCESS_OUT + 1 - n, f)) > 0) {
            n += k;
            if (n > MAX_PROCESS_OUT) {
                too_big = 1;
                break;
            }
        }
    }
    int st = pclose(f);
    if (!buf)
        return err_set(e, "credentials: out of memory");
    int rc2 = -1;
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        err_setk(e, ERR_USAGE, "credentials: %s failed (exit status %d)", what,
                 st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        goto out;
    }
    if (too_big) {
        err_setk(e, ERR_USAGE, "credentials: %s: output larger than %d bytes", what,
                 MAX_PROCESS_OUT);
        goto out;
    }
    json_error_t jerr;
    json_t *root = json_loadb(buf, n, 0, &jerr);
    if (!root || !json_is_object(root)) {
        err_setk(e, ERR_USAGE, "credentials: %s: output is not a JSON object", what);
        json_decref(root);
        goto out;
    }
    json_t *ver = json_object_get(root, "Version");
    json_t *ak = json_object_get(root, "AccessKeyId");
    json_t *sk = json_object_get(root, "SecretAccessKey");
    json_t *tok = json_object_get(root, "SessionToken");
    json_t *exp = json_object_get(root, "Expiration");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        err_setk(e, ERR_USAGE, "credentials: %s: \"Version\" must be 1", what);
    else if (!json_is_string(ak) || !json_is_string(sk) || !json_string_length(ak) ||
             !json_string_length(sk))
        err_setk(e, ERR_USAGE, "credentials: %s: no AccessKeyId or SecretAccessKey", what);
    else if (tok && !json_is_null(tok) && !json_is_string(tok))
        err_setk(e, ERR_USAGE, "credentials: %s: SessionToken is not a string", what);
    else if (copy_field(out->access_key, sizeof out->access_key, json_string_value(ak),
                        json_string_length(ak)) ||
             copy_field(out->secret_key, sizeof out->secret_key, json_string_value(sk),
                        json_string_length(sk)) ||
             copy_field(out->session_token, sizeof out->session_token,
                        json_is_string(tok) ? json_string_value(tok) : "",
                        json_is_string(tok) ? json_string_length(tok) : 0))
        err_setk(e, ERR_USAGE, "credentials: %s: a credential value is too long", what);
    else if (exp && !json_is_null(exp) &&
             (!json_is_string(exp) ||
              datetime_parse_iso8601(json_string_value(exp), &out->expires_at) != 0))
        err_setk(e, ERR_USAGE, "credentials: %s: Expiration is not an ISO 8601 time", what);
    else {
        if (!exp || json_is_null(exp))
            out->expires_at = 0;
        snprintf(out->source, sizeof out->source, "process:%.50s", rc->profile);
        rc2 = 1;
    }
    json_decref(root);
out:
    if (rc2 != 1)
        creds_wipe(out);
    free_secret(buf, MAX_PROCESS_OUT + 1);
    return rc2;
}

/* ---- IAM Identity Center (SSO) ------------------------------------------------ */

#define MAX_SSO_CACHE (256 * 1024)

/* Credentials of an SSO profile from the token `aws sso login` cached in
 * ~/.aws/sso/cache/<sha1 of the session name, or of the start URL>.json,
 * exchanged by GetRoleCredentials. */
/* The cached SSO token of rc's session (~/.aws/sso/cache/SHA1.json): *root
 * is the cache document (caller json_decref; jansson does not wipe) and
 * *tok points into it. 0, or -1 with e set. */
static int sso_token(const struct role_cfg *rc, const char *pf, const char *login, json_t **root,
                     const char **tok, struct err *e)
{
    *root = NULL;
    const char *key = rc->sso_session[0] ? rc->sso_session : rc->sso_start_url;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (!EVP_Digest(key, strlen(key), md, &ml, EVP_sha1(), NULL) || ml != 20)
        return err_set(e, "%s: SHA-1 failed", pf);
    char hex[41];
    hex_encode(md, 20, hex);
    const char *home = getenv("HOME");
    char path[1200];
    if (!home || !*home)
        return err_setk(e, ERR_USAGE, "%s: HOME is not set (the token cache is "
                        "~/.aws/sso/cache)", pf);
    snprintf(path, sizeof path, "%s/.aws/sso/cache/%s.json", home, hex);
    char *text = NULL;
    size_t len = 0;
    if (slurp(path, MAX_SSO_CACHE, &text, &len) != 0)
        return err_setk(e, ERR_USAGE, "%s: no cached SSO token (%s: %s); run `%s`", pf, path,
                        errno == EFBIG ? "too large" : strerror(errno), login);
    json_error_t jerr;
    *root = json_loadb(text, len, 0, &jerr);
    free_secret(text, len + 1);
    *tok = *root ? json_string_value(json_object_get(*root, "accessToken")) : NULL;
    const char *exp = *root ? json_string_value(json_object_get(*root, "expiresAt")) : NULL;
    if (!*tok || !**tok || strpbrk(*tok, "\r\n") || !exp)
        return err_setk(e, ERR_USAGE, "%s: the cached SSO token %s has no accessToken or "
                        "expiresAt; run `%s`", pf, path, login);
    /* "2024-01-01T00:00:00Z", also "...UTC" as older CLIs wrote */
    char expbuf[64];
    snprintf(expbuf, sizeof expbuf, "%s", exp);
    size_t el = strlen(expbuf);
    if (el > 3 && strcmp(expbuf + el - 3, "UTC") == 0)
        snprintf(expbuf + el - 3, sizeof expbuf - (el - 3), "Z");
    long long exp_at = 0;
    if (datetime_parse_iso8601(expbuf, &exp_at) != 0)
        return err_setk(e, ERR_USAGE, "%s: the cached SSO token's expiresAt is not a time; run "
                        "`%s`", pf, login);
    if (exp_at <= (long long)time(NULL))
        return err_setk(e, ERR_USAGE, "%s: the SSO token expired at %.40s; run `%s`", pf, exp,
                        login);
    return 0;
}

/* The GetRoleCredentials URL of rc (and its form for messages). */
static int sso_url(const struct role_cfg *rc, const char *pf, char *url, size_t n, char *shown,
                   size_t sn, struct err *e)
{
    char base[AWSCFG_URL_MAX + 1];
    if (!awscfg_region_ok(rc->sso_region))
        return err_setk(e, ERR_USAGE, "%s: sso_region \"%.64s\" is not a region name", pf,
                        rc->sso_region);
    if (awscfg_endpoint(AWSCFG_SSO, NULL, rc->sso_region, base, sizeof base, NULL, e) < 0)
        return err_prefix(e, "%s: ", pf);
    char *acc = sigv4_uri_encode(rc->sso_account, strlen(rc->sso_account), 0);
    char *role = sigv4_uri_encode(rc->sso_role, strlen(rc->sso_role), 0);
    if (acc && role)
        snprintf(url, n, "%s/federation/credentials?account_id=%s&role_name=%s", base, acc,
                 role);
    int ok = acc && role;
    free(acc);
    free(role);
    if (!ok)
        return err_set(e, "credentials: out of memory");
    url_for_msg(url, shown, sn);
    return 0;
}

/* GetRoleCredentials' answer: 1 with credentials in out, -1. */
static int sso_answer(const struct body *b, const struct role_cfg *rc, const char *pf,
                      const char *shown, struct creds *out, struct err *e)
{
    json_error_t jerr;
    json_t *ans = json_loadb(b->p, b->len, 0, &jerr);
    json_t *rcj = ans ? json_object_get(ans, "roleCredentials") : NULL;
    json_t *ak = json_object_get(rcj, "accessKeyId"), *sk = json_object_get(rcj, "secretAccessKey");
    json_t *st = json_object_get(rcj, "sessionToken"), *ex = json_object_get(rcj, "expiration");
    int rcode = -1;
    if (!json_is_string(ak) || !json_is_string(sk) || !json_string_length(ak) ||
        !json_string_length(sk) || (st && !json_is_string(st)) || !json_is_integer(ex))
        err_set(e, "%s: GetRoleCredentials %s: answer lacks roleCredentials", pf, shown);
    else if (copy_field(out->access_key, sizeof out->access_key, json_string_value(ak),
                        json_string_length(ak)) ||
             copy_field(out->secret_key, sizeof out->secret_key, json_string_value(sk),
                        json_string_length(sk)) ||
             copy_field(out->session_token, sizeof out->session_token,
                        st ? json_string_value(st) : "", st ? json_string_length(st) : 0))
        err_set(e, "%s: a credential value is too long", pf);
    else {
        out->expires_at = (long long)(json_integer_value(ex) / 1000);
        snprintf(out->source, sizeof out->source, "sso:%.50s", rc->profile);
        rcode = 1;
    }
    json_decref(ans);
    return rcode;
}

static int from_sso(struct creds_provider *p, const struct role_cfg *rc, struct creds *out,
                    struct err *e)
{
    char pf[200], login[200];
    snprintf(pf, sizeof pf, "credentials: SSO profile \"%.60s\"", rc->profile);
    if (rc->sso_session[0])
        snprintf(login, sizeof login, "aws sso login --sso-session %.60s", rc->sso_session);
    else
        snprintf(login, sizeof login, "aws sso login --profile %.60s", rc->profile);
    json_t *root = NULL;
    const char *tok = NULL;
    int rcode = -1;
    char *hdr = NULL;
    size_t hl = 0;
    struct body b = {.p = NULL};
    char url[AWSCFG_URL_MAX + 400], shown[400];
    if (sso_token(rc, pf, login, &root, &tok, e) != 0 ||
        sso_url(rc, pf, url, sizeof url, shown, sizeof shown, e) != 0)
        goto out;
    hl = strlen(tok) + 40;
    hdr = malloc(hl);
    b.p = malloc(MAX_BODY_BYTES + 1);
    if (!hdr || !b.p) {
        err_set(e, "credentials: out of memory");
        goto out;
    }
    snprintf(hdr, hl, "x-amz-sso_bearer_token: %s", tok);
    const char *hdrs[1] = {hdr};
    long status = 0;
    char why[CURL_ERROR_SIZE + 64];
    if (http_do_body(p, "GET", url, 1, hdrs, 1, NULL, 0, 3000, 10000, &status, &b, why,
                     sizeof why) != 0)
        err_setk(e, ERR_TRANSIENT, "%s: GetRoleCredentials %s: %s", pf, shown, why);
    else if (status == 401 || status == 403)
        err_setk(e, ERR_USAGE, "%s: GetRoleCredentials %s: HTTP %ld (the SSO token was refused "
                 "or the role %s in account %s is not assigned); run `%s`", pf, shown, status,
                 rc->sso_role, rc->sso_account, login);
    else if (status != 200)
        err_setk(e, status >= 500 ? ERR_TRANSIENT : ERR_USAGE,
                 "%s: GetRoleCredentials %s: HTTP %ld", pf, shown, status);
    else
        rcode = sso_answer(&b, rc, pf, shown, out, e);
out:
    json_decref(root);   /* jansson does not wipe; the token was in it */
    free_secret(hdr, hl);
    if (b.p)
        free_secret(b.p, MAX_BODY_BYTES + 1);
    if (rcode != 1)
        creds_wipe(out);
    return rcode;
}

/* ---- assume role ------------------------------------------------------------ */

#define ROLE_CHAIN_MAX 5

static int role_assume(struct creds_provider *p, const struct role_cfg *rc, struct creds *out,
                       int depth, struct err *e);

/* The credentials of a profile used as a source: 1 or -1. */
static int source_creds(struct creds_provider *p, const char *profile, int self,
                        struct creds *out, int depth, struct err *e)
{
    struct trace t = {.len = 0};
    struct webid_cfg wi = {.file = ""};
    struct role_cfg *rc = calloc(1, sizeof *rc);
    if (!rc)
        return err_set(e, "credentials: out of memory");
    char from[200];
    snprintf(from, sizeof from, "source_profile of \"%.60s\"", profile);
    int r = from_profile_named(&t, profile, from, 1, self, out, &wi, rc, e);
    if (r == 2)
        r = webid_assume(p, &wi, out, e);
    else if (r == 3)
        r = role_assume(p, rc, out, depth + 1, e) == 0 ? 1 : -1;
    else if (r == 4)
        r = from_process(rc, out, e);
    else if (r == 5)
        r = from_sso(p, rc, out, e);
    else if (r == 0)
        r = err_setk(e, ERR_USAGE, "credentials: source profile \"%s\" has no credentials (%s)",
                     profile, t.buf);
    free(rc);
    return r < 0 ? -1 : 1;
}

static int valid_chars(const char *v, const char *extra)
{
    for (; *v; v++)
        if (!isalnum((unsigned char)*v) && !strchr(extra, *v))
            return 0;
    return 1;
}

/* The checks of a role profile before anything is sent: the chain depth,
 * MFA, the external id, the duration and the session name. */
static int role_check(const struct role_cfg *rc, const char *pf, int depth, long *duration,
                      char session[80], struct err *e)
{
    if (depth >= ROLE_CHAIN_MAX)
        return err_setk(e, ERR_USAGE, "%s: more than %d roles chained by source_profile (a "
                        "loop?)", pf, ROLE_CHAIN_MAX);
    if (rc->mfa_serial[0])
        return err_setk(e, ERR_USAGE, "%s has mfa_serial: repart runs unattended and cannot "
                        "ask for an MFA code. Use a role that does not require MFA, or export "
                        "temporary credentials first (eval \"$(aws configure export-credentials "
                        "--profile %s --format env)\")", pf, rc->profile);
    if (rc->external_id[0] && (strlen(rc->external_id) < 2 || strlen(rc->external_id) > 1224 ||
                               !valid_chars(rc->external_id, "+=,.@:/-_")))
        return err_setk(e, ERR_USAGE, "%s: external_id must be 2 to 1224 characters of "
                        "A-Z a-z 0-9 +=,.@:/-_", pf);
    *duration = 3600;
    if (rc->duration[0]) {
        char *end;
        *duration = strtol(rc->duration, &end, 10);
        if (*end || end == rc->duration || *duration < 900 || *duration > 43200)
            return err_setk(e, ERR_USAGE, "%s: duration_seconds must be 900..43200", pf);
    }
    const char *sn = rc->session[0] ? rc->session : env("AWS_ROLE_SESSION_NAME");
    if (sn) {
        if (strlen(sn) < 2 || strlen(sn) > 64 || !valid_chars(sn, "_+=,.@-"))
            return err_setk(e, ERR_USAGE, "%s: the session name (%s) must be 2 to 64 "
                            "characters of A-Z a-z 0-9 _+=,.@-", pf,
                            rc->session[0] ? "role_session_name" : "AWS_ROLE_SESSION_NAME");
        snprintf(session, 80, "%s", sn);
    } else {
        snprintf(session, 80, "repart-%lld", (long long)time(NULL));
    }
    return 0;
}

/* The credentials a role profile assumes the role with: its source_profile's
 * or its credential_source's. 0, or -1 (src wiped). */
static int role_source(struct creds_provider *p, const struct role_cfg *rc, const char *pf,
                       int depth, struct creds *src, struct err *e)
{
    memset(src, 0, sizeof *src);
    int r;
    if (rc->source_profile[0]) {
        r = source_creds(p, rc->source_profile, strcmp(rc->source_profile, rc->profile) == 0,
                         src, depth, e);
    } else {
        struct trace t = {.len = 0};
        const char *cs = rc->credential_source;
        if (strcmp(cs, "Environment") == 0)
            r = from_env(&t, src, e);
        else if (strcmp(cs, "Ec2InstanceMetadata") == 0)
            r = from_imds(p, &t, src, e);
        else if (strcmp(cs, "EcsContainer") == 0)
            r = from_container(p, &t, src, e);
        else
            return err_setk(e, ERR_USAGE, "%s: credential_source \"%.40s\" is not one of "
                            "Environment, Ec2InstanceMetadata, EcsContainer", pf, cs);
        if (r == 0)
            r = err_setk(e, ERR_USAGE, "%s: credential_source %s has no credentials (%s)", pf,
                         cs, t.buf);
    }
    if (r < 0) {
        creds_wipe(src);
        return err_prefix(e, "%s: role %.200s: ", pf, rc->role);
    }
    return 0;
}

/* The AssumeRole form (caller frees); NULL when out of memory. */
static char *role_form(const struct role_cfg *rc, long duration, const char *session,
                       size_t *len)
{
    size_t fcap = 256 + 3 * (strlen(rc->role) + strlen(session) + strlen(rc->external_id));
    char *form = malloc(fcap);
    if (!form)
        return NULL;
    size_t fl = (size_t)snprintf(form, fcap, "Action=AssumeRole&DurationSeconds=%ld&", duration);
    if (rc->external_id[0]) {
        memcpy(form + fl, "ExternalId=", 12);
        fl = creds_form_append(form, fcap, fl + 11, rc->external_id, strlen(rc->external_id));
        memcpy(form + fl, "&", 2);
        fl++;
    }
    memcpy(form + fl, "RoleArn=", 9);
    fl = creds_form_append(form, fcap, fl + 8, rc->role, strlen(rc->role));
    memcpy(form + fl, "&RoleSessionName=", 18);
    fl = creds_form_append(form, fcap, fl + 17, session, strlen(session));
    memcpy(form + fl, "&Version=2011-06-15", 20);
    fl += 19;
    *len = fl;
    return form;
}

/* sts:AssumeRole for the profile in rc, signed with its source's
 * credentials. 0 with credentials in out, -1. */
static int role_assume(struct creds_provider *p, const struct role_cfg *rc, struct creds *out,
                       int depth, struct err *e)
{
    char pf[160];
    snprintf(pf, sizeof pf, "credentials: profile \"%.60s\"", rc->profile);
    long duration = 3600;
    char session[80];
    if (role_check(rc, pf, depth, &duration, session, e) != 0)
        return -1;
    struct creds src;
    if (role_source(p, rc, pf, depth, &src, e) != 0)
        return -1;
    char url[1024], shown[400], host[400], path[1024];
    if (creds_sts_url(url, sizeof url, e) != 0) {
        creds_wipe(&src);
        return -1;
    }
    url_for_msg(url, shown, sizeof shown);
    if (sts_host_path(url, host, sizeof host, path, sizeof path) != 0) {
        creds_wipe(&src);
        return err_setk(e, ERR_USAGE, "%s: STS URL %s is not valid", pf, shown);
    }
    char region[AWSCFG_REGION_MAX + 1];
    if (awscfg_region(NULL, NULL, region, sizeof region, NULL, NULL) != 1)
        snprintf(region, sizeof region, "us-east-1");
    size_t fl = 0;
    char *form = role_form(rc, duration, session, &fl);
    if (!form) {
        creds_wipe(&src);
        return err_set(e, "credentials: out of memory");
    }
    char what[1400], source[64];
    snprintf(what, sizeof what, "%s: AssumeRole %.300s, STS %.300s", pf, rc->role, shown);
    snprintf(source, sizeof source, "assume-role:%.50s", rc->profile);
    const struct awsreq_header ctype = {"content-type", FORM_TYPE};
    struct sts_call sc = {
        .rq = {.cr = &src, .region = region, .url = url, .host = host, .path = path,
               .query = "", .headers = &ctype, .n_headers = 1, .body = form, .body_len = fl},
        .what = what, .source = source, .out = out, .e = e,
    };
    int rc_out = sts_run(p, &sc);
    free(form);
    creds_wipe(&src);
    return rc_out;
}

/* ---- the chain ---------------------------------------------------------- */

static int resolve(struct creds_provider *p, struct creds *out, struct err *e)
{
    struct trace t = {.len = 0};
    int r;
    memset(out, 0, sizeof *out);
    /* as the CLI: a profile named with --profile beats the environment's keys */
    const char *pfrom;
    awscfg_profile_name(&pfrom);
    if (strcmp(pfrom, "--profile") == 0)
        trace_add(&t, "environment (skipped: --profile given)");
    else if ((r = from_env(&t, out, e)) != 0)
        return r < 0 ? -1 : 0;
    struct webid_cfg wi = {.file = ""};
    struct role_cfg *rc = calloc(1, sizeof *rc);
    if (!rc)
        return err_set(e, "credentials: out of memory");
    r = from_profile(&t, out, &wi, rc, e);
    if (r == 2)
        r = webid_assume(p, &wi, out, e);
    else if (r == 3)
        r = role_assume(p, rc, out, 0, e) == 0 ? 1 : -1;
    else if (r == 4)
        r = from_process(rc, out, e);
    else if (r == 5)
        r = from_sso(p, rc, out, e);
    OPENSSL_cleanse(rc, sizeof *rc);
    free(rc);
    if (r != 0)
        return r < 0 ? -1 : 0;
    if ((r = from_webid(p, &t, out, e)) != 0)
        return r < 0 ? -1 : 0;
    if ((r = from_container(p, &t, out, e)) != 0)
        return r < 0 ? -1 : 0;
    if ((r = from_imds(p, &t, out, e)) != 0)
        return r < 0 ? -1 : 0;
    return err_setk(e, ERR_USAGE, "no AWS credentials found; tried: %s", t.buf);
}

struct creds_provider *creds_provider_new(void)
{
    struct creds_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return NULL;
    }
    /* tests and very short-lived credentials: REPART_CREDS_REFRESH_MARGIN_S */
    p->margin = REFRESH_MARGIN_S;
    const char *m = env("REPART_CREDS_REFRESH_MARGIN_S");
    if (m) {
        char *end;
        long v = strtol(m, &end, 10);
        if (!*end && v >= 0 && v <= 3600)
            p->margin = v;
    }
    return p;
}

struct creds_provider *creds_provider_static(const char *access_key, const char *secret_key,
                                             const char *session_token)
{
    if (!access_key || !secret_key)
        return NULL;
    struct creds_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return NULL;
    }
    p->is_static = 1;
    p->have = 1;
    if (copy_field(p->cur.access_key, sizeof p->cur.access_key, access_key, strlen(access_key)) ||
        copy_field(p->cur.secret_key, sizeof p->cur.secret_key, secret_key, strlen(secret_key)) ||
        copy_field(p->cur.session_token, sizeof p->cur.session_token,
                   session_token ? session_token : "", session_token ? strlen(session_token) : 0)) {
        creds_provider_free(p);
        return NULL;
    }
    snprintf(p->cur.source, sizeof p->cur.source, "static");
    return p;
}

int creds_provider_get(struct creds_provider *p, struct creds *out, struct err *e)
{
    if (!p || !out)
        return err_set(e, "credentials: no provider");
    pthread_mutex_lock(&p->mu);
    long long now = (long long)time(NULL);
    int rc = 0;
    if (p->have && (p->is_static || p->cur.expires_at == 0 ||
                    now < p->cur.expires_at - p->margin ||
                    (now < p->next_attempt && now < p->cur.expires_at))) {
        *out = p->cur;
        goto done;
    }
    struct creds fresh;
    struct err e2 = {.kind = 0};
    if (resolve(p, &fresh, &e2) == 0) {
        p->cur = fresh;
        p->have = 1;
        p->next_attempt = 0;
        *out = fresh;
    } else if (p->have && now < p->cur.expires_at) {
        /* refresh failed but what we have is still valid: use it, retry later */
        p->next_attempt = now + RETRY_AFTER_FAIL_S;
        *out = p->cur;
    } else {
        if (e)
            *e = e2;
        if (p->have) {
            err_prefix(e, "refreshing expired credentials from %s: ", p->cur.source);
            if (e)
                e->kind = ERR_TRANSIENT;
        }
        rc = -1;
    }
    creds_wipe(&fresh);
done:
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void creds_provider_free(struct creds_provider *p)
{
    if (!p)
        return;
    if (p->curl)
        curl_easy_cleanup(p->curl);
    creds_wipe(&p->cur);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
