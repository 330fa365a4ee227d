/*
 * Query strings (see jp_query.h).
 */

#include <stdlib.h>
#include <string.h>

#include "jp_json.h"
#include "jp_query.h"


static int
jp_query_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


/* decodes p..end into out (at least end - p bytes); returns the length */

static size_t
jp_query_decode(const char *p, const char *end, char *out)
{
    int     hi, lo;
    char   *d;

    d = out;

    while (p < end) {
        if (*p == '+') {
            *d++ = ' ';
            p++;
            continue;
        }

        if (*p == '%' && end - p >= 3
            && (hi = jp_query_hex((unsigned char) p[1])) >= 0
            && (lo = jp_query_hex((unsigned char) p[2])) >= 0)
        {
            *d++ = (char) (hi << 4 | lo);
            p += 3;
            continue;
        }

        *d++ = *p++;
    }

    return d - out;
}


json_t *
jp_json_string_lossy(const char *p, size_t len)
{
    char                 *buf, *d;
    size_t                n;
    json_t               *j;
    const unsigned char  *s, *end;

    if (len == 0) {
        return json_string("");     /* p may be NULL */
    }

    s = (const unsigned char *) p;
    end = s + len;

    while (s < end && (n = jp_utf8_sequence_len(s, end)) != 0) {
        s += n;
    }

    if (s == end) {
        return json_stringn(p, len);
    }

    buf = malloc(len * 3 + 1);
    if (buf == NULL) {
        return NULL;
    }

    d = buf;

    for (s = (const unsigned char *) p; s < end; s += n ? n : 1) {
        n = jp_utf8_sequence_len(s, end);

        if (n == 0) {
            memcpy(d, "\xef\xbf\xbd", 3);
            d += 3;
            continue;
        }

        memcpy(d, s, n);
        d += n;
    }

    j = json_stringn(buf, d - buf);
    free(buf);

    return j;
}


json_t *
jp_query_parse(const char *args, size_t len, size_t max)
{
    char        *buf, *name;
    size_t       nlen, vlen, count;
    json_t      *param, *v;
    const char  *p, *end, *amp, *eq;

    param = json_object();
    if (param == NULL || len == 0) {
        return param;
    }

    buf = malloc(len + 1);
    if (buf == NULL) {
        json_decref(param);
        return NULL;
    }

    p = args;
    end = args + len;
    count = 0;

    for ( ; p < end && count < max; p = amp + 1) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);
        if (eq == NULL) {
            eq = amp;
        }

        nlen = jp_query_decode(p, eq, buf);

        if (nlen == 0 || memchr(buf, '\0', nlen) != NULL) {
            continue;
        }

        name = malloc(nlen + 1);
        if (name == NULL) {
            break;
        }

        memcpy(name, buf, nlen);
        name[nlen] = '\0';

        vlen = eq < amp ? jp_query_decode(eq + 1, amp, buf) : 0;
        v = jp_json_string_lossy(buf, vlen);

        /* a name that is not UTF-8 is dropped: keys must be UTF-8 */
        if (v != NULL && json_object_setn_new(param, name, nlen, v) == 0) {
            count++;
        }

        free(name);
    }

    free(buf);

    return param;
}
