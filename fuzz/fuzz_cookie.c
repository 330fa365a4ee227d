/*
 * libFuzzer target: the Cookie header and the session record are
 * hostile. The first byte picks the secrets; the rest up to a NUL is a
 * Cookie header (found, decoded, verified); what follows is a session
 * record (parsed, its TTL computed). The verified sid must lie inside the
 * decode buffer and equal what was signed; parsed fields must be bounded.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jp_session.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const jp_session_secret_t  secrets[] = {
    { (const unsigned char *) "keyboard cat", 12 },
    { (const unsigned char *) "old secret", 10 },
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                hlen, vlen, sid_len, i;
    char                  mac[JP_SESSION_SIG_LEN];
    jp_session_t          s;
    jp_session_sid_e      rc;
    const uint8_t        *nul, *rec;
    const unsigned char  *v, *sid;
    static unsigned char  buf[2 * JP_SESSION_COOKIE_MAX];

    if (size == 0) {
        return 0;
    }

    nul = memchr(data + 1, '\0', size - 1);
    hlen = (nul ? (size_t) (nul - data) : size) - 1;

    if (jp_session_cookie_find(data + 1, hlen, "connect.sid", 11, &v, &vlen)) {
        if (v < data + 1 || v + vlen > data + 1 + hlen) {
            abort();
        }

        rc = jp_session_verify(v, vlen, secrets, 1 + (data[0] & 1), buf,
                               &sid, &sid_len);

        if (rc == JP_SESSION_SID_OK) {
            if (sid < buf || sid + sid_len > buf + sizeof(buf)
                || sid_len == 0)
            {
                abort();
            }

            /* a forgery found: the sid must really be signed */
            for (i = 0; i < 2; i++) {
                if (jp_session_sign(sid, sid_len, secrets[i].data,
                                    secrets[i].len, mac) == 0
                    && memcmp(mac, sid + sid_len + 1, JP_SESSION_SIG_LEN)
                       == 0)
                {
                    break;
                }
            }

            if (i == 2) {
                abort();
            }
        }
    }

    if (nul == NULL) {
        return 0;
    }

    rec = nul + 1;

    if (jp_session_parse((const char *) rec, data + size - rec, &s)
        == JP_SESSION_PARSE_OK)
    {
        if (s.data == NULL || s.nroles > JP_SESSION_ROLES_MAX) {
            abort();
        }

        for (i = 0; i < s.nroles; i++) {
            if (s.roles[i].len == 0 || s.roles[i].len > JP_SESSION_ROLE_MAX) {
                abort();
            }
        }

        (void) jp_session_touch_ttl(&s, 0);
        jp_session_free(&s);
    }

    return 0;
}
