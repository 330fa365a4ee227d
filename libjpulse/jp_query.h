/*
 * A query string as jPulse's templates see it (url.param, Express's
 * req.query for flat names): "a=1&b=x+y&c=%3C" -> {"a":"1","b":"x y",
 * "c":"<"}. Untrusted input: every byte sequence gives a valid object.
 */

#ifndef JP_QUERY_H
#define JP_QUERY_H

#include <stddef.h>

#include <jansson.h>


/*
 * '+' is a space, %XX is decoded (a '%' not followed by two hex digits
 * stays as it is), the last of repeated names wins, an empty name or one
 * holding NUL or bytes that are not UTF-8 is dropped, such bytes in a
 * value become U+FFFD, and at most max pairs are kept. NULL only when out
 * of memory.
 */
json_t *jp_query_parse(const char *args, size_t len, size_t max);

/* a JSON string of p, with U+FFFD for bytes that are not UTF-8 */
json_t *jp_json_string_lossy(const char *p, size_t len);


#endif /* JP_QUERY_H */
