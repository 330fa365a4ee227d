/*
 * "cachectl sessions import-mongo URI [--collection C] [--dry-run]": moves
 * jPulse's sessions from connect-mongo's collection into the keys
 * connect-redis reads (see cachectl_import.h for the exit status).
 *
 * connect-mongo keeps a session as {_id: sid, expires: Date, session:
 * JSON.stringify(session)} (or the session as a document with its
 * "stringify: false"); a document whose expires has passed is dead to it.
 * Each live one becomes <ns>sess:<sid> = the session's JSON with
 * connect-redis's TTL (ceil(expires - now), seconds), its first-seen
 * record and its user's index, as the daemon's walk would write them.
 *
 * One script per session (pipelined, CACHECTL_IMPORT_BATCH at a time)
 * writes nothing when the key exists (the Redis session is newer: jPulse
 * wrote it since the move began), a tombstone says it was revoked, or an
 * earlier run imported it (<ns>cachectl:imported, until the session would
 * have expired): a session imported, then logged out of (connect-redis's
 * destroy is a plain DEL, no tombstone), must not come back with the next
 * run. So a second run changes nothing and a run cut short is simply run
 * again. MongoDB is only read.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "jp_registry.h"

#include "cachectl_cli.h"
#include "cachectl_import.h"
#include "cachectl_redis.h"
#include "cachectl_sessions.h"
#include "cachectl_sessions_int.h"
#include "cachectl_sync.h"


#define CACHECTL_IMPORT_BATCH       100     /* scripts in one pipeline */
#define CACHECTL_IMPORT_SESSION_MAX (1024 * 1024)   /* a session's JSON */
#define CACHECTL_IMPORT_DEPTH       64      /* nesting of a session */
#define CACHECTL_IMPORT_SHOW        20      /* invalid ones named */
#define CACHECTL_IMPORT_TIMEOUT_MS  5000    /* server selection */

/* the latest time a JavaScript Date holds */
#define CACHECTL_IMPORT_DATE_MAX    INT64_C(8640000000000000)


/*
 * KEYS[1] <ns>sess:<sid>, KEYS[2] <ns>cachectl:revoked, KEYS[3]
 * <ns>cachectl:sessfirst, KEYS[4] <ns>cachectl:imported; ARGV: sid, the
 * session's JSON, TTL s, the first-seen record, the index key ("": no
 * user), its TTL s, "1": a dry run. Returns 1 imported (or would be), 0
 * the key exists, -1 revoked, -2 imported by an earlier run.
 */
static const char  cachectl_import_script[] =
    JP_REGISTRY_LUA_PROLOGUE
    "local t = redis.call('TIME') "
    "local now = t[1] * 1000 + math.floor(t[2] / 1000) "
    "local stone = redis.call('ZSCORE', KEYS[2], ARGV[1]) "
    "if stone and tonumber(stone) > now then return -1 end "
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
    "local done = redis.call('ZSCORE', KEYS[4], ARGV[1]) "
    "if done and tonumber(done) > now then return -2 end "
    "if ARGV[7] == '1' then return 1 end "
    JP_REGISTRY_LUA_ADD("KEYS[4]", "ARGV[1]", "tonumber(ARGV[3]) * 1000")
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) "
    "redis.call('HSET', KEYS[3], ARGV[1], ARGV[4]) "
    "if ARGV[5] ~= '' then "
    "  redis.call('SADD', ARGV[5], ARGV[1]) "
    "  redis.call('EXPIRE', ARGV[5], ARGV[6]) "
    "end "
    "return 1";


/*
 * In a cluster the session is in a slot of its own (docs/protocol.md
 * "What cannot share a slot"): the checks of the sess group first.
 * KEYS[1] <ns>{...}cachectl:revoked, KEYS[2] <ns>{...}cachectl:imported;
 * ARGV: sid. Returns 1 (go on), -1 revoked, -2 imported before.
 */
