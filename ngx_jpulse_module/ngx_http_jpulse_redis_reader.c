/*
 * What a Redis peer may send before hiredis sees it.
 *
 * hiredis 0.14 asserts on replies that a real Redis never sends but any
 * peer can: a reply nobody asked for on a context that is not subscribed,
 * or, once subscribed, a pub/sub array shorter than two, whose first two
 * fields are not strings, or an "unsubscribe" without its count. An
 * assert aborts the worker, nginx starts another, the peer does it again:
 * hundreds of crashes a second. hiredis builds every reply through the
 * reader's object functions, before it dispatches the reply, so these
 * wrap the default ones and refuse (NULL) what would reach such an
 * assert; hiredis then fails the reader and the connection is closed and
 * retried like any broken one. The reason is kept for the log, as hiredis
 * only says "Out of memory".
 *
 * The same functions bound a reply's size: hiredis 0.14 builds a reply
 * whole, some 70 bytes an array element, so a "*4000000" would cost a
 * worker hundreds of MB before anyone looks at it. The arrays of one reply
 * may hold NGX_HTTP_JPULSE_REDIS_REPLY_ELEMENTS elements in all; a larger
 * one is refused before hiredis allocates it.
 *
 * The checks follow hiredis' own dispatch: a reply goes to the oldest
 * pending command while there is one, so only a reply with none pending
 * is held to the pub/sub shape. The reader builds the next reply only
 * after the previous one's callback ran, so the list is the one the
 * dispatch will see. A subscribed context is told what it subscribed
 * (rc->sub_channel, rc->sub_pattern).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_jpulse_redis_conn.h"
#include "ngx_http_jpulse_redis_reader.h"


static void *ngx_http_jpulse_redis_reader_string(const redisReadTask *task,
    char *str, size_t len);
static void *ngx_http_jpulse_redis_reader_array(const redisReadTask *task,
    int elements);
static void *ngx_http_jpulse_redis_reader_integer(const redisReadTask *task,
    long long value);
static void *ngx_http_jpulse_redis_reader_nil(const redisReadTask *task);
static void ngx_http_jpulse_redis_reader_free(void *reply);
static const char *ngx_http_jpulse_redis_reader_check(
    const redisReadTask *task, int type, const char *str, size_t len);
static ngx_uint_t ngx_http_jpulse_redis_reader_unsubscribe(const char *kind,
    size_t len);
static ngx_uint_t ngx_http_jpulse_redis_reader_ours(
    ngx_http_jpulse_redis_conn_t *rc, redisReply *kind, const char *name,
    size_t len);


/* hiredis' own functions (static in hiredis.c), captured at the first use */
static redisReplyObjectFunctions  *ngx_http_jpulse_redis_reader_default;

static redisReplyObjectFunctions  ngx_http_jpulse_redis_reader_fn = {
    ngx_http_jpulse_redis_reader_string,
    ngx_http_jpulse_redis_reader_array,
    ngx_http_jpulse_redis_reader_integer,
    ngx_http_jpulse_redis_reader_nil,
    ngx_http_jpulse_redis_reader_free
};


ngx_int_t
ngx_http_jpulse_redis_reader_guard(redisAsyncContext *ac)
{
    redisReader  *reader;

    reader = ac->c.reader;

    if (reader == NULL || reader->fn == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_jpulse_redis_reader_default == NULL) {
        ngx_http_jpulse_redis_reader_default = reader->fn;

    } else if (reader->fn != ngx_http_jpulse_redis_reader_default) {
        /* a hiredis that builds replies some other way: leave it be */
        return NGX_DECLINED;
    }

    reader->fn = &ngx_http_jpulse_redis_reader_fn;
    reader->privdata = ac;

    return NGX_OK;
}


static void *
ngx_http_jpulse_redis_reader_string(const redisReadTask *task, char *str,
    size_t len)
{
    if (ngx_http_jpulse_redis_reader_check(task, task->type, str, len)) {
        return NULL;
    }

    return ngx_http_jpulse_redis_reader_default->createString(task, str, len);
}


static void *
ngx_http_jpulse_redis_reader_array(const redisReadTask *task, int elements)
{
    if (ngx_http_jpulse_redis_reader_check(task, REDIS_REPLY_ARRAY, NULL,
                                           (size_t) elements))
    {
        return NULL;
    }

    return ngx_http_jpulse_redis_reader_default->createArray(task, elements);
}


static void *
ngx_http_jpulse_redis_reader_integer(const redisReadTask *task,
    long long value)
{
    if (ngx_http_jpulse_redis_reader_check(task, REDIS_REPLY_INTEGER, NULL,
                                           0))
    {
        return NULL;
    }

    return ngx_http_jpulse_redis_reader_default->createInteger(task, value);
}


static void *
ngx_http_jpulse_redis_reader_nil(const redisReadTask *task)
{
    if (ngx_http_jpulse_redis_reader_check(task, REDIS_REPLY_NIL, NULL, 0)) {
        return NULL;
    }

    return ngx_http_jpulse_redis_reader_default->createNil(task);
}


static void
ngx_http_jpulse_redis_reader_free(void *reply)
{
    ngx_http_jpulse_redis_reader_default->freeObject(reply);
}


/*
 * The reason a reply of this type at this place is refused, or NULL. For
 * an array, len is its number of elements.
 */

