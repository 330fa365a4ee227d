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
#define JP_BSON_JSON_DEEP     -2   /* refused: nested JP_BSON_JSON_DEPTH deep */

/* why jp_bson_json() gave NULL (jp_bson_json_info_t.error) */
#define JP_BSON_JSON_EBSON     1   /* corrupt BSON: libbson printed nothing */
#define JP_BSON_JSON_EDEPTH    2   /* nested too deep, $scope counted in */
#define JP_BSON_JSON_ENOMEM    3
#define JP_BSON_JSON_ETEXT     4   /* jansson refused libbson's text */


typedef struct {
    size_t  bytes;      /* added to: jp_bson_json_size() of each tree */
    int     fallback;   /* the last document took the text path */
    int     error;      /* JP_BSON_JSON_E*, 0 when a tree came back */
    char    text[160];  /* jansson's reason on JP_BSON_JSON_ETEXT */
} jp_bson_json_info_t;


/*
 * The direct path alone. FALLBACK where the text path does something
 * this one does not copy: a string or key that is not strict UTF-8
 * (libbson transcodes it byte by byte, lossily, or refuses it), corrupt
 * BSON, an unknown type. DEEP (never the text path) for a document
 * nested JP_BSON_JSON_DEPTH deep: libbson prints "{ ... }" there, which
 * does not parse, and it starts counting again inside every code with
 * scope, so its recursion is bounded only by the document's size (30,000
 * nested scopes overflow a thread's stack); here every document and
 * $scope counts towards the one depth. *out is set on OK.
 */
#define JP_BSON_JSON_DEPTH     200

int jp_bson_json_direct(const bson_t *doc, json_t **out);


/*
 * Canonical Extended JSON as a json_t: the direct path, or the text path
 * where the direct one falls back (info->fallback then 1). NULL where the
 * text path gives nothing (corrupt BSON, text jansson refuses), the
 * document is too deep, or memory ran out: info->error says which. On
 * success info->bytes grows by jp_bson_json_size() of the tree. info may
 * be NULL.
 */
json_t *jp_bson_json(const bson_t *doc, jp_bson_json_info_t *info);

/*
 * About the bytes of malloc'ed memory a tree holds: a fixed cost per
 * json_t, measured with glibc's mallinfo2() over jansson 2.14 on x86-64
 * (chunk overhead included), plus its keys and strings. Shared values
 * (true, false, null) cost nothing; a value referenced twice is counted
 * twice.
 */
#define JP_BSON_JSON_COST_OBJECT  224  /* json_object_t + 8 buckets */
#define JP_BSON_JSON_COST_MEMBER   72  /* + key length: hashtable pair */
#define JP_BSON_JSON_COST_ARRAY   128  /* json_array_t + 8 slots */
#define JP_BSON_JSON_COST_SLOT     16  /* an array element, growth room */
#define JP_BSON_JSON_COST_STRING   64  /* + length: json_string_t, copy */
#define JP_BSON_JSON_COST_NUMBER   32  /* json_integer_t, json_real_t */

size_t jp_bson_json_size(const json_t *v);

/* the text path: json_loadb(bson_as_canonical_extended_json(doc)) */
json_t *jp_bson_json_text(const bson_t *doc);

#endif /* JP_BSON_JSON_H */
