#include "version.h"

#include <curl/curl.h>
#include <expat.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <yaml.h>
#include <zlib.h>

void version_print(FILE *f)
{
    fprintf(f, "repart %s\n", REPART_VERSION);
    fprintf(f, "built with: %s\n", REPART_BUILD_LIBS);
    fprintf(f, "running with: %s; %s; jansson %s; libyaml %s; %s; zlib %s\n", curl_version(),
            OpenSSL_version(OPENSSL_VERSION), JANSSON_VERSION, yaml_get_version_string(),
            XML_ExpatVersion(), zlibVersion());
#ifdef REPART_TEST_HOOKS
    fprintf(f, "test hooks: on (REPART_TEST_CRASH_AT, REPART_TEST_PAUSE_AT, REPART_TEST_READY_AT; "
            "a test build, not for production)\n");
#endif
}
