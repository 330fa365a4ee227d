/*
 * What the jp_search*.c files share: the schema in memory, the W-141
 * term tree, Extended JSON helpers.
 */

#ifndef JP_SEARCH_INT_H
#define JP_SEARCH_INT_H

#include "jp_search.h"


#define JP_SEARCH_FIELDS_MAX   128     /* fields of one schema */
#define JP_SEARCH_NAME_MAX     63      /* a field's dotted path, bytes */
#define JP_SEARCH_ENUM_MAX     64      /* values of one enum */
#define JP_SEARCH_MULTI_MAX    8       /* fields of one multi-field param */
#define JP_SEARCH_PAIRS_MAX    64      /* '&' parts of a query string */


typedef struct {
    char                        name[JP_SEARCH_NAME_MAX + 1];
    jp_field_type_e             type;
    unsigned                    is_enum:1;
    unsigned                    sortable:1;
    unsigned                    filter:1;
    json_t                     *values;     /* the enum, or NULL */
} jp_search_field_t;


typedef struct {
    char                        name[JP_SEARCH_NAME_MAX + 1];
    size_t                      nfields;
    char                        fields[JP_SEARCH_MULTI_MAX]
                                      [JP_SEARCH_NAME_MAX + 1];
} jp_search_multi_t;


struct jp_search_schema_s {
    size_t                      nfields;
    jp_search_field_t          *fields;
    size_t                      nmulti;
    jp_search_multi_t          *multi;
    json_t                     *ignore;     /* array of names */
    json_t                     *hidden;     /* array of dotted paths */
    json_t                     *collation;  /* object */
};


const jp_search_field_t *jp_search_schema_field(
    const jp_search_schema_t *schema, const char *name, size_t len);
const jp_search_multi_t *jp_search_schema_multi(
    const jp_search_schema_t *schema, const char *name, size_t len);
int jp_search_schema_ignored(const jp_search_schema_t *schema,
    const char *name, size_t len);
int jp_search_schema_hidden(const jp_search_schema_t *schema,
    const char *path);


/* the filter of one parameter's value for its schema field */
json_t *jp_search_filter_field(const jp_search_field_t *f, const char *value,
    size_t len, int *exact, jp_search_error_t *err);

/* the W-141 value of a multi-field parameter (users' "name") */
json_t *jp_search_filter_multi(const jp_search_multi_t *m, const char *value,
    size_t len, int *exact, jp_search_error_t *err);

/*
 * jPulse's merge of the parameters' filters (_mergeFieldQueries): plain
 * conditions side by side, one $or group beside them, else everything in
 * one $and. Steals the references of parts.
 */
json_t *jp_search_filter_merge(json_t *parts);


/* {"$date":{"$numberLong":"ms"}} */
json_t *jp_search_ejson_date(int64_t ms);

/* canonical Extended JSON of a number: $numberInt, $numberLong, $numberDouble */
json_t *jp_search_ejson_number(double d);

/* is v a scalar as canonical Extended JSON may write one (sort values) */
int jp_search_ejson_scalar(json_t *v);

/* the value at a dotted path of doc, or NULL (missing) */
json_t *jp_search_path_get(json_t *doc, const char *path);


/* white space off both ends (JavaScript's trim, ASCII) */
void jp_search_trim(const char **p, size_t *len);

void jp_search_error_set(jp_search_error_t *err, const char *code,
    const char *param, size_t plen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));


#endif /* JP_SEARCH_INT_H */
