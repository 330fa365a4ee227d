/*
 * cachectl's log (see cachectl_log.h).
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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


/*
 * The length of the UTF-8 sequence at p, as jansson takes it (no overlong
 * form, no surrogate, at most U+10FFFF), or 0 when it is none.
 */

static size_t
cachectl_utf8_seq(const unsigned char *p)
{
    size_t    n, i;
    uint32_t  c;

    if (p[0] < 0x80) {
        return 1;
    }

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        c = p[0] & 0x1f;

    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        c = p[0] & 0x0f;

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        c = p[0] & 0x07;

    } else {
        return 0;
    }

    /* the NUL at the end is no continuation byte either */
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000)
        || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
    {
        return 0;
    }

    return n;
}


int
cachectl_utf8_valid(const char *s)
{
    size_t  n;

    while (*s) {
        n = cachectl_utf8_seq((const unsigned char *) s);

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
    size_t          n, len;
    unsigned char   c;

    for (n = 0; *in && n + 5 < size; in++) {
        c = (unsigned char) *in;
        len = c < 0x80 ? 1 : cachectl_utf8_seq((const unsigned char *) in);

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
