/*
 * The user as jPulse's templates and role checks see it (jp_user.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jp_user.h"


/* String(role) as the key of hasRole; 0 when it has no sane text */
static int jp_user_role_key(json_t *role, char *buf, size_t size,
    const char **key);
static int jp_user_role_cmp(const void *a, const void *b);


int
jp_user_truthy(json_t *v)
{
    if (v == NULL) {
        return 0;
    }

    switch (json_typeof(v)) {

    case JSON_NULL:
    case JSON_FALSE:
        return 0;

    case JSON_INTEGER:
        return json_integer_value(v) != 0;

    case JSON_REAL:
        /* 0 and NaN are falsy */
        return json_real_value(v) == json_real_value(v)
               && json_real_value(v) != 0.0;

    case JSON_STRING:
        return json_string_length(v) != 0;

    default:
        return 1;
    }
}


/*
 * String.prototype.localeCompare over ASCII role names, as jPulse sorts
 * them: letters compare without case first, a lower-case letter before
 * its capital on a tie.
 */

static int
jp_user_role_cmp(const void *a, const void *b)
{
    int          c;
    const char  *x, *y;

    x = json_string_value(*(json_t * const *) a);
    y = json_string_value(*(json_t * const *) b);

    c = strcasecmp(x, y);
    if (c != 0) {
        return c;
    }

    /* "a" < "A" in ICU's root collation: the reverse of ASCII */
    return -strcmp(x, y);
}


json_t *
jp_user_admin_roles(json_t *site)
{
    size_t    i, n;
    json_t   *general, *roles, *admin, *out, **v;

    general = json_object_get(site, "general");
    roles = json_object_get(general, "roles");
    admin = json_object_get(general, "adminRoles");

    if (!json_is_array(roles) || !json_is_array(admin)) {
        return json_pack("[ss]", "admin", "root");
    }

    n = json_array_size(admin);

    v = malloc((n ? n : 1) * sizeof(json_t *));
    if (v == NULL) {
        return NULL;
    }

    /* only strings can equal a role of a user (Array.includes) */
    for (i = 0, n = 0; i < json_array_size(admin); i++) {
        if (json_is_string(json_array_get(admin, i))) {
            v[n++] = json_array_get(admin, i);
        }
    }

    qsort(v, n, sizeof(json_t *), jp_user_role_cmp);

    out = json_array();

    for (i = 0; out != NULL && i < n; i++) {
        if (json_array_append(out, v[i]) != 0) {
            json_decref(out);
            out = NULL;
        }
    }

    free(v);

    return out;
}


int
jp_user_has_role(json_t *roles, const char *role, size_t len)
{
    size_t   i;
    json_t  *r;

    if (!json_is_array(roles)) {
        return 0;
    }

    for (i = 0; i < json_array_size(roles); i++) {
        r = json_array_get(roles, i);

        if (json_is_string(r) && json_string_length(r) == len
            && memcmp(json_string_value(r), role, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
jp_user_authorized(json_t *roles, int authenticated, json_t *required)
{
    size_t   i;
    json_t  *r;

    for (i = 0; i < json_array_size(required); i++) {
        r = json_array_get(required, i);

        if (!json_is_string(r)) {
            continue;
        }

        if (!authenticated) {
            if (strcmp(json_string_value(r), "_public") == 0) {
                return 1;
            }

            continue;
        }

        if (jp_user_has_role(roles, json_string_value(r),
                             json_string_length(r)))
        {
            return 1;
        }
    }

    return 0;
}


static int
jp_user_role_key(json_t *role, char *buf, size_t size, const char **key)
{
    switch (json_typeof(role)) {

    case JSON_STRING:
        *key = json_string_value(role);
        /* a key with a NUL in it would name another role */
        return strlen(*key) == json_string_length(role);

    case JSON_INTEGER:
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(role));
        *key = buf;
        return 1;

    case JSON_TRUE:
        *key = "true";
        return 1;

    case JSON_FALSE:
        *key = "false";
        return 1;

    case JSON_NULL:
        *key = "null";
        return 1;

    default:
        return 0;
    }
}


json_t *
jp_user_context(json_t *suser, int authenticated, json_t *admin_roles,
    const char *tz, size_t tz_len)
{
    int           admin;
    char          buf[32];
    size_t        i;
    json_t       *user, *v, *roles, *has;
    const char   *key;

    static const char  *strings[] = {
        "id", "username", "firstName", "nickName", "lastName", "email",
        "initials", NULL
    };

    if (!json_is_object(suser)) {
        suser = NULL;
    }

    user = json_object();
    has = json_object();

    if (user == NULL || has == NULL) {
        goto failed;
    }

    for (i = 0; strings[i]; i++) {
        v = json_object_get(suser, strings[i]);

        if (jp_user_truthy(v)) {
            if (json_object_set(user, strings[i], v) != 0) {
                goto failed;
            }

            continue;
        }

        if (json_object_set_new(user, strings[i],
                                json_string(strcmp(strings[i], "initials")
                                            == 0 ? "?" : ""))
            != 0)
        {
            goto failed;
        }
    }

    /*
     * roles || []: jPulse would fail on a truthy non-array (reduce is not
     * a function); it is no role here.
     */
    roles = json_object_get(suser, "roles");

    if (!json_is_array(roles)) {
        roles = NULL;
    }

    for (i = 0; roles != NULL && i < json_array_size(roles); i++) {
        if (jp_user_role_key(json_array_get(roles, i), buf, sizeof(buf),
                             &key)
            && json_object_set_new(has, key, json_true()) != 0)
        {
            goto failed;
        }
    }

    admin = jp_user_authorized(roles, authenticated, admin_roles);

    v = json_object_get(suser, "preferences");

    if (json_object_set_new(user, "roles", roles ? json_incref(roles)
                                                 : json_array()) != 0
        || json_object_set(user, "hasRole", has) != 0
        || json_object_set_new(user, "isAuthenticated",
                               json_boolean(authenticated)) != 0
        || json_object_set_new(user, "isAdmin", json_boolean(admin)) != 0
        || json_object_set_new(user, "preferences",
                               jp_user_truthy(v) ? json_incref(v)
                                                 : json_object()) != 0
        || json_object_set_new(user, "timezone",
                               json_stringn(tz, tz_len)) != 0)
    {
        goto failed;
    }

    json_decref(has);

    return user;

failed:

    json_decref(has);
    json_decref(user);

    return NULL;
}