static const char  cachectl_import_check_script[] =
    "local t = redis.call('TIME') "
    "local now = t[1] * 1000 + math.floor(t[2] / 1000) "
    "local stone = redis.call('ZSCORE', KEYS[1], ARGV[1]) "
    "if stone and tonumber(stone) > now then return -1 end "
    "local done = redis.call('ZSCORE', KEYS[2], ARGV[1]) "
    "if done and tonumber(done) > now then return -2 end "
    "return 1";


/*
 * Then, once "SET <ns>sess:<sid> ... NX EX" applied, the writes of the
 * group. KEYS[1] <ns>{...}cachectl:imported, KEYS[2] <ns>{...}cachectl:
 * sessfirst; ARGV: sid, TTL s, the first-seen record, the index key ("":
 * no user), its TTL s.
 */
static const char  cachectl_import_write_script[] =
    JP_REGISTRY_LUA_PROLOGUE
    JP_REGISTRY_LUA_ADD("KEYS[1]", "ARGV[1]", "tonumber(ARGV[2]) * 1000")
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) "
    "if ARGV[4] ~= '' then "
    "  redis.call('SADD', ARGV[4], ARGV[1]) "
    "  redis.call('EXPIRE', ARGV[4], ARGV[5]) "
    "end "
    "return 1";


typedef struct {
    cachectl_conf_t  *conf;
    redisContext     *redis;
    int64_t           clock_ms;     /* Redis's clock at clock_mono */
    int64_t           clock_mono;
    size_t            queued;
    json_t           *pending;      /* sids of the queued scripts */
    uint64_t          read;
    uint64_t          imported;
    uint64_t          expired;
    uint64_t          existing;
    uint64_t          revoked;
    uint64_t          before;       /* imported by an earlier run */
    uint64_t          invalid;
} cachectl_import_t;


static json_t *cachectl_import_value(bson_iter_t *it, int depth,
    const char **why);
static int cachectl_import_doc(cachectl_import_t *im, const bson_t *doc,
    char *err, size_t size);
static int cachectl_import_flush(cachectl_import_t *im, char *err,
    size_t size);
static int cachectl_import_split(cachectl_import_t *im, const char *sid,
    const char *val, size_t vlen, const char *ttl, const char *rec,
    const char *idx, const char *life, char *err, size_t size);
static void cachectl_import_bad(cachectl_import_t *im, const bson_t *doc,
    const char *why);
static void cachectl_import_quiet(mongoc_log_level_t level,
    const char *domain, const char *message, void *data);


/* BSON as JSON.stringify() writes the object connect-mongo stored */

static json_t *
cachectl_import_value(bson_iter_t *it, int depth, const char **why)
{
    char          buf[96], oid[25];
    time_t        sec;
    json_t       *v, *e;
    int64_t       ms;
    uint32_t      len;
    struct tm     tm;
    bson_iter_t   child;
    const char   *s;

    if (depth > CACHECTL_IMPORT_DEPTH) {
        *why = "nested too deep";
        return NULL;
    }

    switch (bson_iter_type(it)) {

    case BSON_TYPE_UTF8:
        s = bson_iter_utf8(it, &len);
        if (!bson_utf8_validate(s, len, true)) {
            *why = "a string that is not UTF-8";
            return NULL;
        }
        return json_stringn(s, len);

    case BSON_TYPE_INT32:
        return json_integer(bson_iter_int32(it));

    case BSON_TYPE_INT64:
        return json_integer(bson_iter_int64(it));

    case BSON_TYPE_DOUBLE:
        /* JSON.stringify(NaN) is null */
        return json_real(bson_iter_double(it)) ?: json_null();

    case BSON_TYPE_BOOL:
        return json_boolean(bson_iter_bool(it));

    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        return json_null();

    case BSON_TYPE_OID:
        bson_oid_to_string(bson_iter_oid(it), oid);
        return json_string(oid);

    case BSON_TYPE_DATE_TIME:
        /* Date.prototype.toJSON(): 2026-11-26T03:00:00.000Z */
        ms = bson_iter_date_time(it);
        if (ms < 0 || ms > CACHECTL_IMPORT_DATE_MAX) {
            *why = "a date out of range";
            return NULL;
        }
        sec = (time_t) (ms / 1000);
        if (gmtime_r(&sec, &tm) == NULL || tm.tm_year + 1900 > 9999) {
            *why = "a date out of range";
            return NULL;
        }
        snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int) (ms % 1000));
        return json_string(buf);

    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        v = bson_iter_type(it) == BSON_TYPE_DOCUMENT ? json_object()
                                                     : json_array();
        if (v == NULL || !bson_iter_recurse(it, &child)) {
            json_decref(v);
            *why = "out of memory";
            return NULL;
        }

        while (bson_iter_next(&child)) {
            e = cachectl_import_value(&child, depth + 1, why);
            if (e == NULL) {
                json_decref(v);
                return NULL;
            }

            if (json_is_array(v) ? json_array_append_new(v, e)
                : json_object_setn_new(v, bson_iter_key(&child),
                                       bson_iter_key_len(&child), e))
            {
                json_decref(v);
                *why = "a key that is not UTF-8";
                return NULL;
            }
        }

        return v;

    default:
        *why = "a BSON type a session never has";
        return NULL;
    }
}


