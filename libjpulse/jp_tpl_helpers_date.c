/*
 * date.* (see jp_tpl_helpers.c), as jPulse 1.7.17 renders them. A date is
 * a JavaScript time value: integral milliseconds since the epoch within
 * +-8.64e15, held in a double; time zones come from jp_tz.c.
 */

#define _GNU_SOURCE     /* memmem */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"
#include "jp_tz.h"


#define JP_DATE_MAX      8.64e15
#define JP_DATE_DAY      86400000.0
#define JP_DATE_NONE     (-1)           /* a field not given */


/* no libm: the engine links without it */
static double
jp_date_trunc(double d)
{
    return d < 0 ? jp_tpl_ceil(d) : jp_tpl_floor(d);
}


static double
jp_date_abs(double d)
{
    return d < 0 ? -d : d;
}


/* the server zone's offset at t ms, in ms; 0 when it has none */
static double
jp_date_server_offset(const char *tz, double t)
{
    int32_t  off;

    if (jp_tz_offset(tz, strlen(tz), (int64_t) jp_tpl_floor(t / 1000), &off)
        != 0)
    {
        return 0;
    }

    return off * 1000.0;
}


/* a local time of the server's zone (offset-less date-times) in UTC */
static double
jp_date_local_to_utc(double local)
{
    double       o1, o2;
    const char  *tz;

    tz = jp_tz_server();

    o1 = jp_date_server_offset(tz, local);
    o2 = jp_date_server_offset(tz, local - o1);

    /* near a change, the offset of the instant found, if it holds there */
    if (o2 != o1 && jp_date_server_offset(tz, local - o2) == o2) {
        return local - o2;
    }

    return local - o1;
}


/* JavaScript's MakeDay + MakeDate + TimeClip, in V8's year range; NAN */
static double
jp_date_make(double y, double mon, double d, double h, double mi,
    double s, double ms)
{
    double  t, days;

    if (!isfinite(y) || !isfinite(mon) || !isfinite(d) || !isfinite(h)
        || !isfinite(mi) || !isfinite(s) || !isfinite(ms))
    {
        return NAN;
    }

    mon = jp_date_trunc(mon);
    y = jp_date_trunc(y) + jp_tpl_floor(mon / 12);
    mon -= jp_tpl_floor(mon / 12) * 12;

    if (y < -1000000 || y > 1000000 || jp_date_abs(d) > 1e12
        || jp_date_abs(h) > 1e15 || jp_date_abs(mi) > 1e15
        || jp_date_abs(s) > 1e15 || jp_date_abs(ms) > 1e18)
    {
        return NAN;
    }

    days = (double) jp_tz_days((int64_t) y, (unsigned) mon + 1, 1)
           + jp_date_trunc(d) - 1;
    t = ((jp_date_trunc(h) * 60 + jp_date_trunc(mi)) * 60
         + jp_date_trunc(s)) * 1000 + jp_date_trunc(ms);
    t += days * JP_DATE_DAY;

    if (!(jp_date_abs(t) <= JP_DATE_MAX)) {
        return NAN;
    }

    return t + 0.0;     /* no -0 */
}


/* the UTC fields of a time value */
typedef struct {
    int64_t   year;
    unsigned  mon;      /* 1..12 */
    unsigned  day;
    unsigned  hour;
    unsigned  min;
    unsigned  sec;
    unsigned  ms;
} jp_date_tm_t;


static void
jp_date_split(double t, jp_date_tm_t *tm)
{
    int64_t  ms, days, rem;

    ms = (int64_t) t;
    days = (ms >= 0 ? ms : ms - 86399999) / 86400000;
    rem = ms - days * 86400000;

    jp_tz_civil(days, &tm->year, &tm->mon, &tm->day);

    tm->hour = (unsigned) (rem / 3600000);
    tm->min = (unsigned) (rem / 60000 % 60);
    tm->sec = (unsigned) (rem / 1000 % 60);
    tm->ms = (unsigned) (rem % 1000);
}


/*
 * Date strings as V8's Date parser reads them: first the ES5 ISO format
 * (date-only is UTC, a date-time without an offset is local time), then
 * the legacy forms ("2025/01/18", "Jan 18 2025 10:00 GMT+0200", "0").
 */

typedef struct {
    const char  *p;
    const char  *end;
} jp_date_scan_t;


static int
jp_date_digits(jp_date_scan_t *sc, int n, long *v)
{
    int  i;

    for (*v = 0, i = 0; i < n; i++) {
        if (sc->p >= sc->end || *sc->p < '0' || *sc->p > '9') {
            return -1;
        }

        *v = *v * 10 + (*sc->p++ - '0');
    }

    return 0;
}


static int
jp_date_char(jp_date_scan_t *sc, char c)
{
    if (sc->p < sc->end && *sc->p == c) {
        sc->p++;
        return 1;
    }

    return 0;
}


