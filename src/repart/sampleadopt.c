#include "sampleadopt.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adopt.h"
#include "dayfile.h"
#include "layout.h"
#include "log.h"
#include "ocf.h"

struct sample_file {
    char name[256];
    char etag[80];             /* as listed */
    struct adopt_set *set;
    long long size;
    char md5[33];
    unsigned long long records;
    long long header_len;
    size_t taken;
    uint64_t left;             /* records no source was found for */
    uint64_t attributed;       /* of those, records of series with an overwritten source */
    size_t dup;                /* sources committed in another file (merged.avro) found whole here */
    uint64_t held;             /* records of gone sources this file keeps (verify --repair) */
    int fold;                  /* 1: folded (deleted after the commit), -1: left as it is */
};

/* Reads one sample file: its set of records and what its #file line says. */
static int sample_open(struct s3_client *s3, const char *bucket, const char *key,
                       long long listed, struct sample_file *f, struct err *e)
{
    struct bytebuf b = {0};
    if (s3_get_buffer_verified(s3, bucket, key, listed > 0 ? listed : 1, &b, NULL, e) != 0) {
        bytebuf_free(&b);
        return err_prefix(e, "reading the sample's %s: ", key);
    }
    struct ocf_reader r;
    int rc = ocf_reader_open(&r, key, b.data, b.len, e);
    if (rc == 0) {
        struct ocf_block blk;
        int more;
        f->header_len = (long long)r.header_len;
        while ((more = ocf_reader_next(&r, &blk, e)) == 1)
            f->records += (unsigned long long)blk.count;
        ocf_reader_close(&r);
        rc = more < 0 ? -1 : 0;
    }
    if (rc == 0 && !(f->set = adopt_open(b.data, b.len, key, e)))
        rc = -1;
    f->size = (long long)b.len;
    md5_hex(b.data, b.len, f->md5);
    bytebuf_free(&b);
    return rc;
}