static void
cachectl_import_bad(cachectl_import_t *im, const bson_t *doc,
    const char *why)
{
    char          buf[4 * CACHECTL_SID_MAX];
    size_t        len;
    uint32_t      n;
    bson_iter_t   it;
    const char   *id;

    im->invalid++;

    if (im->invalid > CACHECTL_IMPORT_SHOW) {
        return;
    }

    len = 0;
    buf[0] = '\0';

    if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it)) {
        id = bson_iter_utf8(&it, &n);
        if (n < CACHECTL_SID_MAX && strlen(id) == n
            && bson_utf8_validate(id, n, false))
        {
            cachectl_cli_esc(buf, sizeof(buf), &len, id);
        }
    }

    /* a session id is a credential: its first 12 bytes, as the daemon */
    if (buf[0] == '\0') {
        fprintf(stderr, "cachectl: document (an _id that is no session id) "
                "not imported: %s\n", why);
        return;
    }

    fprintf(stderr, "cachectl: document \"%.12s...\" not imported: %s\n",
            buf, why);
}


/* one document: checked, then its script queued (flushed in batches) */

static int
cachectl_import_doc(cachectl_import_t *im, const bson_t *doc, char *err,
    size_t size)
{
    int           rc;
    char          ttl[32], life[32], rec[CACHECTL_SID_MAX + 32], *text;
    size_t        vlen;
    char          idx[CACHECTL_GROUP_MAX + CACHECTL_SID_MAX + 16];
    json_t       *sess;
    size_t        i;
    int64_t       now, expires, first;
    uint32_t      n;
    bson_iter_t   it;
    const char   *sid, *s, *uid, *why, *val;

    im->read++;

    /* connect-mongo's _id is the session id, a string */
    if (!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it)) {
        cachectl_import_bad(im, doc, "its _id is not a string (a session "
                            "id)");
        return 0;
    }

    sid = bson_iter_utf8(&it, &n);

    if (n == 0 || n >= CACHECTL_SID_MAX || strlen(sid) != n
        || !bson_utf8_validate(sid, n, false))
    {
        cachectl_import_bad(im, doc, "its _id is no session id");
        return 0;
    }

    for (i = 0; i < n; i++) {
        if ((unsigned char) sid[i] < 0x20 || sid[i] == 0x7f) {
            cachectl_import_bad(im, doc, "its _id is no session id");
            return 0;
        }
    }

    /* the session: JSON.stringify()'s string, or the object itself */
    sess = NULL;
    text = NULL;
    val = NULL;
    vlen = 0;
    why = NULL;

    if (!bson_iter_init_find(&it, doc, "session")) {
        cachectl_import_bad(im, doc, "no session field");
        return 0;
    }

    if (BSON_ITER_HOLDS_UTF8(&it)) {
        s = bson_iter_utf8(&it, &n);

        if (n > CACHECTL_IMPORT_SESSION_MAX) {
            cachectl_import_bad(im, doc, "its session is larger than 1 MB");
            return 0;
        }

        sess = cachectl_session_load(s, n);

        if (!json_is_object(sess)) {
            json_decref(sess);
            cachectl_import_bad(im, doc, "its session is not a JSON object "
                                "(encrypted, or another serializer)");
            return 0;
        }

        val = s;
        vlen = n;

    } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
        sess = cachectl_import_value(&it, 0, &why);

        if (sess == NULL) {
            cachectl_import_bad(im, doc, why);
            return 0;
        }

        text = json_dumps(sess, JSON_COMPACT);
        val = text;
        vlen = text ? strlen(text) : 0;

        if (vlen > CACHECTL_IMPORT_SESSION_MAX) {
            free(text);
            json_decref(sess);
            cachectl_import_bad(im, doc, "its session is larger than 1 MB");
            return 0;
        }

    } else {
        cachectl_import_bad(im, doc, "its session is neither a string nor "
                            "a document");
        return 0;
    }

    if (val == NULL) {
        json_decref(sess);
        snprintf(err, size, "out of memory");
        return -1;
    }

    /* Redis's clock, as the daemon keeps it */
    now = im->clock_ms + (cachectl_mono_ms() - im->clock_mono);

    if (bson_iter_init_find(&it, doc, "expires")
        && !BSON_ITER_HOLDS_NULL(&it))
    {
        if (!BSON_ITER_HOLDS_DATE_TIME(&it)) {
            cachectl_import_bad(im, doc, "its expires is not a date");
            goto skip;
        }

        expires = bson_iter_date_time(&it);

    } else {
        /* connect-mongo always writes one; else connect-redis's rule */
        expires = cachectl_iso_ms(json_string_value(json_object_get(
                      json_object_get(sess, "cookie"), "expires")));

        if (expires <= 0) {
            expires = now + (int64_t) im->conf->session_default_ttl_s * 1000;
        }
    }

    if (expires > CACHECTL_IMPORT_DATE_MAX) {
        cachectl_import_bad(im, doc, "its expires is out of range");
        goto skip;
    }

    if (expires - now <= 0) {
        /* dead to connect-mongo too */
        im->expired++;
        goto skip;
    }

    /* connect-redis: ceil(expires - now) in seconds */
    snprintf(ttl, sizeof(ttl), "%" PRId64, (expires - now + 999) / 1000);

    /* connect-mongo's createdAt (its "timestamps" option) or now */
    first = now;

    if (bson_iter_init_find(&it, doc, "createdAt")
        && BSON_ITER_HOLDS_DATE_TIME(&it)
        && bson_iter_date_time(&it) > 0 && bson_iter_date_time(&it) <= now)
    {
        first = bson_iter_date_time(&it);
    }

    uid = cachectl_session_user(sess);
    snprintf(rec, sizeof(rec), "%" PRId64 "%s%s", first, uid ? " " : "",
             uid ? uid : "");
    snprintf(idx, sizeof(idx), "%s%s%s", uid ? im->conf->sx : "",
             uid ? "sessidx:" : "", uid ? uid : "");
    snprintf(life, sizeof(life), "%ld", cachectl_sessions_life(im->conf));

    if (im->conf->redis_cluster != NULL) {
        rc = cachectl_import_split(im, sid, val, vlen, ttl, rec, idx, life,
                                   err, size);
        free(text);
        json_decref(sess);
        return rc;
    }

    rc = redisAppendCommand(im->redis, "EVAL %s 4 %ssess:%s "
                            "%scachectl:revoked %scachectl:sessfirst "
                            "%scachectl:imported "
                            "%s %b %s %s %s %s %s", cachectl_import_script,
                            im->conf->ns, sid, im->conf->sx, im->conf->sx,
                            im->conf->sx, sid, val, vlen, ttl, rec, idx,
                            life,
                            im->conf->dry_run ? "1" : "0");

    free(text);
    json_decref(sess);

    if (rc != REDIS_OK || json_array_append_new(im->pending,
                                                json_string(sid)) != 0)
    {
        snprintf(err, size, "out of memory");
        return -1;
    }

    if (++im->queued >= CACHECTL_IMPORT_BATCH) {
        return cachectl_import_flush(im, err, size);
    }

    return 0;