/* 0 with *t, or -1: not in the ISO format (*t NAN: in it, but invalid) */
static int
jp_date_iso(const char *s, size_t len, double *t)
{
    int             sign, local, date_only;
    long            y, mo, d, h, mi, sec, ms, oh, om, v;
    jp_date_scan_t  sc;

    sc.p = s;
    sc.end = s + len;
    mo = d = 1;
    h = mi = sec = ms = 0;
    oh = om = 0;
    sign = 0;

    if (sc.p < sc.end && (*sc.p == '+' || *sc.p == '-')) {
        sign = (*sc.p++ == '-') ? -1 : 1;

        if (jp_date_digits(&sc, 6, &y) != 0 || (sign < 0 && y == 0)) {
            return -1;
        }

        y *= sign;

    } else if (jp_date_digits(&sc, 4, &y) != 0) {
        return -1;
    }

    if (jp_date_char(&sc, '-')) {
        if (jp_date_digits(&sc, 2, &mo) != 0) {
            return -1;
        }

        if (jp_date_char(&sc, '-') && jp_date_digits(&sc, 2, &d) != 0) {
            return -1;
        }
    }

    date_only = 1;
    local = 0;

    if (jp_date_char(&sc, 'T') || jp_date_char(&sc, 't')) {
        /* past the 'T', V8 takes nothing but the ISO form */
        date_only = 0;
        local = 1;
        *t = NAN;

        if (jp_date_digits(&sc, 2, &h) != 0 || !jp_date_char(&sc, ':')
            || jp_date_digits(&sc, 2, &mi) != 0)
        {
            return 0;
        }

        if (jp_date_char(&sc, ':')) {
            if (jp_date_digits(&sc, 2, &sec) != 0) {
                return 0;
            }

            if (jp_date_char(&sc, '.')) {
                /* any number of digits; the first three count */
                if (jp_date_digits(&sc, 1, &ms) != 0) {
                    return 0;
                }

                ms *= 100;

                for (v = 10; sc.p < sc.end && *sc.p >= '0' && *sc.p <= '9';
                     sc.p++)
                {
                    ms += (*sc.p - '0') * v;
                    v /= 10;
                }
            }
        }

        if (jp_date_char(&sc, 'Z') || jp_date_char(&sc, 'z')) {
            local = 0;

        } else if (sc.p < sc.end && (*sc.p == '+' || *sc.p == '-')) {
            sign = (*sc.p++ == '-') ? -1 : 1;

            /* +hh:mm, or V8's +hhmm */
            if (jp_date_digits(&sc, 2, &oh) != 0
                || (!jp_date_char(&sc, ':') && (sc.end - sc.p != 2))
                || jp_date_digits(&sc, 2, &om) != 0)
            {
                return 0;
            }

            local = 0;
        }

        if (sc.p != sc.end) {
            return 0;
        }

    } else if (sc.p < sc.end) {
        /* "2025-01-18 10:00": the legacy form reads it all */
        return -1;
    }

    /* V8 lets a day up to 31 roll over (Feb 30 is Mar 2) */
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || mi > 59 || sec > 59
        || oh > 23 || om > 59 || (h > 24 || (h == 24 && (mi || sec || ms))))
    {
        *t = NAN;
        return 0;
    }

    *t = jp_date_make((double) y, (double) mo - 1, (double) d, (double) h,
                      (double) mi, (double) sec, (double) ms);

    if (!date_only && local && !isnan(*t)) {
        *t = jp_date_local_to_utc(*t);

    } else if (!local && !isnan(*t)) {
        *t -= (sign < 0 ? -1.0 : 1.0) * (oh * 60 + om) * 60000.0
              * (date_only ? 0 : 1);
    }

    if (!(jp_date_abs(*t) <= JP_DATE_MAX)) {
        *t = NAN;
    }

    return 0;
}


/* a word of the legacy format, by its first three letters */
static int
jp_date_keyword(const char *w, size_t len, int *kind, int *val)
{
    size_t       i;
    char         k[4];
    const char  *m;

    static const char  months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    static const struct {
        const char  *name;
        int          kind;     /* 1 AM/PM, 2 zone (minutes), 3 'T' */
        int          val;
    } words[] = {
        { "am", 1, 0 }, { "pm", 1, 12 }, { "ut", 2, 0 }, { "utc", 2, 0 },
        { "gmt", 2, 0 }, { "z", 2, 0 }, { "t", 3, 0 },
        { "est", 2, -300 }, { "edt", 2, -240 }, { "cst", 2, -360 },
        { "cdt", 2, -300 }, { "mst", 2, -420 }, { "mdt", 2, -360 },
        { "pst", 2, -480 }, { "pdt", 2, -420 }
    };

    for (i = 0; i < 3 && i < len; i++) {
        k[i] = (char) (w[i] | 0x20);
    }

    k[i] = '\0';

    if (len >= 3) {
        for (m = months; *m; m += 3) {
            if (memcmp(m, k, 3) == 0) {
                *kind = 4;
                *val = (int) (m - months) / 3 + 1;
                return 0;
            }
        }
    }

    for (i = 0; len <= 3 && i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(words[i].name, k) == 0) {
            *kind = words[i].kind;
            *val = words[i].val;
            return 0;
        }
    }

    return -1;
}


