/*
 * contextFilter (jpulse-contract.md 5.4): what of the config a template
 * may print. Removal first, then re-admission, both over dotted paths.
 */

#include <string.h>

#include "jp_config.h"


#define JP_CONFIG_PATH_MAX  256


static const char  *jp_config_without_auth[] = {
    "system", "deployment", "database", "redis", "middleware", "model",
    "controller", NULL
};

static const char  *jp_config_with_auth[] = {
    "**.port", "**.password", "database", "redis", "middleware", "model",
    "controller", NULL
};

static const char  *jp_config_always_allow[] = {
    "system.defaultTheme", "system.htmlAttrs", "system.colorScheme",
    "system.themes", "system.broadcastMessage", "utils.i18n.default",
    "model.user.passwordPolicy.minLength", "controller.user.profile",
    "view.user.index", "controller.auth.localAuthRestriction",
    "controller.user.emailVerification",
    "controller.user.disablePasswordReset", NULL
};


static void jp_config_remove(json_t *obj, const char *path);
static void jp_config_remove_any(json_t *obj, const char *key);
static int jp_config_put(json_t *dst, json_t *src, const char *path);
static int jp_config_apply(json_t *ctx, json_t *config, json_t *list,
    const char **def, int allow);


json_t *
jp_config_get(json_t *config, const char *path)
{
    char         key[JP_CONFIG_PATH_MAX];
    size_t       n;
    json_t      *j;
    const char  *dot;

    j = config;

    while (j != NULL && *path) {
        dot = strchr(path, '.');
        n = dot ? (size_t) (dot - path) : strlen(path);

        if (n >= sizeof(key) || !json_is_object(j)) {
            return NULL;
        }

        memcpy(key, path, n);
        key[n] = '\0';

        j = json_object_get(j, key);
        path += n + (dot ? 1 : 0);
    }

    return j;
}


const char *
jp_config_str(json_t *config, const char *path, const char *def)
{
    json_t  *j;

    j = jp_config_get(config, path);

    return json_is_string(j) && json_string_length(j) ? json_string_value(j)
                                                      : def;
}


long long
jp_config_int(json_t *config, const char *path, long long def)
{
    json_t  *j;

    j = jp_config_get(config, path);

    if (json_is_integer(j)) {
        return json_integer_value(j);
    }

    if (json_is_real(j)) {
        return (long long) json_real_value(j);
    }

    return def;
}


json_t *
jp_config_context(json_t *config, int authenticated)
{
    json_t  *ctx, *filter;

    if (!json_is_object(config)) {
        return json_object();
    }

    ctx = json_deep_copy(config);
    if (ctx == NULL) {
        return NULL;
    }

    filter = jp_config_get(config, "controller.handlebar.contextFilter");

    if (jp_config_apply(ctx, config,
                        json_object_get(filter, authenticated
                                                ? "withAuth" : "withoutAuth"),
                        authenticated ? jp_config_with_auth
                                      : jp_config_without_auth, 0) != 0
        || jp_config_apply(ctx, config, json_object_get(filter, "alwaysAllow"),
                           jp_config_always_allow, 1) != 0)
    {
        json_decref(ctx);
        return NULL;
    }

    return ctx;
}


/* the configured list when it is an array of strings, else the default */

static int
jp_config_apply(json_t *ctx, json_t *config, json_t *list, const char **def,
    int allow)
{
    size_t       i;
    json_t      *v;
    const char  *path;

    if (json_is_array(list)) {
        json_array_foreach(list, i, v) {
            if (!json_is_string(v)) {
                continue;
            }

            path = json_string_value(v);

            if (allow) {
                if (jp_config_put(ctx, config, path) != 0) {
                    return -1;
                }

            } else {
                jp_config_remove(ctx, path);
            }
        }

        return 0;
    }

    for (i = 0; def[i]; i++) {
        if (allow) {
            if (jp_config_put(ctx, config, def[i]) != 0) {
                return -1;
            }

        } else {
            jp_config_remove(ctx, def[i]);
        }
    }

    return 0;
}


/*
 * jPulse's filter paths: exact ("a.b"), or with a wildcard: a first
 * segment "*" or "**" removes the last segment's key at any depth; a "*"
 * segment further in removes it from each child object ("**": at any
 * depth below each child); a last segment "*suffix" or "prefix*" removes
 * the keys that end or begin with it.
 */

static void
jp_config_remove(json_t *obj, const char *path)
{
    int          wild;
    char         seg[JP_CONFIG_PATH_MAX];
    size_t       n;
    void        *tmp;
    json_t      *child;
    const char  *dot, *last, *k, *all;

    all = path;
    last = strrchr(path, '.');
    last = last ? last + 1 : path;
    wild = strchr(path, '*') != NULL;

    if (wild && (strncmp(path, "*.", 2) == 0 || strncmp(path, "**.", 3) == 0
                 || strcmp(path, "*") == 0 || strcmp(path, "**") == 0))
    {
        jp_config_remove_any(obj, last);
        return;
    }

    while (path < last) {
        dot = strchr(path, '.');
        n = dot - path;

        if (n >= sizeof(seg)) {
            return;
        }

        memcpy(seg, path, n);
        seg[n] = '\0';

        if (wild && (strcmp(seg, "*") == 0 || strcmp(seg, "**") == 0)) {
            json_object_foreach(obj, k, child) {
                if (!json_is_object(child)) {
                    continue;
                }

                if (seg[1] == '*') {
                    jp_config_remove_any(child, last);

                } else {
                    json_object_del(child, last);
                }
            }

            return;
        }

        obj = json_object_get(obj, seg);
        if (!json_is_object(obj)) {
            return;
        }

        path = dot + 1;
    }

    if (!json_is_object(obj)) {
        return;
    }

    n = strlen(last);

    if (wild && strstr(all, "**") != NULL) {
        jp_config_remove_any(obj, last);

    } else if (wild && last[0] == '*') {
        json_object_foreach_safe(obj, tmp, k, child) {
            if (strlen(k) >= n - 1
                && strcmp(k + strlen(k) - (n - 1), last + 1) == 0)
            {
                json_object_del(obj, k);
            }
        }

    } else if (wild && n && last[n - 1] == '*') {
        json_object_foreach_safe(obj, tmp, k, child) {
            if (strncmp(k, last, n - 1) == 0) {
                json_object_del(obj, k);
            }
        }

    } else {
        json_object_del(obj, last);
    }
}