skip:

    free(text);
    json_decref(sess);

    return 0;
}


/*
 * One session in a cluster, synchronously: the checks (sess group), the
 * session with SET NX EX (its slot: a session jPulse wrote since wins),
 * and only if that applied, the records (sess group). 0, or -1.
 */

static int
cachectl_import_split(cachectl_import_t *im, const char *sid,
    const char *val, size_t vlen, const char *ttl, const char *rec,
    const char *idx, const char *life, char *err, size_t size)
{
    long long         v;
    redisReply       *r;
    redisContext     *c;
    cachectl_conf_t  *conf;

    c = im->redis;
    conf = im->conf;

    r = cachectl_redis_cmd(c, err, size, "EVAL %s 2 %scachectl:revoked "
                           "%scachectl:imported %s",
                           cachectl_import_check_script, conf->sx, conf->sx,
                           sid);
    if (r == NULL) {
        return -1;
    }

    v = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;

    if (r->type != REDIS_REPLY_INTEGER) {
        snprintf(err, size, "Redis refused the import of session "
                 "\"%.12s...\": %s", sid,
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }

    freeReplyObject(r);

    if (v == -1) {
        im->revoked++;
        return 0;
    }

    if (v == -2) {
        im->before++;
        return 0;
    }

    r = conf->dry_run
        ? cachectl_redis_cmd(c, err, size, "EXISTS %ssess:%s", conf->ns, sid)
        : cachectl_redis_cmd(c, err, size, "SET %ssess:%s %b NX EX %s",
                             conf->ns, sid, val, vlen, ttl);
    if (r == NULL) {
        return -1;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, size, "Redis refused the import of session "
                 "\"%.12s...\": %s", sid, r->str);
        freeReplyObject(r);
        return -1;
    }

    /* SET NX: nil when the key exists; EXISTS: 1 */
    v = conf->dry_run ? r->type == REDIS_REPLY_INTEGER && r->integer == 1
                      : r->type == REDIS_REPLY_NIL;
    freeReplyObject(r);

    if (v) {
        im->existing++;
        return 0;
    }

    if (conf->dry_run) {
        im->imported++;
        return 0;
    }

    r = cachectl_redis_cmd(c, err, size, "EVAL %s 2 %scachectl:imported "
                           "%scachectl:sessfirst %s %s %s %s %s",
                           cachectl_import_write_script, conf->sx, conf->sx,
                           sid, ttl, rec, idx, life);
    if (r == NULL) {
        return -1;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, size, "Redis refused the records of session "
                 "\"%.12s...\": %s", sid, r->str);
        freeReplyObject(r);
        return -1;
    }

    freeReplyObject(r);
    im->imported++;

    return 0;
}


