/*
 * Sessions at the edge (issue 14): jPulse's Redis sessions (express-
 * session + connect-redis 7, contract 4.3) read in nginx. The cookie is
 * verified, <ns>sess:<sid> is loaded in the rewrite phase (before the
 * location's own rewrite directives, so that return, if and set see it;
 * long before the access phase) through the async Redis API (the request
 * parked, never blocked), parsed once, and kept for the whole request,
 * internal redirects included.
 *
 * ngx_http_jpulse_session_module is a second module of the same .so:
 * its own directives, configuration and phase handlers.
 */

#ifndef NGX_HTTP_JPULSE_SESSION_H
#define NGX_HTTP_JPULSE_SESSION_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>


/* $jpulse_session_state: none, invalid, anonymous, user, error */
typedef enum {
    NGX_HTTP_JPULSE_SESSION_NONE = 0,   /* no cookie */
    NGX_HTTP_JPULSE_SESSION_INVALID,    /* a cookie that does not verify */
    NGX_HTTP_JPULSE_SESSION_ANONYMOUS,  /* verified; no session in Redis,
                                           or user.isAuthenticated not
                                           true */
    NGX_HTTP_JPULSE_SESSION_USER,       /* user.isAuthenticated === true */
    NGX_HTTP_JPULSE_SESSION_ERROR       /* Redis down or slow: anonymous */
} ngx_http_jpulse_session_state_e;


typedef struct {
    ngx_uint_t                  state;
    ngx_str_t                   sid;        /* verified; else empty */
    json_t                     *data;       /* the session JSON, or NULL;
                                               released with the request */
    json_t                     *user;       /* data.user (borrowed), or
                                               NULL */
    ngx_str_t                   user_id;
    ngx_str_t                   username;
    ngx_str_t                   roles;      /* "user,admin" */
    ngx_array_t                *role_list;  /* of ngx_str_t; NULL: none */
    ngx_str_t                   language;   /* preferences; "": default */
    ngx_str_t                   theme;
    int64_t                     expires_ms; /* cookie.expires; 0: none */
    ngx_uint_t                  method;     /* the request's, as it came:
                                               an error_page or an
                                               X-Accel-Redirect makes a
                                               POST a GET */
} ngx_http_jpulse_session_t;


extern ngx_module_t  ngx_http_jpulse_session_module;


/* jpulse_session on in r's location (and a secret configured) */
ngx_uint_t ngx_http_jpulse_session_enabled(ngx_http_request_t *r);

/*
 * The request's session: NULL when sessions are off in its location or
 * not loaded yet (a variable read before the rewrite phase). Always a
 * session of state NONE or better once loaded; the same for
 * subrequests (r->main's).
 */
ngx_http_jpulse_session_t *ngx_http_jpulse_session_get(
    ngx_http_request_t *r);

/* s signed in (state USER) */
#define ngx_http_jpulse_session_signed_in(s)                                 \
    ((s) != NULL && (s)->state == NGX_HTTP_JPULSE_SESSION_USER)

ngx_uint_t ngx_http_jpulse_session_has_role(ngx_http_jpulse_session_t *s,
    u_char *role, size_t len);

/* signed in with a role of siteConfig's general.adminRoles (default
   admin, root), as jPulse's isAdmin */
ngx_uint_t ngx_http_jpulse_session_is_admin(ngx_http_jpulse_session_t *s);


#endif /* NGX_HTTP_JPULSE_SESSION_H */
