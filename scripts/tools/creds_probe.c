/* creds_probe: resolves the AWS credential chain as repart does and prints
 * where the credentials came from. Never prints the secret key or the
 * session token: only the access key id, lengths, and the first 8 hex digits
 * of SHA-256(secret) so that tests can check the secret was read intact.
 *
 *   creds_probe [-n COUNT] [-p PROFILE]
 *       -n: calls get COUNT times on one provider (caching and refresh
 *       tests); prints one line per call. -p: as repart's --profile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awscfg.h"
#include "creds.h"
#include "sigv4.h"

int main(int argc, char **argv)
{
    int n = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            struct err pe = {0};
            if (awscfg_init(argv[++i], &pe) != 0) {
                fprintf(stderr, "creds_probe: %s\n", pe.msg);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: creds_probe [-n COUNT] [-p PROFILE]\n");
            return 2;
        }
    }
    if (n < 1 || n > 1000) {
        fprintf(stderr, "creds_probe: COUNT must be 1..1000\n");
        return 2;
    }
    struct creds_provider *p = creds_provider_new();
    if (!p) {
        fprintf(stderr, "creds_probe: out of memory\n");
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        struct creds c;
        struct err e = {0};
        if (creds_provider_get(p, &c, &e) != 0) {
            fprintf(stderr, "creds_probe: %s\n", e.msg);
            rc = 1;
            break;
        }
        char h[65];
        sigv4_sha256_hex(c.secret_key, strlen(c.secret_key), h);
        h[8] = '\0';
        long long left = c.expires_at ? c.expires_at - (long long)time(NULL) : 0;
        printf("source=%s access_key_id=%s secret_len=%zu secret_sha256_8=%s "
               "session_token_len=%zu expires=%s\n",
               c.source, c.access_key, strlen(c.secret_key), h, strlen(c.session_token),
               c.expires_at ? (left > 0 ? "future" : "past") : "never");
        memset(&c, 0, sizeof c);
    }
    creds_provider_free(p);
    return rc;
}
