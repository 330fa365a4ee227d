/*
 * Unit tests: libjpulse/jp_session.c (the session cookie and record as
 * express-session 1.17 reads them). The tables were made with Node
 * running cookie 0.4.2 and cookie-signature 1.0.6 (the versions
 * express-session 1.17.3 pins): cookie.parse(header)["connect.sid"] as
 * UTF-8, and sign(sid, secret).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jp_session.h"


typedef struct {
    const char  *header;
    size_t       len;
    int          found;
    const char  *hex;       /* the decoded value, UTF-8 */
} cookie_vector_t;


typedef struct {
    const char  *sid;
    size_t       sid_len;
    const char  *secret;
    const char  *sig;
} sign_vector_t;


static const cookie_vector_t  cookie_vectors[] = {
    { "connect.sid=abc", 15,
      1, "616263" },
    { " connect.sid = abc ; x=1", 24,
      1, "616263" },
    { "a=1;connect.sid=first;connect.sid=second", 40,
      1, "6669727374" },
    { "connect.sid=;connect.sid=second", 31,
      1, "" },
    { "connect.sid=\x22quoted\x22", 20,
      1, "71756f746564" },
    { "connect.sid=\x22q", 14,
      1, "" },
    { "connect.sid=\x22", 13,
      1, "" },
    { "connect.sid=x\x22", 14,
      1, "7822" },
    { "connect.sidx=1; xconnect.sid=2", 30,
      0, "" },
    { "connect.sid", 11,
      0, "" },
    { "connect.sid;connect.sid=v", 25,
      1, "76" },
    { "connect.sid=a=b=c", 17,
      1, "613d623d63" },
    { "\x09"
      "connect.sid\x09=\x09v\x09", 17,
      1, "76" },
    { "\xa0"
      "connect.sid=\xa0v\xa0", 16,
      1, "76" },
    { "connect.sid=%41%42", 18,
      1, "4142" },
    { "connect.sid=%E2%82%AC", 21,
      1, "e282ac" },
    { "connect.sid=%E2%82", 18,
      1, "254532253832" },
    { "connect.sid=%ZZabc", 18,
      1, "255a5a616263" },
    { "connect.sid=%", 13,
      1, "25" },
    { "connect.sid=%ED%A0%80", 21,
      1, "254544254130253830" },
    { "connect.sid=%C0%80", 18,
      1, "254330253830" },
    { "connect.sid=%F4%90%80%80", 24,
      1, "254634253930253830253830" },
    { "connect.sid=%F0%9F%98%80x", 25,
      1, "f09f988078" },
    { "connect.sid=\xe9t\xe9", 15,
      1, "c3a974c3a9" },
    { "connect.sid=\xe9%41", 16,
      1, "c3a941" },
    { "connect.sid=\xe9%4", 15,
      1, "c3a92534" },
    { "connect.sid=%00", 15,
      1, "00" },
    { "connect.sid=s%3Aabc.def", 23,
      1, "733a6162632e646566" },
    { ";;; ;connect.sid=v;;", 20,
      1, "76" },
    { "Connect.sid=v", 13,
      0, "" },
    { "=v; connect.sid=w", 17,
      1, "77" },
    { "connect.sid =v", 14,
      1, "76" },
};


