/*
 * Search schemas (docs/directives.md, "Search schemas"): which fields a
 * search may filter and sort on, with which type; the multi-field
 * parameters; the parameters ignored; the fields never returned. A field
 * not in the schema is neither filtered (jPulse ignores it) nor sorted on
 * (400): a hidden field such as passwordHash can be neither, so no search
 * can be turned into an oracle on it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_search_int.h"


static int jp_search_schema_name_ok(const char *name);
static int jp_search_schema_field_load(jp_search_field_t *f,
    const char *name, json_t *def, char *err, size_t errlen);
static int jp_search_schema_strings(json_t *def, const char *key,
    json_t **out, char *err, size_t errlen);


static const char  jp_search_schema_users[] =
    "{\"fields\":{"
    "\"_id\":\"objectid\","
    "\"username\":\"string\","
    "\"uuid\":\"string\","
    "\"email\":\"string\","
    "\"profile.firstName\":\"string\","
    "\"profile.lastName\":\"string\","
    "\"profile.nickName\":\"string\","
    "\"profile.avatar\":\"string\","
    "\"roles\":{\"type\":\"array\",\"enum\":[\"user\",\"admin\",\"root\"]},"
    "\"preferences.language\":\"string\","
    "\"preferences.theme\":{\"type\":\"string\","
    "\"enum\":[\"light\",\"dark\"]},"
    "\"status\":{\"type\":\"string\",\"enum\":[\"pending\",\"active\","
    "\"inactive\",\"suspended\",\"terminated\"]},"
    "\"lastLogin\":\"date\","
    "\"loginCount\":\"number\","
    "\"createdAt\":\"date\","
    "\"updatedAt\":\"date\","
    "\"updatedBy\":\"string\","
    "\"docVersion\":\"number\","
    "\"saveCount\":\"number\"},"
    "\"ignore\":[\"limit\",\"offset\",\"sort\",\"cursor\",\"password\","
    "\"passwordHash\",\"name\"],"
    "\"multi\":{\"name\":[\"profile.firstName\",\"profile.lastName\","
    "\"username\"]},"
    "\"hidden\":[\"passwordHash\"],"
    "\"collation\":{\"locale\":\"en\",\"strength\":2}}";

static const char  jp_search_schema_logs[] =
    "{\"fields\":{"
    "\"_id\":\"objectid\","
    "\"data.docId\":\"mixed\","
    "\"data.docType\":\"string\","
    "\"data.action\":{\"type\":\"string\","
    "\"enum\":[\"create\",\"update\",\"delete\"]},"
    "\"data.changes\":\"array\","
    "\"createdAt\":\"date\","
    "\"createdBy\":\"string\","
    "\"docVersion\":\"number\"},"
    "\"ignore\":[\"limit\",\"offset\",\"sort\",\"cursor\"],"
    "\"hidden\":[],"
    "\"collation\":{\"locale\":\"en\",\"strength\":2}}";


static const struct {
    const char                 *name;
    jp_field_type_e             type;
} jp_search_types[] = {
    { "string",   JP_FIELD_STRING },
    { "array",    JP_FIELD_ARRAY },
    { "date",     JP_FIELD_DATE },
    { "objectid", JP_FIELD_OBJECTID },
    { "number",   JP_FIELD_NUMBER },
    { "boolean",  JP_FIELD_BOOLEAN },
    { "mixed",    JP_FIELD_MIXED },
};


static void
jp_search_schema_err(char *err, size_t errlen, const char *fmt,
    const char *a, const char *b)
{
    if (errlen) {
        snprintf(err, errlen, fmt, a, b);
    }
}


jp_search_schema_t *
jp_search_schema_load(const char *path, char *err, size_t errlen)
{
    size_t               n;
    json_t              *def;
    json_error_t         jerr;
    jp_search_schema_t  *schema;

    def = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (def == NULL) {
        if (errlen) {
            snprintf(err, errlen, "search schema \"%s\", line %d: %s",
                     path, jerr.line, jerr.text);
        }

        return NULL;
    }

    schema = jp_search_schema_from_json(def, err, errlen);
    json_decref(def);

    if (schema == NULL && errlen) {
        /* the message names the field; prefix the file */
        n = strlen(err);
        if (n + strlen(path) + 24 < errlen) {
            memmove(err + strlen(path) + 18, err, n + 1);
            memcpy(err, "search schema \"", 15);
            memcpy(err + 15, path, strlen(path));
            memcpy(err + 15 + strlen(path), "\": ", 3);
        }
    }

    return schema;
}


