/*
 * JSON string escaping.
 *
 * Output is safe to embed in HTML <script> blocks too: < > & and the JS
 * line separators are written as \u escapes, and invalid UTF-8 becomes
 * U+FFFD, so reflected request data can never break out of a string.
 */

#ifndef JP_JSON_H
#define JP_JSON_H

#include <stddef.h>

/* Bytes jp_json_escape() writes for src (without quotes). */
size_t jp_json_escape_len(const unsigned char *src, size_t len);

/*
 * Writes the escaped form of src to dst, which must hold
 * jp_json_escape_len(src, len) bytes; returns the end of what was written.
 */
unsigned char *jp_json_escape(unsigned char *dst, const unsigned char *src,
    size_t len);

/*
 * Length of the valid UTF-8 sequence at p (1..4), or 0 when the bytes at p
 * are not valid UTF-8 (overlong forms, surrogates, > U+10FFFF, truncated).
 */
size_t jp_utf8_sequence_len(const unsigned char *p, const unsigned char *end);

#endif /* JP_JSON_H */
