/*
 * Signed cursors: base64url(JSON) "." base64url(HMAC-SHA256(key,
 * collection NUL JSON)), without padding. The JSON keeps jPulse's keys
 * (v, q, s, l, t, lv, d; "c": 1 when the collation applies), q and lv in
 * canonical Extended JSON so their types survive. The signature is
 * checked against every key, in constant time and without an early
 * exit, before a byte of the JSON is parsed; then its shape is checked
 * (the schema's part, which fields s may name, is jp_search_parse's).
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jp_search_int.h"


#define JP_CURSOR_MAC_LEN   32
#define JP_CURSOR_SIG_LEN   43          /* base64url of 32 bytes */


static const char  jp_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


static size_t
jp_b64url_encode(char *dst, const unsigned char *src, size_t len)
{
    char    *d;
    size_t   i;
    uint32_t v;

    d = dst;

    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8 | src[i + 2];
        *d++ = jp_b64url[v >> 18];
        *d++ = jp_b64url[(v >> 12) & 63];
        *d++ = jp_b64url[(v >> 6) & 63];
        *d++ = jp_b64url[v & 63];
    }

    if (len - i == 1) {
        v = (uint32_t) src[i] << 16;
        *d++ = jp_b64url[v >> 18];
        *d++ = jp_b64url[(v >> 12) & 63];

    } else if (len - i == 2) {
        v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8;
        *d++ = jp_b64url[v >> 18];
        *d++ = jp_b64url[(v >> 12) & 63];
        *d++ = jp_b64url[(v >> 6) & 63];
    }

    return d - dst;
}


static int
jp_b64url_value(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    return c == '-' ? 62 : (c == '_' ? 63 : -1);
}


/* strict: no padding, no stray bits; -1 for anything else */

static ssize_t
jp_b64url_decode(unsigned char *dst, const char *src, size_t len)
{
    int             c;
    size_t          i;
    uint32_t        v;
    unsigned        bits;
    unsigned char  *d;

    if (len % 4 == 1) {
        return -1;
    }

    d = dst;
    v = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        c = jp_b64url_value((unsigned char) src[i]);
        if (c < 0) {
            return -1;
        }

        v = (v << 6) | (uint32_t) c;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            *d++ = (unsigned char) (v >> bits);
            v &= (1u << bits) - 1;
        }
    }

    if (v != 0) {
        return -1;
    }

    return d - dst;
}


static int
jp_cursor_mac(const jp_search_key_t *key, const char *collection,
    const unsigned char *json, size_t len, unsigned char *mac)
{
    size_t          clen;
    unsigned int    n;
    unsigned char  *msg, *md;

    /* the collection, NUL, the JSON: one message (HMAC() is one call) */
    clen = strlen(collection) + 1;

    msg = malloc(clen + len);
    if (msg == NULL) {
        return -1;
    }

    memcpy(msg, collection, clen);
    memcpy(msg + clen, json, len);

    md = HMAC(EVP_sha256(), key->data, (int) key->len, msg, clen + len, mac,
              &n);
    free(msg);

    return (md != NULL && n == JP_CURSOR_MAC_LEN) ? 0 : -1;
}


char *
jp_search_cursor_encode(json_t *cursor, const char *collection,
    const jp_search_key_t *key)
{
    char           *json, *token, *d;
    size_t          len;
    unsigned char   mac[JP_CURSOR_MAC_LEN];

    if (key == NULL || key->len == 0) {
        return NULL;
    }

    json = json_dumps(cursor, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (json == NULL) {
        return NULL;
    }

    len = strlen(json);

    if (jp_cursor_mac(key, collection, (unsigned char *) json, len, mac)
        != 0)
    {
        free(json);
        return NULL;
    }

    token = malloc((len + 2) / 3 * 4 + 1 + JP_CURSOR_SIG_LEN + 1);
    if (token == NULL) {
        free(json);
        return NULL;
    }

    d = token + jp_b64url_encode(token, (unsigned char *) json, len);
    *d++ = '.';
    d += jp_b64url_encode(d, mac, JP_CURSOR_MAC_LEN);
    *d = '\0';

    free(json);

    return token;
}


static int
jp_cursor_int(json_t *o, const char *key, json_int_t lo, json_int_t hi,
    json_int_t *out)
{
    json_t  *v;

    v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo
        || json_integer_value(v) > hi)
    {
        return -1;
    }

    *out = json_integer_value(v);

    return 0;
}


/*
 * The shape: v 1; q an object; s 1 or 2 keys, the last "_id", each 1 or
 * -1, the same direction; l 1..1000; t >= 0; lv absent or an object of
 * exactly s's keys, each a scalar; d 1 or -1; c absent or 1; nothing
 * else.
 */

