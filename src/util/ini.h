/* ini: the AWS shared config and credentials files (~/.aws/config,
 * ~/.aws/credentials) as the CLI reads them: sections, key = value, comments
 * (';' '#'), whitespace trimmed, later definitions win. One line reader
 * serves every lookup; none reads past len. */
#ifndef REPART_INI_H
#define REPART_INI_H

#include <stddef.h>

/* In [section], the value of key. Indented lines after a key continue it
 * (a nested block) and are not keys of the section; a value's inline comment
 * (';' or '#' after whitespace) is dropped. Copies the value into out
 * (NUL-terminated). 1 found, 0 not, -1 the value does not fit in n. */
int ini_find(const char *text, size_t len, const char *section, const char *key, char *out,
             size_t n);

/* 1 when [section] is a header in the text, else 0. */
int ini_has_section(const char *text, size_t len, const char *section);

/* In [section], the value of subkey in the nested block under `key =`
 * (the indented lines that follow it, e.g. a services section's
 * "s3 =\n  endpoint_url = ..."). Same results as ini_find. */
int ini_subvalue(const char *text, size_t len, const char *section, const char *key,
                 const char *subkey, char *out, size_t n);

#endif
