/*
 * jPulse's paginated search (CommonUtils.paginatedSearch, W-080, and the
 * W-141 field filter syntax), with jPulse's bugs fixed: signed cursors,
 * prev that is right from any page, dotted sort keys, bounded limits,
 * escaped wildcards, limits on terms and nesting.
 *
 * Plain C over jansson, no I/O: every MongoDB document here (filters,
 * sorts, documents read) is MongoDB Extended JSON v2, canonical form
 * ({"$oid":"..."}, {"$date":{"$numberLong":"..."}},
 * {"$regularExpression":{"pattern":"...","options":"i"}}), which
 * libbson reads (bson_new_from_json) and writes
 * (bson_as_canonical_extended_json). Unit tests pin the documents.
 */

#ifndef JP_SEARCH_H
#define JP_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>


#define JP_SEARCH_LIMIT_DEFAULT   50
#define JP_SEARCH_LIMIT_MAX       1000
#define JP_SEARCH_REGEX_MAX       200     /* /re/flags source, bytes */
#define JP_SEARCH_TERMS_MAX       50      /* terms of one parameter */
#define JP_SEARCH_AND_MAX         20      /* terms of one AND group */
#define JP_SEARCH_PARAMS_MAX      32      /* filter parameters */
#define JP_SEARCH_CURSOR_MAX      8192    /* a cursor's bytes */
#define JP_SEARCH_KEY_MIN         32      /* a cursor key's bytes */


typedef enum {
    JP_FIELD_STRING = 0,        /* W-141 syntax */
    JP_FIELD_ENUM,              /* exact, only a value of the enum */
    JP_FIELD_ARRAY,             /* comma list: $in */
    JP_FIELD_DATE,              /* YYYY[-MM[-DD]] ranges, else equality */
    JP_FIELD_OBJECTID,          /* 24 hex digits */
    JP_FIELD_NUMBER,
    JP_FIELD_BOOLEAN,
    JP_FIELD_MIXED              /* as sent; 24 hex digits: also ObjectId */
} jp_field_type_e;


typedef struct jp_search_schema_s  jp_search_schema_t;

/*
 * A collection's search schema, from a JSON file (config/search/NAME.json,
 * docs/directives.md says the format): its fields and types, the
 * multi-field parameters (users' "name"), the parameters ignored, the
 * fields never returned, and the collation of exact matches. NULL with
 * err filled (a message naming the file and the field) on any error.
 */
jp_search_schema_t *jp_search_schema_load(const char *path, char *err,
    size_t errlen);
jp_search_schema_t *jp_search_schema_from_json(json_t *def, char *err,
    size_t errlen);
void jp_search_schema_free(jp_search_schema_t *schema);

/* jPulse's "users" and "logs" schemas, built in (conf/search/ has them) */
jp_search_schema_t *jp_search_schema_builtin(const char *name, char *err,
    size_t errlen);


typedef enum {
    JP_SEARCH_CURSOR = 0,
    JP_SEARCH_OFFSET
} jp_search_mode_e;


/* the keys that sign cursors: the first signs, all are accepted */
typedef struct {
    const unsigned char        *data;
    size_t                      len;
} jp_search_key_t;


/* why a request is refused: HTTP 400 with code, the parameter, a message */
typedef struct {
    const char                 *code;       /* "INVALID_CURSOR",
                                               "INVALID_PARAMETER" */
    char                        param[64];
    char                        message[256];
} jp_search_error_t;


/* a search request, parsed */
typedef struct {
    jp_search_mode_e            mode;
    long                        limit;      /* 1..1000 */
    long                        offset;     /* offset mode */
    json_t                     *query;      /* the filter of the params or
                                               the cursor's q */
    json_t                     *sort;       /* normalized, _id last */
    int                         collation;  /* every term exact: en/2 */
    int                         has_cursor; /* a real cursor came */
    int                         direction;  /* 1 forward, -1 backward */
    json_t                     *last;       /* the cursor's lv, or NULL */
    long long                   total;      /* the cursor's t, or -1 */
    json_t                     *collation_spec; /* the schema's, when
                                                   collation is set */
} jp_search_request_t;


/*
 * Parses the query string args (raw, as in the URI: percent-decoded
 * here) of a search on collection with schema. A cursor is verified with
 * keys and bound to collection: a tampered, foreign or garbled one, or
 * one signed by a key no longer listed, fails with INVALID_CURSOR unless
 * lenient (jPulse's silent first-page fallback). 0, or -1 with err
 * filled. jp_search_request_free() in both cases.
 */
int jp_search_parse(const jp_search_schema_t *schema, const char *collection,
    const char *args, size_t len, const jp_search_key_t *keys, size_t nkeys,
    int lenient, jp_search_request_t *req, jp_search_error_t *err);
void jp_search_request_free(jp_search_request_t *req);

/*
 * The find MongoDB must run for req (the page's keyset form: no skip in
 * cursor mode; sort inverted for a backward page), as Extended JSON:
 * *filter, *sort, *limit (limit + 1, to see whether there is more) and
 * *skip (offset mode only). New references; -1 when out of memory.
 */
int jp_search_find(const jp_search_request_t *req, json_t **filter,
    json_t **sort, long *limit, long *skip);

/* the count of the first page (cursor mode) or every offset page */
json_t *jp_search_count_filter(const jp_search_request_t *req);

/* the collation to apply (on every page and count), or NULL */
json_t *jp_search_collation(const jp_search_request_t *req);

/*
 * The answer's "data" and "pagination" from what find returned (docs:
 * an array of canonical Extended JSON documents, in find's order) and
 * the total: rows put back in the page's order, the extra row dropped,
 * fields the schema hides removed, values as jPulse's JSON gives them
 * (ObjectId as its hex string, dates as ISO strings), and the next and
 * prev cursors signed with keys[0] (none when key is NULL). A JSON object
 * {"data":[...],"count":N,"pagination":{...}}; NULL when out of memory.
 */
json_t *jp_search_page(const jp_search_schema_t *schema,
    const char *collection, const jp_search_request_t *req, json_t *docs,
    long long total, const jp_search_key_t *key);

/* one document as jPulse's JSON gives it (hidden fields removed) */
json_t *jp_search_public_doc(const jp_search_schema_t *schema, json_t *doc);


/*
 * The W-141 syntax of one string field's value, as a MongoDB filter on
 * field (Extended JSON); *exact set when every term is an exact match
 * (the collation then applies). NULL with err filled for bad syntax (an
 * invalid /regex/, too many terms).
 */
json_t *jp_search_filter_string(const char *field, const char *value,
    size_t len, int *exact, jp_search_error_t *err);

/* a date field's value: YYYY[-MM[-DD]] as a local-time range, else = */
json_t *jp_search_filter_date(const char *field, const char *value,
    size_t len, jp_search_error_t *err);


/*
 * cursors: base64url(JSON).base64url(HMAC-SHA256(key, collection NUL JSON)),
 * JSON {"v":1,"q":..,"s":..,"l":..,"t":..,"lv":..,"d":..} and "c":1 when
 * the collation applies; decode checks the signature, then the shape
 * (jp_search_parse also checks s against the schema)
 */
char *jp_search_cursor_encode(json_t *cursor, const char *collection,
    const jp_search_key_t *key);
json_t *jp_search_cursor_decode(const char *token, size_t len,
    const char *collection, const jp_search_key_t *keys, size_t nkeys,
    jp_search_error_t *err);


#endif /* JP_SEARCH_H */