static const char *
ngx_http_jpulse_redis_reader_check(const redisReadTask *task, int type,
    const char *str, size_t len)
{
    const char                    *reason;
    redisReply                    *root, *kind;
    redisAsyncContext             *ac;
    ngx_http_jpulse_redis_conn_t  *rc;

    ac = task->privdata;

    if (ac == NULL || ac->data == NULL) {
        return NULL;
    }

    rc = ac->data;
    reason = NULL;

    if (task->parent == NULL) {
        rc->elements_left = NGX_HTTP_JPULSE_REDIS_REPLY_ELEMENTS;
        rc->bytes_left = NGX_HTTP_JPULSE_REDIS_REPLY_BYTES;
    }

    /*
     * hiredis drops what it parsed from its buffer while the rest of the
     * reply is still coming: the buffer's cap (conn.c) bounds one string,
     * this the strings of the whole reply
     */

    if (str != NULL) {
        if (len > rc->bytes_left) {
            reason = "a reply of more than "
                     NGX_HTTP_JPULSE_REDIS_REPLY_BYTES_S;
            goto refused;
        }

        rc->bytes_left -= len;
    }

    if (type == REDIS_REPLY_ARRAY) {
        if (len > rc->elements_left) {
            reason = "a reply of more than "
                     NGX_HTTP_JPULSE_REDIS_REPLY_ELEMENTS_S
                     " array elements";
            goto refused;
        }

        rc->elements_left -= len;
    }

    if (ac->replies.head != NULL) {
        /* the oldest pending command takes it, whatever it is */
        return NULL;
    }

    if (!(ac->c.flags & REDIS_SUBSCRIBED)) {

        /* an error alone is hiredis' to handle: it closes the connection */

        if (task->parent == NULL && type != REDIS_REPLY_ERROR) {
            reason = "a reply to no command";
        }

    } else if (task->parent == NULL) {

        /*
         * hiredis 0.14 keeps the callback its loop last ran for a reply
         * that names none of the context's subscriptions, or that is not
         * an array, and runs it again: the handshake's last command's,
         * whose privdata is freed.
         */

        if (type != REDIS_REPLY_ARRAY && type != REDIS_REPLY_ERROR) {
            reason = "a pub/sub reply that is not an array";

        } else if (type == REDIS_REPLY_ARRAY && len < 2) {
            reason = "a pub/sub message of fewer than two fields";
        }

    } else if (task->parent->parent == NULL) {
        root = task->parent->obj;

        if (task->idx < 2 && type != REDIS_REPLY_STRING) {
            reason = "a pub/sub message whose kind or channel is not a string";

        } else if (task->idx == 1 && root != NULL
                   && root->element[0] != NULL
                   && !ngx_http_jpulse_redis_reader_ours(rc, root->element[0],
                                                         str, len))
        {
            reason = "a pub/sub message for no subscription";

        } else if (task->idx == 0
                   && ngx_http_jpulse_redis_reader_unsubscribe(str, len)
                   && task->parent->elements < 3)
        {
            reason = "an unsubscribe message without its count";

        } else if (task->idx == 2 && type != REDIS_REPLY_INTEGER
                   && root != NULL && root->elements > 0
                   && root->element[0] != NULL)
        {
            kind = root->element[0];

            if (ngx_http_jpulse_redis_reader_unsubscribe(kind->str,
                                                         kind->len))
            {
                reason = "an unsubscribe message whose count is not "
                         "a number";
            }
        }
    }

    if (reason == NULL) {
        return NULL;
    }

refused:

    if (rc->refused == NULL) {
        rc->refused = reason;
    }

    return reason;
}


/*
 * The channel (or, for a kind hiredis takes for a pattern's: a first 'p'
 * in any case, the pattern) is the one this context subscribed, byte for
 * byte as hiredis looks it up.
 */

static ngx_uint_t
ngx_http_jpulse_redis_reader_ours(ngx_http_jpulse_redis_conn_t *rc,
    redisReply *kind, const char *name, size_t len)
{
    ngx_str_t  *sub;

    if (kind->len > 0 && (kind->str[0] == 'p' || kind->str[0] == 'P')) {
        sub = &rc->sub_pattern;

    } else {
        sub = &rc->sub_channel;
    }

    /* none of that kind (the sentinel watch has no pattern): no match */

    if (sub->len == 0 || name == NULL) {
        return 0;
    }

    return sub->len == len && ngx_memcmp(sub->data, name, len) == 0;
}


/*
 * What hiredis takes for one: "unsubscribe" after an optional 'p', in
 * any case, up to the first NUL (it compares C strings).
 */

static ngx_uint_t
ngx_http_jpulse_redis_reader_unsubscribe(const char *kind, size_t len)
{
    u_char  *nul;

    if (kind == NULL) {
        return 0;
    }

    nul = ngx_strlchr((u_char *) kind, (u_char *) kind + len, '\0');

    if (nul != NULL) {
        len = nul - (u_char *) kind;
    }

    if (len > 0 && (kind[0] == 'p' || kind[0] == 'P')) {
        kind++;
        len--;
    }

    return len == 11 && ngx_strncasecmp((u_char *) kind,
                                        (u_char *) "unsubscribe", 11) == 0;
}