static int cmp_size_desc(const void *a, const void *b)
{
    const struct scan_source *x = *(const struct scan_source *const *)a;
    const struct scan_source *y = *(const struct scan_source *const *)b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

/* Offers one source to every sample file; *where = the file that took it,
 * -1 for none, -2 when one holds part of it. A source committed already in
 * another file (dup) is offered to every file, each holding all of it takes
 * it (files[i].dup counts them), and *where is -3 unless one holds part. */
static int offer(struct s3_client *s3, const char *bucket, const struct scan_source *src,
                 int dup, struct sample_file *files, size_t n_files, int *where, struct err *e)
{
    struct bytebuf b = {0};
    *where = -1;
    if (s3_get_buffer_verified(s3, bucket, src->key, src->size > 0 ? src->size : 1, &b, NULL,
                               e) != 0) {
        bytebuf_free(&b);
        return -1;
    }
    int rc = 0;
    if ((long long)b.len != src->size)
        rc = err_setk(e, ERR_TRANSIENT, "%s: got %zu bytes, the listing said %lld", src->key,
                      b.len, src->size);
    for (size_t i = 0; rc == 0 && i < n_files && *where == -1; i++) {
        int taken = 0;
        struct err te = {0};
        if (adopt_take(files[i].set, b.data, b.len, src->key, &taken, &te) != 0) {
            if (taken != -1) {
                *e = te;
                rc = -1;
            } else {
                *where = -2;
                *e = te;
            }
        } else if (taken == 1 && dup) {
            files[i].dup++;
        } else if (taken == 1) {
            *where = (int)i;
        }
    }
    if (rc == 0 && dup && *where == -1)
        *where = -3;
    bytebuf_free(&b);
    return rc;
}

/* SiteWise exports every six hours: an object's records start at the
 * start timestamp of its key, within one period. */
#define EXPORT_PERIOD_SECS 21600

/* The export period of a source committed in the day file: its series and
 * the start timestamp its key names. */
struct committed_win {
    const char *series;
    int64_t start_ts;
    const char *relkey;
};

/* The windows of the sources the index commits in the day file (*out:
 * caller frees). -1 on OOM. */
static int committed_windows(const struct index *ix, struct committed_win **out, size_t *n)
{
    *out = calloc(ix->n_sources ? ix->n_sources : 1, sizeof **out);
    *n = 0;
    if (!*out)
        return -1;
    for (size_t j = 0; j < ix->n_sources; j++) {
        const struct index_source *x = &ix->sources[j];
        if (strcmp(x->merged, LAYOUT_DAYFILE) != 0 || !x->series)
            continue;
        /* ..._<start ts>_<quality>.avro */
        const char *q = strrchr(x->relkey, '_');
        const char *t = q;
        while (t && t > x->relkey && t[-1] != '_')
            t--;
        if (!q || !t || t == q)
            continue;
        char *end = NULL;
        long long ts = strtoll(t, &end, 10);
        if (end != q)
            continue;
        (*out)[(*n)++] = (struct committed_win){x->series, ts, x->relkey};
    }
    return 0;
}

struct attribution {
    struct scan_source **cand;
    size_t n_cand;
    int *where;
    int mark;                  /* where[] value of "earlier content in this file" */
    uint64_t attributed;
    const struct committed_win *win;
    size_t n_win;
    const char *hit;           /* a committed source a record no candidate took falls in */
};

static int attribute_record(void *ud, const char *series, size_t n, int64_t time)
{
    struct attribution *a = ud;
    if (!series)
        return 0;
    int hit = 0;
    for (size_t i = 0; i < a->n_cand; i++) {
        const struct coldkey *k = &a->cand[i]->ck;
        if ((a->where[i] == -1 || a->where[i] == a->mark) && strlen(k->series_id) == n &&
            memcmp(k->series_id, series, n) == 0 && time >= k->start_ts &&
            time - k->start_ts < EXPORT_PERIOD_SECS) {
            a->where[i] = a->mark;
            hit = 1;
        }
    }
    a->attributed += (uint64_t)hit;
    for (size_t i = 0; !hit && !a->hit && i < a->n_win; i++) {
        const struct committed_win *w = &a->win[i];
        if (strlen(w->series) == n && memcmp(w->series, series, n) == 0 &&
            time >= w->start_ts && time - w->start_ts < EXPORT_PERIOD_SECS)
            a->hit = w->relkey;
    }
    return 0;
}

/* File f has records no source was found for. A record whose series and
 * time fall in the key of a listed source found in no sample file (where
 * -1) is that source's earlier content: it was overwritten since the
 * sample merged it (a SiteWise object holds one series, from the start
 * time its key names, over one export period). Such sources get where =
 * n_files + fi; their records count as f->attributed. Others stay unowned
 * (sources deleted from the cold tier), and the file is then never folded. */
static int attribute_left(struct s3_client *s3, const char *bucket, const char *prefix,
                          struct sample_file *f, struct scan_source **cand, size_t n_cand,
                          int *where, size_t n_files, size_t fi,
                          const struct committed_win *win, size_t n_win, struct err *e)
{
    int any = n_win > 0;
    for (size_t i = 0; i < n_cand && !any; i++)
        any = where[i] == -1;
    if (!any)
        return 0;
    char key[1400];
    snprintf(key, sizeof key, "%s%s", prefix, f->name);
    struct bytebuf b = {0};
    if (s3_get_buffer_verified(s3, bucket, key, f->size > 0 ? f->size : 1, &b, NULL, e) != 0) {
        bytebuf_free(&b);
        return err_prefix(e, "reading the sample's %s again: ", key);
    }
    char md5[33];
    md5_hex(b.data, b.len, md5);
    struct attribution a = {cand, n_cand, where, (int)(n_files + fi), 0, win, n_win, NULL};
    int rc = 0;
    if ((long long)b.len != f->size || strcmp(md5, f->md5) != 0)
        rc = err_setk(e, ERR_TRANSIENT, "%s changed while this run read it", key);
    else
        rc = adopt_drain_left(f->set, b.data, b.len, key, attribute_record, &a, e);
    bytebuf_free(&b);
    f->attributed = a.attributed;
    if (rc == 0 && a.hit)
        rc = err_setk(e, ERR_DATA, "%s holds records of %s, a source the index commits in "
                      LAYOUT_DAYFILE ", that are not that source's as it is now (it was "
                      "overwritten or deleted since): queries may count them twice. Nothing "
                      "was written; run `repart verify --repair` for this day", key, a.hit);
    return rc;
}

/* stale[j] = 1 when the day file's source j of the index is no longer as
 * committed: deleted from the cold tier, or listed with other content
 * (overwritten since). Returns how many; -1 when out of memory. */
static long stale_in_dayfile(const struct day_scan *s, unsigned char **stale)
{
    const struct index *ix = &s->index;
    unsigned char *st = calloc(ix->n_sources ? ix->n_sources : 1, 1);
    if (!(*stale = st))
        return -1;
    for (size_t j = 0; j < ix->n_sources; j++)
        st[j] = strcmp(ix->sources[j].merged, LAYOUT_DAYFILE) == 0 && ix->sources[j].off >= 0 &&
                ix->sources[j].len > 0;
    for (size_t i = 0; i < s->n_src; i++) {
        const struct index_source *x = index_source_find(ix, s->src[i].relkey);
        if (x && !s->src[i].changed)
            st[x - ix->sources] = 0;
    }
    long n = 0;
    for (size_t j = 0; j < ix->n_sources; j++)
        n += st[j];
    return n;
}

/* Records in the container data[0..len) (-1: it does not parse). */
static long long container_records(const unsigned char *data, size_t len, const char *name)
{
    struct ocf_reader r;
    struct err e = {0};
    if (ocf_reader_open(&r, name, data, len, &e) != 0)
        return -1;
    struct ocf_block blk;
    long long n = 0;
    int more;
    while ((more = ocf_reader_next(&r, &blk, &e)) == 1)
        n += (long long)blk.count;
    ocf_reader_close(&r);
    return more < 0 ? -1 : n;
}

/* Offers the committed records of the day file's sources that are no
 * longer as committed (deleted or overwritten since) to the sample files,
 * as a source committed elsewhere is offered (dup): the sample merged it
 * while repart did (it ran during a run, or between download and upload),
 * before it changed. Its records are compared as the day file commits
 * them, not as the cold tier holds them now. Partly found: left as it is
 * (the day stops in attribute_left). The committed version not available
 * (a damaged day file): nothing offered. With o->gone (verify --repair),
 * those sources are offered instead, and a file holding one keeps it
 * (o->gone_held, files[].held). */
static int offer_stale(const struct sampleadopt_opts *o, const struct day_scan *s,
                       struct sample_file *files, size_t n_files, const char *dayname,
                       struct err *e)
{
    const struct index *ix = &s->index;
    const struct index_source *list = o->gone;
    size_t n_list = o->n_gone;
    long long header_len = o->gone_header_len;
    unsigned char *stale = NULL;
    if (!o->read_committed)
        return 0;
    if (!list) {
        const struct index_file *df = index_file_find(ix, LAYOUT_DAYFILE);
        if (!df || df->header_len <= 0)
            return 0;
        long n_stale = stale_in_dayfile(s, &stale);
        if (n_stale <= 0) {
            free(stale);
            return n_stale < 0 ? err_set(e, "out of memory") : 0;
        }
        list = ix->sources;
        n_list = ix->n_sources;
        header_len = df->header_len;
    }
    if (!n_list || header_len <= 0) {
        free(stale);
        return 0;
    }
    struct bytebuf c = {0};
    struct err ce = {0};
    if (o->read_committed(o->committed_ud, &c, &ce) != 0) {
        bytebuf_free(&c);
        free(stale);
        if (ce.kind != ERR_DATA && ce.kind != ERR_NOT_FOUND) {
            *e = ce;
            return -1;
        }
        log_msg(LOG_WARN, dayname, "committed_unavailable", "the committed " LAYOUT_DAYFILE
                " could not be read to compare the sample's files with: %s", ce.msg);
        return 0;
    }
    size_t hl = (size_t)header_len;
    int rc = 0;
    for (size_t j = 0; rc == 0 && j < n_list; j++) {
        const struct index_source *x = &list[j];
        if (stale && !stale[j])
            continue;
        if (x->off < header_len || x->len <= 0 || x->off + x->len > (long long)c.len) {
            rc = err_setk(e, ERR_DATA, "%s: its range %lld+%lld is not in the committed "
                          LAYOUT_DAYFILE, x->relkey, x->off, x->len);
            break;
        }
        size_t n = hl + (size_t)x->len;
        unsigned char *buf = malloc(n);
        if (!buf) {
            rc = err_set(e, "out of memory");
            break;
        }
        memcpy(buf, c.data, hl);
        memcpy(buf + hl, c.data + x->off, (size_t)x->len);
        for (size_t i = 0; rc == 0 && i < n_files; i++) {
            int taken = 0;
            struct err te = {0};
            if (!adopt_left(files[i].set))
                continue;
            if (adopt_take(files[i].set, buf, n, x->relkey, &taken, &te) != 0 && taken != -1) {
                *e = te;
                rc = -1;
            } else if (taken == -1 && o->gone) {
                /* part of it there: keeping it in the day file doubles
                 * those records, leaving it to the sample's file loses
                 * the rest */
                rc = err_setk(e, ERR_DATA, "%s holds part of the records " LAYOUT_DAYFILE
                              " commits of %s, which is no longer in the cold tier (the sample "
                              "merged another content of it): which copy to keep cannot be "
                              "told. Nothing was written; keep one by hand (restore the "
                              "object, or delete the sample's file), then run `repart verify "
                              "--repair` for this day", files[i].name, x->relkey);
            } else if (taken == 1 && o->gone) {
                long long k = container_records(buf, n, x->relkey);
                files[i].held += k > 0 ? (uint64_t)k : 0;
                o->gone_held[j] = 1;
                log_msg(LOG_INFO, dayname, "sample_holds_gone", "%s holds the records of %s, "
                        "which is no longer in the cold tier: they stay there, not in "
                        LAYOUT_DAYFILE, files[i].name, x->relkey);
                break;
            } else if (taken == 1) {
                files[i].dup++;
                log_msg(LOG_INFO, dayname, "sample_holds_committed", "%s holds the records "
                        LAYOUT_DAYFILE " commits of %s (deleted or overwritten since)",
                        files[i].name, x->relkey);
            }
        }
        free(buf);
    }
    bytebuf_free(&c);
    free(stale);
    return rc;
}

/* 1 when this version of name was folded into the day file (#folded with
 * its ETag): a later file of the same name (the sample run again in the
 * same second) is a new one. */
static int folded_here(const struct index *ix, const char *name, const char *etag)
{
    const struct index_folded *fo = index_folded_find(ix, name);
    return fo && (!fo->etag[0] || strcmp(fo->etag, etag) == 0);
}

/* 1 when src is one this run's timeseries_type leaves out. */
static int is_filtered(const struct day_scan *s, const struct scan_source *src)
{
    return s->n_filtered && src >= s->filtered && src < s->filtered + s->n_filtered;
}

/* 1 when relkey is among the sources the caller merges (m NULL: every
 * source of the day without a #src line is). */
static int merged_by_caller(const struct day_scan *m, const char *relkey)
{
    if (!m)
        return 1;
    for (size_t i = 0; i < m->n_src; i++)
        if (strcmp(m->src[i].relkey, relkey) == 0)
            return 1;
    return 0;
}

int sampleadopt_unaccounted(const struct index *ix, const char *name, const char *etag)
{
    size_t nl = strlen(name);
    return !strchr(name, '/') &&
           strncmp(name, LAYOUT_SAMPLE_PREFIX, strlen(LAYOUT_SAMPLE_PREFIX)) == 0 && nl >= 6 &&
           strcmp(name + nl - 5, ".avro") == 0 && !index_file_find(ix, name) &&
           !folded_here(ix, name, etag);
}

int sampleadopt_changed(const struct index *ix, const char *name, long long size,
                        const char *etag)
{
    if (strncmp(name, LAYOUT_SAMPLE_PREFIX, strlen(LAYOUT_SAMPLE_PREFIX)) != 0)
        return 0;
    const struct index_file *f = index_file_find(ix, name);
    return f && (f->size != size || (f->etag[0] && strcmp(f->etag, etag) != 0));
}

static int cmp_src_key(const void *a, const void *b)
{
    return strcmp((*(const struct scan_source *const *)a)->key,
                  (*(const struct scan_source *const *)b)->key);
}

/* 1 when the day's cold-tier prefix now lists a key that s's scan did not,
 * or with another ETag (overwritten since), or the listing fails (then
 * nothing can be ruled out). */
static int cold_grew(struct s3_client *s3, const struct config *cfg, const struct day_scan *s,
                     const char *dayname)
{
    struct s3_object_list l = {0};
    struct err e = {0};
    if (s3_list(s3, cfg->s3.cold_tier.bucket_name, s->day_prefix, &l, &e) != 0) {
        log_msg(LOG_INFO, dayname, "sample_later", "listing %s again: %s", s->day_prefix, e.msg);
        s3_object_list_free(&l);
        return 1;
    }
    size_t n = s->n_src + s->n_filtered;
    const struct scan_source **srcs = calloc(n ? n : 1, sizeof *srcs);
    int grew = srcs == NULL;
    for (size_t i = 0; srcs && i < s->n_src; i++)
        srcs[i] = &s->src[i];
    for (size_t i = 0; srcs && i < s->n_filtered; i++)
        srcs[s->n_src + i] = &s->filtered[i];
    if (srcs)
        qsort(srcs, n, sizeof *srcs, cmp_src_key);
    for (size_t i = 0; srcs && !grew && i < l.n; i++) {
        const char *k = l.items[i].key;
        size_t kl = strlen(k);
        if (kl < 5 || strcasecmp(k + kl - 5, ".avro") != 0)
            continue;   /* not data (scan_key_kind) */
        struct scan_source probe = {.key = (char *)k};
        const struct scan_source *pp = &probe;
        const struct scan_source **hit = bsearch(&pp, srcs, n, sizeof *srcs, cmp_src_key);
        grew = !hit || strcmp((*hit)->etag, l.items[i].etag) != 0;
    }
    free(srcs);
    s3_object_list_free(&l);
    return grew;
}

/* sampleadopt_day's state, shared by its steps */
struct adoption {
    struct s3_client *s3;
    const struct config *cfg;
    struct day_scan *s;
    struct index *ix;
    const char *dayname;
    const struct sampleadopt_opts *o;
    struct sampleadopt_result *res;
    const char *out_bucket;
    char prefix[1100];              /* the day's merged files */
    struct sample_file *files;      /* the sample's files no #file line accounts for */
    size_t n_files;
    /* the candidates: sources no #src line names [0, n_plain), those
     * committed in another file [n_plain, n_cand) */
    struct scan_source **cand;
    size_t n_cand, n_plain;
    int *where;                     /* per candidate: offer's *where, or n_files + fi
                                       when files[fi] holds its earlier content */
    int fresh_ok;                   /* no source arrived in the cold tier since the scan */
};

/* 1 when candidate i went to files[fi], as it is or as its earlier content */
static int took(const struct adoption *a, size_t i, size_t fi)
{
    return a->where[i] == (int)fi || a->where[i] == (int)(a->n_files + fi);
}

/* an adopted file rewritten since (the sample run again in the same
 * second): the index counts records it no longer holds */
static int check_rewritten(struct adoption *a, const struct s3_object_list *l, struct err *e)
{
    struct index *ix = a->ix;
    int rc = 0, forgot = 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        const char *name = l->items[i].key + strlen(a->prefix);
        if (!sampleadopt_changed(ix, name, l->items[i].size, l->items[i].etag))
            continue;
        if (a->o->readopt_changed) {
            log_msg(LOG_WARN, a->dayname, "sample_changed", "%s changed since the index "
                    "adopted it: adopted again from its records", l->items[i].key);
            index_forget_file(ix, name);
            forgot = 1;
        } else {
            rc = err_setk(e, ERR_DATA, "%s, the original sample's file, is not the version the "
                          "index adopted (%lld bytes, ETag %s; the index: %lld bytes): the "
                          "sample rewrote it, and the records the index counts there are gone. "
                          "Nothing was written; run `repart verify --repair` for this day",
                          l->items[i].key, l->items[i].size, l->items[i].etag,
                          index_file_find(ix, name)->size);
        }
    }
    if (forgot)
        scan_classify(a->s);
    return rc;
}

