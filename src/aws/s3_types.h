/* s3_types: the plain data the S3 client and its XML parser share (listed
 * objects, multipart parts and uploads), below both: s3_xml fills them,
 * s3 hands them to callers. */
#ifndef REPART_S3_TYPES_H
#define REPART_S3_TYPES_H

#include <stddef.h>

/* A listed object (ListObjectsV2). */
struct s3_object {
    char *key;              /* decoded key (owned by the list) */
    long long size;
    char etag[80];          /* without quotes */
    long long last_modified;/* unix seconds */
};

struct s3_object_list {
    struct s3_object *items;
    size_t n, cap;
};

/* Frees the keys and the array; the list is empty again. */
void s3_object_list_free(struct s3_object_list *l);

/* A part of a multipart upload. Part numbers start at 1; every part but the
 * last must be >= 5 MiB on AWS. */
struct s3_part {
    int number;
    char etag[80];
};

/* Multipart uploads in progress (ListMultipartUploads). */
struct s3_upload {
    char *key;               /* owned by the list */
    char *upload_id;         /* owned by the list */
    long long initiated;     /* unix seconds, -1 when not given */
};
struct s3_upload_list {
    struct s3_upload *items;
    size_t n, cap;
};
void s3_upload_list_free(struct s3_upload_list *l);

#endif
