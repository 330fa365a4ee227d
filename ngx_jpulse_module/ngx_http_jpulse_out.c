#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>

#include "jp_json.h"
#include "jp_time.h"
#include "ngx_http_jpulse_out.h"


#define NGX_HTTP_JPULSE_OUT_CHUNK  4096

/* a formatted piece is never longer than this (numbers, short names) */
#define NGX_HTTP_JPULSE_OUT_PIECE  1024


static ngx_str_t  ngx_http_jpulse_json_type =
    ngx_string("application/json; charset=utf-8");
static ngx_str_t  ngx_http_jpulse_no_store = ngx_string("no-store");


void
ngx_http_jpulse_out_init(ngx_http_jpulse_out_t *out, ngx_pool_t *pool)
{
    ngx_memzero(out, sizeof(ngx_http_jpulse_out_t));

    out->pool = pool;
    out->last = &out->first;
}


/* Makes room for at least size bytes in the current buffer. */

static ngx_int_t
ngx_http_jpulse_out_reserve(ngx_http_jpulse_out_t *out, size_t size)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (out->failed) {
        return NGX_ERROR;
    }

    if (out->buf && (size_t) (out->buf->end - out->buf->last) >= size) {
        return NGX_OK;
    }

    b = ngx_create_temp_buf(out->pool,
                            ngx_max(size, NGX_HTTP_JPULSE_OUT_CHUNK));
    if (b == NULL) {
        out->failed = 1;
        return NGX_ERROR;
    }

    cl = ngx_alloc_chain_link(out->pool);
    if (cl == NULL) {
        out->failed = 1;
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    *out->last = cl;
    out->last = &cl->next;
    out->buf = b;

    return NGX_OK;
}


