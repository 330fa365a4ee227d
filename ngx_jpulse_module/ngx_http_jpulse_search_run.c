/*
 * The thread side of a search: one count (first cursor page, every
 * offset page) and one find, on a client popped from the worker's pool,
 * within one budget: each step gets what the steps before it left.
 * Only the operation's own heap values are used here: nothing of nginx
 * (ngx_http_jpulse_mongo.h). Every document read becomes the json_t of
 * its canonical Extended JSON, the form jp_search_page() reads, built
 * straight from the BSON (jp_bson_json), and the trees' estimated bytes
 * (jp_bson_json_size()) are bounded by result_max.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_search.h"
#include "jp_bson_json.h"


#define NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN  10000   /* ours, not mongoc's */


static bson_t *ngx_http_jpulse_search_bson(const char *json,
    bson_error_t *error);
static int ngx_http_jpulse_search_opt_doc(bson_t *opts, const char *key,
    const char *json, bson_error_t *error);
static void ngx_http_jpulse_search_bson_error(ngx_http_jpulse_mongo_op_t *op,
    const jp_bson_json_info_t *info);


void
ngx_http_jpulse_search_run(ngx_http_jpulse_mongo_op_t *op,
    mongoc_client_t *client)
{
    int64_t                       total, max_time;
    json_t                       *doc;
    bson_t                       *filter, *count, opts, count_opts;
    const bson_t                 *bdoc;
    mongoc_cursor_t              *cursor;
    mongoc_collection_t          *coll;
    jp_bson_json_info_t           info;
    ngx_http_jpulse_search_op_t  *so;

    so = op->data;
    op->rc = NGX_ERROR;

    filter = NULL;
    count = NULL;
    cursor = NULL;
    bson_init(&opts);
    bson_init(&count_opts);

    coll = mongoc_client_get_collection(client, op->db, so->collection);
    if (coll == NULL) {
        bson_set_error(&op->error, NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN, 1,
                       "no collection handle");
        goto done;
    }

    if (so->collation != NULL
        && (!ngx_http_jpulse_search_opt_doc(&opts, "collation",
                                            so->collation, &op->error)
            || !ngx_http_jpulse_search_opt_doc(&count_opts, "collation",
                                               so->collation, &op->error)))
    {
        goto done;
    }

    if (so->count != NULL) {
        max_time = ngx_http_jpulse_mongo_left_ms(op);
        if (max_time <= 0) {
            ngx_http_jpulse_mongo_expired(op, "the count");
            goto done;
        }

        count = ngx_http_jpulse_search_bson(so->count, &op->error);
        if (count == NULL
            || !BSON_APPEND_INT64(&count_opts, "maxTimeMS", max_time))
        {
            goto done;
        }

        total = mongoc_collection_count_documents(coll, count, &count_opts,
                                                  NULL, NULL, &op->error);
        if (total < 0) {
            goto done;
        }

        so->total = total;
    }

    filter = ngx_http_jpulse_search_bson(so->filter, &op->error);
    if (filter == NULL
        || !ngx_http_jpulse_search_opt_doc(&opts, "sort", so->sort,
                                           &op->error)
        || (so->projection != NULL
            && !ngx_http_jpulse_search_opt_doc(&opts, "projection",
                                               so->projection, &op->error)))
    {
        goto done;
    }

    /* maxTimeMS 0 would mean "no limit" to MongoDB */

    max_time = ngx_http_jpulse_mongo_left_ms(op);
    if (max_time <= 0) {
        ngx_http_jpulse_mongo_expired(op, "the find");
        goto done;
    }

    if (!BSON_APPEND_INT64(&opts, "limit", so->limit)
        || (so->skip > 0 && !BSON_APPEND_INT64(&opts, "skip", so->skip))
        || !BSON_APPEND_INT64(&opts, "maxTimeMS", max_time))
    {
        bson_set_error(&op->error, NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN, 2,
                       "find options too large");
        goto done;
    }

    so->docs = json_array();
    if (so->docs == NULL) {
        bson_set_error(&op->error, NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN, 3,
                       "out of memory");
        goto done;
    }

    info.bytes = 0;

    cursor = mongoc_collection_find_with_opts(coll, filter, &opts, NULL);

    while (mongoc_cursor_next(cursor, &bdoc)) {

        doc = jp_bson_json(bdoc, &info);

        if (doc == NULL) {
            ngx_http_jpulse_search_bson_error(op, &info);
            goto done;
        }

        if (json_array_append_new(so->docs, doc) != 0) {
            bson_set_error(&op->error, NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN,
                           3, "out of memory");
            goto done;
        }

        /* what the page keeps in memory counts (the trees), not the BSON
         * read: a tree takes 15 to 170 times its BSON's bytes */
        so->bytes = info.bytes;
        op->result_size = so->bytes;

        if (so->bytes > so->result_max) {
            so->too_large = 1;
            bson_set_error(&op->error, NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN,
                           5, "result over result_max");
            goto done;
        }
    }

    if (mongoc_cursor_error(cursor, &op->error)) {
        goto done;
    }

    op->rc = NGX_OK;

done:

    if (cursor != NULL) {
        mongoc_cursor_destroy(cursor);
    }

    if (coll != NULL) {
        mongoc_collection_destroy(coll);
    }

    if (filter != NULL) {
        bson_destroy(filter);
    }

    if (count != NULL) {
        bson_destroy(count);
    }

    bson_destroy(&opts);
    bson_destroy(&count_opts);

    if (op->rc != NGX_OK && so->docs != NULL) {
        json_decref(so->docs);
        so->docs = NULL;
    }
}


