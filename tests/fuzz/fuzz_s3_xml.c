/* libFuzzer target for the S3 XML parsers (ListObjectsV2 pages, Error
 * documents, multipart results): any input must parse or fail cleanly,
 * never crash, leak or read out of bounds. A parsed page must hold sane
 * objects. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    struct err e;

    struct s3_object_list l = {0};
    struct s3_list_page pg;
    if (s3_xml_parse_list(xml, size, &l, &pg, &e) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            size_t kl = strlen(l.items[i].key);
            if (kl == 0 || kl > S3_KEY_MAX || l.items[i].size < 0 ||
                strlen(l.items[i].etag) > 79)
                abort();
        }
        if (pg.is_truncated && !pg.next_token)
            abort();
    } else if (l.n != 0) {
        abort(); /* a failed page must not leave objects behind */
    }
    s3_list_page_free(&pg);
    s3_object_list_free(&l);

    struct s3_xml_error xe;
    if (s3_xml_parse_error(xml, size, &xe) == 1 && xe.code[0] == '\0')
        abort();

    char *id = NULL;
    if (s3_xml_parse_initiate(xml, size, &id, &e) == 0 && (!id || !id[0]))
        abort();
    free(id);

    char etag[80];
    (void)s3_xml_parse_complete(xml, size, etag, &xe, &e);
    return 0;
}