static const sign_vector_t  sign_vectors[] = {
    { "abc", 3, "keyboard cat",
      "BpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgFU" },
    { "abc", 3, "old secret",
      "rWFQl5VL0ye7zXu/bAuGcPI1EkkF8vLDN0+Lj2b4dmI" },
    { "abc", 3, "\xc3\xa9t\xc3\xa9",
      "nuuJywDAAGAcnfibWwE4/7IyRT531GsFSVkJyf5afiM" },
    { "ZmQ3NjA2YjJhZGI4ZjE0ZjA3NWI2YmQx", 32, "keyboard cat",
      "fBz9NvJNy7a5Q9bUpAQN3eCJIlW/0HXmarQc9PkA8n4" },
    { "ZmQ3NjA2YjJhZGI4ZjE0ZjA3NWI2YmQx", 32, "old secret",
      "C5X2D2qm+8kE8GzpnektLeTsSec6YeeBQl9BfejvIBA" },
    { "ZmQ3NjA2YjJhZGI4ZjE0ZjA3NWI2YmQx", 32, "\xc3\xa9t\xc3\xa9",
      "XXwqCUk8jnynvmDvd7HEv8d1PeRSyN9Dwp8PWc4y6GQ" },
    { "", 0, "keyboard cat",
      "aJcKKTu8Uv0mRiw7LTI435t+pOa+giU/WLAuLCKGEFc" },
    { "", 0, "old secret",
      "e8p0dse6Lk8L9vyhGdjJAsltm84+zLQpRwNui2SRw8c" },
    { "", 0, "\xc3\xa9t\xc3\xa9",
      "L6p2L5L8cqRZfmiqvemx44WhOoFIy/OWdVdehMTa680" },
    { "a.b.c", 5, "keyboard cat",
      "G8ReS2HiYVtvMBGFvZUGp5RaCauWFLUTjnnTm/EQ2aE" },
    { "a.b.c", 5, "old secret",
      "GcPYwU0FZz43PSSoDIXAxF4NDw3iQxr9p7THyFyKauk" },
    { "a.b.c", 5, "\xc3\xa9t\xc3\xa9",
      "uN5+e+DmTyutBVuuwR39O+BQVHeNZCiQCC5b88ULETk" },
    { "\xe2\x82\xac", 3, "keyboard cat",
      "SI2ZsEaUxi+my2xhbS10PGHQ0Pfi9BgoZ1g4u0lKshA" },
    { "\xe2\x82\xac", 3, "old secret",
      "3k7AEIt8g1iOXqfvZUgjAF8IqVKApOk2S6hWb5/osfg" },
    { "\xe2\x82\xac", 3, "\xc3\xa9t\xc3\xa9",
      "kWSdKdcuNDWtY23BZmQqUFAGjFsNL1uYDMfrrWkRjt0" },
    { "x\x00y", 3, "keyboard cat",
      "wqihF5T9N8yqvdvvLihmeHq0rEQwTNHHzK7k/eIUxlw" },
    { "x\x00y", 3, "old secret",
      "dCiOQ5RCltPF3/YubXRhFupguhJ6cnMEHfvbaHG0M9A" },
    { "x\x00y", 3, "\xc3\xa9t\xc3\xa9",
      "caI2zDyx7b8swAual4T0PnL0wLqtMDq5ENfR2/HQyVg" },
};


static void
to_hex(const unsigned char *p, size_t len, char *out)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        sprintf(out + 2 * i, "%02x", p[i]);
    }

    out[2 * len] = '\0';
}


static void
test_cookie_parse(void **state)
{
    int                   found;
    size_t                i, vlen, n;
    char                  hex[512];
    unsigned char         buf[256];
    const unsigned char  *v;

    for (i = 0; i < sizeof(cookie_vectors) / sizeof(cookie_vectors[0]); i++) {
        const cookie_vector_t  *cv = &cookie_vectors[i];

        found = jp_session_cookie_find((const unsigned char *) cv->header,
                                       cv->len, "connect.sid", 11, &v, &vlen);
        if (found != cv->found) {
            fail_msg("vector %zu: found %d", i, found);
        }

        if (!found) {
            continue;
        }

        n = jp_session_uri_decode(v, vlen, buf);
        to_hex(buf, n, hex);

        if (strcmp(hex, cv->hex) != 0) {
            fail_msg("vector %zu: %s, want %s", i, hex, cv->hex);
        }
    }
}


static void
test_sign(void **state)
{
    size_t  i;
    char    mac[JP_SESSION_SIG_LEN + 1];

    for (i = 0; i < sizeof(sign_vectors) / sizeof(sign_vectors[0]); i++) {
        const sign_vector_t  *sv = &sign_vectors[i];

        assert_int_equal(jp_session_sign((const unsigned char *) sv->sid,
                                         sv->sid_len,
                                         (const unsigned char *) sv->secret,
                                         strlen(sv->secret), mac), 0);
        mac[JP_SESSION_SIG_LEN] = '\0';
        assert_string_equal(mac, sv->sig);
    }
}


/* the vectors: sha256sum of the same bytes (printf '...' | sha256sum) */

