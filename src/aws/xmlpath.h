/* xmlpath: a small path-tracking driver over expat, for the XML answers of
 * AWS (S3 listings and results, STS credentials). It keeps the names of the
 * open elements (local names, namespaces dropped) and the text of the
 * current one, refuses DTDs and deep nesting, and calls back at each start
 * and end; a callback asks where it is with xp_at. */
#ifndef REPART_XMLPATH_H
#define REPART_XMLPATH_H

#include <stddef.h>

#include <expat.h>

#define XP_MAX_DEPTH 16
#define XP_NAME_MAX 48
/* Text of one leaf element (S3: keys up to 3 x 1024 bytes url-encoded and
 * tokens of 4096; STS: a session token): anything longer reaches the end
 * callback as NULL, an error only where the element matters. */
#define XP_TEXT_MAX (4096 + 64)

struct xp;
typedef void (*xp_start_fn)(struct xp *x, void *ud);
typedef void (*xp_end_fn)(struct xp *x, const char *text, size_t len, void *ud);

struct xp {
    XML_Parser p;
    int depth;                         /* elements open */
    char names[XP_MAX_DEPTH][XP_NAME_MAX];
    char text[XP_TEXT_MAX + 1];
    size_t tlen;
    int text_overflow;
    int failed;                        /* a callback or the driver refused the document */
    char errmsg[160];
    xp_start_fn on_start;
    xp_end_fn on_end;
    void *ud;
};

/* Stops the parse with msg (the first one is kept). */
void xp_fail(struct xp *x, const char *msg);

/* 1 when the open element path is exactly the n names given. */
int xp_at(const struct xp *x, int n, ...);

/* At the document element (depth 1): sets *ok when it is `root`, fails the
 * parse unless it is root or S3's <Error> (which the caller reads). */
void xp_root(struct xp *x, const char *root, int *ok);

/* Parses a document of at most max bytes, calling on_start / on_end (may be
 * NULL) with ud. -1 with a message naming the line in why; *refused (may be
 * NULL) tells a refusal (xp_fail, a DTD, deep nesting) from malformed XML.
 * The driver is wiped after use: its text buffer may have held a secret. */
int xp_parse(xp_start_fn on_start, xp_end_fn on_end, void *ud, const char *xml, size_t len,
             size_t max, char *why, size_t why_sz, int *refused);

#endif
