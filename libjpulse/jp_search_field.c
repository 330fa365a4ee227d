/*
 * Field filters of the other types (jPulse's schemaBasedQuery): dates
 * (YYYY, YYYY-MM, YYYY-MM-DD as local-time ranges, other ISO 8601 times
 * as equality), enums, arrays ($in), ObjectIds, numbers (parseFloat),
 * booleans, mixed values; and jPulse's merge of the parameters' filters
 * (_mergeFieldQueries).
 */

#include <errno.h>
#include <math.h>             /* isfinite */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jp_search_int.h"
#include "jp_tz.h"


/* ---------------------------------------------------------------- dates */


json_t *
jp_search_ejson_date(int64_t ms)
{
    char  buf[32];

    snprintf(buf, sizeof(buf), "%lld", (long long) ms);

    return json_pack("{s:{s:s}}", "$date", "$numberLong", buf);
}


/* local midnight of y-m-d in the server's zone, as ms since the epoch */

static int64_t
jp_search_local_ms(int64_t y, unsigned m, unsigned d)
{
    int32_t      off;
    int64_t      local, t;
    const char  *zone;

    local = jp_tz_days(y, m, d) * 86400;
    zone = jp_tz_server();

    /* the offset at the instant, found from the local time (twice: DST) */
    if (jp_tz_offset(zone, strlen(zone), local, &off) != 0) {
        off = 0;
    }

    t = local - off;

    if (jp_tz_offset(zone, strlen(zone), t, &off) != 0) {
        off = 0;
    }

    t = local - off;

    return t * 1000;
}


static int
jp_search_digits(const char *p, size_t n, long *v)
{
    size_t  i;

    *v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        *v = *v * 10 + (p[i] - '0');
    }

    return 0;
}


static unsigned
jp_search_mdays(long y, long m)
{
    static const unsigned  days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
                                      31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 29;
    }

    return days[m - 1];
}


/*
 * Any other date: ISO 8601 as JavaScript's Date reads it,
 * YYYY-MM-DDTHH:MM[:SS[.sss]][Z|+HH:MM|-HH:MM], local time without a
 * zone; years 1901 to 2999 as jPulse keeps them. -1 if not one.
 */