/* the replies of the queued scripts */

static int
cachectl_import_flush(cachectl_import_t *im, char *err, size_t size)
{
    int          rc;
    void        *rp;
    size_t       i;
    redisReply  *r;

    rc = 0;

    for (i = 0; i < im->queued; i++) {
        if (redisGetReply(im->redis, &rp) != REDIS_OK) {
            snprintf(err, size, "Redis: %s", cachectl_redis_errstr(im->redis));
            return -1;
        }

        r = rp;

        if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
            im->imported++;

        } else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
            im->existing++;

        } else if (r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
            im->revoked++;

        } else if (r->type == REDIS_REPLY_INTEGER && r->integer == -2) {
            im->before++;

        } else if (rc == 0) {
            /* the rest of the replies are read all the same */
            snprintf(err, size, "Redis refused the import of session "
                     "\"%.12s...\": %s",
                     json_string_value(json_array_get(im->pending, i)),
                     r->type == REDIS_REPLY_ERROR ? r->str
                                                  : "unexpected reply");
            rc = -1;
        }

        freeReplyObject(r);
    }

    im->queued = 0;
    json_array_clear(im->pending);

    return rc;
}


static void
cachectl_import_quiet(mongoc_log_level_t level, const char *domain,
    const char *message, void *data)
{
    /* what matters comes back as a bson_error_t: said once, our way */
}