/* Reads every sample file of the listing that the index does not account for. */
static int open_files(struct adoption *a, const struct s3_object_list *l, struct err *e)
{
    struct sample_file *files = a->files = calloc(l->n ? l->n : 1, sizeof *files);
    if (!files)
        return err_set(e, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        const char *name = l->items[i].key + strlen(a->prefix);
        if (!sampleadopt_unaccounted(a->ix, name, l->items[i].etag) ||
            strlen(name) >= sizeof files[0].name)
            continue;
        struct sample_file *f = &files[a->n_files++];
        snprintf(f->name, sizeof f->name, "%s", name);
        snprintf(f->etag, sizeof f->etag, "%s", l->items[i].etag);
        rc = sample_open(a->s3, a->out_bucket, l->items[i].key, l->items[i].size, f, e);
    }
    return rc;
}

/* the candidates: listed sources no #src line names, larger first; then
 * (dup) those committed, as listed now, in another file (merged.avro):
 * a sample file holding them is a second copy (the sample merged a
 * series between repart's download and upload, or while a run went on) */
static int gather_candidates(struct adoption *a, struct err *e)
{
    struct day_scan *s = a->s;
    const struct index *ix = a->ix;
    struct scan_source **cand = a->cand = calloc(s->n_src + 2 * s->n_filtered + 1, sizeof *cand);
    size_t n_cand = 0;
    if (!cand)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < s->n_src; i++)
        if (!index_source_find(ix, s->src[i].relkey))
            cand[n_cand++] = &s->src[i];
    /* and those this run's timeseries_type leaves out: the sample may
     * have merged them (its own filter, or repart's was another);
     * adopted, they are covered for a run that selects them */
    for (size_t i = 0; i < s->n_filtered; i++)
        if (!index_source_find(ix, s->filtered[i].relkey))
            cand[n_cand++] = &s->filtered[i];
    a->n_plain = n_cand;
    for (size_t i = 0; i < s->n_src; i++) {
        const struct index_source *x = index_source_find(ix, s->src[i].relkey);
        if (x && !s->src[i].changed && !s->src[i].is_new)
            cand[n_cand++] = &s->src[i];
    }
    for (size_t i = 0; i < s->n_filtered; i++) {
        const struct scan_source *f = &s->filtered[i];
        if (index_source_state(ix, f->relkey, f->size, f->etag) == INDEX_SRC_SAME)
            cand[n_cand++] = &s->filtered[i];
    }
    a->n_cand = n_cand;
    qsort(cand, a->n_plain, sizeof *cand, cmp_size_desc);
    qsort(cand + a->n_plain, n_cand - a->n_plain, sizeof *cand, cmp_size_desc);
    return 0;
}

