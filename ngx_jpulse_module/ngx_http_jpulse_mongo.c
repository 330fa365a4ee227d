/*
 * Placeholder of the shared interface (issue 13): nothing is configured
 * yet, every operation is declined. The mongo-core branch replaces it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_mongo.h"
#include "ngx_http_jpulse_out.h"


char *
ngx_http_jpulse_mongodb(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return "is not built yet";
}


ngx_int_t
ngx_http_jpulse_mongo_postconfiguration(ngx_conf_t *cf)
{
    return NGX_OK;
}


ngx_int_t
ngx_http_jpulse_mongo_init_process(ngx_cycle_t *cycle)
{
    return NGX_OK;
}


void
ngx_http_jpulse_mongo_exit_process(ngx_cycle_t *cycle)
{
}


ngx_uint_t
ngx_http_jpulse_mongo_configured(void)
{
    return 0;
}


ngx_uint_t
ngx_http_jpulse_mongo_connected(void)
{
    return 0;
}


size_t
ngx_http_jpulse_mongo_result_max(void)
{
    return 0;
}


const char *
ngx_http_jpulse_mongo_db_name(void)
{
    return "";
}


ngx_http_jpulse_mongo_op_t *
ngx_http_jpulse_mongo_op_create(size_t data_size, ngx_log_t *log)
{
    ngx_http_jpulse_mongo_op_t  *op;

    op = ngx_calloc(sizeof(ngx_http_jpulse_mongo_op_t) + data_size, log);
    if (op == NULL) {
        return NULL;
    }

    op->data = (u_char *) op + sizeof(ngx_http_jpulse_mongo_op_t);

    return op;
}


void
ngx_http_jpulse_mongo_op_free(ngx_http_jpulse_mongo_op_t *op)
{
    if (op->free) {
        op->free(op);
    }

    ngx_free(op);
}


ngx_int_t
ngx_http_jpulse_mongo_post(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op)
{
    ngx_http_jpulse_mongo_op_free(op);
    return NGX_DECLINED;
}


ngx_int_t
ngx_http_jpulse_mongo_send_error(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op)
{
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


ngx_int_t
ngx_http_jpulse_mongo_send_refusal(ngx_http_request_t *r, ngx_int_t rc)
{
    return NGX_HTTP_SERVICE_UNAVAILABLE;
}


ngx_int_t
ngx_http_jpulse_mongo_on_state(ngx_http_jpulse_mongo_state_pt h, void *data)
{
    return NGX_OK;
}