void ngx_cdecl
ngx_http_jpulse_out_printf(ngx_http_jpulse_out_t *out, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    if (ngx_http_jpulse_out_reserve(out, NGX_HTTP_JPULSE_OUT_PIECE)
        != NGX_OK)
    {
        return;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(out->buf->last, out->buf->end, fmt, args);
    va_end(args);

    if (p == out->buf->end) {
        /* cut short: a piece longer than promised would corrupt the body */
        out->failed = 1;
        return;
    }

    out->size += p - out->buf->last;
    out->buf->last = p;
}


void
ngx_http_jpulse_out_raw(ngx_http_jpulse_out_t *out, u_char *data, size_t len)
{
    if (ngx_http_jpulse_out_reserve(out, len) != NGX_OK) {
        return;
    }

    out->buf->last = ngx_cpymem(out->buf->last, data, len);
    out->size += len;
}


void
ngx_http_jpulse_out_json_str(ngx_http_jpulse_out_t *out, u_char *data,
    size_t len)
{
    u_char  *p;
    size_t   n;

    n = jp_json_escape_len(data, len);

    if (ngx_http_jpulse_out_reserve(out, n + 2) != NGX_OK) {
        return;
    }

    p = out->buf->last;

    *p++ = '"';
    p = jp_json_escape(p, data, len);
    *p++ = '"';

    out->buf->last = p;
    out->size += n + 2;
}


void
ngx_http_jpulse_out_timestamp(ngx_http_jpulse_out_t *out)
{
    char        iso[JP_ISO8601_LEN + 1];
    size_t      n;
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    n = jp_time_iso8601(iso, sizeof(iso), tp->sec, (unsigned) tp->msec);

    ngx_http_jpulse_out_printf(out, "\"timestamp\":\"%*s\"", n, iso);
}


/* key and value are literals: they outlive the request */

static ngx_table_elt_t *
ngx_http_jpulse_add_header(ngx_http_request_t *r, char *key, char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return h;
}


/*
 * Cache-Control where nginx keeps it, so that "expires" in the same
 * location replaces it instead of adding a contradicting second one.
 */

ngx_int_t
ngx_http_jpulse_cache_control(ngx_http_request_t *r, ngx_str_t *value)
{
    ngx_table_elt_t   *h;
#if (nginx_version < 1023000)
    ngx_table_elt_t  **ccp;
#endif

    h = ngx_http_jpulse_add_header(r, "Cache-Control", "");
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->value = *value;

#if (nginx_version >= 1023000)
    r->headers_out.cache_control = h;
#else
    if (r->headers_out.cache_control.elts == NULL
        && ngx_array_init(&r->headers_out.cache_control, r->pool, 1,
                          sizeof(ngx_table_elt_t *))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ccp = ngx_array_push(&r->headers_out.cache_control);
    if (ccp == NULL) {
        return NGX_ERROR;
    }

    *ccp = h;
#endif

    return NGX_OK;
}


/*
 * As nginx's own modules set it: content_type_len covers the MIME type
 * alone, which is what gzip_types, sub_filter_types, ssi_types and
 * charset_types look up, and a charset that is the only parameter goes
 * to headers_out.charset, which the header filter appends once (and the
 * charset filter can see). Other parameters stay in the value as they
 * are, like ngx_http_upstream_copy_content_type() does.
 */

void
ngx_http_jpulse_set_content_type(ngx_http_request_t *r, ngx_str_t *type)
{
    u_char     *p, *last, *semi, *param, *next, *cs, *cs_last;
    ngx_uint_t  params;

    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_type_lowcase = NULL;
    ngx_str_null(&r->headers_out.charset);

    last = type->data + type->len;

    semi = ngx_strlchr(type->data, last, ';');
    if (semi == NULL) {
        return;
    }

    for (p = semi; p > type->data && p[-1] == ' '; p--) {
        /* void */
    }

    r->headers_out.content_type_len = p - type->data;

    params = 0;
    cs = NULL;
    cs_last = NULL;

    for (param = semi; param < last; param = next) {
        for (p = param + 1; p < last && *p == ' '; p++) {
            /* void */
        }

        next = ngx_strlchr(p, last, ';');
        if (next == NULL) {
            next = last;
        }

        if (p == next) {
            continue;
        }

        params++;

        if (next - p > 8 && ngx_strncasecmp(p, (u_char *) "charset=", 8) == 0)
        {
            cs = p + 8;

            for (cs_last = next; cs_last > cs && cs_last[-1] == ' '; cs_last--)
            {
                /* void */
            }

            if (cs_last - cs >= 2 && *cs == '"' && cs_last[-1] == '"') {
                cs++;
                cs_last--;
            }
        }
    }

    if (cs == NULL || cs == cs_last) {
        return;
    }

    r->headers_out.charset.data = cs;
    r->headers_out.charset.len = cs_last - cs;

    if (params == 1) {
        r->headers_out.content_type.len = r->headers_out.content_type_len;
    }
}


ngx_int_t
ngx_http_jpulse_out_flatten(ngx_http_jpulse_out_t *out, ngx_str_t *s)
{
    u_char       *p;
    ngx_chain_t  *cl;

    if (out->failed) {
        return NGX_ERROR;
    }

    if (out->first == NULL) {
        ngx_str_null(s);
        return NGX_OK;
    }

    if (out->first->next == NULL) {
        s->data = out->first->buf->pos;
        s->len = out->size;
        return NGX_OK;
    }

    s->data = ngx_pnalloc(out->pool, out->size);
    if (s->data == NULL) {
        return NGX_ERROR;
    }

    p = s->data;

    for (cl = out->first; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    s->len = out->size;

    return NGX_OK;
}


ngx_int_t
ngx_http_jpulse_out_send(ngx_http_request_t *r, ngx_http_jpulse_out_t *out,
    ngx_uint_t status, ngx_str_t *content_type)
{
    ngx_int_t  rc;

    if (out->failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (out->first == NULL
        && ngx_http_jpulse_out_reserve(out, 0) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out->buf->last_buf = (r == r->main) ? 1 : 0;
    out->buf->last_in_chain = 1;

    r->headers_out.status = status;
    ngx_http_jpulse_set_content_type(r, content_type
                                        ? content_type
                                        : &ngx_http_jpulse_json_type);
    r->headers_out.content_length_n = out->size;

    /* monitoring answers are live values: no cache may keep them */

    if (ngx_http_jpulse_cache_control(r, &ngx_http_jpulse_no_store)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out->first);
}


ngx_int_t
ngx_http_jpulse_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message, ngx_str_t *details)
{
    ngx_int_t              rc;
    ngx_http_jpulse_out_t  out;

    /*
     * Errors are early answers: an unread body left on a keep-alive
     * connection would be taken for the next request. Handlers discard
     * or read it first; this keeps a forgotten path safe (it returns at
     * once when the body is read or being discarded).
     */

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_jpulse_out_init(&out, r->pool);

    ngx_http_jpulse_out_printf(&out, "{\"success\":false,\"error\":");
    ngx_http_jpulse_out_json_str(&out, (u_char *) message,
                                 ngx_strlen(message));
    ngx_http_jpulse_out_printf(&out, ",\"path\":");
    ngx_http_jpulse_out_json_str(&out, r->unparsed_uri.data,
                                 r->unparsed_uri.len);
    ngx_http_jpulse_out_printf(&out, ",\"code\":\"%s\"", code);

    if (details) {
        ngx_http_jpulse_out_printf(&out, ",\"details\":");
        ngx_http_jpulse_out_raw(&out, details->data, details->len);
    }

    ngx_http_jpulse_out_printf(&out, "}");

    return ngx_http_jpulse_out_send(r, &out, status, NULL);
}


ngx_int_t
ngx_http_jpulse_read_only(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        return NGX_DECLINED;
    }

    return ngx_http_jpulse_send_405(r, "GET, HEAD");
}


ngx_int_t
ngx_http_jpulse_send_405(ngx_http_request_t *r, char *allow)
{
    if (ngx_http_jpulse_add_header(r, "Allow", allow) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_jpulse_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                      "METHOD_NOT_ALLOWED",
                                      "Method not allowed", NULL);
}


ngx_int_t
ngx_http_jpulse_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    size_t        len, size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? (size_t) (b->file_last - b->file_pos)
                          : (size_t) (b->last - b->pos);
    }

    b = r->request_body->bufs->buf;

    if (r->request_body->bufs->next == NULL && !b->in_file) {
        body->data = b->pos;
        body->len = len;
        return NGX_OK;
    }

    /* large bodies are spooled to a temporary file: read it back */

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        size = (size_t) (b->file_last - b->file_pos);

        n = ngx_read_file(b->file, p, size, b->file_pos);

        if (n != (ssize_t) size) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "jpulse: cannot read the request body back from "
                          "\"%V\"", &b->file->name);
            return NGX_ERROR;
        }

        p += size;
    }

    return NGX_OK;
}
