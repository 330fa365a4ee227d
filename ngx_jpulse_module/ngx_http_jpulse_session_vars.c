/*
 * Sessions at the edge: what the rest of nginx sees of a request's
 * session: the $jpulse_* variables, the render's who() hook, isAdmin.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_user.h"
#include "ngx_http_jpulse_access.h"
#include "ngx_http_jpulse_render.h"
#include "ngx_http_jpulse_session_int.h"


typedef enum {
    NGX_HTTP_JPULSE_SESSION_VAR_USER_ID = 0,
    NGX_HTTP_JPULSE_SESSION_VAR_USERNAME,
    NGX_HTTP_JPULSE_SESSION_VAR_ROLES,
    NGX_HTTP_JPULSE_SESSION_VAR_AUTHENTICATED,
    NGX_HTTP_JPULSE_SESSION_VAR_STATE
} ngx_http_jpulse_session_var_e;


static ngx_int_t ngx_http_jpulse_session_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_jpulse_session_vars[] = {

    { ngx_string("jpulse_user_id"), NULL,
      ngx_http_jpulse_session_variable,
      NGX_HTTP_JPULSE_SESSION_VAR_USER_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("jpulse_username"), NULL,
      ngx_http_jpulse_session_variable,
      NGX_HTTP_JPULSE_SESSION_VAR_USERNAME, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("jpulse_user_roles"), NULL,
      ngx_http_jpulse_session_variable,
      NGX_HTTP_JPULSE_SESSION_VAR_ROLES, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("jpulse_authenticated"), NULL,
      ngx_http_jpulse_session_variable,
      NGX_HTTP_JPULSE_SESSION_VAR_AUTHENTICATED, NGX_HTTP_VAR_NOCACHEABLE,
      0 },

    { ngx_string("jpulse_session_state"), NULL,
      ngx_http_jpulse_session_variable,
      NGX_HTTP_JPULSE_SESSION_VAR_STATE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_jpulse_session_state_names[] = {
    ngx_string("none"),
    ngx_string("invalid"),
    ngx_string("anonymous"),
    ngx_string("user"),
    ngx_string("error")
};


ngx_int_t
ngx_http_jpulse_session_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_jpulse_session_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/*
 * Not found before the session is loaded (sessions off in the location,
 * or read before the rewrite phase): the values are not cached, a later
 * read sees the loaded session. The user's values are not found when
 * empty: absent, or left out by the parse for a control byte (a header
 * with an empty value is not sent).
 */

static ngx_int_t
ngx_http_jpulse_session_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                  *value;
    ngx_http_jpulse_session_t  *s;

    s = ngx_http_jpulse_session_get(r);

    if (s == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_JPULSE_SESSION_VAR_USER_ID:
        value = &s->user_id;
        break;

    case NGX_HTTP_JPULSE_SESSION_VAR_USERNAME:
        value = &s->username;
        break;

    case NGX_HTTP_JPULSE_SESSION_VAR_ROLES:
        value = &s->roles;
        break;

    case NGX_HTTP_JPULSE_SESSION_VAR_AUTHENTICATED:
        v->data = (u_char *) (ngx_http_jpulse_session_signed_in(s)
                              ? "1" : "0");
        v->len = 1;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        return NGX_OK;

    default: /* NGX_HTTP_JPULSE_SESSION_VAR_STATE */
        value = &ngx_http_jpulse_session_state_names[s->state];
        break;
    }

    if (value->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = value->data;
    v->len = value->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* the render's who(): a signed-in user's own language and theme */

ngx_int_t
ngx_http_jpulse_session_who(ngx_http_request_t *r, ngx_str_t *lang,
    ngx_str_t *theme, ngx_uint_t *authenticated)
{
    ngx_http_jpulse_session_t  *s;

    s = ngx_http_jpulse_session_get(r);

    if (!ngx_http_jpulse_session_signed_in(s)) {
        return ngx_http_jpulse_render_anonymous_who(r, lang, theme,
                                                    authenticated);
    }

    /* the render checks they look like names before using them */
    *lang = s->language;
    *theme = s->theme;
    *authenticated = 1;

    return NGX_OK;
}


/*
 * jPulse's rule (webapp/controller/auth.js): general.adminRoles only when
 * general.roles is an array too, else admin and root. The gates call
 * this, so that there is one definition; the roles, sorted and cached
 * per site config, are the gates' (jp_user_admin_roles()).
 */

ngx_uint_t
ngx_http_jpulse_session_is_admin(ngx_http_jpulse_session_t *s)
{
    size_t   i;
    json_t  *roles, *role;

    if (!ngx_http_jpulse_session_signed_in(s)) {
        return 0;
    }

    roles = ngx_http_jpulse_access_admin_roles();

    if (roles == NULL) {
        /* no memory: nobody is an admin */
        return 0;
    }

    /* the role list every gate checks and $jpulse_user_roles shows */

    for (i = 0; i < json_array_size(roles); i++) {
        role = json_array_get(roles, i);

        if (json_is_string(role)
            && ngx_http_jpulse_session_has_role(s,
                                   (u_char *) json_string_value(role),
                                   json_string_length(role)))
        {
            return 1;
        }
    }

    return 0;
}