static double
jp_date_legacy(const char *s, size_t len)
{
    int          kind, val, seen_num, nday, ntime, month, ampm, tzset,
                 tzsign, depth, ndig;
    long         day[3], tm[4], tzmin, n;
    double       y, t;
    const char  *p, *end, *w;

    p = s;
    end = s + len;
    seen_num = 0;
    nday = ntime = 0;
    month = 0;
    ampm = -1;
    tzset = 0;
    tzmin = 0;
    tm[0] = tm[1] = tm[2] = tm[3] = 0;

    while (p < end) {
        if (*p >= '0' && *p <= '9') {
            /* leading zeros skipped; nine digits count, as V8 */
            for (n = 0, ndig = 0; p < end && *p >= '0' && *p <= '9'; p++) {
                if (ndig < 9 && (n > 0 || *p != '0')) {
                    n = n * 10 + (*p - '0');
                    ndig++;
                }
            }

            seen_num = 1;

            if (p < end && *p == ':') {
                if (ntime >= 3) {
                    return NAN;
                }

                tm[ntime++] = n;
                p++;

            } else if (ntime > 0 && ntime < 3 && p < end && *p == '.') {
                /* seconds and a fraction, which must be there */
                if (p + 1 == end || p[1] < '0' || p[1] > '9') {
                    return NAN;
                }

                tm[ntime++] = n;

                for (n = 0, val = 100, p++; p < end && *p >= '0'
                     && *p <= '9'; p++)
                {
                    n += (*p - '0') * val;
                    val /= 10;
                }

                tm[3] = n;
                ntime = 4;

            } else if (ntime > 0 && ntime < 3) {
                tm[ntime] = n;
                ntime = 4;

                if (p < end && *p != ' ' && *p != '\t' && *p != 'Z'
                    && *p != 'z' && *p != '+' && *p != '-')
                {
                    return NAN;
                }

            } else {
                if (nday >= 3) {
                    return NAN;
                }

                day[nday++] = n;

                if (p < end && *p == '-') {
                    p++;
                }
            }

            continue;
        }

        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
            for (w = p; p < end && ((*p >= 'a' && *p <= 'z')
                                    || (*p >= 'A' && *p <= 'Z')); p++)
            {
                /* void */
            }

            if (jp_date_keyword(w, p - w, &kind, &val) != 0) {
                kind = 0;
            }

            if (kind == 1 && ntime > 0) {
                ampm = val;

            } else if (kind == 4) {
                month = val;

                if (p < end && *p == '-') {
                    p++;
                }

            } else if (kind == 2 && seen_num) {
                tzset = 1;
                tzmin = val;

            } else {
                /* other words, 'T' too: only before the first number */
                if (seen_num || (p < end && *p >= '0' && *p <= '9')) {
                    return NAN;
                }
            }

            continue;
        }

        if ((*p == '+' || *p == '-') && ((tzset && tzmin == 0) || ntime > 0))
        {
            /* an offset: +h, +hh, +hhmm or +hh:mm */
            tzsign = (*p++ == '-') ? -1 : 1;

            for (n = 0, ndig = 0; p < end && *p >= '0' && *p <= '9'; p++) {
                n = n * 10 + (*p - '0');
                if (++ndig > 4) {
                    return NAN;
                }
            }

            if (p < end && *p == ':') {
                p++;

                for (val = 0; p < end && *p >= '0' && *p <= '9'; p++) {
                    val = val * 10 + (*p - '0');
                    if (val > 99) {
                        return NAN;
                    }
                }

                tzmin = tzsign * (n * 60 + val);

            } else if (ndig == 1 || ndig == 2) {
                tzmin = tzsign * n * 60;

            } else if (ndig == 3 || ndig == 4) {
                tzmin = tzsign * ((n / 100) * 60 + n % 100);

            } else {
                return NAN;
            }

            tzset = 1;
            seen_num = 1;
            continue;
        }

        if (*p == '(') {
            /* comments, nested */
            for (depth = 0; p < end; p++) {
                depth += (*p == '(') - (*p == ')');
                if (depth == 0) {
                    break;
                }
            }

            p++;
            continue;
        }

        if ((*p == '+' || *p == '-' || *p == ')') && seen_num) {
            return NAN;
        }

        p++;
    }

    if (nday == 0) {
        return NAN;
    }

    while (nday < 3) {
        day[nday++] = 1;
    }

    if (month == 0) {
        if (day[0] < 1 || day[0] > 31) {
            y = (double) day[0];            /* Y M D */
            month = (int) day[1];
            day[0] = day[2];

        } else {
            month = (int) day[0];           /* M D Y */
            y = (double) day[2];
            day[0] = day[1];
        }

    } else if (day[0] < 1 || day[0] > 31) {
        y = (double) day[0];                /* Y (month) D */
        day[0] = day[1];

    } else {
        y = (double) day[1];                /* D (month) Y */
    }

    if (y >= 0 && y <= 49) {
        y += 2000;

    } else if (y >= 50 && y <= 99) {
        y += 1900;
    }

    if (ampm >= 0) {
        if (tm[0] > 12) {
            return NAN;
        }

        tm[0] = tm[0] % 12 + ampm;
    }

    if (month < 1 || month > 12 || day[0] < 1 || day[0] > 31
        || tm[1] > 59 || tm[2] > 59
        || tm[0] > 24 || (tm[0] == 24 && (tm[1] || tm[2] || tm[3])))
    {
        return NAN;
    }

    t = jp_date_make(y, month - 1, (double) day[0], (double) tm[0],
                     (double) tm[1], (double) tm[2], (double) tm[3]);

    if (isnan(t)) {
        return NAN;
    }

    t = tzset ? t - tzmin * 60000.0 : jp_date_local_to_utc(t);

    return jp_date_abs(t) <= JP_DATE_MAX ? t : NAN;
}


