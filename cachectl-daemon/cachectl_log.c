/*
 * cachectl's log (see cachectl_log.h).
 */

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cachectl_log.h"


int  cachectl_log_level = CACHECTL_INFO;

static const char  *cachectl_levels[] = { "error", "warn", "info", "debug" };


void
cachectl_log(int level, const char *fmt, ...)
{
    char             when[32];
    va_list          ap;
    struct tm        tm;
    struct timespec  ts;

    if (level > cachectl_log_level) {
        return;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);

    fprintf(stderr, "%s.%03ldZ cachectl[%d] %s: ", when,
            ts.tv_nsec / 1000000, (int) getpid(), cachectl_levels[level]);

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);

    fputc('\n', stderr);
}