jp_search_schema_t *
jp_search_schema_builtin(const char *name, char *err, size_t errlen)
{
    const char          *text;
    json_t              *def;
    jp_search_schema_t  *schema;

    if (strcmp(name, "users") == 0) {
        text = jp_search_schema_users;

    } else if (strcmp(name, "logs") == 0) {
        text = jp_search_schema_logs;

    } else {
        jp_search_schema_err(err, errlen, "no built-in search schema \"%s\"%s",
                             name, "");
        return NULL;
    }

    def = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (def == NULL) {
        jp_search_schema_err(err, errlen, "out of memory%s%s", "", "");
        return NULL;
    }

    schema = jp_search_schema_from_json(def, err, errlen);
    json_decref(def);

    return schema;
}


/* a dotted path of [A-Za-z0-9_-] segments, no '$', bounded */

static int
jp_search_schema_name_ok(const char *name)
{
    size_t       len, seg;
    const char  *p;

    len = strlen(name);
    if (len == 0 || len > JP_SEARCH_NAME_MAX) {
        return 0;
    }

    seg = 0;

    for (p = name; *p; p++) {
        if (*p == '.') {
            if (seg == 0) {
                return 0;
            }

            seg = 0;
            continue;
        }

        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
        {
            return 0;
        }

        seg++;
    }

    return seg > 0;
}


static int
jp_search_schema_field_load(jp_search_field_t *f, const char *name,
    json_t *def, char *err, size_t errlen)
{
    size_t       i;
    json_t      *t, *e, *v;
    const char  *type;

    if (!jp_search_schema_name_ok(name)) {
        jp_search_schema_err(err, errlen, "field \"%s\": not a field path%s",
                             name, "");
        return -1;
    }

    strcpy(f->name, name);
    f->sortable = 1;
    f->filter = 1;

    t = json_is_string(def) ? def : json_object_get(def, "type");
    type = json_string_value(t);

    if (type == NULL) {
        jp_search_schema_err(err, errlen, "field \"%s\": no \"type\"%s",
                             name, "");
        return -1;
    }

    for (i = 0; i < sizeof(jp_search_types) / sizeof(jp_search_types[0]);
         i++)
    {
        if (strcmp(type, jp_search_types[i].name) == 0) {
            break;
        }
    }

    if (i == sizeof(jp_search_types) / sizeof(jp_search_types[0])) {
        jp_search_schema_err(err, errlen, "field \"%s\": unknown type \"%s\"",
                             name, type);
        return -1;
    }

    f->type = jp_search_types[i].type;

    /* arrays and mixed values have no order a keyset can follow */
    if (f->type == JP_FIELD_ARRAY || f->type == JP_FIELD_MIXED) {
        f->sortable = 0;
    }

    if (!json_is_object(def)) {
        return 0;
    }

    v = json_object_get(def, "sort");
    if (v != NULL) {
        if (!json_is_boolean(v)) {
            jp_search_schema_err(err, errlen,
                                 "field \"%s\": \"sort\" is not a boolean%s",
                                 name, "");
            return -1;
        }

        f->sortable = f->sortable && json_is_true(v);
    }

    v = json_object_get(def, "filter");
    if (v != NULL) {
        if (!json_is_boolean(v)) {
            jp_search_schema_err(err, errlen,
                                 "field \"%s\": \"filter\" is not a boolean%s",
                                 name, "");
            return -1;
        }

        f->filter = json_is_true(v);
    }

    e = json_object_get(def, "enum");
    if (e == NULL) {
        return 0;
    }

    if (f->type != JP_FIELD_STRING && f->type != JP_FIELD_ARRAY) {
        jp_search_schema_err(err, errlen,
                             "field \"%s\": an enum of a type \"%s\"",
                             name, type);
        return -1;
    }

    if (!json_is_array(e) || json_array_size(e) == 0
        || json_array_size(e) > JP_SEARCH_ENUM_MAX)
    {
        jp_search_schema_err(err, errlen,
                             "field \"%s\": \"enum\" is not an array of "
                             "1 to 64 strings%s", name, "");
        return -1;
    }

    json_array_foreach(e, i, v) {
        if (!json_is_string(v)) {
            jp_search_schema_err(err, errlen,
                                 "field \"%s\": \"enum\" holds a non-string%s",
                                 name, "");
            return -1;
        }
    }

    f->is_enum = 1;
    f->values = json_incref(e);

    if (f->type == JP_FIELD_STRING) {
        f->type = JP_FIELD_ENUM;
    }

    return 0;
}


