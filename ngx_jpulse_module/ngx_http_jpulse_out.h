/*
 * Building and sending API responses: a growable chain of pool buffers,
 * JSON string escaping, and jPulse's success and error envelopes.
 */

#ifndef NGX_HTTP_JPULSE_OUT_H
#define NGX_HTTP_JPULSE_OUT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    ngx_pool_t     *pool;
    ngx_chain_t    *first;
    ngx_chain_t   **last;
    ngx_buf_t      *buf;
    size_t          size;
    ngx_uint_t      failed;     /* an allocation failed; the body is void */
} ngx_http_jpulse_out_t;


void ngx_http_jpulse_out_init(ngx_http_jpulse_out_t *out, ngx_pool_t *pool);
/* for numbers and names: one formatted piece stays under 1 KB */
void ngx_cdecl ngx_http_jpulse_out_printf(ngx_http_jpulse_out_t *out,
    const char *fmt, ...);
void ngx_http_jpulse_out_raw(ngx_http_jpulse_out_t *out, u_char *data,
    size_t len);

/* data as a quoted, escaped JSON string */
void ngx_http_jpulse_out_json_str(ngx_http_jpulse_out_t *out, u_char *data,
    size_t len);

/* "timestamp":"<ISO 8601 now>" */
void ngx_http_jpulse_out_timestamp(ngx_http_jpulse_out_t *out);

/* the body as one string (no copy when it fits one buffer) */
ngx_int_t ngx_http_jpulse_out_flatten(ngx_http_jpulse_out_t *out,
    ngx_str_t *s);

ngx_int_t ngx_http_jpulse_out_send(ngx_http_request_t *r,
    ngx_http_jpulse_out_t *out, ngx_uint_t status, ngx_str_t *content_type);

/*
 * "type/subtype[; charset=x]" into content_type, content_type_len and
 * charset as nginx's filters expect them; type must outlive r.
 */
void ngx_http_jpulse_set_content_type(ngx_http_request_t *r,
    ngx_str_t *type);

/* Cache-Control: value (which must outlive r), replaced by "expires" */
ngx_int_t ngx_http_jpulse_cache_control(ngx_http_request_t *r,
    ngx_str_t *value);

/*
 * jPulse's error envelope {success:false,error,path,code}; details, when
 * not NULL, is raw JSON added as "details". The request body is
 * discarded first (if it was not read), and a failure to do so returned.
 */
ngx_int_t ngx_http_jpulse_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message,
    ngx_str_t *details);

/* GET and HEAD only, else a 405 envelope; NGX_DECLINED means go on */
ngx_int_t ngx_http_jpulse_read_only(ngx_http_request_t *r);
ngx_int_t ngx_http_jpulse_send_405(ngx_http_request_t *r, char *allow);

/* the request body read so far as one string, from memory or its file */
ngx_int_t ngx_http_jpulse_read_body(ngx_http_request_t *r, ngx_str_t *body);


#endif /* NGX_HTTP_JPULSE_OUT_H */
