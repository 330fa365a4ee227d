/*
 * A query string as jPulse's templates see it (url.param: Express 4's
 * req.query, the "qs" parser): "a=1&a=2&b[c]=x+y&d=%3C" ->
 * {"a":["1","2"],"b":{"c":"x y"},"d":"<"}. Untrusted input: every byte
 * sequence gives a valid object, bounded in depth and size.
 */

#ifndef JP_QUERY_H
#define JP_QUERY_H

#include <stddef.h>

#include <jansson.h>


/*
 * At most max '&'-separated parts are read (qs: 1000). A part splits at
 * its first "]=", else at its first '='; a name without '=' has "". Names
 * and values: '+' is a space, then %XX is decoded, unless an escape is
 * malformed or the escapes do not make UTF-8 (then the text stays as
 * sent); bytes that are not UTF-8 become U+FFFD. Repeated names give an
 * array; "a[b]" an object, "a[]" and "a[n]" (n <= 20) an array, at most
 * 5 groups deep (the rest is one key); an empty name, "__proto__" and a
 * name holding NUL are dropped. Keys that are array indexes come first in
 * an object, as in JavaScript. NULL only when out of memory.
 */
json_t *jp_query_parse(const char *args, size_t len, size_t max);

/* a JSON string of p, with U+FFFD for bytes that are not UTF-8 */
json_t *jp_json_string_lossy(const char *p, size_t len);


#endif /* JP_QUERY_H */