static int
jp_search_schema_strings(json_t *def, const char *key, json_t **out,
    char *err, size_t errlen)
{
    size_t   i;
    json_t  *a, *v;

    a = json_object_get(def, key);
    if (a == NULL) {
        *out = json_array();
        return *out ? 0 : -1;
    }

    if (!json_is_array(a) || json_array_size(a) > JP_SEARCH_FIELDS_MAX) {
        jp_search_schema_err(err, errlen, "\"%s\" is not an array of names%s",
                             key, "");
        return -1;
    }

    json_array_foreach(a, i, v) {
        if (!json_is_string(v) || !jp_search_schema_name_ok(
                                      json_string_value(v)))
        {
            jp_search_schema_err(err, errlen, "\"%s\" holds a bad name%s",
                                 key, "");
            return -1;
        }
    }

    *out = json_incref(a);

    return 0;
}


jp_search_schema_t *
jp_search_schema_from_json(json_t *def, char *err, size_t errlen)
{
    size_t                    i, n;
    json_t                   *fields, *multi, *v, *c;
    const char               *key;
    jp_search_multi_t        *m;
    jp_search_schema_t       *s;
    const jp_search_field_t  *f;

    if (!json_is_object(def)) {
        jp_search_schema_err(err, errlen, "not a JSON object%s%s", "", "");
        return NULL;
    }

    json_object_foreach(def, key, v) {
        if (strcmp(key, "fields") != 0 && strcmp(key, "ignore") != 0
            && strcmp(key, "multi") != 0 && strcmp(key, "hidden") != 0
            && strcmp(key, "collation") != 0 && key[0] != '_')
        {
            jp_search_schema_err(err, errlen, "unknown key \"%s\"%s", key, "");
            return NULL;
        }
    }

    fields = json_object_get(def, "fields");
    if (!json_is_object(fields) || json_object_size(fields) == 0
        || json_object_size(fields) > JP_SEARCH_FIELDS_MAX)
    {
        jp_search_schema_err(err, errlen,
                             "\"fields\" is not an object of 1 to 128 "
                             "fields%s%s", "", "");
        return NULL;
    }

    s = calloc(1, sizeof(jp_search_schema_t));
    if (s == NULL) {
        goto nomem;
    }

    s->fields = calloc(json_object_size(fields), sizeof(jp_search_field_t));
    if (s->fields == NULL) {
        goto nomem;
    }

    json_object_foreach(fields, key, v) {
        if (jp_search_schema_field_load(&s->fields[s->nfields], key, v, err,
                                        errlen)
            != 0)
        {
            goto failed;
        }

        s->nfields++;
    }

    if (jp_search_schema_strings(def, "ignore", &s->ignore, err, errlen) != 0
        || jp_search_schema_strings(def, "hidden", &s->hidden, err, errlen)
           != 0)
    {
        goto failed;
    }

    /* a hidden field, or one inside it, is never a condition nor a key */
    json_array_foreach(s->hidden, i, v) {
        for (n = 0; n < s->nfields; n++) {
            if (strncmp(s->fields[n].name, json_string_value(v),
                        json_string_length(v)) == 0
                && (s->fields[n].name[json_string_length(v)] == '\0'
                    || s->fields[n].name[json_string_length(v)] == '.'))
            {
                s->fields[n].filter = 0;
                s->fields[n].sortable = 0;
            }
        }
    }

    multi = json_object_get(def, "multi");
    if (multi != NULL) {
        if (!json_is_object(multi) || json_object_size(multi) > 8) {
            jp_search_schema_err(err, errlen, "\"multi\" is not an object of "
                                 "at most 8 parameters%s%s", "", "");
            goto failed;
        }

        s->multi = calloc(json_object_size(multi) + 1,
                          sizeof(jp_search_multi_t));
        if (s->multi == NULL) {
            goto nomem;
        }

        json_object_foreach(multi, key, v) {
            m = &s->multi[s->nmulti];

            if (!jp_search_schema_name_ok(key) || !json_is_array(v)
                || json_array_size(v) == 0
                || json_array_size(v) > JP_SEARCH_MULTI_MAX)
            {
                jp_search_schema_err(err, errlen,
                                     "multi \"%s\": not a name with 1 to 8 "
                                     "fields%s", key, "");
                goto failed;
            }

            strcpy(m->name, key);

            json_array_foreach(v, i, c) {
                f = json_is_string(c)
                    ? jp_search_schema_field(s, json_string_value(c),
                                             json_string_length(c))
                    : NULL;

                if (f == NULL || !f->filter) {
                    jp_search_schema_err(err, errlen,
                                         "multi \"%s\": a field not in "
                                         "\"fields\" or not filtered%s",
                                         key, "");
                    goto failed;
                }

                strcpy(m->fields[i], json_string_value(c));
            }

            m->nfields = json_array_size(v);
            s->nmulti++;
        }
    }

    c = json_object_get(def, "collation");
    if (c != NULL && !json_is_object(c)) {
        jp_search_schema_err(err, errlen, "\"collation\" is not an object%s%s",
                             "", "");
        goto failed;
    }

    s->collation = c ? json_deep_copy(c)
                     : json_pack("{s:s,s:i}", "locale", "en", "strength", 2);
    if (s->collation == NULL) {
        goto nomem;
    }

    return s;

nomem:

    jp_search_schema_err(err, errlen, "out of memory%s%s", "", "");

failed:

    jp_search_schema_free(s);

    return NULL;
}