static int
jp_cursor_shape(json_t *c)
{
    size_t       n, i;
    json_t      *s, *lv, *v;
    json_int_t   x, dir;
    const char  *key, *last;
    void        *it;

    if (!json_is_object(c)) {
        return -1;
    }

    json_object_foreach(c, key, v) {
        if (strcmp(key, "v") && strcmp(key, "q") && strcmp(key, "s")
            && strcmp(key, "l") && strcmp(key, "t") && strcmp(key, "lv")
            && strcmp(key, "d") && strcmp(key, "c"))
        {
            return -1;
        }
    }

    if (jp_cursor_int(c, "v", 1, 1, &x) != 0
        || !json_is_object(json_object_get(c, "q"))
        || jp_cursor_int(c, "l", 1, JP_SEARCH_LIMIT_MAX, &x) != 0
        || jp_cursor_int(c, "t", 0, (json_int_t) 1 << 53, &x) != 0
        || jp_cursor_int(c, "d", -1, 1, &x) != 0 || x == 0
        || (json_object_get(c, "c") != NULL
            && jp_cursor_int(c, "c", 1, 1, &x) != 0))
    {
        return -1;
    }

    s = json_object_get(c, "s");
    n = json_object_size(s);

    if (!json_is_object(s) || n < 1 || n > 2) {
        return -1;
    }

    dir = 0;
    last = NULL;
    i = 0;

    for (it = json_object_iter(s); it; it = json_object_iter_next(s, it)) {
        v = json_object_iter_value(it);
        last = json_object_iter_key(it);

        if (!json_is_integer(v)
            || (json_integer_value(v) != 1 && json_integer_value(v) != -1)
            || (i++ > 0 && json_integer_value(v) != dir))
        {
            return -1;
        }

        dir = json_integer_value(v);
    }

    if (strcmp(last, "_id") != 0) {
        return -1;
    }

    lv = json_object_get(c, "lv");
    if (lv == NULL) {
        return 0;
    }

    if (!json_is_object(lv) || json_object_size(lv) != n) {
        return -1;
    }

    json_object_foreach(s, key, v) {
        if (!jp_search_ejson_scalar(json_object_get(lv, key))) {
            return -1;
        }
    }

    return 0;
}


json_t *
jp_search_cursor_decode(const char *token, size_t len,
    const char *collection, const jp_search_key_t *keys, size_t nkeys,
    jp_search_error_t *err)
{
    int             ok;
    size_t          i, jlen;
    ssize_t         n;
    json_t         *c;
    const char     *dot;
    unsigned char  *json;
    unsigned char   sig[JP_CURSOR_MAC_LEN + 3], mac[JP_CURSOR_MAC_LEN];

    if (len > JP_SEARCH_CURSOR_MAX) {
        jp_search_error_set(err, "INVALID_CURSOR", "cursor", 6,
                            "the cursor is too long");
        return NULL;
    }

    dot = memchr(token, '.', len);

    if (dot == NULL || dot == token
        || (size_t) (token + len - dot - 1) != JP_CURSOR_SIG_LEN
        || jp_b64url_decode(sig, dot + 1, JP_CURSOR_SIG_LEN)
           != JP_CURSOR_MAC_LEN)
    {
        goto invalid;
    }

    jlen = dot - token;

    json = malloc(jlen / 4 * 3 + 3);
    if (json == NULL) {
        jp_search_error_set(err, NULL, "cursor", 6, "out of memory");
        return NULL;
    }

    n = jp_b64url_decode(json, token, jlen);
    if (n <= 0) {
        free(json);
        goto invalid;
    }

    /* every key, no early exit: the time tells nothing of which matched */

    ok = 0;

    for (i = 0; i < nkeys; i++) {
        if (keys[i].len == 0
            || jp_cursor_mac(&keys[i], collection, json, n, mac) != 0)
        {
            continue;
        }

        ok |= (CRYPTO_memcmp(mac, sig, JP_CURSOR_MAC_LEN) == 0);
    }

    if (!ok) {
        free(json);
        goto invalid;
    }

    c = json_loadb((char *) json, n, JSON_REJECT_DUPLICATES, NULL);
    free(json);

    if (c == NULL || jp_cursor_shape(c) != 0) {
        json_decref(c);
        goto invalid;
    }

    return c;

invalid:

    jp_search_error_set(err, "INVALID_CURSOR", "cursor", 6,
                        "the cursor is invalid, expired or not of this "
                        "search");
    return NULL;
}