static void
test_sid_digest(void **state)
{
    char  out[JP_SESSION_DIGEST_LEN + 1];

    assert_int_equal(jp_session_sid_digest(
        (const unsigned char *) "sc000000000000000000000000000001", 32,
        out), 0);
    assert_string_equal(out, "f9465950ec2785a1f109b332ea8b8704"
                             "ead16b7ab748a02437ea5d9498944123");

    assert_int_equal(jp_session_sid_digest((const unsigned char *) "", 0,
                                           out), 0);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb924"
                             "27ae41e4649b934ca495991b7852b855");

    /* bytes, not a C string */
    assert_int_equal(jp_session_sid_digest((const unsigned char *) "a\0b", 3,
                                           out), 0);
    assert_string_equal(out, "59b271ae1bbcb1d31d41929817f4b16f"
                             "b439eb4f31520b5ad1d5ce98920a7138");
}


static jp_session_secret_t  secrets[] = {
    { (const unsigned char *) "keyboard cat", 12 },
    { (const unsigned char *) "old secret", 10 },
};


static jp_session_sid_e
verify(const char *value, size_t nsecrets, char *sid_out)
{
    size_t                sid_len;
    jp_session_sid_e      rc;
    const unsigned char  *sid;
    static unsigned char  buf[2 * JP_SESSION_COOKIE_MAX];

    rc = jp_session_verify((const unsigned char *) value, strlen(value),
                           secrets, nsecrets, buf, &sid, &sid_len);

    if (rc == JP_SESSION_SID_OK && sid_out != NULL) {
        memcpy(sid_out, sid, sid_len);
        sid_out[sid_len] = '\0';
    }

    return rc;
}


#define SIG_ABC  "BpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgFU"
#define SIG_ABC_ENC  "BpxCrWRpvZMh%2Fwk%2Fdjl34N%2Bm%2BVQEU7K%2F5WenLwJCgFU"
#define SIG_ABC_OLD  "rWFQl5VL0ye7zXu/bAuGcPI1EkkF8vLDN0+Lj2b4dmI"


static void
test_verify(void **state)
{
    char  sid[64];

    assert_int_equal(verify("s:abc." SIG_ABC, 2, sid), JP_SESSION_SID_OK);
    assert_string_equal(sid, "abc");

    /* as the browser sends it: encodeURIComponent */
    assert_int_equal(verify("s%3Aabc." SIG_ABC_ENC, 2, sid),
                     JP_SESSION_SID_OK);
    assert_string_equal(sid, "abc");

    /* the second secret verifies too; without it, no */
    assert_int_equal(verify("s:abc." SIG_ABC_OLD, 2, sid), JP_SESSION_SID_OK);
    assert_int_equal(verify("s:abc." SIG_ABC_OLD, 1, sid),
                     JP_SESSION_SID_INVALID);

    /* the last '.' splits: "a.b.c" is the sid */
    assert_int_equal(verify("s:a.b.c.G8ReS2HiYVtvMBGFvZUGp5RaCauWFLUTjnnTm"
                            "/EQ2aE", 1, sid), JP_SESSION_SID_OK);
    assert_string_equal(sid, "a.b.c");

    /* empty: no cookie; an empty sid is none either (express-session) */
    assert_int_equal(verify("", 2, NULL), JP_SESSION_SID_NONE);
    assert_int_equal(verify("s:.aJcKKTu8Uv0mRiw7LTI435t+pOa+giU/WLAuLCKGEFc",
                            1, NULL), JP_SESSION_SID_NONE);

    /* unsigned, no dot, a '=' kept, truncated, bit flips, case */
    assert_int_equal(verify("abc." SIG_ABC, 2, NULL), JP_SESSION_SID_INVALID);
    assert_int_equal(verify("S:abc." SIG_ABC, 2, NULL),
                     JP_SESSION_SID_INVALID);
    assert_int_equal(verify("s:abc", 2, NULL), JP_SESSION_SID_INVALID);
    assert_int_equal(verify("s:abc." SIG_ABC "=", 2, NULL),
                     JP_SESSION_SID_INVALID);
    assert_int_equal(verify("s:abc.BpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgF",
                            2, NULL), JP_SESSION_SID_INVALID);
    assert_int_equal(verify("s:abd." SIG_ABC, 2, NULL),
                     JP_SESSION_SID_INVALID);
    assert_int_equal(verify("s:abc.CpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgFU",
                            2, NULL), JP_SESSION_SID_INVALID);
    assert_int_equal(verify("s:abc.BpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgFV",
                            2, NULL), JP_SESSION_SID_INVALID);
    assert_int_equal(verify("s:abc." SIG_ABC, 0, NULL),
                     JP_SESSION_SID_INVALID);
}