/* Offered in two rounds: a source whose shared records went to a
 * source not yet offered comes back partial the first time. */
static int offer_rounds(struct adoption *a, struct err *e)
{
    int *where = a->where = calloc(a->n_cand ? a->n_cand : 1, sizeof *where);
    if (!where)
        return err_set(e, "out of memory");
    /* The sources without a #src line first; those committed elsewhere
     * only while some file has records left (a file of new series alone,
     * the common case, costs no more GETs of the cold tier). */
    int rc = 0;
    for (int round = 0; rc == 0 && round < 4; round++) {
        size_t from = round < 2 ? 0 : a->n_plain, to = round < 2 ? a->n_plain : a->n_cand;
        for (size_t i = from; rc == 0 && i < to; i++) {
            if (round % 2 == 1 && where[i] != -2)
                continue;
            uint64_t any_left = 0;
            for (size_t k = 0; round >= 2 && k < a->n_files; k++)
                any_left |= adopt_left(a->files[k].set);
            if (round >= 2 && !any_left) {
                where[i] = -3;
                continue;
            }
            struct err oe = {0};
            rc = offer(a->s3, a->cfg->s3.cold_tier.bucket_name, a->cand[i], i >= a->n_plain,
                       a->files, a->n_files, &where[i], &oe);
            if (rc != 0)
                *e = oe;
            else if (round % 2 == 1 && where[i] == -2)
                rc = err_setk(e, ERR_DATA, "%s; exactly-once cannot be established for this "
                              "day automatically", oe.msg);
        }
    }
    return rc;
}

