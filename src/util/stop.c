#include "stop.h"

#include <string.h>

static volatile sig_atomic_t g_stop_sig;

static void on_signal(int sig)
{
    if (!g_stop_sig)
        g_stop_sig = sig;
}

void stop_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* one-shot: the second signal takes the default action (ends the
     * process at once); SA_RESTART keeps blocking calls going */
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

const volatile sig_atomic_t *stop_flag(void)
{
    return &g_stop_sig;
}

int stop_signal(void)
{
    return (int)g_stop_sig;
}

const char *stop_signal_name(int sig)
{
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    default: return "a signal";
    }
}

int stop_exit_code(void)
{
    return g_stop_sig ? 128 + (int)g_stop_sig : 0;
}

void stop_raise_for_test(int sig)
{
    g_stop_sig = sig;
}