int
cachectl_import_mongo(cachectl_conf_t *conf)
{
    int                   rc;
    char                  err[512], line[4096], *text;
    bson_t               *filter, *opts, ping, reply;
    size_t                len;
    json_t               *out;
    FILE                 *in;
    redisReply           *r;
    bson_error_t          error;
    mongoc_uri_t         *uri;
    redisContext         *c;
    const bson_t         *doc;
    const char           *src, *db, *coll;
    mongoc_cursor_t      *cursor;
    mongoc_client_t      *client;
    mongoc_database_t    *database;
    cachectl_import_t     im;
    mongoc_collection_t  *collection;

    src = conf->args[2];

    if (strcmp(src, "-") == 0) {
        /* a password in argv is visible to every user of the host */
        in = stdin;
        if (fgets(line, sizeof(line), in) == NULL) {
            fprintf(stderr, "cachectl: no URI on stdin\n");
            return CACHECTL_EXIT_USAGE;
        }

        len = strcspn(line, "\r\n");
        line[len] = '\0';
        src = line;
    }

    mongoc_init();
    mongoc_log_set_handler(cachectl_import_quiet, NULL);

    memset(&im, 0, sizeof(cachectl_import_t));
    rc = CACHECTL_EXIT_FAIL;
    c = NULL;
    client = NULL;
    database = NULL;
    collection = NULL;
    cursor = NULL;
    filter = NULL;
    opts = NULL;

    uri = mongoc_uri_new_with_error(src, &error);
    if (uri == NULL) {
        /* mongoc's message does not repeat the URI (nor its password) */
        fprintf(stderr, "cachectl: not a MongoDB URI: %s\n", error.message);
        rc = CACHECTL_EXIT_USAGE;
        goto done;
    }

    /* unreachable: a clear error in seconds, not the driver's 30 s */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS)) {
        mongoc_uri_set_option_as_int32(uri,
            MONGOC_URI_SERVERSELECTIONTIMEOUTMS, CACHECTL_IMPORT_TIMEOUT_MS);
    }

    if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS)) {
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS,
                                       CACHECTL_IMPORT_TIMEOUT_MS);
    }

    /* the Node driver's default database, as connect-mongo's mongoUrl */
    db = mongoc_uri_get_database(uri) ? mongoc_uri_get_database(uri)
                                      : "test";
    coll = conf->collection ? conf->collection : "sessions";

    client = mongoc_client_new_from_uri_with_error(uri, &error);
    if (client == NULL) {
        fprintf(stderr, "cachectl: MongoDB: %s\n", error.message);
        goto done;
    }

    mongoc_client_set_appname(client, "cachectl");

    /* unreachable, or the credentials refused: before Redis is touched */
    bson_init(&ping);
    BSON_APPEND_INT32(&ping, "ping", 1);

    if (!mongoc_client_command_simple(client, db, &ping, NULL, &reply,
                                      &error))
    {
        fprintf(stderr, "cachectl: MongoDB %s: %s\n",
                error.domain == MONGOC_ERROR_CLIENT
                && error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE
                ? "refused the credentials" : "unreachable", error.message);
        bson_destroy(&ping);
        bson_destroy(&reply);
        goto done;
    }

    bson_destroy(&ping);
    bson_destroy(&reply);

    database = mongoc_client_get_database(client, db);

    if (!mongoc_database_has_collection(database, coll, &error)) {
        if (error.code) {
            fprintf(stderr, "cachectl: MongoDB: %s\n", error.message);
        } else {
            fprintf(stderr, "cachectl: MongoDB has no collection %s.%s "
                    "(connect-mongo's is \"sessions\": --collection)\n", db,
                    coll);
        }
        goto done;
    }

    c = cachectl_redis_connect(conf, err, sizeof(err));
    if (c == NULL) {
        fprintf(stderr, "cachectl: %s\n", err);
        goto done;
    }

    /* Redis's clock: the TTLs and first-seen records are the daemon's */
    r = cachectl_redis_cmd(c, err, sizeof(err), "TIME");
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        fprintf(stderr, "cachectl: TIME: %s\n", r == NULL ? err
                : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        if (r) {
            freeReplyObject(r);
        }
        goto done;
    }

    im.clock_ms = atoll(r->element[0]->str) * 1000
                  + atoll(r->element[1]->str) / 1000;
    im.clock_mono = cachectl_mono_ms();
    freeReplyObject(r);

    im.conf = conf;
    im.redis = c;
    im.pending = json_array();
    filter = bson_new();
    opts = BCON_NEW("batchSize", BCON_INT32(500));

    if (im.pending == NULL || filter == NULL || opts == NULL) {
        fprintf(stderr, "cachectl: out of memory\n");
        goto done;
    }

    collection = mongoc_database_get_collection(database, coll);
    cursor = mongoc_collection_find_with_opts(collection, filter, opts,
                                              NULL);

    while (mongoc_cursor_next(cursor, &doc)) {
        if (cachectl_import_doc(&im, doc, err, sizeof(err)) != 0) {
            fprintf(stderr, "cachectl: %s\n", err);
            goto report;
        }
    }

    if (cachectl_import_flush(&im, err, sizeof(err)) != 0) {
        fprintf(stderr, "cachectl: %s\n", err);
        goto report;
    }

    if (mongoc_cursor_error(cursor, &error)) {
        /* what was read is in Redis: a second run goes on from there */
        fprintf(stderr, "cachectl: MongoDB: %s\n", error.message);
        goto report;
    }

    if (im.invalid > CACHECTL_IMPORT_SHOW) {
        fprintf(stderr, "cachectl: %" PRIu64 " more documents not imported\n",
                im.invalid - CACHECTL_IMPORT_SHOW);
    }

    if (im.read > 0 && im.invalid == im.read) {
        fprintf(stderr, "cachectl: no document of %s.%s is connect-mongo's "
                "{_id: sid, expires: Date, session}\n", db, coll);

    } else if (im.invalid == 0) {
        rc = CACHECTL_EXIT_OK;
    }

