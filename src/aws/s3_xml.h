/* s3_xml: the S3 XML bodies the client reads and writes (expat).
 *
 * Reads ListObjectsV2 pages, InitiateMultipartUpload and
 * CompleteMultipartUpload results and <Error> documents; builds the
 * CompleteMultipartUpload request. Input is untrusted: documents with a DTD
 * are refused, sizes, depths, text lengths and keys are bounded, and
 * malformed input is an error, never a crash. */
#ifndef REPART_S3_XML_H
#define REPART_S3_XML_H

#include <stddef.h>
#include "err.h"
#include "s3_types.h"

/* Largest XML response body accepted (a ListObjectsV2 page of 1000
 * url-encoded 1024-byte keys is about 3.5 MB). */
#define S3_XML_MAX_BYTES (16u * 1024 * 1024)
/* S3 keys are at most 1024 bytes of UTF-8. */
#define S3_KEY_MAX 1024
/* Longest continuation token / upload id accepted. */
#define S3_TOKEN_MAX 4096

/* One ListObjectsV2 page, besides the objects. */
struct s3_list_page {
    int is_truncated;
    char *next_token;        /* NextContinuationToken (malloc'd) or NULL */
    int encoding_url;        /* the response said <EncodingType>url</EncodingType> */
    long long key_count;     /* <Contents> elements in this page */
    char **prefixes;         /* CommonPrefixes/Prefix, decoded (malloc'd each) */
    size_t n_prefixes;
};
void s3_list_page_free(struct s3_list_page *p);

/* Parses a ListObjectsV2 result: appends its objects to *out (keys decoded
 * when the page says EncodingType url) and fills *page (freed with
 * s3_list_page_free, also on error). On error *out is left as it was. An
 * <Error> document is an error carrying its Code. Kind ERR_DATA. */
int s3_xml_parse_list(const char *xml, size_t len, struct s3_object_list *out,
                      struct s3_list_page *page, struct err *e);

/* The fields of an S3 <Error> document worth reporting (never the
 * StringToSign/CanonicalRequest a SignatureDoesNotMatch carries). Control
 * characters are replaced; long messages are truncated. */
struct s3_xml_error {
    char code[64];
    char message[256];
    char request_id[96];
};

/* Returns 1 and fills *out if the body is an <Error> document, 0 otherwise
 * (including when it is not XML at all). */
int s3_xml_parse_error(const char *xml, size_t len, struct s3_xml_error *out);

/* InitiateMultipartUploadResult: *upload_id (malloc'd, caller frees). */
int s3_xml_parse_initiate(const char *xml, size_t len, char **upload_id, struct err *e);

/* CompleteMultipartUploadResult: its ETag (without quotes). S3 may answer
 * 200 with an <Error> document: then returns 1 and fills *err_out. Returns 0
 * on success, -1 when the body is neither. */
int s3_xml_parse_complete(const char *xml, size_t len, char etag[80],
                          struct s3_xml_error *err_out, struct err *e);

/* The same for any result document <root><ETag>..</ETag></root>
 * (CopyPartResult of UploadPartCopy). */
int s3_xml_parse_etag_result(const char *xml, size_t len, const char *root, char etag[80],
                             struct s3_xml_error *err_out, struct err *e);

/* The CompleteMultipartUpload request body for `parts` (malloc'd, caller
 * frees; *len_out gets its length). NULL on OOM or an invalid part. */
char *s3_xml_build_complete(const struct s3_part *parts, size_t n, size_t *len_out);

/* Copies an ETag without surrounding quotes into out (80 bytes). Returns -1
 * when it is longer than 79 bytes. */
int s3_etag_copy(char out[80], const char *etag, size_t len);

/* One ListMultipartUploadsResult page: appends its Upload elements (Key,
 * UploadId, Initiated) to *out; *truncated, and the markers of the next page
 * (malloc'd, NULL when absent; the caller frees). An <Error> document is an
 * error carrying its Code. Kind ERR_DATA. On error *out is left as it was. */
int s3_xml_parse_uploads(const char *xml, size_t len, struct s3_upload_list *out,
                         int *truncated, char **next_key, char **next_upload_id,
                         struct err *e);

#endif
