/*
 * bench/search/search_direct: the baseline of bench/run's search-direct
 * scenario. It runs the very query jpulse_search runs for a request (the
 * same libjpulse parse of the same query string and cursor, the same
 * jp_search_find documents, the same count on a first page, the same
 * options), straight against MongoDB with the same driver (libmongoc),
 * from C threads: what the database alone serves, without nginx, HTTP
 * or JSON. Prints wrk's two lines bench/run reads.
 *
 *   search_direct URI COLLECTION SCHEMA SECRET_FILE ARGS
 *                 [--duration SECS] [--connections C] [--shape]
 *
 * URI names the database (mongodb://HOST:PORT/DB); ARGS is the search's
 * query string ("limit=50&sort=createdAt", "cursor=..."); SECRET_FILE
 * is the jpulse_cursor_secret_file nginx reads (its trailing whitespace
 * dropped, as nginx drops it). --shape prints the query documents and
 * the counts behind them (collection size, rows the page's filter
 * matches, rows one find returns) and exits.
 *
 * Why C and mongoc rather than Node: the same driver and the same
 * documents as the module, and threads cheap enough that the client is
 * never what is measured (the test server is one Node process on the
 * same two cores).
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>
#include <jansson.h>

#include "jp_search.h"


#define SD_SECRET_MAX  4096
#define SD_THREADS_MAX 256


typedef struct {
    mongoc_client_pool_t       *pool;
    const char                 *db;
    const char                 *collection;
    bson_t                     *filter;
    bson_t                     *count;      /* NULL: not a first page */
    bson_t                      opts;
    bson_t                      count_opts;
    double                      deadline;
    long                        done;
    int                         failed;
    char                        error[256];
} sd_job_t;


static double
sd_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
sd_die(const char *what, const char *why)
{
    fprintf(stderr, "search_direct: %s%s%s\n", what, why ? ": " : "",
            why ? why : "");
    exit(1);
}


static bson_t *
sd_bson(json_t *json)
{
    char          *text;
    bson_t        *b;
    bson_error_t   error;

    text = json_dumps(json, JSON_COMPACT);
    if (text == NULL) {
        sd_die("out of memory", NULL);
    }

    b = bson_new_from_json((const uint8_t *) text, -1, &error);
    free(text);

    if (b == NULL) {
        sd_die("a query document does not convert", error.message);
    }

    return b;
}


static void
sd_print(const char *name, json_t *json)
{
    char  *text;

    text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    printf("   %s: %s\n", name, text ? text : "(none)");
    free(text);
}


/* one request's worth: the count of a first page, then the find */
static int
sd_once(sd_job_t *job, mongoc_client_t *client, long *rows, char *err,
    size_t errlen)
{
    int                   ok;
    const bson_t         *doc;
    bson_error_t          error;
    mongoc_cursor_t      *cursor;
    mongoc_collection_t  *coll;

    coll = mongoc_client_get_collection(client, job->db, job->collection);
    ok = 0;

    if (job->count != NULL
        && mongoc_collection_count_documents(coll, job->count,
                                             &job->count_opts, NULL, NULL,
                                             &error) < 0)
    {
        snprintf(err, errlen, "count: %.200s", error.message);
        goto done;
    }

    cursor = mongoc_collection_find_with_opts(coll, job->filter, &job->opts,
                                              NULL);
    *rows = 0;

    while (mongoc_cursor_next(cursor, &doc)) {
        (*rows)++;
    }

    if (mongoc_cursor_error(cursor, &error)) {
        snprintf(err, errlen, "find: %.200s", error.message);
    } else {
        ok = 1;
    }

    mongoc_cursor_destroy(cursor);

done:

    mongoc_collection_destroy(coll);
    return ok;
}


static void *
sd_thread(void *arg)
{
    sd_job_t         *job = arg;
    long              rows, n;
    char              err[256];
    mongoc_client_t  *client;

    client = mongoc_client_pool_pop(job->pool);
    n = 0;

    while (sd_now() < job->deadline) {
        if (!sd_once(job, client, &rows, err, sizeof(err))) {
            job->failed = 1;
            memcpy(job->error, err, sizeof(err));
            break;
        }
        n++;
    }

    mongoc_client_pool_push(job->pool, client);
    job->done = n;

    return NULL;
}


static size_t
sd_read_secret(const char *path, unsigned char *buf, size_t size)
{
    FILE    *f;
    size_t   n;

    f = fopen(path, "rb");
    if (f == NULL) {
        sd_die(path, strerror(errno));
    }

    n = fread(buf, 1, size, f);
    fclose(f);

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
                     || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    {
        n--;
    }

    if (n < JP_SEARCH_KEY_MIN) {
        sd_die(path, "shorter than a cursor key may be");
    }

    return n;
}