static double
jp_date_string(const char *s, size_t len)
{
    double  t;

    while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'
                       || *s == '\f' || *s == '\v'))
    {
        s++;
        len--;
    }

    if (len == 0 || len > 256) {
        return NAN;
    }

    if (jp_date_iso(s, len, &t) == 0) {
        return t;
    }

    return jp_date_legacy(s, len);
}


/* new Date(j) as a time value, NAN when invalid (§11.1) */
static double
jp_date_of(json_t *j, unsigned depth)
{
    double  d;

    if (j == NULL) {
        return NAN;
    }

    if (json_is_number(j)) {
        d = json_number_value(j);
        return jp_date_abs(d) <= JP_DATE_MAX ? jp_date_trunc(d) + 0.0 : NAN;
    }

    if (json_is_string(j)) {
        return jp_date_string(json_string_value(j), json_string_length(j));
    }

    /* MongoDB's extended JSON {"$date": X} */
    if (json_is_object(j) && depth == 0) {
        return jp_date_of(json_object_get(j, "$date"), 1);
    }

    return NAN;
}


/* the date argument of date.format, .fromNow, .add: the first positional
 * argument if truthy, else date=, else the first again (0); NULL: none */
static json_t *
jp_date_pick(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n, const char *key)
{
    json_t  *h;

    if (n > 0 && jp_tpl_truthy(a[0].j)) {
        return a[0].j;
    }

    h = json_object_get(rs->hash, key);
    if (jp_tpl_truthy(h)) {
        return h;
    }

    return n > 0 ? a[0].j : NULL;
}


static int
jp_date_result(jp_tpl_rs_t *rs, jp_tpl_val_t *res, double t)
{
    if (isnan(t)) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    return jp_tpl_set(rs, res, jp_tpl_number_new(t));
}


/* the current epoch milliseconds; arguments are ignored */
static int
h_now(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_set(rs, res, json_integer(jp_tpl_now(rs)));
}


/* a number unchanged, else the time value of a date, "" when invalid */
static int
h_dparse(JP_TPL_HELPER_ARGS)
{
    json_t  *j;

    j = jp_date_pick(rs, a, n, "date");

    if (j == NULL) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    if (json_is_number(j)) {
        return jp_tpl_set(rs, res, json_incref(j));
    }

    return jp_date_result(rs, res, jp_date_of(j, 0));
}


/* the zone of timezone=: its offset east of UTC in seconds at t */
static int32_t
jp_date_zone(jp_tpl_rs_t *rs, double t)
{
    int            rc;
    json_t        *tz;
    int32_t        off;
    unsigned       flags;
    const char    *name;
    jp_tpl_val_t   v;
    jp_tpl_seg_t   seg[2];
    jp_tpl_expr_t  e;

    tz = json_object_get(rs->hash, "timezone");

    if (!json_is_string(tz) || json_string_length(tz) == 0) {
        return 0;
    }

    name = json_string_value(tz);
    v.j = NULL;

    if (strcmp(name, "server") == 0) {
        name = jp_tz_server();

    } else if (strcmp(name, "browser") == 0 || strcmp(name, "client") == 0
               || strcmp(name, "user") == 0 || strcmp(name, "view") == 0)
    {
        /* user.timezone through the engine's lookup, which also tells
         * the host that this render depends on the user (a kept page must
         * not serve one visitor's zone to another) */
        memset(&e, 0, sizeof(e));
        memset(seg, 0, sizeof(seg));
        seg[0].name = "user";
        seg[0].index = -1;
        seg[1].name = "timezone";
        seg[1].index = -1;
        e.kind = JP_TPL_E_PATH;
        e.root = JP_TPL_R_NAME;
        e.nseg = 2;
        e.seg = seg;
        e.text = "user.timezone";
        jp_tpl_path_prepare(&e);

        /* strict: no "user.timezone" text when there is no user */
        flags = rs->flags;
        rs->flags |= JP_TPL_STRICT;
        rc = jp_tpl_eval(rs, &e, &v, 0);
        rs->flags = flags;

        if (rc == 0 && jp_tpl_truthy(v.j) && json_is_string(v.j)) {
            name = json_string_value(v.j);

        } else {
            name = jp_tz_server();
        }
    }

    if (jp_tz_offset(name, strlen(name), (int64_t) jp_tpl_floor(t / 1000),
                     &off) != 0)
    {
        /* jPulse: an unknown zone is UTC */
        off = 0;
    }

    jp_tpl_val_free(&v);

    return off;
}