report:

    if (conf->json) {
        out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
                        "read", (json_int_t) im.read,
                        "imported", (json_int_t) im.imported,
                        "expired", (json_int_t) im.expired,
                        "existing", (json_int_t) im.existing,
                        "revoked", (json_int_t) im.revoked,
                        "importedBefore", (json_int_t) im.before,
                        "invalid", (json_int_t) im.invalid,
                        "dryRun", conf->dry_run);
        text = out ? json_dumps(out, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(out);

    } else {
        printf("%s %s.%s: read %" PRIu64 ", %s %" PRIu64 ", expired %" PRIu64
               ", existing %" PRIu64 ", revoked %" PRIu64 ", imported before %"
               PRIu64 ", invalid %" PRIu64 "\n",
               conf->dry_run ? "dry run of" : "imported from",
               db, coll, im.read,
               conf->dry_run ? "would import" : "imported", im.imported,
               im.expired, im.existing, im.revoked, im.before, im.invalid);
    }

done:

    if (cursor) {
        mongoc_cursor_destroy(cursor);
    }

    if (collection) {
        mongoc_collection_destroy(collection);
    }

    if (database) {
        mongoc_database_destroy(database);
    }

    if (client) {
        mongoc_client_destroy(client);
    }

    if (uri) {
        mongoc_uri_destroy(uri);
    }

    bson_destroy(filter);
    bson_destroy(opts);
    json_decref(im.pending);

    if (c) {
        if (!conf->dry_run && im.imported) {
            rc = cachectl_cli_replicated(conf, c, rc);
        }

        redisFree(c);
    }

    mongoc_cleanup();

    return rc;
}