/* The records no candidate took: offered as the day file commits its stale
 * sources, then attributed to overwritten sources (files[].left,
 * files[].attributed). */
static int account_left(struct adoption *a, struct err *e)
{
    struct sample_file *files = a->files;
    uint64_t any_left = 0;
    int rc = 0;
    for (size_t i = 0; i < a->n_files; i++)
        any_left |= adopt_left(files[i].set);
    if (any_left)
        rc = offer_stale(a->o, a->s, files, a->n_files, a->dayname, e);
    /* records left in a sample file whose series has a source found in no
     * sample file: that source was overwritten since the sample merged it */
    struct committed_win *win = NULL;
    size_t n_win = 0;
    if (rc == 0 && a->n_files && committed_windows(a->ix, &win, &n_win) != 0)
        rc = err_set(e, "out of memory");
    for (size_t i = 0; rc == 0 && i < a->n_files; i++)
        if ((files[i].left = adopt_left(files[i].set)) != 0)
            rc = attribute_left(a->s3, a->out_bucket, a->prefix, &files[i], a->cand, a->n_plain,
                                a->where, a->n_files, i, win, n_win, e);
    free(win);
    return rc;
}

/* Records of a file that no listed source accounts for are taken for
 * those of sources deleted from the cold tier. That is sound only if
 * the sample did not write the file from a source that arrived after
 * this run's listing (adopted as `unowned`, the new source would be
 * merged again: twice). The sample lists before it writes, so a cold
 * listing taken now, after the listing that found the file, holds every
 * source of it that still exists; when it shows a key the scan did not
 * (or another ETag), nothing is decided from such a file now: one that
 * holds no listed source is left for the next run, and one that does
 * stops the day (its listed sources cannot be adopted without the
 * rest), nothing written, for a rerun to settle. */
