/*
 * jpulse_health [status|ready];
 *
 * status: jPulse's health answer, always 200 (load balancers and jPulse's
 * own dashboards expect that), with the real state of every dependency.
 * ready: 200 while every configured dependency is up and the instance is
 * not shutting down, else 503 naming what is not ready. Without an
 * argument the URI decides: ".../ready" is readiness.
 *
 * Both read only what this process already knows: no I/O, no probe.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_health.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_out.h"


static ngx_int_t ngx_http_jpulse_health_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_health_status(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_health_ready(ngx_http_request_t *r);
static void ngx_http_jpulse_health_dependencies(ngx_http_jpulse_out_t *out);


ngx_http_jpulse_dependency_t  ngx_http_jpulse_dependencies[] = {
    { ngx_string("database"), NULL },
    { ngx_string("redis"), NULL }
};


static ngx_str_t  ngx_http_jpulse_dep_state_names[] = {
    ngx_string("not configured"),
    ngx_string("connected"),
    ngx_string("disconnected")
};


ngx_http_jpulse_dep_state_e
ngx_http_jpulse_dependency_state(ngx_uint_t dep)
{
    if (ngx_http_jpulse_dependencies[dep].state == NULL) {
        return NGX_HTTP_JPULSE_DEP_NOT_CONFIGURED;
    }

    return ngx_http_jpulse_dependencies[dep].state();
}


ngx_str_t *
ngx_http_jpulse_dependency_state_name(ngx_http_jpulse_dep_state_e state)
{
    return &ngx_http_jpulse_dep_state_names[state];
}


char *
ngx_http_jpulse_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_loc_conf_t *jlcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts == 1) {
        jlcf->health_mode = NGX_HTTP_JPULSE_HEALTH_BY_URI;

    } else if (ngx_strcmp(value[1].data, "status") == 0) {
        jlcf->health_mode = NGX_HTTP_JPULSE_HEALTH_STATUS;

    } else if (ngx_strcmp(value[1].data, "ready") == 0) {
        jlcf->health_mode = NGX_HTTP_JPULSE_HEALTH_READY;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_health \"%V\": expected "
                           "\"status\" or \"ready\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    return ngx_http_jpulse_set_handler(cf, cmd, jlcf,
                                       NGX_HTTP_JPULSE_HANDLER_HEALTH,
                                       ngx_http_jpulse_health_handler);
}


static ngx_int_t
ngx_http_jpulse_health_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_jpulse_loc_conf_t  *jlcf;

    if (ngx_http_jpulse_serve(r, NGX_HTTP_JPULSE_HANDLER_HEALTH) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_jpulse_read_only(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

    switch (jlcf->health_mode) {

    case NGX_HTTP_JPULSE_HEALTH_STATUS:
        return ngx_http_jpulse_health_status(r);

    case NGX_HTTP_JPULSE_HEALTH_READY:
        return ngx_http_jpulse_health_ready(r);

    default: /* NGX_HTTP_JPULSE_HEALTH_BY_URI */
        if (r->uri.len >= 6
            && ngx_strncmp(r->uri.data + r->uri.len - 6, "/ready", 6) == 0)
        {
            return ngx_http_jpulse_health_ready(r);
        }

        return ngx_http_jpulse_health_status(r);
    }
}


static ngx_int_t
ngx_http_jpulse_health_status(ngx_http_request_t *r)
{
    ngx_http_jpulse_out_t         out;
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jpulse_module);

    ngx_http_jpulse_out_init(&out, r->pool);

    ngx_http_jpulse_out_printf(&out,
        "{\"success\":true,\"message\":\"jPulse Framework health status\","
        "\"data\":{\"version\":\"" JP_VERSION "\","
        "\"release\":\"" JP_RELEASE "\","
        "\"uptime\":%T,\"environment\":\"%V\",",
        ngx_http_jpulse_instance_uptime(), &jmcf->mode);

    ngx_http_jpulse_health_dependencies(&out);
    ngx_http_jpulse_out_timestamp(&out);
    ngx_http_jpulse_out_printf(&out, "}}");

    return ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK, NULL);
}


static ngx_int_t
ngx_http_jpulse_health_ready(ngx_http_request_t *r)
{
    u_char                 *p, *last;
    ngx_str_t               data;
    ngx_uint_t              i;
    ngx_http_jpulse_out_t   out;
    u_char                  reason[128], message[160];

    p = reason;
    last = reason + sizeof(reason);

    for (i = 0; i < NGX_HTTP_JPULSE_DEPS; i++) {
        if (ngx_http_jpulse_dependency_state(i) == NGX_HTTP_JPULSE_DEP_DOWN) {
            p = ngx_slprintf(p, last, "%s%V", p == reason ? "" : ", ",
                             &ngx_http_jpulse_dependencies[i].name);
        }
    }

    /* a draining instance must leave the load balancer's rotation first */

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        p = ngx_slprintf(p, last, "%sshutting down",
                         p == reason ? "" : ", ");
    }

    ngx_http_jpulse_out_init(&out, r->pool);

    ngx_http_jpulse_out_printf(&out, "{\"ready\":%s,",
                               p == reason ? "true" : "false");
    ngx_http_jpulse_health_dependencies(&out);
    ngx_http_jpulse_out_timestamp(&out);
    ngx_http_jpulse_out_printf(&out, "}");

    if (ngx_http_jpulse_out_flatten(&out, &data) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (p != reason) {
        *ngx_snprintf(message, sizeof(message) - 1, "Not ready: %*s",
                      (size_t) (p - reason), reason) = '\0';

        return ngx_http_jpulse_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "NOT_READY", (char *) message,
                                          &data);
    }

    ngx_http_jpulse_out_init(&out, r->pool);

    ngx_http_jpulse_out_printf(&out,
        "{\"success\":true,\"message\":\"jPulse Framework is ready\","
        "\"data\":");
    ngx_http_jpulse_out_raw(&out, data.data, data.len);
    ngx_http_jpulse_out_printf(&out, "}");

    return ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK, NULL);
}


/* "database":"...","redis":"...", */

static void
ngx_http_jpulse_health_dependencies(ngx_http_jpulse_out_t *out)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_JPULSE_DEPS; i++) {
        ngx_http_jpulse_out_printf(out, "\"%V\":\"%V\",",
            &ngx_http_jpulse_dependencies[i].name,
            ngx_http_jpulse_dependency_state_name(
                ngx_http_jpulse_dependency_state(i)));
    }
}
