/*
 * jPulse's session cookie and record, read as express-session 1.17 (with
 * cookie 0.4, cookie-signature 1.0.6 and connect-redis 7) reads them.
 */

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jp_session.h"


static int jp_session_js_space(unsigned char c);
static size_t jp_session_latin1(const unsigned char *in, size_t len,
    unsigned char *out);
static int jp_session_hex(const unsigned char *p);
static void jp_session_string(json_t *obj, const char *key,
    jp_session_str_t *out);
static int jp_session_header_safe(const char *s, size_t len, int comma);
static void jp_session_header_string(json_t *obj, const char *key,
    jp_session_str_t *out, unsigned *unsafe, unsigned flag);


/* JavaScript's WhiteSpace and LineTerminator among Latin-1 characters */

static int
jp_session_js_space(unsigned char c)
{
    return (c >= 0x09 && c <= 0x0d) || c == ' ' || c == 0xa0;
}


int
jp_session_cookie_find(const unsigned char *header, size_t len,
    const char *name, size_t name_len, const unsigned char **value,
    size_t *value_len)
{
    const unsigned char  *p, *end, *semi, *eq, *k, *ke, *v, *ve;

    p = header;
    end = header + len;

    for ( ;; ) {
        semi = memchr(p, ';', end - p);
        if (semi == NULL) {
            semi = end;
        }

        eq = memchr(p, '=', semi - p);

        if (eq != NULL) {
            k = p;
            ke = eq;

            while (k < ke && jp_session_js_space(*k)) {
                k++;
            }

            while (ke > k && jp_session_js_space(ke[-1])) {
                ke--;
            }

            if ((size_t) (ke - k) == name_len
                && memcmp(k, name, name_len) == 0)
            {
                v = eq + 1;
                ve = semi;

                while (v < ve && jp_session_js_space(*v)) {
                    v++;
                }

                while (ve > v && jp_session_js_space(ve[-1])) {
                    ve--;
                }

                /* val.slice(1, -1): the last character goes, quote or not */
                if (v < ve && *v == '"') {
                    if (ve - v < 2) {
                        ve = v;

                    } else {
                        v++;
                        ve--;
                    }
                }

                *value = v;
                *value_len = ve - v;

                return 1;
            }
        }

        if (semi == end) {
            return 0;
        }

        p = semi + 1;
    }
}


/* Node reads header bytes as Latin-1: each byte is one character */

static size_t
jp_session_latin1(const unsigned char *in, size_t len, unsigned char *out)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        if (in[i] < 0x80) {
            out[n++] = in[i];

        } else {
            out[n++] = 0xc0 | (in[i] >> 6);
            out[n++] = 0x80 | (in[i] & 0x3f);
        }
    }

    return n;
}


static int
jp_session_hex(const unsigned char *p)
{
    int  i, v, c;

    v = 0;

    for (i = 0; i < 2; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;

        } else {
            return -1;
        }

        v = v * 16 + c;
    }

    return v;
}


size_t
jp_session_uri_decode(const unsigned char *in, size_t len,
    unsigned char *out)
{
    int        b, c;
    size_t     i, n, k, need;
    uint32_t   cp, min;

    for (i = 0, n = 0; i < len; /* void */) {

        if (in[i] != '%') {
            n += jp_session_latin1(&in[i], 1, &out[n]);
            i++;
            continue;
        }

        if (len - i < 3 || (b = jp_session_hex(&in[i + 1])) < 0) {
            goto raw;
        }

        i += 3;

        if (b < 0x80) {
            out[n++] = (unsigned char) b;
            continue;
        }

        /* a UTF-8 sequence, every byte of it escaped */

        if ((b & 0xe0) == 0xc0) {
            need = 1;
            cp = b & 0x1f;
            min = 0x80;

        } else if ((b & 0xf0) == 0xe0) {
            need = 2;
            cp = b & 0x0f;
            min = 0x800;

        } else if ((b & 0xf8) == 0xf0) {
            need = 3;
            cp = b & 0x07;
            min = 0x10000;

        } else {
            goto raw;
        }

        out[n] = (unsigned char) b;

        for (k = 1; k <= need; k++) {
            if (len - i < 3 || in[i] != '%'
                || (c = jp_session_hex(&in[i + 1])) < 0
                || (c & 0xc0) != 0x80)
            {
                goto raw;
            }

            cp = (cp << 6) | (c & 0x3f);
            out[n + k] = (unsigned char) c;
            i += 3;
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            goto raw;
        }

        n += need + 1;
    }

    return n;

raw:

    /* URIError: the cookie parser keeps the text as it was */
    return jp_session_latin1(in, len, out);
}


