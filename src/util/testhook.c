#include "testhook.h"

#ifdef REPART_TEST_HOOKS

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stop.h"

/* The value of `var` when it is "<point>:<rest>": <rest>, else NULL. */
static const char *arg_for(const char *var, const char *point)
{
    const char *v = getenv(var);
    size_t n = strlen(point);
    if (v && strncmp(v, point, n) == 0 && v[n] == ':')
        return v + n + 1;
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void testhook_point(const char *point)
{
    const char *at = getenv("REPART_TEST_CRASH_AT");
    if (at && strcmp(at, point) == 0)
        raise(SIGKILL);
    const char *pause = arg_for("REPART_TEST_PAUSE_AT", point);
    if (pause) {
        /* "<ms>[:<file>]": the file is created when the pause starts */
        const char *file = strchr(pause, ':');
        if (file && file[1]) {
            int fd = open(file + 1, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fd >= 0)
                close(fd);
        }
        sleep_ms(atol(pause));
    }
    const char *ready = arg_for("REPART_TEST_READY_AT", point);
    if (ready && *ready) {
        int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
        for (int i = 0; i < 12000 && !stop_signal(); i++)
            sleep_ms(10);
    }
}

#else
/* ISO C wants a translation unit to declare something */
typedef int testhook_off;
#endif