int
main(int argc, char **argv)
{
    int                   i, shape, nthreads;
    long                  limit, skip, rows, total;
    char                  err[256];
    double                secs, start, took;
    json_t               *filter, *sort, *count, *collation;
    bson_t               *all;
    pthread_t             tid[SD_THREADS_MAX];
    sd_job_t              jobs[SD_THREADS_MAX], job;
    bson_error_t          error;
    mongoc_uri_t         *uri;
    unsigned char         secret[SD_SECRET_MAX];
    jp_search_key_t       key;
    mongoc_client_t      *client;
    jp_search_error_t     serr;
    jp_search_schema_t   *schema;
    jp_search_request_t   req;
    mongoc_collection_t  *coll;

    if (argc < 6) {
        fprintf(stderr, "usage: search_direct URI COLLECTION SCHEMA "
                "SECRET_FILE ARGS [--duration SECS] [--connections C] "
                "[--shape]\n");
        return 2;
    }

    secs = 5;
    nthreads = 8;
    shape = 0;

    for (i = 6; i < argc; i++) {
        if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
            secs = atof(argv[++i]);
        } else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc) {
            nthreads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--shape") == 0) {
            shape = 1;
        } else {
            sd_die("unknown argument", argv[i]);
        }
    }

    if (secs <= 0 || nthreads < 1 || nthreads > SD_THREADS_MAX) {
        sd_die("--duration > 0 and --connections 1..256", NULL);
    }

    err[0] = '\0';
    schema = jp_search_schema_load(argv[3], err, sizeof(err));
    if (schema == NULL) {
        sd_die(argv[3], err);
    }

    key.data = secret;
    key.len = sd_read_secret(argv[4], secret, sizeof(secret));

    memset(&req, 0, sizeof(req));
    memset(&serr, 0, sizeof(serr));

    if (jp_search_parse(schema, argv[2], argv[5], strlen(argv[5]), &key, 1,
                        0, &req, &serr) != 0)
    {
        sd_die(serr.code ? serr.code : "parse", serr.message);
    }

    if (jp_search_find(&req, &filter, &sort, &limit, &skip) != 0) {
        sd_die("jp_search_find", "out of memory");
    }

    /* a first cursor page counts, as jpulse_search does; offset mode too */
    count = (req.mode == JP_SEARCH_OFFSET || !req.has_cursor)
            ? jp_search_count_filter(&req) : NULL;
    collation = jp_search_collation(&req);

    mongoc_init();

    uri = mongoc_uri_new_with_error(argv[1], &error);
    if (uri == NULL) {
        sd_die(argv[1], error.message);
    }

    if (mongoc_uri_get_database(uri) == NULL) {
        sd_die(argv[1], "names no database");
    }

    memset(&job, 0, sizeof(job));
    job.pool = mongoc_client_pool_new(uri);
    mongoc_client_pool_max_size(job.pool, nthreads);
    job.db = mongoc_uri_get_database(uri);
    job.collection = argv[2];
    job.filter = sd_bson(filter);
    job.count = count ? sd_bson(count) : NULL;
    bson_init(&job.opts);
    bson_init(&job.count_opts);

    all = sd_bson(sort);
    bson_append_document(&job.opts, "sort", -1, all);
    bson_destroy(all);

    if (collation != NULL) {
        all = sd_bson(collation);
        bson_append_document(&job.opts, "collation", -1, all);
        bson_append_document(&job.count_opts, "collation", -1, all);
        bson_destroy(all);
    }

    BSON_APPEND_INT64(&job.opts, "limit", limit);
    if (skip > 0) {
        BSON_APPEND_INT64(&job.opts, "skip", skip);
    }

    if (shape) {
        printf("   query of %s?%s:\n", argv[2], argv[5]);
        sd_print("find filter", filter);
        sd_print("sort", sort);
        printf("   limit: %ld%s\n", limit, skip ? "" : ", no skip");
        if (skip) {
            printf("   skip: %ld\n", skip);
        }
        sd_print("count filter", count);
        sd_print("collation", collation);

        client = mongoc_client_pool_pop(job.pool);
        coll = mongoc_client_get_collection(client, job.db, argv[2]);
        all = bson_new();
        total = mongoc_collection_count_documents(coll, all, NULL, NULL,
                                                  NULL, &error);
        bson_destroy(all);
        if (total < 0) {
            sd_die("count", error.message);
        }
        printf("   counts: %ld documents in %s; the find's filter matches "
               "%ld", total, argv[2],
               (long) mongoc_collection_count_documents(coll, job.filter,
                                                        &job.count_opts,
                                                        NULL, NULL, &error));
        if (!sd_once(&job, client, &rows, err, sizeof(err))) {
            sd_die("find", err);
        }
        printf("; it returns %ld (limit + 1: is there more)\n", rows);
        mongoc_collection_destroy(coll);
        mongoc_client_pool_push(job.pool, client);
        return 0;
    }

    start = sd_now();

    for (i = 0; i < nthreads; i++) {
        jobs[i] = job;
        jobs[i].deadline = start + secs;
        if (pthread_create(&tid[i], NULL, sd_thread, &jobs[i]) != 0) {
            sd_die("pthread_create", strerror(errno));
        }
    }

    total = 0;

    for (i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        if (jobs[i].failed) {
            sd_die("query failed", jobs[i].error);
        }
        total += jobs[i].done;
    }

    took = sd_now() - start;

    /* wrk's lines: bench/run reads them */
    printf("  %ld requests in %.2fs\n", total, took);
    printf("Requests/sec: %.2f\n", total / took);

    return total > 0 ? 0 : 1;
}