int
jp_session_sign(const unsigned char *sid, size_t sid_len,
    const unsigned char *secret, size_t secret_len, char *out)
{
    unsigned int   md_len;
    unsigned char  md[EVP_MAX_MD_SIZE];
    unsigned char  b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];

    if (HMAC(EVP_sha256(), secret, (int) secret_len, sid, sid_len, md,
             &md_len)
        == NULL || md_len != 32)
    {
        return -1;
    }

    /* 44 characters, the last one '=', which sign() strips */
    if (EVP_EncodeBlock(b64, md, 32) != 44) {
        return -1;
    }

    memcpy(out, b64, JP_SESSION_SIG_LEN);

    return 0;
}


int
jp_session_sid_digest(const unsigned char *sid, size_t sid_len, char *out)
{
    size_t             i;
    unsigned int       md_len;
    unsigned char      md[EVP_MAX_MD_SIZE];
    static const char  hex[] = "0123456789abcdef";

    if (EVP_Digest(sid, sid_len, md, &md_len, EVP_sha256(), NULL) != 1
        || md_len != JP_SESSION_DIGEST_LEN / 2)
    {
        return -1;
    }

    for (i = 0; i < md_len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }

    out[JP_SESSION_DIGEST_LEN] = '\0';

    return 0;
}


jp_session_sid_e
jp_session_verify(const unsigned char *value, size_t len,
    const jp_session_secret_t *secrets, size_t nsecrets, unsigned char *buf,
    const unsigned char **sid, size_t *sid_len)
{
    int                   ok;
    char                  mac[JP_SESSION_SIG_LEN];
    size_t                i, n, slen;
    const unsigned char  *v, *dot, *sig;

    if (len == 0) {
        return JP_SESSION_SID_NONE;
    }

    if (len > JP_SESSION_COOKIE_MAX) {
        return JP_SESSION_SID_INVALID;
    }

    n = jp_session_uri_decode(value, len, buf);

    if (n < 2 || buf[0] != 's' || buf[1] != ':') {
        return JP_SESSION_SID_INVALID;
    }

    v = buf + 2;
    n -= 2;

    dot = NULL;

    for (i = n; i > 0; i--) {
        if (v[i - 1] == '.') {
            dot = &v[i - 1];
            break;
        }
    }

    if (dot == NULL) {
        return JP_SESSION_SID_INVALID;
    }

    slen = dot - v;
    sig = dot + 1;

    if ((size_t) (v + n - sig) != JP_SESSION_SIG_LEN) {
        return JP_SESSION_SID_INVALID;
    }

    /* every secret, no early exit: the time tells nothing of which */

    ok = 0;

    for (i = 0; i < nsecrets; i++) {
        if (jp_session_sign(v, slen, secrets[i].data, secrets[i].len, mac)
            != 0)
        {
            continue;
        }

        ok |= (CRYPTO_memcmp(mac, sig, JP_SESSION_SIG_LEN) == 0);
    }

    if (!ok) {
        return JP_SESSION_SID_INVALID;
    }

    if (slen == 0) {
        /* express-session: an empty id is no session id */
        return JP_SESSION_SID_NONE;
    }

    *sid = v;
    *sid_len = slen;

    return JP_SESSION_SID_OK;
}


