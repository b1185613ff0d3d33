/* stop: a graceful stop on SIGTERM / SIGINT for the commands that run days
 * (download, merge, upload, all, event).
 *
 * The first signal only raises a flag: the pipeline starts no new day, the
 * days in flight stop before their commit (object GETs and part uploads in
 * flight are cut short, an open multipart upload is aborted, the lease is
 * released if still ours), then the summary, the rerun command and the
 * --report are written and the process exits 128 + signal (130 for SIGINT,
 * 143 for SIGTERM). The handlers are one-shot (SA_RESETHAND): a second
 * signal ends the process at once, as an uncaught signal does. Nothing a
 * stop leaves behind is committed: a rerun finishes the job exactly.
 *
 * `watch` keeps its own handlers (finish the batch in progress, exit 0). */
#ifndef REPART_STOP_H
#define REPART_STOP_H

#include <signal.h>

/* Installs the one-shot handlers for SIGTERM and SIGINT (idempotent). */
void stop_install(void);

/* The flag the handlers raise: 0, or the signal number. For clients that
 * take a cancel pointer (s3_config.cancel). */
const volatile sig_atomic_t *stop_flag(void);

/* The signal that asked for the stop, or 0. */
int stop_signal(void);

/* "SIGTERM", "SIGINT" or "a signal". */
const char *stop_signal_name(int sig);

/* The exit status of a stopped run: 128 + signal (0 when not stopped). */
int stop_exit_code(void);

/* For tests: raises the flag as if `sig` had arrived (0 clears it). */
void stop_raise_for_test(int sig);

#endif
