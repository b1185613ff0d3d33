/* md5: MD5 digests as lower hex, and the MD5 chain the index records for a
 * day file's committed bytes.
 *
 * A day file grows by appends; the server copies its committed bytes into
 * the new version (UploadPartCopy) and only the blocks added pass through
 * repart. The MD5 of the whole new version would need the committed bytes
 * again, so the index records one MD5 per range instead:
 *
 *     <md5>[@<end>+<md5>[@<end>+...]][/<header md5>]
 *
 * Segment i covers bytes [end of i-1 (0 for the first), end of i); the last
 * has no end and covers up to the file's size. A plain 32-hex MD5 (what
 * earlier versions wrote) is a chain of one segment. The optional header
 * MD5 covers the file's first header-length bytes: an append reads the
 * header apart (a ranged GET that no checksum covers) and checks it against
 * this. Every reader that checks committed bytes goes through
 * md5chain_check, segment by segment. */
#ifndef REPART_MD5_H
#define REPART_MD5_H

#include <stddef.h>

#include <openssl/evp.h>

#include "err.h"

#define MD5_HEX_LEN 33              /* 32 hex digits and the NUL */
#define MD5CHAIN_SEGS_MAX 32        /* an append past this collapses the chain (read-back) */
#define MD5CHAIN_TEXT_MAX (MD5CHAIN_SEGS_MAX * 54 + 40)

/* MD5 of data as lower hex. */
void md5_hex(const void *data, size_t len, char out[MD5_HEX_LEN]);

/* Finalises md (left finalised) into lower hex; "" if it failed. */
void md5_final_hex(EVP_MD_CTX *md, char out[MD5_HEX_LEN]);

/* New MD5 context, NULL when out of memory. Free with EVP_MD_CTX_free. */
EVP_MD_CTX *md5_new(void);

struct md5chain_seg {
    long long end;                  /* exclusive; the last segment's is the size */
    char md5[MD5_HEX_LEN];
};

struct md5chain {
    int n;
    struct md5chain_seg seg[MD5CHAIN_SEGS_MAX];
    char header[MD5_HEX_LEN];       /* MD5 of the header bytes; "" not recorded */
};

/* Parses text for a file of size bytes. Ends must rise strictly, stay below
 * size, and no segment is empty unless the file is. ERR_DATA on a bad one. */
int md5chain_parse(const char *text, long long size, struct md5chain *out, struct err *e);

/* Writes the chain as text (the last segment's end is implied). -1 if it
 * does not fit. */
int md5chain_format(const struct md5chain *c, char *buf, size_t size);

/* Start of segment i. */
long long md5chain_seg_start(const struct md5chain *c, int i);

/* Checks bytes fed in order, from the start of segment `from`, against the
 * chain's segments up to the end of the last. */
struct md5chain_check {
    const struct md5chain *c;
    EVP_MD_CTX *md;
    int seg;                        /* segment being hashed */
    long long at;                   /* file offset of the next byte */
    int bad;                        /* a segment did not match: */
    long long bad_start, bad_end;
    char got[MD5_HEX_LEN], want[MD5_HEX_LEN];
};

/* -1 when out of memory. */
int md5chain_check_init(struct md5chain_check *k, const struct md5chain *c, int from);

/* Bytes past the chain's end are ignored (the caller checks the size). */
void md5chain_check_feed(struct md5chain_check *k, const void *data, size_t len);

/* 0 when every segment from `from` matched and exactly their bytes were
 * fed; else ERR_DATA naming `what`, the byte range, both MD5s. Frees k. */
int md5chain_check_end(struct md5chain_check *k, const char *what, struct err *e);

/* Frees k without a verdict. */
void md5chain_check_free(struct md5chain_check *k);

/* 1 when data (len bytes) is exactly the bytes the chain text names for a
 * file of size bytes. */
int md5chain_matches(const char *text, long long size, const void *data, size_t len);

/* A short stable name of the version the chain text names: the text when it
 * is one plain MD5, else the MD5 of the text. For keys. */
void md5chain_id(const char *text, char out[MD5_HEX_LEN]);

#endif