static int
jp_search_date_time(const char *p, size_t len, int64_t *ms)
{
    long     y, mo, d, h, mi, s, frac, oh, om;
    size_t   i, n;
    int64_t  t;

    if (len < 16 || p[4] != '-' || p[7] != '-' || p[10] != 'T'
        || p[13] != ':'
        || jp_search_digits(p, 4, &y) || jp_search_digits(p + 5, 2, &mo)
        || jp_search_digits(p + 8, 2, &d) || jp_search_digits(p + 11, 2, &h)
        || jp_search_digits(p + 14, 2, &mi))
    {
        return -1;
    }

    s = 0;
    frac = 0;
    i = 16;

    if (i < len && p[i] == ':') {
        if (i + 3 > len || jp_search_digits(p + i + 1, 2, &s)) {
            return -1;
        }

        i += 3;

        if (i < len && p[i] == '.') {
            for (n = 0, i++; i < len && p[i] >= '0' && p[i] <= '9'; i++, n++)
            {
                if (n < 3) {
                    frac = frac * 10 + (p[i] - '0');
                }
            }

            if (n == 0) {
                return -1;
            }

            for (; n < 3; n++) {
                frac *= 10;
            }
        }
    }

    if (y <= 1900 || y >= 3000 || mo < 1 || mo > 12 || d < 1
        || d > (long) jp_search_mdays(y, mo) || h > 24 || mi > 59 || s > 59
        || (h == 24 && (mi || s || frac)))
    {
        return -1;
    }

    if (i == len) {
        t = jp_search_local_ms(y, mo, d) / 1000;
        t += h * 3600 + mi * 60 + s;
        *ms = t * 1000 + frac;
        return 0;
    }

    t = jp_tz_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;

    if (p[i] == 'Z' && i + 1 == len) {
        *ms = t * 1000 + frac;
        return 0;
    }

    if ((p[i] == '+' || p[i] == '-') && i + 6 == len && p[i + 3] == ':'
        && jp_search_digits(p + i + 1, 2, &oh) == 0
        && jp_search_digits(p + i + 4, 2, &om) == 0 && oh < 24 && om < 60)
    {
        t -= (p[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        *ms = t * 1000 + frac;
        return 0;
    }

    return -1;
}


json_t *
jp_search_filter_date(const char *field, const char *value, size_t len,
    jp_search_error_t *err)
{
    long         y, m, d;
    int64_t      from, to, ms, ny;
    unsigned     nm, nd;
    const char  *p;

    p = value;
    jp_search_trim(&p, &len);

    m = 0;
    d = 0;

    if (len == 4 && jp_search_digits(p, 4, &y) == 0) {
        from = jp_search_local_ms(y, 1, 1);
        to = jp_search_local_ms(y + 1, 1, 1);
        goto range;
    }

    if ((len == 7 || len == 10) && p[4] == '-'
        && jp_search_digits(p, 4, &y) == 0
        && jp_search_digits(p + 5, 2, &m) == 0 && m >= 1 && m <= 12)
    {
        if (len == 7) {
            from = jp_search_local_ms(y, m, 1);
            to = (m == 12) ? jp_search_local_ms(y + 1, 1, 1)
                           : jp_search_local_ms(y, m + 1, 1);
            goto range;
        }

        if (p[7] == '-' && jp_search_digits(p + 8, 2, &d) == 0 && d >= 1
            && d <= (long) jp_search_mdays(y, m))
        {
            from = jp_search_local_ms(y, m, d);

            /* the next local midnight (a day of 23 or 25 hours too) */
            jp_tz_civil(jp_tz_days(y, m, d) + 1, &ny, &nm, &nd);
            to = jp_search_local_ms(ny, nm, nd);
            goto range;
        }
    }

    if (jp_search_date_time(p, len, &ms) == 0) {
        return json_pack("{s:o}", field, jp_search_ejson_date(ms));
    }

    jp_search_error_set(err, "INVALID_PARAMETER", field, strlen(field),
                        "not a date (YYYY, YYYY-MM, YYYY-MM-DD or an ISO "
                        "8601 time)");
    return NULL;

range:

    return json_pack("{s:{s:o,s:o}}", field,
                     "$gte", jp_search_ejson_date(from),
                     "$lt", jp_search_ejson_date(to));
}


/* -------------------------------------------------------- other types */


json_t *
jp_search_ejson_number(double d)
{
    int   prec, integral;
    char  buf[40];

    /* integral: exact in a long long within +-2^53 (no libm needed) */
    integral = (d >= -9007199254740992.0 && d <= 9007199254740992.0
                && (double) (long long) d == d);

    if (integral && d >= -2147483648.0 && d <= 2147483647.0) {
        snprintf(buf, sizeof(buf), "%d", (int) d);
        return json_pack("{s:s}", "$numberInt", buf);
    }

    if (integral) {
        snprintf(buf, sizeof(buf), "%lld", (long long) d);
        return json_pack("{s:s}", "$numberLong", buf);
    }

    /* the shortest text that reads back the same */
    for (prec = 15; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d) {
            break;
        }
    }

    if (prec == 17) {
        snprintf(buf, sizeof(buf), "%.17g", d);
    }

    return json_pack("{s:s}", "$numberDouble", buf);
}


/* JavaScript's parseFloat: the longest decimal prefix, after white space */

static int
jp_search_parse_float(const char *p, size_t len, double *d)
{
    char    buf[64];
    size_t  i, n;
    int     digits;

    jp_search_trim(&p, &len);

    n = 0;
    i = 0;
    digits = 0;

    if (i < len && (p[i] == '+' || p[i] == '-')) {
        buf[n++] = p[i++];
    }

    for (; i < len && p[i] >= '0' && p[i] <= '9' && n < 40; i++) {
        buf[n++] = p[i];
        digits++;
    }

    if (i < len && p[i] == '.') {
        buf[n++] = p[i++];

        for (; i < len && p[i] >= '0' && p[i] <= '9' && n < 60; i++) {
            buf[n++] = p[i];
            digits++;
        }
    }

    if (digits == 0) {
        /* "Infinity" parses, but isFinite() then drops it */
        return -1;
    }

    buf[n] = '\0';
    errno = 0;
    *d = strtod(buf, NULL);

    return isfinite(*d) ? 0 : -1;
}


static int
jp_search_hex24(const char *p, size_t len)
{
    size_t  i;

    if (len != 24) {
        return 0;
    }

    for (i = 0; i < 24; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')
              || (p[i] >= 'A' && p[i] <= 'F')))
        {
            return 0;
        }
    }

    return 1;
}


static json_t *
jp_search_oid(const char *p)
{
    size_t  i;
    char    hex[25];

    for (i = 0; i < 24; i++) {
        hex[i] = (p[i] >= 'A' && p[i] <= 'F') ? p[i] + 32 : p[i];
    }

    hex[24] = '\0';

    return json_pack("{s:s}", "$oid", hex);
}


