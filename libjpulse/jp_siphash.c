/*
 * SipHash-2-4 as the paper specifies it: four 64-bit words of state
 * initialised from the key and constants, 2 SipRounds per 8-byte
 * little-endian message word, the last word padded with the length's low
 * byte in its top byte, then 4 SipRounds after xoring 0xff into v2.
 */

#include "jp_siphash.h"


#define JP_SIP_ROTL(x, b)  (((x) << (b)) | ((x) >> (64 - (b))))


static uint64_t
jp_sip_le64(const unsigned char *p)
{
    return (uint64_t) p[0] | (uint64_t) p[1] << 8 | (uint64_t) p[2] << 16
           | (uint64_t) p[3] << 24 | (uint64_t) p[4] << 32
           | (uint64_t) p[5] << 40 | (uint64_t) p[6] << 48
           | (uint64_t) p[7] << 56;
}


static void
jp_sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = JP_SIP_ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = JP_SIP_ROTL(v[0], 32);

    v[2] += v[3];
    v[3] = JP_SIP_ROTL(v[3], 16);
    v[3] ^= v[2];

    v[0] += v[3];
    v[3] = JP_SIP_ROTL(v[3], 21);
    v[3] ^= v[0];

    v[2] += v[1];
    v[1] = JP_SIP_ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = JP_SIP_ROTL(v[2], 32);
}


void
jp_siphash_key(jp_siphash_key_t *key, const unsigned char *bytes)
{
    key->k0 = jp_sip_le64(bytes);
    key->k1 = jp_sip_le64(bytes + 8);
}


uint64_t
jp_siphash24(const jp_siphash_key_t *key, const void *data, size_t len)
{
    size_t                i, tail;
    uint64_t              v[4], m;
    const unsigned char  *p;

    p = data;

    v[0] = key->k0 ^ 0x736f6d6570736575ULL;
    v[1] = key->k1 ^ 0x646f72616e646f6dULL;
    v[2] = key->k0 ^ 0x6c7967656e657261ULL;
    v[3] = key->k1 ^ 0x7465646279746573ULL;

    for (i = 0; i + 8 <= len; i += 8) {
        m = jp_sip_le64(p + i);

        v[3] ^= m;
        jp_sip_round(v);
        jp_sip_round(v);
        v[0] ^= m;
    }

    /* the remaining 0..7 bytes, and the length mod 256 on top */
    m = (uint64_t) (len & 0xff) << 56;

    for (tail = 0; i + tail < len; tail++) {
        m |= (uint64_t) p[i + tail] << (8 * tail);
    }

    v[3] ^= m;
    jp_sip_round(v);
    jp_sip_round(v);
    v[0] ^= m;

    v[2] ^= 0xff;

    for (i = 0; i < 4; i++) {
        jp_sip_round(v);
    }

    return v[0] ^ v[1] ^ v[2] ^ v[3];
}