void
jp_search_schema_free(jp_search_schema_t *schema)
{
    size_t  i;

    if (schema == NULL) {
        return;
    }

    for (i = 0; schema->fields && i < schema->nfields; i++) {
        json_decref(schema->fields[i].values);
    }

    free(schema->fields);
    free(schema->multi);
    json_decref(schema->ignore);
    json_decref(schema->hidden);
    json_decref(schema->collation);
    free(schema);
}


const jp_search_field_t *
jp_search_schema_field(const jp_search_schema_t *schema, const char *name,
    size_t len)
{
    size_t  i;

    for (i = 0; i < schema->nfields; i++) {
        if (strlen(schema->fields[i].name) == len
            && memcmp(schema->fields[i].name, name, len) == 0)
        {
            return &schema->fields[i];
        }
    }

    return NULL;
}


const jp_search_multi_t *
jp_search_schema_multi(const jp_search_schema_t *schema, const char *name,
    size_t len)
{
    size_t  i;

    for (i = 0; i < schema->nmulti; i++) {
        if (strlen(schema->multi[i].name) == len
            && memcmp(schema->multi[i].name, name, len) == 0)
        {
            return &schema->multi[i];
        }
    }

    return NULL;
}


static int
jp_search_schema_in(json_t *a, const char *name, size_t len)
{
    size_t   i;
    json_t  *v;

    json_array_foreach(a, i, v) {
        if (json_string_length(v) == len
            && memcmp(json_string_value(v), name, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
jp_search_schema_ignored(const jp_search_schema_t *schema, const char *name,
    size_t len)
{
    return jp_search_schema_in(schema->ignore, name, len)
           || jp_search_schema_in(schema->hidden, name, len);
}


int
jp_search_schema_hidden(const jp_search_schema_t *schema, const char *path)
{
    return jp_search_schema_in(schema->hidden, path, strlen(path));
}
