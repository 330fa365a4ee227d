#include <inttypes.h>
#include <stdio.h>

#include "jp_time.h"


size_t
jp_time_iso8601(char *buf, size_t size, time_t sec, unsigned msec)
{
    int        n;
    struct tm  tm;

    if (gmtime_r(&sec, &tm) == NULL) {
        return 0;
    }

    n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, msec % 1000);

    if (n < 0 || (size_t) n >= size) {
        return 0;
    }

    return (size_t) n;
}


size_t
jp_duration_format(char *buf, size_t size, uint64_t seconds)
{
    int       n;
    uint64_t  d, h, m, s;

    d = seconds / 86400;
    h = seconds / 3600 % 24;
    m = seconds / 60 % 60;
    s = seconds % 60;

    if (d) {
        n = snprintf(buf, size, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m %"
                     PRIu64 "s", d, h, m, s);

    } else if (h) {
        n = snprintf(buf, size, "%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s",
                     h, m, s);

    } else if (m) {
        n = snprintf(buf, size, "%" PRIu64 "m %" PRIu64 "s", m, s);

    } else {
        n = snprintf(buf, size, "%" PRIu64 "s", s);
    }

    if (n < 0 || (size_t) n >= size) {
        return 0;
    }

    return (size_t) n;
}
