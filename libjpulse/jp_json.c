#include "jp_json.h"


static const char  jp_hex[] = "0123456789abcdef";


size_t
jp_utf8_sequence_len(const unsigned char *p, const unsigned char *end)
{
    size_t         n, i;
    unsigned int   cp, min;

    if (p >= end) {
        return 0;
    }

    if (*p < 0x80) {
        return 1;
    }

    if ((*p & 0xe0) == 0xc0) {
        n = 2;
        cp = *p & 0x1f;
        min = 0x80;

    } else if ((*p & 0xf0) == 0xe0) {
        n = 3;
        cp = *p & 0x0f;
        min = 0x800;

    } else if ((*p & 0xf8) == 0xf0) {
        n = 4;
        cp = *p & 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        cp = (cp << 6) | (p[i] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return n;
}


/* Bytes needed for the character at p; *adv is set to the input consumed. */

static size_t
jp_json_char_len(const unsigned char *p, const unsigned char *end,
    size_t *adv)
{
    size_t  n;

    switch (*p) {
    case '"': case '\\': case '\b': case '\f': case '\n': case '\r':
    case '\t':
        *adv = 1;
        return 2;

    case '<': case '>': case '&':
        *adv = 1;
        return 6;
    }

    if (*p < 0x20 || *p == 0x7f) {
        *adv = 1;
        return 6;
    }

    if (*p < 0x80) {
        *adv = 1;
        return 1;
    }

    n = jp_utf8_sequence_len(p, end);

    if (n == 0) {
        *adv = 1;
        return 6;                           /* \ufffd */
    }

    *adv = n;

    /* U+2028 and U+2029 end a line in JavaScript */
    if (n == 3 && p[0] == 0xe2 && p[1] == 0x80
        && (p[2] == 0xa8 || p[2] == 0xa9))
    {
        return 6;
    }

    return n;
}


size_t
jp_json_escape_len(const unsigned char *src, size_t len)
{
    size_t               total, adv;
    const unsigned char  *p, *end;

    total = 0;
    end = src + len;

    for (p = src; p < end; p += adv) {
        total += jp_json_char_len(p, end, &adv);
    }

    return total;
}


static unsigned char *
jp_json_write_u(unsigned char *dst, unsigned int cp)
{
    *dst++ = '\\';
    *dst++ = 'u';
    *dst++ = jp_hex[(cp >> 12) & 0xf];
    *dst++ = jp_hex[(cp >> 8) & 0xf];
    *dst++ = jp_hex[(cp >> 4) & 0xf];
    *dst++ = jp_hex[cp & 0xf];

    return dst;
}


unsigned char *
jp_json_escape(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t               n, adv, i;
    const unsigned char  *p, *end;

    end = src + len;

    for (p = src; p < end; p += adv) {
        n = jp_json_char_len(p, end, &adv);

        if (n == adv) {
            for (i = 0; i < n; i++) {
                *dst++ = p[i];
            }

            continue;
        }

        switch (*p) {
        case '"':  *dst++ = '\\'; *dst++ = '"'; continue;
        case '\\': *dst++ = '\\'; *dst++ = '\\'; continue;
        case '\b': *dst++ = '\\'; *dst++ = 'b'; continue;
        case '\f': *dst++ = '\\'; *dst++ = 'f'; continue;
        case '\n': *dst++ = '\\'; *dst++ = 'n'; continue;
        case '\r': *dst++ = '\\'; *dst++ = 'r'; continue;
        case '\t': *dst++ = '\\'; *dst++ = 't'; continue;
        }

        if (adv == 3) {
            /* U+2028 or U+2029 */
            dst = jp_json_write_u(dst, p[2] == 0xa8 ? 0x2028 : 0x2029);

        } else if (*p >= 0x80) {
            dst = jp_json_write_u(dst, 0xfffd);

        } else {
            dst = jp_json_write_u(dst, *p);
        }
    }

    return dst;
}
