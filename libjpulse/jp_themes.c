/*
 * Themes (see jp_themes.h). Small files, read once per discovery: the
 * host caches the result and decides when to look again.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_themes.h"


typedef struct {
    char        *names[JP_THEMES_MAX];
    size_t       n;
    size_t       ext;           /* strlen(suffix) */
    const char  *suffix;        /* ".json" or ".css" */
} jp_themes_list_t;


static int
jp_themes_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
}


static int
jp_themes_name_ok(const char *p, size_t len)
{
    size_t  i;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || p[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* collects the base names of the files with the suffix, once each */

static int
jp_themes_list_cb(void *arg, const char *name, size_t len)
{
    char              *copy;
    size_t             i, n;
    jp_themes_list_t  *l = arg;

    n = l->ext;

    if (len <= n || memcmp(name + len - n, l->suffix, n) != 0
        || memchr(name, '\0', len) != NULL)
    {
        return 0;
    }

    len -= n;

    for (i = 0; i < l->n; i++) {
        if (strlen(l->names[i]) == len && memcmp(l->names[i], name, len) == 0)
        {
            return 0;
        }
    }

    if (l->n == JP_THEMES_MAX) {
        return 0;
    }

    copy = malloc(len + 1);
    if (copy == NULL) {
        return -1;
    }

    memcpy(copy, name, len);
    copy[len] = '\0';
    l->names[l->n++] = copy;

    return 0;
}


static int
jp_themes_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static void
jp_themes_list_free(jp_themes_list_t *l)
{
    size_t  i;

    for (i = 0; i < l->n; i++) {
        free(l->names[i]);
    }

    l->n = 0;
}


static int
jp_themes_list(const jp_tpl_host_t *host, const char *suffix,
    jp_themes_list_t *l)
{
    l->n = 0;
    l->suffix = suffix;
    l->ext = strlen(suffix);

    if (host->list == NULL
        || host->list(host->data, "themes", jp_themes_list_cb, l) != 0)
    {
        jp_themes_list_free(l);
        return host->list == NULL ? 0 : -1;
    }

    qsort(l->names, l->n, sizeof(char *), jp_themes_strcmp);

    return 0;
}


/* a case-insensitive match of the ASCII word w at p */

static int
jp_themes_word(const char *p, const char *end, const char *w)
{
    for ( ; *w; p++, w++) {
        if (p == end || (*p | 0x20) != *w) {
            return 0;
        }
    }

    return 1;
}


/* after a property name: \s* ':' \s* (dark|light) \s* ';' */

static const char *
jp_themes_value(const char *p, const char *end)
{
    const char  *v;

    while (p < end && jp_themes_space((unsigned char) *p)) {
        p++;
    }

    if (p == end || *p++ != ':') {
        return NULL;
    }

    while (p < end && jp_themes_space((unsigned char) *p)) {
        p++;
    }

    if (jp_themes_word(p, end, "dark")) {
        v = "dark";
        p += 4;

    } else if (jp_themes_word(p, end, "light")) {
        v = "light";
        p += 5;

    } else {
        return NULL;
    }

    while (p < end && jp_themes_space((unsigned char) *p)) {
        p++;
    }

    return (p < end && *p == ';') ? v : NULL;
}


const char *
jp_themes_color_scheme(const char *css, size_t len)
{
    const char  *p, *end, *v;

    end = css + len;

    for (p = css; p < end; p++) {
        if (jp_themes_word(p, end, "--jp-theme-color-scheme")) {
            v = jp_themes_value(p + 23, end);
            if (v) {
                return v;
            }
        }
    }

    for (p = css; p < end; p++) {
        if ((p == css || jp_themes_space((unsigned char) p[-1])
             || p[-1] == '{' || p[-1] == ';')
            && jp_themes_word(p, end, "color-scheme"))
        {
            v = jp_themes_value(p + 12, end);
            if (v) {
                return v;
            }
        }
    }

    return "light";
}


/* a trimmed copy of a non-empty string member, else NULL */

static json_t *
jp_themes_field(json_t *meta, const char *key)
{
    json_t       *v;
    const char   *s, *e;

    v = json_object_get(meta, key);
    if (!json_is_string(v)) {
        return NULL;
    }

    s = json_string_value(v);
    e = s + json_string_length(v);

    while (s < e && jp_themes_space((unsigned char) *s)) {
        s++;
    }

    while (e > s && jp_themes_space((unsigned char) e[-1])) {
        e--;
    }

    return e > s ? json_stringn(s, e - s) : NULL;
}


static int
jp_themes_exists(const jp_tpl_host_t *host, const char *name,
    const char *ext)
{
    char     path[JP_TPL_PATH_MAX];
    int64_t  ms;

    snprintf(path, sizeof(path), "themes/%s%s", name, ext);

    return host->mtime != NULL && host->mtime(host->data, path, &ms) == 0;
}


static const char *
jp_themes_read_scheme(const jp_tpl_host_t *host, const char *name)
{
    char         path[JP_TPL_PATH_MAX], *src;
    size_t       len;
    const char  *scheme;

    snprintf(path, sizeof(path), "themes/%s.css", name);

    if (host->read == NULL || host->read(host->data, path, &src, &len) != 0)
    {
        return "light";
    }

    scheme = jp_themes_color_scheme(src, len);
    free(src);

    return scheme;
}


static const char  *jp_themes_required[] = {
    "name", "label", "description", "author", "version", "source", NULL
};


/* the list entry of themes/<name>.json, NULL when jPulse skips it */

static json_t *
jp_themes_entry(const jp_tpl_host_t *host, const char *name,
    json_t *schemes)
{
    char         path[JP_TPL_PATH_MAX], *src;
    size_t       len, i;
    json_t      *meta, *entry, *v, *scheme;
    const char  *s;

    snprintf(path, sizeof(path), "themes/%s.json", name);

    if (host->read == NULL || host->read(host->data, path, &src, &len) != 0)
    {
        return NULL;
    }

    meta = json_loadb(src, len, JSON_DECODE_ANY, NULL);
    free(src);

    entry = json_is_object(meta) ? json_object() : NULL;

    for (i = 0; entry != NULL && jp_themes_required[i]; i++) {
        v = jp_themes_field(meta, jp_themes_required[i]);

        if (v == NULL
            || json_object_set_new(entry, jp_themes_required[i], v) != 0)
        {
            json_decref(entry);
            entry = NULL;
        }
    }

    if (entry == NULL) {
        json_decref(meta);
        return NULL;
    }

    v = json_object_get(entry, "name");

    s = json_string_value(json_object_get(entry, "source"));

    if (!jp_themes_name_ok(json_string_value(v), json_string_length(v))
        || strcmp(json_string_value(v), name) != 0
        || (strcmp(s, "framework") != 0 && strcmp(s, "plugin") != 0
            && strcmp(s, "site") != 0)
        || !jp_themes_exists(host, name, ".css")
        || !jp_themes_exists(host, name, ".png"))
    {
        json_decref(entry);
        json_decref(meta);
        return NULL;
    }

    /* pluginName only when the file has it as a string (trimmed) */
    v = json_object_get(meta, "pluginName");

    if (json_is_string(v)) {
        v = jp_themes_field(meta, "pluginName");

        if (json_object_set_new(entry, "pluginName",
                                v ? v : json_string("")) != 0)
        {
            json_decref(entry);
            json_decref(meta);
            return NULL;
        }
    }

    json_decref(meta);

    scheme = json_object_get(schemes, name);

    if (json_object_set_new(entry, "colorScheme",
                            scheme ? json_incref(scheme)
                                   : json_string(jp_themes_read_scheme(host,
                                                                       name)))
        != 0)
    {
        json_decref(entry);
        return NULL;
    }

    return entry;
}


/*
 * localeCompare() of ASCII theme names (ICU's root collation): letters
 * compare without case, '_' before '-' before digits before letters;
 * on a tie, the first lower-case letter against an upper-case one wins.
 */

static int
jp_themes_weight(int c)
{
    if (c == '_') {
        return 1;
    }

    if (c == '-') {
        return 2;
    }

    if (c >= '0' && c <= '9') {
        return 10 + c - '0';
    }

    if (c >= 'A' && c <= 'Z') {
        c |= 0x20;
    }

    if (c >= 'a' && c <= 'z') {
        return 20 + c - 'a';
    }

    return 100 + c;
}


static int
jp_themes_locale_cmp(const void *a, const void *b)
{
    int          wa, wb;
    size_t       i;
    const char  *x, *y;

    x = json_string_value(json_object_get(*(json_t *const *) a, "name"));
    y = json_string_value(json_object_get(*(json_t *const *) b, "name"));

    for (i = 0; ; i++) {
        wa = x[i] ? jp_themes_weight((unsigned char) x[i]) : 0;
        wb = y[i] ? jp_themes_weight((unsigned char) y[i]) : 0;

        if (wa != wb) {
            return wa - wb;
        }

        if (wa == 0) {
            break;
        }
    }

    for (i = 0; x[i]; i++) {
        if (x[i] != y[i]) {
            /* lower case first */
            return (x[i] >= 'a' && x[i] <= 'z') ? -1 : 1;
        }
    }

    return 0;
}


static json_t *
jp_themes_builtin(const char *name)
{
    int  dark;

    dark = strcmp(name, "dark") == 0;

    return json_pack("{ss ss ss ss ss ss ss}",
                     "name", name,
                     "label", dark ? "Dark" : "Light",
                     "description", dark ? "Default dark theme"
                                         : "Default light theme",
                     "author", "jPulse Framework",
                     "version", "1.0.0",
                     "source", "framework",
                     "colorScheme", dark ? "dark" : "light");
}


json_t *
jp_themes_discover(const jp_tpl_host_t *host, json_t **schemes)
{
    size_t             i, n;
    json_t            *list, *out, *map, *e, *light, *dark;
    json_t            *rest[JP_THEMES_MAX];
    const char        *name;
    jp_themes_list_t   l;

    map = json_object();
    list = json_array();

    if (map == NULL || list == NULL) {
        goto failed;
    }

    /* every theme CSS's scheme: also for themes that are not listed */
    if (jp_themes_list(host, ".css", &l) != 0) {
        goto failed;
    }

    for (i = 0; i < l.n; i++) {
        if (json_object_set_new(map, l.names[i],
                json_string(jp_themes_read_scheme(host, l.names[i]))) != 0)
        {
            jp_themes_list_free(&l);
            goto failed;
        }
    }

    jp_themes_list_free(&l);

    if (jp_themes_list(host, ".json", &l) != 0) {
        goto failed;
    }

    light = NULL;
    dark = NULL;
    n = 0;

    for (i = 0; i < l.n; i++) {
        e = jp_themes_entry(host, l.names[i], map);
        if (e == NULL) {
            continue;
        }

        name = json_string_value(json_object_get(e, "name"));

        if (strcmp(name, "light") == 0 && light == NULL) {
            light = e;

        } else if (strcmp(name, "dark") == 0 && dark == NULL) {
            dark = e;

        } else {
            rest[n++] = e;
        }
    }

    jp_themes_list_free(&l);

    qsort(rest, n, sizeof(json_t *), jp_themes_locale_cmp);

    out = list;

    if (json_array_append_new(out, light ? light
                                         : jp_themes_builtin("light")) != 0
        || json_array_append_new(out, dark ? dark
                                           : jp_themes_builtin("dark")) != 0)
    {
        for (i = 0; i < n; i++) {
            json_decref(rest[i]);
        }

        goto failed;
    }

    for (i = 0; i < n; i++) {
        if (json_array_append_new(out, rest[i]) != 0) {
            while (++i < n) {
                json_decref(rest[i]);
            }

            goto failed;
        }
    }

    if (schemes) {
        *schemes = map;

    } else {
        json_decref(map);
    }

    return out;

failed:

    json_decref(map);
    json_decref(list);

    return NULL;
}