/* toISOString(): "+275760-09-13T00:00:00.000Z" outside years 0..9999 */
static void
jp_date_iso_string(const jp_date_tm_t *tm, char *buf, size_t size)
{
    char  y[24];

    if (tm->year >= 0 && tm->year <= 9999) {
        snprintf(y, sizeof(y), "%04d", (int) tm->year);

    } else {
        snprintf(y, sizeof(y), "%c%06lld", tm->year < 0 ? '-' : '+',
                 (long long) (tm->year < 0 ? -tm->year : tm->year));
    }

    snprintf(buf, size, "%s-%02u-%02uT%02u:%02u:%02u.%03uZ", y, tm->mon,
             tm->day, tm->hour, tm->min, tm->sec, tm->ms);
}


/* replaces every tok in b by val, left to right (String.replace(/tok/g)) */
static int
jp_date_subst(jp_tpl_rs_t *rs, jp_tpl_buf_t *b, const char *tok,
    const char *val)
{
    size_t        tl, vl;
    const char   *p, *end, *hit;
    jp_tpl_buf_t  nb;

    tl = strlen(tok);
    vl = strlen(val);

    if (b->len < tl || memmem(b->data, b->len, tok, tl) == NULL) {
        return 0;
    }

    jp_tpl_buf_init(&nb, b->max);
    jp_tpl_buf_add(&nb, "", 0);

    p = b->data;
    end = b->data + b->len;

    while ((hit = memmem(p, end - p, tok, tl)) != NULL) {
        jp_tpl_buf_add(&nb, p, hit - p);
        jp_tpl_buf_add(&nb, val, vl);
        p = hit + tl;
    }

    jp_tpl_buf_add(&nb, p, end - p);

    jp_tpl_buf_free(b);
    *b = nb;

    return b->failed ? -1 : 0;
}


/*
 * date.format X [format="..."] [timezone="..."]: jPulse's tokens, replaced
 * one after the other in this order, each everywhere in the text so far.
 */
static int
h_dformat(JP_TPL_HELPER_ARGS)
{
    int            i;
    char           iso[64], y[24], mo[4], d[4], hh[4], mi[4], ss[4],
                   ms[4], date[64], time[8], mm[48], num[40];
    double         t, m;
    json_t        *j, *fmt;
    int32_t        off;
    const char    *val[11];
    jp_tpl_buf_t   b;
    jp_date_tm_t   tm;

    static const char  *tokens[11] = {
        "%ISO%", "%DATETIME%", "%DATE%", "%TIME%", "%Y%", "%M%", "%D%",
        "%H%", "%MIN%", "%SEC%", "%MS%"
    };

    j = jp_date_pick(rs, a, n, "date");

    /* no value at all is now, an invalid one nothing (§11.1) */
    t = j == NULL ? (double) jp_tpl_now(rs) : jp_date_of(j, 0);

    if (isnan(t)) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    fmt = json_object_get(rs->hash, "format");

    if (jp_tpl_truthy(fmt) && !json_is_string(fmt)) {
        return jp_tpl_error(rs, "format.replace is not a function");
    }

    off = jp_date_zone(rs, t);

    t += off * 1000.0;

    if (!(jp_date_abs(t) <= JP_DATE_MAX)) {
        return jp_tpl_error(rs, "Invalid time value");
    }

    jp_date_split(t, &tm);
    jp_date_iso_string(&tm, iso, sizeof(iso));

    if (off != 0) {
        /* +-HH:MM, minutes as JavaScript prints them: a zone whose offset
         * has seconds (local mean time) gets a fraction */
        m = jp_date_abs(off / 60.0);
        jp_tpl_format_number(jp_tpl_fmod(m, 60), num, sizeof(num));
        snprintf(mm, sizeof(mm), "%s%s", strlen(num) < 2 ? "0" : "", num);
        snprintf(iso + strlen(iso) - 1, sizeof(iso) - strlen(iso) + 1,
                 "%c%02d:%s", off < 0 ? '-' : '+',
                 (int) jp_tpl_floor(m / 60), mm);
    }

    snprintf(y, sizeof(y), "%lld", (long long) tm.year);
    snprintf(mo, sizeof(mo), "%02u", tm.mon);
    snprintf(d, sizeof(d), "%02u", tm.day);
    snprintf(hh, sizeof(hh), "%02u", tm.hour);
    snprintf(mi, sizeof(mi), "%02u", tm.min);
    snprintf(ss, sizeof(ss), "%02u", tm.sec);
    snprintf(ms, sizeof(ms), "%03u", tm.ms);
    snprintf(date, sizeof(date), "%s-%s-%s", y, mo, d);
    snprintf(time, sizeof(time), "%s:%s", hh, mi);

    val[0] = iso;
    val[1] = "%DATE% %TIME%";
    val[2] = date;
    val[3] = time;
    val[4] = y;
    val[5] = mo;
    val[6] = d;
    val[7] = hh;
    val[8] = mi;
    val[9] = ss;
    val[10] = ms;

    jp_tpl_buf_init(&b, jp_tpl_room(rs->out));

    if (jp_tpl_truthy(fmt)) {
        jp_tpl_buf_add(&b, json_string_value(fmt), json_string_length(fmt));

    } else {
        jp_tpl_buf_add(&b, "%ISO%", 5);
    }

    for (i = 0; i < 11 && !b.failed; i++) {
        jp_date_subst(rs, &b, tokens[i], val[i]);
    }

    return jp_tpl_set_buf(rs, res, &b);
}