static int check_fresh(struct adoption *a, struct err *e)
{
    int rc = 0, unowned_left = 0;
    for (size_t i = 0; i < a->n_files; i++)
        unowned_left |= a->files[i].left > a->files[i].attributed;
    if (unowned_left)
        a->fresh_ok = !cold_grew(a->s3, a->cfg, a->s, a->dayname);
    for (size_t fi = 0; rc == 0 && !a->fresh_ok && fi < a->n_files; fi++) {
        struct sample_file *f = &a->files[fi];
        if (f->left <= f->attributed)
            continue;
        int holds = f->dup > 0;
        for (size_t i = 0; !holds && i < a->n_plain; i++)
            holds = took(a, i, fi);
        if (holds)
            rc = err_setk(e, ERR_TRANSIENT, "%s%s holds %llu record(s) of no source this run "
                          "listed, and sources arrived in the cold tier since: the sample may "
                          "have merged them after this run listed the day. Nothing was "
                          "written; a rerun settles it", a->prefix, f->name,
                          (unsigned long long)(f->left - f->attributed));
    }
    return rc;
}

/* A file holding sources committed elsewhere is folded: nothing of it
 * is recorded but a #folded line (deleted after the commit), its other
 * sources stay new and go into the day file with this run. Only when
 * every record of it is accounted for, and the caller merges those
 * other sources now; else it is left as it is for a later run, or, with
 * records no listed source accounts for, the day stops. */
