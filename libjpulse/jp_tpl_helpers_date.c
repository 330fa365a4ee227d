/*
 * date.* (see jp_tpl_helpers.c). Dates are milliseconds since the epoch.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jp_tpl_int.h"
#include "jp_time.h"


/* date.*: milliseconds since the epoch, UTC */

static int
h_now(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_set(rs, res, json_integer(jp_tpl_now(rs)));
}


static int64_t
jp_tpl_days(int64_t y, int64_t m, int64_t d)
{
    /* days from 1970-01-01 to y-m-d (proleptic Gregorian) */
    y -= m <= 2;
    return 365 * y + y / 4 - y / 100 + y / 400
           + (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1 - 719468;
}


/* ISO 8601: YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z|+HH:MM]; -1 if not */
static int
jp_tpl_parse_date(const char *s, int64_t *ms)
{
    int      f[7], i, sign, oh, om, digits;
    int64_t  t;

    memset(f, 0, sizeof(f));
    f[1] = f[2] = 1;

    if (sscanf(s, "%4d-%2d-%2d", &f[0], &f[1], &f[2]) != 3
        || strlen(s) < 10)
    {
        return -1;
    }

    s += 10;

    if (*s == 'T' || *s == ' ') {
        if (sscanf(s + 1, "%2d:%2d", &f[3], &f[4]) != 2) {
            return -1;
        }

        s += 6;

        if (*s == ':') {
            if (sscanf(s + 1, "%2d", &f[5]) != 1) {
                return -1;
            }

            s += 3;

            if (*s == '.') {
                for (s++, digits = 0; *s >= '0' && *s <= '9'; s++) {
                    if (digits++ < 3) {
                        f[6] = f[6] * 10 + (*s - '0');
                    }
                }

                for (i = digits; i < 3; i++) {
                    f[6] *= 10;
                }
            }
        }
    }

    sign = 0;
    oh = om = 0;

    if (*s == 'Z') {
        s++;

    } else if (*s == '+' || *s == '-') {
        sign = (*s == '-') ? 1 : -1;
        if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2) {
            return -1;
        }
        s += 6;
    }

    if (*s != '\0' || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31
        || f[3] > 23 || f[4] > 59 || f[5] > 59)
    {
        return -1;
    }

    t = jp_tpl_days(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60
        + f[5] + (int64_t) sign * (oh * 3600 + om * 60);

    *ms = t * 1000 + f[6];

    return 0;
}


static int
jp_tpl_date_arg(json_t *j, int64_t *ms)
{
    if (json_is_number(j)) {
        *ms = (int64_t) json_number_value(j);
        return 0;
    }

    if (json_is_string(j)) {
        return jp_tpl_parse_date(json_string_value(j), ms);
    }

    return -1;
}


/* an invalid date is null, where JavaScript has NaN */
static int
h_dparse(JP_TPL_HELPER_ARGS)
{
    int64_t  ms;

    if (jp_tpl_date_arg(JP_TPL_ARG(0), &ms) != 0) {
        return jp_tpl_set(rs, res, json_null());
    }

    return jp_tpl_set(rs, res, json_integer(ms));
}


/* date.format d [format="YYYY-MM-DD HH:mm:ss"]; default: toISOString() */
static int
h_dformat(JP_TPL_HELPER_ARGS)
{
    char          iso[JP_ISO8601_LEN + 1], num[16];
    int64_t       ms;
    time_t        sec;
    json_t       *fmt;
    struct tm     tm;
    const char   *p;
    jp_tpl_buf_t  b;

    if (jp_tpl_date_arg(JP_TPL_ARG(0), &ms) != 0) {
        return jp_tpl_error(rs, "invalid date");
    }

    sec = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);

    fmt = json_object_get(rs->hash, "format");
    if (!json_is_string(fmt) && n > 1 && json_is_string(a[1].j)) {
        fmt = a[1].j;
    }

    if (!json_is_string(fmt)) {
        if (jp_time_iso8601(iso, sizeof(iso), sec,
                            (unsigned) (ms - (int64_t) sec * 1000)) == 0)
        {
            return jp_tpl_error(rs, "invalid date");
        }

        return jp_tpl_set(rs, res, json_string(iso));
    }

    if (gmtime_r(&sec, &tm) == NULL) {
        return jp_tpl_error(rs, "invalid date");
    }

    jp_tpl_buf_init(&b, 0);
    jp_tpl_buf_add(&b, "", 0);

    for (p = json_string_value(fmt); *p != '\0'; /* void */) {
        if (strncmp(p, "YYYY", 4) == 0) {
            snprintf(num, sizeof(num), "%04d", tm.tm_year + 1900);
            p += 4;
        } else if (strncmp(p, "MM", 2) == 0) {
            snprintf(num, sizeof(num), "%02d", tm.tm_mon + 1);
            p += 2;
        } else if (strncmp(p, "DD", 2) == 0) {
            snprintf(num, sizeof(num), "%02d", tm.tm_mday);
            p += 2;
        } else if (strncmp(p, "HH", 2) == 0) {
            snprintf(num, sizeof(num), "%02d", tm.tm_hour);
            p += 2;
        } else if (strncmp(p, "mm", 2) == 0) {
            snprintf(num, sizeof(num), "%02d", tm.tm_min);
            p += 2;
        } else if (strncmp(p, "ss", 2) == 0) {
            snprintf(num, sizeof(num), "%02d", tm.tm_sec);
            p += 2;
        } else if (strncmp(p, "SSS", 3) == 0) {
            snprintf(num, sizeof(num), "%03d",
                     (int) (ms - (int64_t) sec * 1000));
            p += 3;
        } else {
            num[0] = *p++;
            num[1] = '\0';
        }

        jp_tpl_buf_add(&b, num, strlen(num));
    }

    return jp_tpl_set_buf(rs, res, &b);
}


const jp_tpl_helper_t  jp_tpl_helpers_date[] = {
    { "date.now",         h_now,       JP_TPL_H_PLAIN,   0 },
    { "date.parse",       h_dparse,    JP_TPL_H_PLAIN,   0 },
    { "date.format",      h_dformat,   JP_TPL_H_PLAIN,   0 },
    { NULL, NULL, 0, 0 }
};
