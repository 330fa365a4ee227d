/*
 * jPulse's session cookie and session record (contract 4.3), as
 * express-session 1.17 reads them: the "cookie" package's parser,
 * cookie-signature's unsign over a secret array, connect-redis 7's JSON.
 * Untrusted input throughout: any bytes, any length.
 */

#ifndef JP_SESSION_H
#define JP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>


#define JP_SESSION_COOKIE_MAX   4096    /* a value longer is refused */
#define JP_SESSION_SIG_LEN      43      /* base64(SHA-256) without '=' */
#define JP_SESSION_JSON_MAX     65536   /* a record larger is refused */
#define JP_SESSION_ROLES_MAX    64      /* roles past these are ignored */
#define JP_SESSION_ROLE_MAX     128     /* a longer role is ignored */
#define JP_SESSION_DEFAULT_TTL  86400   /* jPulse's store ttl, seconds */
#define JP_SESSION_DIGEST_LEN   64      /* hex(SHA-256) */


typedef enum {
    JP_SESSION_SID_NONE = 0,    /* no cookie, or an empty one */
    JP_SESSION_SID_INVALID,     /* no "s:", or no secret verifies it */
    JP_SESSION_SID_OK
} jp_session_sid_e;


typedef enum {
    JP_SESSION_PARSE_OK = 0,
    JP_SESSION_PARSE_TOO_BIG,   /* over JP_SESSION_JSON_MAX */
    JP_SESSION_PARSE_BAD,       /* not JSON, or not an object */
    JP_SESSION_PARSE_NOMEM
} jp_session_parse_e;


typedef struct {
    const unsigned char        *data;
    size_t                      len;
} jp_session_secret_t;


/* a string of the record (borrowed from data); len 0: absent */
typedef struct {
    const char                 *data;
    size_t                      len;
} jp_session_str_t;


/*
 * Fields that would reach headers ($jpulse_user_id, ...) and hold a
 * control byte (below 0x20, or 0x7f: CR, LF, NUL and the like) are left
 * out; a role with one, or with a comma (the roles become a comma list),
 * too.
 */
#define JP_SESSION_UNSAFE_ID        0x01
#define JP_SESSION_UNSAFE_USERNAME  0x02
#define JP_SESSION_UNSAFE_ROLE      0x04


typedef struct {
    json_t                     *data;       /* owned: jp_session_free() */
    json_t                     *user;       /* data.user if an object */
    int                         authenticated; /* isAuthenticated === true */
    jp_session_str_t            id;
    jp_session_str_t            username;
    jp_session_str_t            language;
    jp_session_str_t            theme;
    jp_session_str_t            roles[JP_SESSION_ROLES_MAX];
    size_t                      nroles;
    int64_t                     expires_ms;     /* cookie.expires; 0: none */
    int64_t                     max_age_ms;     /* cookie.originalMaxAge */
    int                         has_max_age;
    unsigned                    unsafe;     /* JP_SESSION_UNSAFE_*: fields
                                               left out */
} jp_session_t;


/*
 * The value of cookie name in one Cookie header, as the "cookie" package
 * (0.4) finds it: pairs split at ';', a pair without '=' skipped, the
 * name and value trimmed as JavaScript's trim() does with Latin-1 text,
 * a value starting with '"' loses its first and last characters, and the
 * FIRST pair of that name wins, even an empty one. Several Cookie headers
 * are one joined by "; ": call it for each in order, stop at the first
 * found. Returns 1 when found; the value is raw (not yet decoded).
 */
int jp_session_cookie_find(const unsigned char *header, size_t len,
    const char *name, size_t name_len, const unsigned char **value,
    size_t *value_len);

/*
 * decodeURIComponent() of Latin-1 text, with the cookie parser's
 * fallback: the text as it was when an escape is malformed or the
 * escapes do not make UTF-8. The output is UTF-8 (what Node's HMAC and
 * Redis client see): at most 2 * len bytes.
 */
size_t jp_session_uri_decode(const unsigned char *in, size_t len,
    unsigned char *out);

/*
 * A raw cookie value to a verified session id, as express-session:
 * decoded, empty is no cookie, "s:" required, split at the LAST '.',
 * the part after it equal to base64(HMAC-SHA256(secret, sid)) without
 * '=' for one of the secrets (compared in constant time, every secret
 * tried). buf (2 * JP_SESSION_COOKIE_MAX bytes) receives the decoded
 * value; *sid points into it.
 */
jp_session_sid_e jp_session_verify(const unsigned char *value, size_t len,
    const jp_session_secret_t *secrets, size_t nsecrets, unsigned char *buf,
    const unsigned char **sid, size_t *sid_len);

/* cookie-signature's sign(): out gets JP_SESSION_SIG_LEN characters */
int jp_session_sign(const unsigned char *sid, size_t sid_len,
    const unsigned char *secret, size_t secret_len, char *out);

/*
 * What names a session where its id must not be seen (the revocation
 * event, docs/protocol.md; the module's session cache is keyed by it):
 * SHA-256 of the sid's bytes, lowercase hex. out gets
 * JP_SESSION_DIGEST_LEN characters and a NUL. 0, or -1 (OpenSSL failed).
 */
int jp_session_sid_digest(const unsigned char *sid, size_t sid_len,
    char *out);

/*
 * connect-redis's record: user (an object), user.isAuthenticated (only
 * JSON true), id, username, roles (strings; other items ignored),
 * preferences.language and theme, cookie.expires and originalMaxAge.
 * Fields of a wrong type are absent; id, username and roles as
 * JP_SESSION_UNSAFE_* says. s is zeroed first.
 */
jp_session_parse_e jp_session_parse(const char *json, size_t len,
    jp_session_t *s);

void jp_session_free(jp_session_t *s);

/*
 * The TTL (seconds) connect-redis's touch sets: express-session first
 * resets cookie.expires to now + originalMaxAge, then _getTTL takes
 * ceil((expires - now) / 1000); without a max age the stored expires
 * counts; without either, the store's ttl (a day). May be <= 0.
 */
int64_t jp_session_touch_ttl(const jp_session_t *s, int64_t now_ms);

/* an ISO 8601 date as Date.parse reads toISOString()'s; -1: not one */
int64_t jp_session_iso_ms(const char *p, size_t len);


#endif /* JP_SESSION_H */
