/*
 * BSON straight to jansson: the json_t tree that
 * json_loadb(bson_as_canonical_extended_json(doc), JSON_ALLOW_NUL) builds,
 * without the text in between (two thirds of a search page's CPU was
 * printing the text one character at a time and parsing it back).
 * Plain C over libbson and jansson.
 */

#ifndef JP_BSON_JSON_H
#define JP_BSON_JSON_H

#include <bson.h>
#include <jansson.h>


#define JP_BSON_JSON_OK        0
#define JP_BSON_JSON_FALLBACK  1   /* not converted: take the text path */
#define JP_BSON_JSON_NOMEM    -1


/*
 * The direct path alone. FALLBACK where the text path does something
 * this one does not copy: a string or key that is not strict UTF-8
 * (libbson transcodes it byte by byte, lossily, or refuses it), nesting
 * deeper than JP_BSON_JSON_DEPTH (libbson prints "{ ... }" at 200, which
 * then does not parse), corrupt BSON, an unknown type. *out is set on OK.
 */
#define JP_BSON_JSON_DEPTH     100

int jp_bson_json_direct(const bson_t *doc, json_t **out);

/*
 * Canonical Extended JSON as a json_t: the direct path, or the text path
 * where the direct one falls back (*fallback then 1, if not NULL). NULL
 * where the text path gives nothing (corrupt BSON, text jansson refuses)
 * or memory ran out.
 */
json_t *jp_bson_json(const bson_t *doc, int *fallback);

/* the text path: json_loadb(bson_as_canonical_extended_json(doc)) */
json_t *jp_bson_json_text(const bson_t *doc);

#endif /* JP_BSON_JSON_H */
