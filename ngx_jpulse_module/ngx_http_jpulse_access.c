/*
 * Who may do what (see ngx_http_jpulse_access.h).
 *
 * jpulse_require_role runs in the access phase after nginx's own access
 * modules (allow/deny, auth_basic, auth_request): an address that deny
 * refuses never learns whether a session would have passed, and under
 * "satisfy any" the role check is one alternative among theirs. Refused,
 * it answers as jPulse's requireAuthentication and requireRole do
 * (CommonUtils.sendError): API paths get the JSON envelope, 401
 * UNAUTHORIZED or 403 INSUFFICIENT_PRIVILEGES; any other path a 302 to
 * /error/index.shtml with the message and the code (jPulse has no
 * redirect to its login page).
 *
 * nginx runs no access phase for subrequests (auth_request, SSI include
 * virtual): there the role is checked in the rewrite phase, before the
 * location's own "return", against the main request's session, and a
 * refusal is the bare status, which auth_request passes on (a redirect
 * would be its 500). No access module runs there either, so "satisfy
 * any" has no alternative: the role is required.
 *
 * Every check sees the roles $jpulse_user_roles shows (the session's
 * role list), never more.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_config.h"
#include "jp_time.h"
#include "jp_user.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_access.h"
#include "ngx_http_jpulse_l2.h"
#include "ngx_http_jpulse_out.h"
#include "ngx_http_jpulse_render.h"
#include "ngx_http_jpulse_session.h"
#include "ngx_http_jpulse_view.h"


static ngx_int_t ngx_http_jpulse_access_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_access_subrequest(ngx_http_request_t *r);
static ngx_uint_t ngx_http_jpulse_access_check(ngx_http_request_t *r,
    ngx_array_t *required);
static ngx_uint_t ngx_http_jpulse_access_session_authorized(
    ngx_http_jpulse_session_t *s, json_t *required);
static ngx_int_t ngx_http_jpulse_access_deny(ngx_http_request_t *r,
    ngx_array_t *roles, ngx_uint_t status);
static json_t *ngx_http_jpulse_access_user(ngx_http_request_t *r);
static ngx_uint_t ngx_http_jpulse_access_not_admin(ngx_http_request_t *r);
static ngx_uint_t ngx_http_jpulse_access_public(ngx_str_t *role);


/* the admin roles made from the site config they are cached for */
static json_t  *ngx_http_jpulse_access_site;
static json_t  *ngx_http_jpulse_access_roles;

/* requiredRoles.metrics without a config: jPulse's default */
static json_t  *ngx_http_jpulse_access_metrics_roles;


char *
ngx_http_jpulse_require_role(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_loc_conf_t *jlcf = conf;

    ngx_str_t   *value, *role;
    ngx_uint_t   i;

    if (jlcf->require_roles != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2
        && ngx_strcmp(value[1].data, "off") == 0)
    {
        /* cancels an inherited one */
        jlcf->require_roles = NULL;
        return NGX_CONF_OK;
    }

    jlcf->require_roles = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                           sizeof(ngx_str_t));
    if (jlcf->require_roles == NULL) {
        return NGX_CONF_ERROR;
    }

    /* no role listed: any signed-in user */
    if (cf->args->nelts == 2
        && ngx_strcmp(value[1].data, "authenticated") == 0)
    {
        return NGX_CONF_OK;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0
            || ngx_strlchr(value[i].data, value[i].data + value[i].len, '\0')
            || ngx_strcmp(value[i].data, "off") == 0
            || ngx_strcmp(value[i].data, "authenticated") == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid role \"%V\" (\"off\" and "
                               "\"authenticated\" stand alone)", &value[i]);
            return NGX_CONF_ERROR;
        }

        role = ngx_array_push(jlcf->require_roles);
        if (role == NULL) {
            return NGX_CONF_ERROR;
        }

        *role = value[i];
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_jpulse_access_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h, *first;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    /*
     * nginx runs a phase's handlers from the last registered to the
     * first: the first slot runs after the modules registered before us.
     */
    first = cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers.elts;
    ngx_memmove(first + 1, first, (h - first) * sizeof(ngx_http_handler_pt));
    *first = ngx_http_jpulse_access_handler;

    /* registered after the rewrite module: runs before its "return" */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_jpulse_access_subrequest;

    ngx_http_jpulse_render_user = ngx_http_jpulse_access_user;
    ngx_http_jpulse_render_admin_check = ngx_http_jpulse_access_not_admin;

    return NGX_OK;
}