void
ngx_http_jpulse_search_free(ngx_http_jpulse_mongo_op_t *op)
{
    ngx_http_jpulse_search_op_t  *so;

    so = op->data;

    if (so->docs != NULL) {
        json_decref(so->docs);
    }

    free(so->collection);
    free(so->filter);
    free(so->sort);
    free(so->projection);
    free(so->collation);
    free(so->count);
}


/* the error codes of the text path this replaced: 4 corrupt BSON, 6 text
 * jansson refuses; 7 is new (nested too deep, see jp_bson_json.h) */
static void
ngx_http_jpulse_search_bson_error(ngx_http_jpulse_mongo_op_t *op,
    const jp_bson_json_info_t *info)
{
    switch (info->error) {

    case JP_BSON_JSON_EBSON:
        bson_set_error(&op->error, NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN, 4,
                       "a document is not valid BSON");
        break;

    case JP_BSON_JSON_EDEPTH:
        bson_set_error(&op->error, NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN, 7,
                       "a document is nested %d deep or more ($scope "
                       "counted in)", JP_BSON_JSON_DEPTH);
        break;

    case JP_BSON_JSON_ETEXT:
        bson_set_error(&op->error, NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN, 6,
                       "a document does not load: %s", info->text);
        break;

    default:
        bson_set_error(&op->error, NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN, 3,
                       "out of memory");
        break;
    }
}


static bson_t *
ngx_http_jpulse_search_bson(const char *json, bson_error_t *error)
{
    return bson_new_from_json((const uint8_t *) json, -1, error);
}


static int
ngx_http_jpulse_search_opt_doc(bson_t *opts, const char *key,
    const char *json, bson_error_t *error)
{
    int      ok;
    bson_t  *doc;

    doc = ngx_http_jpulse_search_bson(json, error);
    if (doc == NULL) {
        return 0;
    }

    ok = bson_append_document(opts, key, -1, doc);
    bson_destroy(doc);

    if (!ok) {
        bson_set_error(error, NGX_HTTP_JPULSE_SEARCH_ERROR_DOMAIN, 2,
                       "find options too large");
    }

    return ok;
}