static void
test_verify_limits(void **state)
{
    char          *big;
    size_t         sid_len;
    unsigned char  buf[2 * JP_SESSION_COOKIE_MAX];
    const unsigned char  *sid;

    big = malloc(JP_SESSION_COOKIE_MAX + 2);
    assert_non_null(big);

    memset(big, 'a', JP_SESSION_COOKIE_MAX + 1);
    memcpy(big, "s:", 2);

    assert_int_equal(jp_session_verify((unsigned char *) big,
                                       JP_SESSION_COOKIE_MAX + 1, secrets, 2,
                                       buf, &sid, &sid_len),
                     JP_SESSION_SID_INVALID);

    /* at the limit: read (and refused), every byte of buf in bounds */
    memset(big, 0xff, JP_SESSION_COOKIE_MAX);
    assert_int_equal(jp_session_verify((unsigned char *) big,
                                       JP_SESSION_COOKIE_MAX, secrets, 2,
                                       buf, &sid, &sid_len),
                     JP_SESSION_SID_INVALID);

    free(big);
}


static void
test_parse(void **state)
{
    jp_session_t  s;
    const char   *rec;

    rec = "{\"cookie\":{\"originalMaxAge\":3600000,"
          "\"expires\":\"2026-12-03T16:00:00.250Z\"},"
          "\"user\":{\"id\":\"64b7\",\"username\":\"jdoe\","
          "\"roles\":[\"user\",1,null,\"\",\"admin\"],"
          "\"preferences\":{\"language\":\"de\",\"theme\":\"dark\"},"
          "\"isAuthenticated\":true}}";

    assert_int_equal(jp_session_parse(rec, strlen(rec), &s),
                     JP_SESSION_PARSE_OK);
    assert_true(s.authenticated);
    assert_int_equal(s.id.len, 4);
    assert_memory_equal(s.id.data, "64b7", 4);
    assert_memory_equal(s.username.data, "jdoe", 4);
    assert_memory_equal(s.language.data, "de", 2);
    assert_memory_equal(s.theme.data, "dark", 4);
    assert_int_equal(s.nroles, 2);
    assert_memory_equal(s.roles[1].data, "admin", 5);
    assert_int_equal(s.expires_ms, 1796313600250LL);
    assert_int_equal(jp_session_touch_ttl(&s, 0), 3600);
    jp_session_free(&s);

    /* only JSON true signs in */
    rec = "{\"user\":{\"isAuthenticated\":1}}";
    assert_int_equal(jp_session_parse(rec, strlen(rec), &s),
                     JP_SESSION_PARSE_OK);
    assert_false(s.authenticated);
    assert_int_equal(jp_session_touch_ttl(&s, 0), JP_SESSION_DEFAULT_TTL);
    jp_session_free(&s);

    rec = "{\"user\":\"x\"}";
    assert_int_equal(jp_session_parse(rec, strlen(rec), &s),
                     JP_SESSION_PARSE_OK);
    assert_null(s.user);
    jp_session_free(&s);

    rec = "[1]";
    assert_int_equal(jp_session_parse(rec, strlen(rec), &s),
                     JP_SESSION_PARSE_BAD);
    rec = "\"s\"";
    assert_int_equal(jp_session_parse(rec, strlen(rec), &s),
                     JP_SESSION_PARSE_BAD);
    rec = "{\"user\":";
    assert_int_equal(jp_session_parse(rec, strlen(rec), &s),
                     JP_SESSION_PARSE_BAD);
    assert_int_equal(jp_session_parse("{}", JP_SESSION_JSON_MAX + 1, &s),
                     JP_SESSION_PARSE_TOO_BIG);
}