static int fold_file(struct adoption *a, size_t fi, struct err *e)
{
    struct sample_file *f = &a->files[fi];
    int rc = 0;
    if (!f->dup)
        return 0;
    uint64_t left = f->left - f->attributed;
    if (left)
        rc = err_setk(e, ERR_DATA, "%s%s holds the records of %zu source object(s) "
                      LAYOUT_DAYFILE " holds already, and %llu record(s) that no object in "
                      "the cold tier accounts for (sources deleted since): it can be "
                      "neither folded nor kept without a second copy of those sources. "
                      "Nothing was written; run `repart verify --repair` for this day",
                      a->prefix, f->name, f->dup, (unsigned long long)left);
    for (size_t i = 0; rc == 0 && i < a->n_plain; i++)
        if (took(a, i, fi) && is_filtered(a->s, a->cand[i]))
            rc = err_setk(e, ERR_DATA, "%s%s holds the records of %zu source object(s) "
                          LAYOUT_DAYFILE " holds already, and of %s, whose series this run's "
                          "timeseries_type leaves out: it can be folded only by a run that "
                          "merges that series. Nothing was written; run this day once with "
                          "timeseries_type ALL", a->prefix, f->name, f->dup, a->cand[i]->key);
    int ok = a->o->may_fold;
    for (size_t i = 0; rc == 0 && ok && i < a->n_plain; i++)
        if (took(a, i, fi) && !merged_by_caller(a->o->merging, a->cand[i]->relkey))
            ok = 0;
    f->fold = ok ? 1 : -1;
    if (rc == 0 && ok && index_add_folded(a->ix, f->name, f->etag) != 0)
        rc = err_set(e, "out of memory");
    if (rc == 0 && ok) {
        a->res->folded++;
        log_msg(LOG_WARN, a->dayname, "sample_folded", "the original sample's %s holds %zu "
                "source object(s) that " LAYOUT_DAYFILE " holds already (the sample ran "
                "while repart was merging them): folded into " LAYOUT_DAYFILE
                " (its other records go in with this run) and deleted after the commit",
                f->name, f->dup);
    } else if (rc == 0) {
        log_msg(LOG_WARN, a->dayname, "sample_fold_later", "the original sample's %s holds "
                "%zu source object(s) that " LAYOUT_DAYFILE " holds already; folded by the "
                "next run of the day that merges all of it", f->name, f->dup);
    }
    return rc;
}

/* A #src line for each candidate a file took that is not folded. */
static int adopt_sources(struct adoption *a, struct err *e)
{
    struct sample_file *files = a->files;
    size_t n_files = a->n_files;
    const int *where = a->where;
    struct scan_source *const *cand = a->cand;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->n_plain; i++) {
        if (where[i] >= 0 && files[(size_t)where[i] % n_files].fold)
            continue;   /* folded (stays new: merged now) or left for later */
        if (where[i] >= 0 && (size_t)where[i] >= n_files) {
            /* an earlier content of it is in that file */
            struct sample_file *f = &files[where[i] - (int)n_files];
            f->taken++;
            if (index_add(a->ix, cand[i]->relkey, cand[i]->ck.series_id, 0, INDEX_ETAG_EARLIER,
                          f->name) != 0)
                rc = err_set(e, "out of memory");
            log_msg(LOG_WARN, a->dayname, "sample_source_overwritten", "%s was overwritten "
                    "since the original sample merged it into %s: the file is taken into "
                    LAYOUT_DAYFILE " with the source's current records", cand[i]->key, f->name);
            continue;
        }
        if (where[i] < 0)
            continue;
        struct sample_file *f = &files[where[i]];
        f->taken++;
        if (index_add(a->ix, cand[i]->relkey, cand[i]->ck.series_id, cand[i]->size,
                      cand[i]->etag, f->name) != 0)
            rc = err_set(e, "out of memory");
        a->res->adopted++;
    }
    return rc;
}

/* The #file line of a sample file not folded (or none, when it is left for
 * the next run). */