void
ngx_http_jpulse_access_exit_process(ngx_cycle_t *cycle)
{
    json_decref(ngx_http_jpulse_access_site);
    json_decref(ngx_http_jpulse_access_roles);
    json_decref(ngx_http_jpulse_access_metrics_roles);

    ngx_http_jpulse_access_site = NULL;
    ngx_http_jpulse_access_roles = NULL;
    ngx_http_jpulse_access_metrics_roles = NULL;
}


static ngx_uint_t
ngx_http_jpulse_access_public(ngx_str_t *role)
{
    return role->len == sizeof("_public") - 1
           && ngx_strncmp(role->data, "_public", role->len) == 0;
}


/* the status a refusal answers with; 0: let r pass */

static ngx_uint_t
ngx_http_jpulse_access_check(ngx_http_request_t *r, ngx_array_t *required)
{
    ngx_str_t                  *role;
    ngx_uint_t                  i, signed_in;
    ngx_http_jpulse_session_t  *s;

    /* without sessions in this location nobody is signed in */
    s = ngx_http_jpulse_session_get(r);
    signed_in = ngx_http_jpulse_session_signed_in(s);

    role = required->elts;

    if (required->nelts == 0 && signed_in) {
        return 0;
    }

    for (i = 0; i < required->nelts; i++) {
        if (signed_in) {
            if (ngx_http_jpulse_session_has_role(s, role[i].data,
                                                 role[i].len))
            {
                return 0;
            }

        } else if (ngx_http_jpulse_access_public(&role[i])) {
            return 0;
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "jpulse_require_role: %s%s",
                  signed_in ? "no required role" : "not signed in",
                  r != r->main ? " (subrequest)" : "");

    return signed_in ? NGX_HTTP_FORBIDDEN : NGX_HTTP_UNAUTHORIZED;
}


static ngx_int_t
ngx_http_jpulse_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_uint_t                   status;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_jpulse_loc_conf_t  *jlcf;

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

    if (jlcf->require_roles == NULL) {
        return NGX_DECLINED;
    }

    status = ngx_http_jpulse_access_check(r, jlcf->require_roles);

    if (status == 0) {
        return NGX_OK;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy == NGX_HTTP_SATISFY_ANY
        && r->access_code == NGX_HTTP_UNAUTHORIZED)
    {
        /* auth_basic's challenge answers: its client can still pass */
        return status;
    }

    rc = ngx_http_jpulse_access_deny(r, jlcf->require_roles, status);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/*
 * The main request is checked in the access phase (only), a subrequest
 * here. The subrequest's response is its parent's business (auth_request
 * reads the status, SSI includes the body): the bare status with nginx's
 * own error page, never the location's error_page, whose page would
 * answer 200 and let auth_request through.
 */

static ngx_int_t
ngx_http_jpulse_access_subrequest(ngx_http_request_t *r)
{
    ngx_uint_t                   status;
    ngx_http_jpulse_loc_conf_t  *jlcf;

    if (r == r->main) {
        return NGX_DECLINED;
    }

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

    if (jlcf->require_roles == NULL) {
        return NGX_DECLINED;
    }

    status = ngx_http_jpulse_access_check(r, jlcf->require_roles);

    if (status == 0) {
        return NGX_DECLINED;
    }

    r->error_page = 1;

    return status;
}


static ngx_int_t
ngx_http_jpulse_access_deny(ngx_http_request_t *r, ngx_array_t *roles,
    ngx_uint_t status)
{
    u_char      *p;
    size_t       len;
    ngx_int_t    rc;
    ngx_str_t    msg, *role;
    ngx_uint_t   i, api;

    static u_char  need[] = "Insufficient privileges. Required roles: ";

    /* req.originalUrl: the URI as the client sent it */
    api = r->unparsed_uri.len >= 5
          && ngx_strncmp(r->unparsed_uri.data, "/api/", 5) == 0;

    if (status == NGX_HTTP_UNAUTHORIZED) {
        ngx_str_set(&msg, "Authentication required");

    } else {
        role = roles->elts;
        len = sizeof(need);

        for (i = 0; i < roles->nelts; i++) {
            len += role[i].len + 2;
        }

        msg.data = ngx_pnalloc(r->pool, len);
        if (msg.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* roles.join(', ') in the order the directive lists them */
        p = ngx_cpymem(msg.data, need, sizeof(need) - 1);

        for (i = 0; i < roles->nelts; i++) {
            if (i) {
                *p++ = ',';
                *p++ = ' ';
            }

            p = ngx_cpymem(p, role[i].data, role[i].len);
        }

        *p = '\0';
        msg.len = p - msg.data;
    }

    if (api) {
        return ngx_http_jpulse_send_error(r, status,
                                          status == NGX_HTTP_UNAUTHORIZED
                                          ? "UNAUTHORIZED"
                                          : "INSUFFICIENT_PRIVILEGES",
                                          (char *) msg.data, NULL);
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_jpulse_error_redirect(r,
               status == NGX_HTTP_UNAUTHORIZED ? "401" : "403", &msg);
}


json_t *
ngx_http_jpulse_access_admin_roles(void)
{
    json_t  *site, *roles;

    site = ngx_http_jpulse_l2_site_config();

    if (ngx_http_jpulse_access_roles != NULL
        && site == ngx_http_jpulse_access_site)
    {
        return ngx_http_jpulse_access_roles;
    }

    roles = jp_user_admin_roles(site);
    if (roles == NULL) {
        return NULL;
    }

    /* the reference keeps the address from being another config's */
    json_decref(ngx_http_jpulse_access_site);
    json_decref(ngx_http_jpulse_access_roles);

    ngx_http_jpulse_access_site = json_incref(site);
    ngx_http_jpulse_access_roles = roles;

    return roles;
}


ngx_int_t
ngx_http_jpulse_access_admin_list(ngx_pool_t *pool, ngx_str_t *out)
{
    u_char  *p;
    size_t   i, len;
    json_t  *roles, *v;

    roles = ngx_http_jpulse_access_admin_roles();
    if (roles == NULL) {
        return NGX_ERROR;
    }

    len = 0;

    json_array_foreach(roles, i, v) {
        len += json_string_length(v) + 2;
    }

    out->data = ngx_pnalloc(pool, len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;

    json_array_foreach(roles, i, v) {
        if (i) {
            *p++ = ',';
            *p++ = ' ';
        }

        p = ngx_cpymem(p, json_string_value(v), json_string_length(v));
    }

    out->len = p - out->data;

    return NGX_OK;
}


ngx_uint_t
ngx_http_jpulse_access_signed_in(ngx_http_request_t *r)
{
    ngx_http_jpulse_session_t  *s;

    s = ngx_http_jpulse_session_get(r);

    return ngx_http_jpulse_session_signed_in(s);
}


/* jPulse's isAuthorized over the session's role list */

static ngx_uint_t
ngx_http_jpulse_access_session_authorized(ngx_http_jpulse_session_t *s,
    json_t *required)
{
    size_t   i;
    json_t  *r;

    for (i = 0; i < json_array_size(required); i++) {
        r = json_array_get(required, i);

        if (!json_is_string(r)) {
            continue;
        }

        if (!ngx_http_jpulse_session_signed_in(s)) {
            if (ngx_strcmp(json_string_value(r), "_public") == 0) {
                return 1;
            }

            continue;
        }

        if (ngx_http_jpulse_session_has_role(s,
                                       (u_char *) json_string_value(r),
                                       json_string_length(r)))
        {
            return 1;
        }
    }

    return 0;
}


ngx_uint_t
ngx_http_jpulse_access_authorized(ngx_http_request_t *r, json_t *roles)
{
    ngx_http_jpulse_session_t  *s;

    s = ngx_http_jpulse_session_get(r);

    if (!ngx_http_jpulse_session_signed_in(s) || roles == NULL) {
        return 0;
    }

    return ngx_http_jpulse_access_session_authorized(s, roles);
}


/* the one definition of "is admin": the session's */

ngx_uint_t
ngx_http_jpulse_access_is_admin(ngx_http_request_t *r)
{
    return ngx_http_jpulse_session_is_admin(ngx_http_jpulse_session_get(r));
}


static ngx_uint_t
ngx_http_jpulse_access_not_admin(ngx_http_request_t *r)
{
    return !ngx_http_jpulse_access_is_admin(r);
}


/*
 * user.* for a session that has a user (signed in or not, as jPulse shows
 * it); the anonymous user otherwise, whose timezone (the cookie's) both
 * share.
 */

ngx_uint_t
ngx_http_jpulse_access_personal(ngx_http_request_t *r)
{
    ngx_http_jpulse_session_t  *s;

    s = ngx_http_jpulse_session_get(r);

    return s != NULL
           && (s->user != NULL || json_object_get(s->data, "user") != NULL);
}


static json_t *
ngx_http_jpulse_access_user(ngx_http_request_t *r)
{
    json_t                     *anon, *tz, *user, *admin, *suser;
    ngx_http_jpulse_session_t  *s;

    anon = ngx_http_jpulse_render_anonymous(r);

    s = ngx_http_jpulse_session_get(r);

    /* a user not signed in is in the session's data, not s->user */
    suser = (s == NULL) ? NULL
                        : (s->user ? s->user
                                   : json_object_get(s->data, "user"));

    if (anon == NULL || !json_is_object(suser)) {
        return anon;
    }

    admin = ngx_http_jpulse_access_admin_roles();
    tz = json_object_get(anon, "timezone");

    user = (admin && json_is_string(tz))
           ? jp_user_context(suser, ngx_http_jpulse_session_signed_in(s),
                             admin, json_string_value(tz),
                             json_string_length(tz))
           : NULL;

    json_decref(anon);

    return user;
}


ngx_int_t
ngx_http_jpulse_access_admin_api(ngx_http_request_t *r)
{
    if (!ngx_http_jpulse_session_enabled(r)) {
        return NGX_DECLINED;
    }

    if (!ngx_http_jpulse_access_signed_in(r)) {
        return ngx_http_jpulse_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                          "NOT_AUTHENTICATED",
                                          "Authentication required", NULL);
    }

    if (!ngx_http_jpulse_access_is_admin(r)) {
        return ngx_http_jpulse_send_error(r, NGX_HTTP_FORBIDDEN,
                                          "NOT_AUTHORIZED",
                                          "Admin access required", NULL);
    }

    return NGX_DECLINED;
}


/*
 * jPulse's health controller: controller.health.requiredRoles.metrics of
 * the app config (default admin, root) may see the metrics; anyone else
 * gets a 200 that says so, with the time only. A Prometheus scraper is
 * no browser: refused, it gets the status (401 or 403) in the cache
 * API's envelope, which its scrape reports as down.
 */

ngx_int_t
ngx_http_jpulse_access_metrics(ngx_http_request_t *r, ngx_uint_t prometheus)
{
    char                         iso[JP_ISO8601_LEN + 1];
    json_t                      *roles;
    ngx_time_t                  *tp;
    ngx_uint_t                   signed_in;
    ngx_msec_int_t               elapsed;
    ngx_http_jpulse_out_t        out;
    ngx_http_jpulse_session_t   *s;
    ngx_http_jpulse_loc_conf_t  *jlcf;

    if (!ngx_http_jpulse_session_enabled(r)) {
        return NGX_DECLINED;
    }

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

    roles = NULL;

    if (jlcf->view.view && jlcf->view.view->rt
        && jlcf->view.view->rt->effective)
    {
        roles = jp_config_get(jlcf->view.view->rt->effective,
                              "controller.health.requiredRoles.metrics");
    }

    /* requiredRoles.metrics || ['admin', 'root'] */
    if (!jp_user_truthy(roles)) {
        if (ngx_http_jpulse_access_metrics_roles == NULL) {
            ngx_http_jpulse_access_metrics_roles = json_pack("[ss]", "admin",
                                                             "root");
            if (ngx_http_jpulse_access_metrics_roles == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        roles = ngx_http_jpulse_access_metrics_roles;
    }

    s = ngx_http_jpulse_session_get(r);
    signed_in = ngx_http_jpulse_session_signed_in(s);

    if (ngx_http_jpulse_access_session_authorized(s, roles)) {
        return NGX_DECLINED;
    }

    if (prometheus) {
        return signed_in
               ? ngx_http_jpulse_send_error(r, NGX_HTTP_FORBIDDEN,
                                            "NOT_AUTHORIZED",
                                            "Not authorized to see more "
                                            "jPulse Framework metrics data",
                                            NULL)
               : ngx_http_jpulse_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                            "NOT_AUTHENTICATED",
                                            "Authentication required", NULL);
    }

    tp = ngx_timeofday();
    (void) jp_time_iso8601(iso, sizeof(iso), tp->sec, (unsigned) tp->msec);

    elapsed = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                                + (tp->msec - r->start_msec));

    ngx_http_jpulse_out_init(&out, r->pool);
    ngx_http_jpulse_out_printf(&out, "{\"success\":false,\"message\":\"Not "
                               "authorized to see more jPulse Framework "
                               "metrics data\",\"data\":{\"timestamp\":\"%s\""
                               "},\"elapsed\":%M}", iso,
                               (ngx_msec_t) ngx_max(elapsed, 0));

    return ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK, NULL);
}


/* the metrics are shown as they are: sessions off, or an admin */

ngx_uint_t
ngx_http_jpulse_access_metrics_sanitize(ngx_http_request_t *r)
{
    return ngx_http_jpulse_session_enabled(r)
           && !ngx_http_jpulse_access_is_admin(r);
}


ngx_int_t
ngx_http_jpulse_access_user_api(ngx_http_request_t *r)
{
    if (!ngx_http_jpulse_session_enabled(r)
        || ngx_http_jpulse_access_signed_in(r))
    {
        return NGX_DECLINED;
    }

    return ngx_http_jpulse_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                      "UNAUTHORIZED",
                                      "Authentication required", NULL);
}
