/*
 * cachectl's log (see cachectl_log.h).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jp_json.h"
#include "cachectl_log.h"


#define CACHECTL_LOG_MAX  4096


int  cachectl_log_level = CACHECTL_INFO;

static int  cachectl_log_journal = -1;     /* not known yet */

static const char  *cachectl_levels[] = { "error", "warn", "info", "debug" };

/* sd-daemon(3) priorities: err, warning, info, debug */
static const int    cachectl_priorities[] = { 3, 4, 6, 7 };


/*
 * systemd sets JOURNAL_STREAM to the "device:inode" of the stream it
 * connects to stderr: the same stream (not one redirected since) wants
 * "<N>" prefixes, and stamps the lines itself.
 */

static int
cachectl_log_is_journal(void)
{
    char                *end;
    const char          *env;
    struct stat          st;
    unsigned long long   dev, ino;

    env = getenv("JOURNAL_STREAM");

    if (env == NULL || fstat(STDERR_FILENO, &st) != 0) {
        return 0;
    }

    dev = strtoull(env, &end, 10);

    if (end == env || *end != ':') {
        return 0;
    }

    env = end + 1;
    ino = strtoull(env, &end, 10);

    if (end == env || *end != '\0') {
        return 0;
    }

    return (unsigned long long) st.st_dev == dev
           && (unsigned long long) st.st_ino == ino;
}


int
cachectl_utf8_valid(const char *s)
{
    size_t                n;
    const unsigned char  *end;

    end = (const unsigned char *) s + strlen(s);

    while (*s) {
        n = jp_utf8_sequence_len((const unsigned char *) s, end);

        if (n == 0) {
            return 0;
        }

        s += n;
    }

    return 1;
}


/*
 * A message is one line whatever it quotes: a file name with a newline
 * must not forge a line of its own, nor a terminal escape reach whoever
 * reads the log; and it stays UTF-8, which the journal needs to show it.
 */

static size_t
cachectl_log_escape(char *out, size_t size, const char *in)
{
    size_t                n, len;
    unsigned char         c;
    const unsigned char  *end;

    end = (const unsigned char *) in + strlen(in);

    for (n = 0; *in && n + 5 < size; in++) {
        c = (unsigned char) *in;
        len = c < 0x80 ? 1 : jp_utf8_sequence_len((const unsigned char *) in,
                                                   end);

        if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';

        } else if (c < 0x20 || c == 0x7f || len == 0) {
            n += snprintf(out + n, size - n, "\\x%02x", c);

        } else if (len > 1) {
            if (n + len + 5 >= size) {
                break;
            }

            memcpy(out + n, in, len);
            n += len;
            in += len - 1;

        } else {
            out[n++] = (char) c;
        }
    }

    out[n] = '\0';

    return n;
}


void
cachectl_log(int level, const char *fmt, ...)
{
    char             when[32], msg[CACHECTL_LOG_MAX];
    char             esc[CACHECTL_LOG_MAX * 2];
    va_list          ap;
    struct tm        tm;
    struct timespec  ts;

    if (level > cachectl_log_level) {
        return;
    }

    if (level < CACHECTL_ERR || level > CACHECTL_DEBUG) {
        level = CACHECTL_ERR;
    }

    if (cachectl_log_journal == -1) {
        cachectl_log_journal = cachectl_log_is_journal();
    }

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    cachectl_log_escape(esc, sizeof(esc), msg);

    if (cachectl_log_journal) {
        fprintf(stderr, "<%d>%s: %s\n", cachectl_priorities[level],
                cachectl_levels[level], esc);
        return;
    }

    /* a timestamp only: the step of a clock is no business of ours */
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);

    fprintf(stderr, "%s.%03ldZ cachectl[%d] %s: %s\n", when,
            ts.tv_nsec / 1000000, (int) getpid(), cachectl_levels[level],
            esc);
}