static int record_file(struct adoption *a, struct sample_file *f, struct err *e)
{
    const char *dayname = a->dayname;
    if (f->fold)
        return 0;
    if (!f->taken && !a->fresh_ok && f->left > f->attributed) {
        log_msg(LOG_INFO, dayname, "sample_later", "%s holds none of the sources this run "
                "listed, and sources arrived since: left for the next run", f->name);
        return 0;
    }
    if (!f->taken) {
        /* every record of it belongs to no listed source (sources
         * deleted from the cold tier): adopted all the same, all of
         * them unowned. Left unaccounted, it would be looked at by
         * every run, and a later file of one of its series would take
         * its records for that file's earlier content (and stop the
         * day for good). */
        log_msg(LOG_WARN, dayname, "sample_unowned", "%s holds none of the day's sources "
                "(%llu record(s) of sources no longer in the cold tier): adopted as it is, "
                "its records stay there", f->name, f->records);
        a->res->unowned_files++;
    }
    if (index_file_set(a->ix, f->name, f->size, f->md5, f->records, f->header_len, f->etag) != 0)
        return err_set(e, "out of memory");
    uint64_t left = f->left - f->attributed + f->held;
    /* 0: the file holds exactly its sources' records and may be folded
     * into the day file when one of them is overwritten (pipeline.c) */
    struct index_file *xf = (struct index_file *)index_file_find(a->ix, f->name);
    xf->unowned = (long long)left;
    xf->sources = (long long)f->taken;
    if (f->taken)
        log_msg(LOG_INFO, dayname, "sample_adopted",
            "the original sample's %s holds %zu source object(s) of the cold tier; "
            "recorded in the index%s", f->name, f->taken,
            left ? "" : " (every record accounted for)");
    if (left && f->taken)
        log_msg(LOG_WARN, dayname, "sample_records_left",
                "%s: %llu record(s) belong to no source listed now without a #src line "
                "(sources deleted from the cold tier, or merged by repart as well)",
                f->name, (unsigned long long)left);
    return 0;
}

/* After the sample files are read, every step in order, each only when the
 * ones before succeeded. */
static int adopt_files(struct adoption *a, struct err *e)
{
    int rc = 0;
    if (a->n_files)
        rc = gather_candidates(a, e);
    if (rc == 0)
        rc = offer_rounds(a, e);
    if (rc == 0)
        rc = account_left(a, e);
    if (rc == 0)
        rc = check_fresh(a, e);
    for (size_t fi = 0; rc == 0 && fi < a->n_files; fi++)
        rc = fold_file(a, fi, e);
    if (rc == 0)
        rc = adopt_sources(a, e);
    for (size_t i = 0; rc == 0 && i < a->n_files; i++)
        rc = record_file(a, &a->files[i], e);
    return rc;
}

int sampleadopt_day(struct s3_client *s3, const struct config *cfg, struct day_scan *s,
                    const char *dayname, const struct sampleadopt_opts *o,
                    struct sampleadopt_result *res, struct err *e)
{
    memset(res, 0, sizeof *res);
    struct adoption a = {.s3 = s3, .cfg = cfg, .s = s, .ix = &s->index, .dayname = dayname,
                         .o = o, .res = res, .out_bucket = cfg->s3.repartitioned.bucket_name,
                         .fresh_ok = 1};
    /* Any sample file no #file line names yet (and no #folded line with its
     * ETag) is looked at: the sample's series lines alone do not tell (a
     * later file of the same series may back them already, or the sample
     * merged a series repart committed meanwhile). */
    struct err ce = {0};
    if (index_check_adopted(a.ix, &ce) != 0)
        return err_setk(e, ERR_DATA, "index %s: %s; nothing is decided from it: run `repart "
                        "verify --repair` for this day", s->index_key, ce.msg);
    if (layout_data_key(cfg, &s->day, "", a.prefix, sizeof a.prefix) != 0)
        return err_set(e, "data prefix too long");
    struct s3_object_list l = {0};
    if (s3_list(s3, a.out_bucket, a.prefix, &l, e) != 0)
        return err_prefix(e, "listing the day's merged files: ");
    int rc = check_rewritten(&a, &l, e);
    if (rc == 0)
        rc = open_files(&a, &l, e);
    s3_object_list_free(&l);
    if (rc == 0)
        rc = adopt_files(&a, e);
    if (rc == 0) {
        index_sort(a.ix);
        scan_classify(s);
    } else {
        err_prefix(e, "adopting the original sample's merged file: ");
    }
    free(a.where);
    free(a.cand);
    for (size_t i = 0; i < a.n_files; i++)
        adopt_free(a.files[i].set);
    free(a.files);
    return rc;
}