/* the i18n text at controller.handlebar.date.fromNow.key, or NULL */
static const char *
jp_date_i18n(jp_tpl_rs_t *rs, const char *key1, const char *key2)
{
    json_t  *j;

    j = json_object_get(rs->i18n, "controller");
    j = json_object_get(j, "handlebar");
    j = json_object_get(j, "date");
    j = json_object_get(j, "fromNow");
    j = json_object_get(j, key1);

    if (key2 != NULL) {
        j = json_object_get(j, key2);
    }

    return json_is_string(j) ? json_string_value(j) : NULL;
}


/* text with %tok% replaced by val, appended to b */
static void
jp_date_fill(jp_tpl_rs_t *rs, jp_tpl_buf_t *b, const char *text,
    const char *tok, const char *val)
{
    jp_tpl_buf_t  tmp;

    jp_tpl_buf_init(&tmp, b->max);
    jp_tpl_buf_add(&tmp, text, strlen(text));
    jp_date_subst(rs, &tmp, tok, val);

    if (tmp.failed) {
        b->failed = tmp.failed;

    } else if (tmp.len > 0) {
        jp_tpl_buf_add(b, tmp.data, tmp.len);
    }

    jp_tpl_buf_free(&tmp);
}


/*
 * date.fromNow X [format="STYLE [N]"]: the largest N units of the
 * distance to now, in the words of the i18n controller.handlebar.date.
 * fromNow keys (English when a key is missing).
 */