static void
jp_config_remove_any(json_t *obj, const char *key)
{
    size_t       i;
    json_t      *v;
    const char  *k;

    if (json_is_object(obj)) {
        json_object_del(obj, key);

        json_object_foreach(obj, k, v) {
            jp_config_remove_any(v, key);
        }

    } else if (json_is_array(obj)) {
        json_array_foreach(obj, i, v) {
            jp_config_remove_any(v, key);
        }
    }
}


/* copies src's value at path into dst, creating the objects on the way */

static int
jp_config_put(json_t *dst, json_t *src, const char *path)
{
    char         key[JP_CONFIG_PATH_MAX];
    size_t       n;
    json_t      *v, *next;
    const char  *dot;

    v = jp_config_get(src, path);
    if (v == NULL) {
        return 0;
    }

    for ( ;; ) {
        dot = strchr(path, '.');
        n = dot ? (size_t) (dot - path) : strlen(path);

        if (n >= sizeof(key)) {
            return 0;
        }

        memcpy(key, path, n);
        key[n] = '\0';

        if (dot == NULL) {
            v = json_deep_copy(v);
            return (v == NULL || json_object_set_new(dst, key, v) != 0) ? -1
                                                                        : 0;
        }

        next = json_object_get(dst, key);

        if (!json_is_object(next)) {
            next = json_object();
            if (next == NULL || json_object_set_new(dst, key, next) != 0) {
                return -1;
            }
        }

        dst = next;
        path = dot + 1;
    }
}


static int
jp_config_site_sensitive(const char *parent, const char *key, int auth)
{
    size_t  n;

    n = strlen(key);

    if (n >= 4 && strcmp(key + n - 4, "pass") == 0) {
        return 1;
    }

    /* signed-in users see the mail server, not its password */
    if (!auth && strcmp(parent, "email") == 0
        && strncmp(key, "smtp", 4) == 0)
    {
        return 1;
    }

    return 0;
}


/*
 * jPulse's normalisation of the site config for templates: null becomes
 * "" (in objects and arrays alike); the rest of its rules (Dates, NaN,
 * functions) have no JSON form. depth bounds the walk: jansson parses at
 * most 2048 levels, and a deeper part is dropped rather than recursed.
 */

#define JP_CONFIG_SITE_DEPTH  64

static int
jp_config_site_normalize(json_t *v, unsigned depth)
{
    size_t       i;
    json_t      *item;
    const char  *k;

    if (json_is_object(v)) {
        json_object_foreach(v, k, item) {
            if (json_is_null(item) || depth == JP_CONFIG_SITE_DEPTH) {
                if (json_object_set_new(v, k, json_string("")) != 0) {
                    return -1;
                }

            } else if (jp_config_site_normalize(item, depth + 1) != 0) {
                return -1;
            }
        }

    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (json_is_null(item) || depth == JP_CONFIG_SITE_DEPTH) {
                if (json_array_set_new(v, i, json_string("")) != 0) {
                    return -1;
                }

            } else if (jp_config_site_normalize(item, depth + 1) != 0) {
                return -1;
            }
        }
    }

    return 0;
}


static void
jp_config_site_strip(json_t *obj, const char *parent, unsigned depth,
    int auth)
{
    void        *tmp;
    json_t      *v;
    const char  *k;

    json_object_foreach_safe(obj, tmp, k, v) {
        if (jp_config_site_sensitive(parent, k, auth)) {
            json_object_del(obj, k);
            continue;
        }

        if (json_is_object(v) && depth < JP_CONFIG_SITE_DEPTH) {
            jp_config_site_strip(v, k, depth + 1, auth);
        }
    }
}


json_t *
jp_config_site(json_t *site)
{
    return jp_config_site_for(site, 0);
}


json_t *
jp_config_site_for(json_t *site, int authenticated)
{
    json_t  *copy;

    if (!json_is_object(site)) {
        return json_object();
    }

    copy = json_deep_copy(site);
    if (copy == NULL) {
        return NULL;
    }

    jp_config_site_strip(copy, "", 0, authenticated);
    jp_config_remove(copy, "manifest.license.key");

    /* withAuth names it: "pass" matches case-sensitively, not "Pass" */
    jp_config_remove(copy, "email.smtpPass");

    if (jp_config_site_normalize(copy, 0) != 0) {
        json_decref(copy);
        return NULL;
    }

    return copy;
}