static void
jp_session_string(json_t *obj, const char *key, jp_session_str_t *out)
{
    json_t  *j;

    j = json_object_get(obj, key);

    if (json_is_string(j)) {
        out->data = json_string_value(j);
        out->len = json_string_length(j);
    }
}


/* 1: s holds no control byte (nor a comma when comma is set) */
static int
jp_session_header_safe(const char *s, size_t len, int comma)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c < 0x20 || c == 0x7f || (comma && c == ',')) {
            return 0;
        }
    }

    return 1;
}


/* a string that may become a header value, else absent and flagged */
static void
jp_session_header_string(json_t *obj, const char *key, jp_session_str_t *out,
    unsigned *unsafe, unsigned flag)
{
    jp_session_string(obj, key, out);

    if (out->len && !jp_session_header_safe(out->data, out->len, 0)) {
        out->data = NULL;
        out->len = 0;
        *unsafe |= flag;
    }
}


jp_session_parse_e
jp_session_parse(const char *json, size_t len, jp_session_t *s)
{
    double        d;
    size_t        i, n;
    json_t       *data, *user, *roles, *role, *prefs, *cookie, *j;
    json_error_t  err;

    memset(s, 0, sizeof(jp_session_t));

    if (len > JP_SESSION_JSON_MAX) {
        return JP_SESSION_PARSE_TOO_BIG;
    }

    data = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

    if (data == NULL) {
        return json_error_code(&err) == json_error_out_of_memory
               ? JP_SESSION_PARSE_NOMEM : JP_SESSION_PARSE_BAD;
    }

    if (!json_is_object(data)) {
        json_decref(data);
        return JP_SESSION_PARSE_BAD;
    }

    s->data = data;

    cookie = json_object_get(data, "cookie");

    if (json_is_object(cookie)) {
        j = json_object_get(cookie, "expires");

        if (json_is_string(j)) {
            s->expires_ms = jp_session_iso_ms(json_string_value(j),
                                              json_string_length(j));
            if (s->expires_ms < 0) {
                s->expires_ms = 0;
            }
        }

        j = json_object_get(cookie, "originalMaxAge");

        if (json_is_number(j)) {
            d = json_number_value(j);

            /* ten years either way is plenty; past it, doubles misbehave */
            if (d > 315360000000.0) {
                d = 315360000000.0;

            } else if (d < -315360000000.0) {
                d = -315360000000.0;
            }

            s->max_age_ms = (int64_t) d;
            s->has_max_age = 1;
        }
    }

    user = json_object_get(data, "user");

    if (!json_is_object(user)) {
        return JP_SESSION_PARSE_OK;
    }

    s->user = user;
    s->authenticated = json_is_true(json_object_get(user, "isAuthenticated"));

    jp_session_header_string(user, "id", &s->id, &s->unsafe,
                             JP_SESSION_UNSAFE_ID);
    jp_session_header_string(user, "username", &s->username, &s->unsafe,
                             JP_SESSION_UNSAFE_USERNAME);

    prefs = json_object_get(user, "preferences");

    if (json_is_object(prefs)) {
        jp_session_string(prefs, "language", &s->language);
        jp_session_string(prefs, "theme", &s->theme);
    }

    roles = json_object_get(user, "roles");

    if (json_is_array(roles)) {
        n = json_array_size(roles);

        for (i = 0; i < n && s->nroles < JP_SESSION_ROLES_MAX; i++) {
            role = json_array_get(roles, i);

            if (!json_is_string(role)
                || json_string_length(role) == 0
                || json_string_length(role) > JP_SESSION_ROLE_MAX)
            {
                continue;
            }

            if (!jp_session_header_safe(json_string_value(role),
                                        json_string_length(role), 1))
            {
                s->unsafe |= JP_SESSION_UNSAFE_ROLE;
                continue;
            }

            s->roles[s->nroles].data = json_string_value(role);
            s->roles[s->nroles].len = json_string_length(role);
            s->nroles++;
        }
    }

    return JP_SESSION_PARSE_OK;
}