static int
h_dfromnow(JP_TPL_HELPER_ARGS)
{
    int            future, parts, want, shrt, lng;
    long           l;
    char           style[32], num[32], key[40];
    size_t         i, k, wl;
    double         t, dist, rem, cnt;
    json_t        *j, *fmt;
    const char    *p, *end, *w, *text, *sep;
    jp_tpl_buf_t   range, b;

    static const struct {
        const char  *name;
        const char  *abbr;
        double       ms;
    } units[] = {
        { "year", "y", 365 * JP_DATE_DAY },
        { "month", "mo", 30 * JP_DATE_DAY },
        { "week", "w", 7 * JP_DATE_DAY }, { "day", "d", JP_DATE_DAY },
        { "hour", "h", 3600000.0 }, { "minute", "m", 60000.0 },
        { "second", "s", 1000.0 }
    };

    j = jp_date_pick(rs, a, n, "date");
    t = jp_date_of(j, 0);

    if (isnan(t)) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    fmt = json_object_get(rs->hash, "format");

    if (jp_tpl_truthy(fmt) && !json_is_string(fmt)) {
        return jp_tpl_error(rs, "formatParam.trim is not a function");
    }

    p = jp_tpl_truthy(fmt) ? json_string_value(fmt) : "long 2";
    end = p + strlen(p);

    /* STYLE and N: the first two words; N as parseInt(), NaN or 0 is 2 */
    style[0] = '\0';
    want = 2;

    for (k = 0; k < 2; k++) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'
                           || *p == '\r' || *p == '\f' || *p == '\v'))
        {
            p++;
        }

        for (w = p; p < end && *p != ' ' && *p != '\t' && *p != '\n'
             && *p != '\r' && *p != '\f' && *p != '\v'; p++)
        {
            /* void */
        }

        wl = (size_t) (p - w);

        if (k == 0) {
            if (wl >= sizeof(style)) {
                wl = sizeof(style) - 1;     /* matches no style anyway */
            }

            memcpy(style, w, wl);
            style[wl] = '\0';

        } else if (wl > 0) {
            /* parseInt(): the leading digits; more than seven parts are
             * never possible, and a negative count gives none */
            l = strtol(w, NULL, 10);
            want = l == 0 ? 2 : l > 7 ? 7 : l < 0 ? -1 : (int) l;
        }
    }

    shrt = strcmp(style, "short") == 0;
    lng = strcmp(style, "long") == 0;

    dist = t - (double) jp_tpl_now(rs);
    future = dist > 0;
    dist = jp_date_abs(dist);

    if (lng && dist <= 1000) {
        text = jp_date_i18n(rs, "thisMoment", NULL);
        return jp_tpl_set(rs, res, json_string(text ? text : "just now"));
    }

    if (lng && dist <= 5000) {
        text = jp_date_i18n(rs, future ? "futureMoment" : "pastMoment", NULL);
        return jp_tpl_set(rs, res,
                          json_string(text ? text : future ? "in a moment"
                                                           : "moments ago"));
    }

    jp_tpl_buf_init(&range, jp_tpl_room(rs->out));
    jp_tpl_buf_add(&range, "", 0);

    sep = shrt ? " " : ", ";

    if (lng) {
        sep = jp_date_i18n(rs, "separator", NULL);
        if (sep == NULL) {
            /* a missing translation is its key */
            sep = "controller.handlebar.date.fromNow.separator";
        }
    }

    rem = dist;
    parts = 0;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (parts >= want || rem < units[i].ms) {
            continue;
        }

        cnt = jp_tpl_floor(rem / units[i].ms);
        rem -= cnt * units[i].ms;

        jp_tpl_format_number(cnt, num, sizeof(num));
        snprintf(key, sizeof(key), "%s%s", units[i].name,
                 (!shrt && cnt != 1) ? "s" : "");

        if (parts++ > 0) {
            jp_tpl_buf_add(&range, sep, strlen(sep));
        }

        text = jp_date_i18n(rs, style, key);

        if (text != NULL) {
            jp_date_fill(rs, &range, text, "%VALUE%", num);

        } else {
            jp_tpl_buf_add(&range, num, strlen(num));

            if (shrt) {
                jp_tpl_buf_add(&range, units[i].abbr,
                               strlen(units[i].abbr));

            } else {
                jp_tpl_buf_add(&range, " ", 1);
                jp_tpl_buf_add(&range, key, strlen(key));
            }
        }
    }

    if (parts == 0) {
        jp_tpl_buf_free(&range);

        if (!shrt) {
            text = jp_date_i18n(rs, "thisMoment", NULL);
            return jp_tpl_set(rs, res,
                              json_string(text ? text : "just now"));
        }

        jp_tpl_buf_init(&range, jp_tpl_room(rs->out));
        text = jp_date_i18n(rs, "short", "second");

        if (text != NULL) {
            jp_date_fill(rs, &range, text, "%VALUE%", "0");

        } else {
            jp_tpl_buf_add(&range, "0s", 2);
        }

        jp_tpl_buf_add(&range, "", 0);
    }

    if (range.failed) {
        return jp_tpl_set_buf(rs, res, &range);
    }

    jp_tpl_buf_init(&b, jp_tpl_room(rs->out));
    jp_tpl_buf_add(&b, "", 0);

    text = jp_date_i18n(rs, future ? "futureRange" : "pastRange", NULL);

    if (text != NULL) {
        jp_date_fill(rs, &b, text, "%RANGE%", range.data);

    } else if (future) {
        jp_tpl_buf_add(&b, "in ", 3);
        jp_tpl_buf_add(&b, range.data, range.len);

    } else {
        jp_tpl_buf_add(&b, range.data, range.len);
        jp_tpl_buf_add(&b, " ago", 4);
    }

    jp_tpl_buf_free(&range);

    return jp_tpl_set_buf(rs, res, &b);
}


/* "years" -> 0 ... "milliseconds" -> 7, -1 when none */
static int
jp_date_unit(const char *u)
{
    int          i;
    char         low[16];
    size_t       k, len;

    static const char  *names[][3] = {
        { "years", "year", NULL }, { "months", "month", NULL },
        { "weeks", "week", NULL }, { "days", "day", NULL },
        { "hours", "hour", NULL }, { "minutes", "minute", NULL },
        { "seconds", "second", NULL },
        { "milliseconds", "millisecond", "ms" }
    };

    len = strlen(u);
    if (len >= sizeof(low)) {
        return -1;
    }

    /* toLowerCase() of what can match: ASCII */
    for (k = 0; k <= len; k++) {
        low[k] = (u[k] >= 'A' && u[k] <= 'Z') ? (char) (u[k] | 0x20) : u[k];
    }

    for (i = 0; i < 8; i++) {
        for (k = 0; k < 3 && names[i][k] != NULL; k++) {
            if (strcmp(low, names[i][k]) == 0) {
                return i;
            }
        }
    }

    return -1;
}