static void
test_parse_header_unsafe(void **state)
{
    jp_session_t  s;
    const char   *rec;

    /* CR LF, NUL, DEL: the fields would become headers; a comma role
       would split in the comma list */
    rec = "{\"user\":{\"id\":\"64b7\\r\\nX: 1\","
          "\"username\":\"jdoe\\u007f\","
          "\"roles\":[\"user\",\"a\\u0000\",\"editor,admin\","
          "\"x\\ty\",\"j\\u00f6rg\",\"admin\"],"
          "\"isAuthenticated\":true}}";

    assert_int_equal(jp_session_parse(rec, strlen(rec), &s),
                     JP_SESSION_PARSE_OK);
    assert_true(s.authenticated);
    assert_int_equal(s.id.len, 0);
    assert_null(s.id.data);
    assert_int_equal(s.username.len, 0);
    assert_int_equal(s.unsafe, JP_SESSION_UNSAFE_ID
                               | JP_SESSION_UNSAFE_USERNAME
                               | JP_SESSION_UNSAFE_ROLE);
    assert_int_equal(s.nroles, 3);
    assert_memory_equal(s.roles[0].data, "user", 4);
    assert_int_equal(s.roles[1].len, 5);
    assert_memory_equal(s.roles[1].data, "j\xc3\xb6rg", 5);
    assert_memory_equal(s.roles[2].data, "admin", 5);
    jp_session_free(&s);

    rec = "{\"user\":{\"id\":\"a b\",\"username\":\"~\","
          "\"roles\":[\"user\"]}}";

    assert_int_equal(jp_session_parse(rec, strlen(rec), &s),
                     JP_SESSION_PARSE_OK);
    assert_int_equal(s.unsafe, 0);
    assert_int_equal(s.id.len, 3);
    assert_int_equal(s.username.len, 1);
    jp_session_free(&s);
}


static void
test_parse_roles_bound(void **state)
{
    char          *rec, *p;
    size_t         i;
    jp_session_t   s;

    rec = malloc(16 * 1000 + 100);
    assert_non_null(rec);

    p = rec + sprintf(rec, "{\"user\":{\"isAuthenticated\":true,\"roles\":[");

    for (i = 0; i < 1000; i++) {
        p += sprintf(p, "%s\"r%zu\"", i ? "," : "", i);
    }

    p += sprintf(p, "]}}");

    assert_int_equal(jp_session_parse(rec, p - rec, &s), JP_SESSION_PARSE_OK);
    assert_int_equal(s.nroles, JP_SESSION_ROLES_MAX);
    jp_session_free(&s);
    free(rec);
}


static void
test_touch_ttl(void **state)
{
    jp_session_t  s;

    memset(&s, 0, sizeof(s));
    s.has_max_age = 1;

    s.max_age_ms = 3600000;
    assert_int_equal(jp_session_touch_ttl(&s, 0), 3600);
    s.max_age_ms = 1500;
    assert_int_equal(jp_session_touch_ttl(&s, 0), 2);
    s.max_age_ms = 0;
    assert_int_equal(jp_session_touch_ttl(&s, 0), 0);
    s.max_age_ms = -1500;
    assert_int_equal(jp_session_touch_ttl(&s, 0), -1);

    s.has_max_age = 0;
    assert_int_equal(jp_session_touch_ttl(&s, 0), 86400);
}


static void
test_iso(void **state)
{
#define ISO(s)  jp_session_iso_ms(s, strlen(s))
    assert_int_equal(ISO("1970-01-01T00:00:00.000Z"), 0);
    assert_int_equal(ISO("2026-12-03T16:00:00.250Z"), 1796313600250LL);
    assert_int_equal(ISO("2026-12-03T16:00:00Z"), 1796313600000LL);
    assert_int_equal(ISO("2026-12-03T17:00:00+01:00"), 1796313600000LL);
    assert_int_equal(ISO("2026-12-03T16:00Z"), 1796313600000LL);
    assert_int_equal(ISO("2024-02-29T00:00:00.000Z"), 1709164800000LL);
    assert_int_equal(ISO("2026-12-03"), 1796256000000LL);
    assert_int_equal(ISO("2026-12-03T16:00:00.1Z"), 1796313600100LL);
    assert_int_equal(ISO("2025-02-29T00:00:00Z"), -1);
    assert_int_equal(ISO("2026-13-01T00:00:00Z"), -1);
    assert_int_equal(ISO("2026-12-03T16:00:00.Z"), -1);
    assert_int_equal(ISO("2026-12-03T16:00:00Zx"), -1);
    assert_int_equal(ISO("yesterday"), -1);
    assert_int_equal(ISO(""), -1);
#undef ISO
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_cookie_parse),
        cmocka_unit_test(test_sign),
        cmocka_unit_test(test_sid_digest),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_verify_limits),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_roles_bound),
        cmocka_unit_test(test_parse_header_unsafe),
        cmocka_unit_test(test_touch_ttl),
        cmocka_unit_test(test_iso),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