void
jp_session_free(jp_session_t *s)
{
    if (s->data != NULL) {
        json_decref(s->data);
        s->data = NULL;
        s->user = NULL;
    }
}


int64_t
jp_session_touch_ttl(const jp_session_t *s, int64_t now_ms)
{
    int64_t  ms;

    /*
     * The record's own expires does not count: touch() has just set it to
     * now + originalMaxAge; a max age that is not a number clears it, and
     * _getTTL falls back to the store's ttl.
     */

    if (!s->has_max_age) {
        return JP_SESSION_DEFAULT_TTL;
    }

    ms = s->max_age_ms;

    /* Math.ceil(ms / 1000) */
    return ms > 0 ? (ms + 999) / 1000 : -((-ms) / 1000);
}


static int
jp_session_digits(const char *p, size_t n, int *v)
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


int64_t
jp_session_iso_ms(const char *p, size_t len)
{
    int          y, mo, d, h, mi, sec, ms, oh, om, sign, frac;
    size_t       i;
    int64_t      days, t, yy;
    static const int  mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };

    h = mi = sec = ms = 0;

    if (len < 10 || jp_session_digits(p, 4, &y) != 0 || p[4] != '-'
        || jp_session_digits(p + 5, 2, &mo) != 0 || p[7] != '-'
        || jp_session_digits(p + 8, 2, &d) != 0)
    {
        return -1;
    }

    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) {
        return -1;
    }

    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    {
        return -1;
    }

    i = 10;
    sign = 0;
    oh = om = 0;

    if (i < len) {
        if (p[i] != 'T' || len - i < 6
            || jp_session_digits(p + i + 1, 2, &h) != 0 || p[i + 3] != ':'
            || jp_session_digits(p + i + 4, 2, &mi) != 0)
        {
            return -1;
        }

        i += 6;

        if (i < len && p[i] == ':') {
            if (len - i < 3 || jp_session_digits(p + i + 1, 2, &sec) != 0) {
                return -1;
            }

            i += 3;

            if (i < len && p[i] == '.') {
                i++;
                frac = 0;

                /* milliseconds; further digits are read and dropped */
                while (i < len && p[i] >= '0' && p[i] <= '9') {
                    if (frac < 3) {
                        ms = ms * 10 + (p[i] - '0');
                    }

                    frac++;
                    i++;
                }

                if (frac == 0) {
                    return -1;
                }

                for ( /* void */ ; frac < 3; frac++) {
                    ms *= 10;
                }
            }
        }

        if (h > 24 || mi > 59 || sec > 59
            || (h == 24 && (mi != 0 || sec != 0 || ms != 0)))
        {
            return -1;
        }

        /* no zone: local time in Node; jPulse always writes 'Z' */
        if (i < len && p[i] == 'Z') {
            i++;

        } else if (i < len && (p[i] == '+' || p[i] == '-')) {
            sign = p[i] == '-' ? -1 : 1;

            if (len - i < 6 || jp_session_digits(p + i + 1, 2, &oh) != 0
                || p[i + 3] != ':'
                || jp_session_digits(p + i + 4, 2, &om) != 0
                || oh > 23 || om > 59)
            {
                return -1;
            }

            i += 6;
        }
    }

    if (i != len) {
        return -1;
    }

    /* days since 1970-01-01 of a proleptic Gregorian date */
    yy = mo <= 2 ? y - 1 : y;
    days = 365 * yy + yy / 4 - yy / 100 + yy / 400
           + (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1 - 719468;

    t = ((days * 24 + h) * 60 + mi) * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);

    return t * 1000 + ms;
}
