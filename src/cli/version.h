/* version: what `repart --version` prints: the version and the libraries
 * this binary runs with (their runtime versions where they report one, else
 * the version built against). */
#ifndef REPART_VERSION_H
#define REPART_VERSION_H

#include <stdio.h>

void version_print(FILE *f);

#endif