static int
jp_search_enum_has(json_t *values, const char *p, size_t len)
{
    size_t   i;
    json_t  *v;

    json_array_foreach(values, i, v) {
        if (json_string_length(v) == len
            && memcmp(json_string_value(v), p, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * One parameter of a schema field. NULL with err filled when refused; an
 * empty object when jPulse ignores the value (an enum value not in the
 * enum, a number that is not one).
 */

json_t *
jp_search_filter_field(const jp_search_field_t *f, const char *value,
    size_t len, int *exact, jp_search_error_t *err)
{
    size_t       i, s, n, tl, vlen;
    double       d;
    json_t      *in, *v;
    const char  *p, *t;

    *exact = 0;
    p = value;
    vlen = len;
    jp_search_trim(&p, &len);

    /* jPulse skips empty and blank values */
    if (len == 0) {
        return json_object();
    }

    switch (f->type) {

    case JP_FIELD_STRING:
        return jp_search_filter_string(f->name, value, vlen, exact, err);

    case JP_FIELD_ENUM:
        /* as sent (jPulse checks the untrimmed value) */
        if (!jp_search_enum_has(f->values, value, vlen)) {
            return json_object();
        }

        *exact = 1;
        return json_pack("{s:s%}", f->name, value, vlen);

    case JP_FIELD_ARRAY:
        in = json_array();
        if (in == NULL) {
            break;
        }

        n = 0;

        for (s = 0, i = 0; i <= len; i++) {
            if (i < len && p[i] != ',') {
                continue;
            }

            t = p + s;
            tl = i - s;
            s = i + 1;
            jp_search_trim(&t, &tl);

            if (tl == 0) {
                continue;
            }

            if (++n > JP_SEARCH_TERMS_MAX) {
                json_decref(in);
                jp_search_error_set(err, "INVALID_PARAMETER", f->name,
                                    strlen(f->name), "more than %d values",
                                    JP_SEARCH_TERMS_MAX);
                return NULL;
            }

            if (f->is_enum && !jp_search_enum_has(f->values, t, tl)) {
                continue;
            }

            if (json_array_append_new(in, json_stringn(t, tl)) != 0) {
                json_decref(in);
                goto nomem;
            }
        }

        if (json_array_size(in) == 0) {
            json_decref(in);
            return json_object();
        }

        return json_pack("{s:{s:o}}", f->name, "$in", in);

    case JP_FIELD_DATE:
        return jp_search_filter_date(f->name, p, len, err);

    case JP_FIELD_OBJECTID:
        if (!jp_search_hex24(p, len)) {
            jp_search_error_set(err, "INVALID_PARAMETER", f->name,
                                strlen(f->name),
                                "not an ObjectId (24 hex digits)");
            return NULL;
        }

        return json_pack("{s:o}", f->name, jp_search_oid(p));

    case JP_FIELD_NUMBER:
        if (jp_search_parse_float(p, len, &d) != 0) {
            return json_object();
        }

        return json_pack("{s:o}", f->name, jp_search_ejson_number(d));

    case JP_FIELD_BOOLEAN:
        /* jPulse: value.toLowerCase() === 'true' (untrimmed) */
        return json_pack("{s:b}", f->name,
                         vlen == 4 && strncasecmp(value, "true", 4) == 0);

    case JP_FIELD_MIXED:
        if (jp_search_hex24(value, vlen)) {
            v = json_pack("{s:{s:[s%,o]}}", f->name, "$in", value, vlen,
                          jp_search_oid(value));
        } else {
            v = json_pack("{s:s%}", f->name, value, vlen);
        }

        if (v == NULL) {
            break;
        }

        return v;
    }

nomem:

    jp_search_error_set(err, NULL, f->name, strlen(f->name), "out of memory");

    return NULL;
}


/* --------------------------------------------------------------- merge */


json_t *
jp_search_filter_merge(json_t *parts)
{
    size_t       i;
    json_t      *simple, *groups, *part, *v, *and, *q;
    const char  *key;
    int          plain;

    simple = json_object();
    groups = json_array();
    if (simple == NULL || groups == NULL) {
        goto nomem;
    }

    json_array_foreach(parts, i, part) {
        if (json_object_size(part) == 0) {
            continue;
        }

        plain = 1;

        json_object_foreach(part, key, v) {
            if (key[0] == '$') {
                plain = 0;
            }
        }

        if (plain) {
            if (json_object_update(simple, part) != 0) {
                goto nomem;
            }

            continue;
        }

        if (json_array_append(groups, part) != 0) {
            goto nomem;
        }
    }

    json_decref(parts);
    parts = NULL;

    if (json_array_size(groups) == 0) {
        json_decref(groups);
        return simple;
    }

    part = json_array_get(groups, 0);

    if (json_array_size(groups) == 1 && json_object_size(part) == 1
        && json_object_get(part, "$or") != NULL)
    {
        if (json_object_update(simple, part) != 0) {
            goto nomem;
        }

        json_decref(groups);
        return simple;
    }

    and = json_array();
    if (and == NULL) {
        goto nomem;
    }

    json_object_foreach(simple, key, v) {
        if (json_array_append_new(and, json_pack("{s:O}", key, v)) != 0) {
            json_decref(and);
            goto nomem;
        }
    }

    if (json_array_extend(and, groups) != 0) {
        json_decref(and);
        goto nomem;
    }

    json_decref(simple);
    json_decref(groups);

    if (json_array_size(and) == 1) {
        q = json_incref(json_array_get(and, 0));
        json_decref(and);
        return q;
    }

    return json_pack("{s:o}", "$and", and);

nomem:

    json_decref(parts);
    json_decref(simple);
    json_decref(groups);

    return NULL;
}
