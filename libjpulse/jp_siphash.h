/*
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): a keyed 64-bit hash. Tables whose keys come from clients hash
 * with a secret key, so nobody outside can aim many keys at one chain.
 */

#ifndef JP_SIPHASH_H
#define JP_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define JP_SIPHASH_KEY_LEN  16

typedef struct {
    uint64_t  k0;
    uint64_t  k1;
} jp_siphash_key_t;

/* the key from 16 bytes, read little-endian as the paper does */
void jp_siphash_key(jp_siphash_key_t *key, const unsigned char *bytes);

uint64_t jp_siphash24(const jp_siphash_key_t *key, const void *data,
    size_t len);

#endif /* JP_SIPHASH_H */