/* JavaScript's parseFloat(): the longest decimal number at the start */
static double
jp_date_parse_float(const char *s)
{
    char         buf[64];
    size_t       n;
    const char  *p, *digits;

    s += strspn(s, " \t\n\r\f\v");
    p = s + (*s == '+' || *s == '-');

    if (strncmp(p, "Infinity", 8) == 0) {
        return *s == '-' ? -INFINITY : INFINITY;
    }

    digits = p;
    p += strspn(p, "0123456789");

    if (*p == '.') {
        p++;
        p += strspn(p, "0123456789");
    }

    if (p == digits || (p == digits + 1 && *digits == '.')) {
        return NAN;
    }

    if ((*p == 'e' || *p == 'E')
        && (p[1 + (p[1] == '+' || p[1] == '-')] >= '0'
            && p[1 + (p[1] == '+' || p[1] == '-')] <= '9'))
    {
        p += 1 + (p[1] == '+' || p[1] == '-');
        p += strspn(p, "0123456789");
    }

    n = (size_t) (p - s);

    if (n >= sizeof(buf)) {
        /* so many digits: strtod of the whole text reads the same */
        return strtod(s, NULL);
    }

    memcpy(buf, s, n);
    buf[n] = '\0';

    return strtod(buf, NULL);
}


/* date.add X value=N unit=U: N added to that UTC field of X */
static int
h_dadd(JP_TPL_HELPER_ARGS)
{
    int            unit;
    double         t, v, f[7];
    json_t        *j, *val, *u;
    jp_date_tm_t   tm;

    j = jp_date_pick(rs, a, n, "date");
    t = j == NULL ? (double) jp_tpl_now(rs) : jp_date_of(j, 0);

    val = json_object_get(rs->hash, "value");
    u = json_object_get(rs->hash, "unit");

    if (val == NULL || u == NULL || json_is_null(u)) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    if (!json_is_string(u)) {
        return jp_tpl_error(rs, "unit.toLowerCase is not a function");
    }

    unit = jp_date_unit(json_string_value(u));

    if (json_is_number(val)) {
        v = json_number_value(val);

    } else if (json_is_string(val)) {
        v = jp_date_parse_float(json_string_value(val));

    } else {
        v = 0;
    }

    if (isnan(t) || isnan(v) || unit < 0) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    jp_date_split(t, &tm);

    f[0] = (double) tm.year;
    f[1] = tm.mon - 1;
    f[2] = tm.day;
    f[3] = tm.hour;
    f[4] = tm.min;
    f[5] = tm.sec;
    f[6] = tm.ms;

    if (unit == 2) {
        f[2] += v * 7;

    } else if (unit < 2) {
        f[unit] += v;

    } else {
        f[unit - 1] += v;
    }

    t = jp_date_make(f[0], f[1], f[2], f[3], f[4], f[5], f[6]);

    if (isnan(t)) {
        return jp_tpl_set(rs, res, json_string("NaN"));
    }

    return jp_tpl_set(rs, res, jp_tpl_number_new(t));
}


/* Math.round(): the nearest integer, halves up */
static double
jp_date_round(double x)
{
    double  f;

    f = jp_tpl_floor(x);

    return (x - f >= 0.5 ? f + 1 : f) + 0.0;
}


/* date.diff A [B] [unit=U]: B - A (B defaults to now) in unit U */
static int
h_ddiff(JP_TPL_HELPER_ARGS)
{
    int      unit;
    double   ta, tb, d;
    json_t  *ja, *jb, *u;

    static const double  div[] = {
        365.25 * JP_DATE_DAY, 30.44 * JP_DATE_DAY, 7 * JP_DATE_DAY,
        JP_DATE_DAY, 3600000.0, 60000.0, 1000.0, 1.0
    };

    ja = jp_date_pick(rs, a, n, "date1");

    if (ja == NULL) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    jb = json_object_get(rs->hash, "date2");

    if (!jp_tpl_truthy(jb)) {
        jb = JP_TPL_ARG(1);
    }

    ta = jp_date_of(ja, 0);
    tb = (jp_tpl_truthy(jb) || json_is_number(jb))
         ? jp_date_of(jb, 0) : (double) jp_tpl_now(rs);

    if (isnan(ta) || isnan(tb)) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    d = tb - ta;
    u = json_object_get(rs->hash, "unit");
    unit = json_is_string(u) ? jp_date_unit(json_string_value(u)) : 7;

    if (unit == 7) {
        d = jp_date_round(d);

    } else {
        d = jp_date_round(d / div[unit < 0 ? 7 : unit] * 100) / 100;
    }

    return jp_tpl_set(rs, res, jp_tpl_number_new(d + 0.0));
}


const jp_tpl_helper_t  jp_tpl_helpers_date[] = {
    { "date.now",         h_now,       JP_TPL_H_PLAIN,   0 },
    { "date.parse",       h_dparse,    JP_TPL_H_PLAIN,   0 },
    { "date.format",      h_dformat,   JP_TPL_H_PLAIN,   0 },
    { "date.fromNow",     h_dfromnow,  JP_TPL_H_PLAIN,   0 },
    { "date.add",         h_dadd,      JP_TPL_H_PLAIN,   0 },
    { "date.diff",        h_ddiff,     JP_TPL_H_PLAIN,   0 },
    { NULL, NULL, 0, 0 }
};
