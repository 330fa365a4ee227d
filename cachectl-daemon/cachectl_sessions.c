/*
 * Session upkeep and the sessions commands (see cachectl_sessions.h).
 *
 * jPulse's sessions are connect-redis JSON under <ns>sess:<sid>
 * (contract 4.3). The daemon walks them with a resumable SCAN, a budget
 * of keys per tick, and for each one:
 *   - gives a session without a TTL one (the cookie's expiry, else
 *     --session-default-ttl);
 *   - enforces an absolute lifetime (--session-max-age), counted from the
 *     first time cachectl saw the session (<ns>cachectl:sessfirst);
 *   - adds it to its user's index <ns>sessidx:<userId>, a set with a TTL,
 *     so that one user's sessions can be revoked at once.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_sessions.h"
#include "cachectl_sync.h"


#define CACHECTL_SID_MAX   256


static int64_t cachectl_iso_ms(const char *s);
static const char *cachectl_session_user(json_t *sess);
static int cachectl_sessions_cleanup(cachectl_conf_t *conf, redisContext *c,
    char *err, size_t size);


void
cachectl_sessions_init(cachectl_sessions_t *ss)
{
    memset(ss, 0, sizeof(cachectl_sessions_t));
    snprintf(ss->cursor, sizeof(ss->cursor), "0");
}


json_t *
cachectl_sessions_stats(cachectl_sessions_t *ss)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "live", (json_int_t) ss->live,
                     "passes", (json_int_t) ss->passes,
                     "scanned", (json_int_t) ss->scanned,
                     "ttlSet", (json_int_t) ss->ttl_set,
                     "expired", (json_int_t) ss->expired,
                     "indexed", (json_int_t) ss->indexed,
                     "lastPass", (json_int_t) ss->last_pass_ms);
}


/* "2026-11-26T03:00:00.000Z" -> ms since the epoch; 0 when not that */

static int64_t
cachectl_iso_ms(const char *s)
{
    int        ms;
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    ms = 0;

    if (s == NULL
        || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6)
    {
        return 0;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    return (int64_t) timegm(&tm) * 1000 + ms;
}


static const char *
cachectl_session_user(json_t *sess)
{
    json_t  *id;

    id = json_object_get(json_object_get(sess, "user"), "id");

    return json_is_string(id) && json_string_length(id) ? json_string_value(id)
                                                        : NULL;
}


int
cachectl_sessions_step(cachectl_sessions_t *ss, cachectl_conf_t *conf,
    redisContext *c, long budget, char *err, size_t size)
{
    int           rc;
    char         *sid;
    size_t        i, n, prefix, queued;
    json_t       *sess;
    int64_t       now, first, remaining, expires, want;
    long long     ttl;
    redisReply   *r, *keys, *get, *t, *f;
    const char   *uid;
    json_error_t  jerr;

    r = cachectl_redis_cmd(c, err, size, "SCAN %s MATCH %ssess:* COUNT %ld",
                           ss->cursor, conf->ns, budget);
    if (r == NULL) {
        return -1;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        snprintf(err, size, "SCAN: %s", r->type == REDIS_REPLY_ERROR
                                        ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }

    snprintf(ss->cursor, sizeof(ss->cursor), "%s", r->element[0]->str);

    keys = r->element[1];
    n = keys->elements;
    prefix = strlen(conf->ns) + 5;
    now = cachectl_now_ms();

    for (i = 0; i < n; i++) {
        sid = keys->element[i]->str + prefix;

        redisAppendCommand(c, "GET %s", keys->element[i]->str);
        redisAppendCommand(c, "TTL %s", keys->element[i]->str);
        redisAppendCommand(c, "HSETNX %scachectl:sessfirst %s %lld", conf->ns,
                           sid, (long long) now);
        redisAppendCommand(c, "HGET %scachectl:sessfirst %s", conf->ns, sid);
    }

    rc = 0;
    queued = 0;

    for (i = 0; i < n; i++) {
        void  *rp[4];
        int    k;

        for (k = 0; k < 4; k++) {
            if (redisGetReply(c, &rp[k]) != REDIS_OK) {
                snprintf(err, size, "Redis: %s", c->errstr);
                while (k--) {
                    freeReplyObject(rp[k]);
                }
                freeReplyObject(r);
                return -1;
            }
        }

        get = rp[0];
        t = rp[1];
        f = rp[3];
        sid = keys->element[i]->str + prefix;

        ss->scanned++;

        if (get->type != REDIS_REPLY_STRING) {
            /* gone since the SCAN: forget when we first saw it */
            redisAppendCommand(c, "HDEL %scachectl:sessfirst %s", conf->ns,
                               sid);
            queued++;
            goto next;
        }

        sess = json_loadb(get->str, get->len, 0, &jerr);
        uid = cachectl_session_user(sess);

        first = f->type == REDIS_REPLY_STRING ? atoll(f->str) : now;
        remaining = conf->session_max_age_s * 1000 - (now - first);

        if (remaining <= 0) {
            redisAppendCommand(c, "DEL %s", keys->element[i]->str);
            redisAppendCommand(c, "HDEL %scachectl:sessfirst %s", conf->ns,
                               sid);
            queued += 2;

            if (uid) {
                redisAppendCommand(c, "SREM %ssessidx:%s %s", conf->ns, uid,
                                   sid);
                queued++;
            }

            ss->expired++;
            cachectl_log(CACHECTL_INFO, "session %.12s... of user %s "
                         "removed: older than %lds", sid, uid ? uid : "-",
                         conf->session_max_age_s);
            json_decref(sess);
            goto next;
        }

        ttl = t->type == REDIS_REPLY_INTEGER ? t->integer : -2;

        if (ttl == -1 || ttl * 1000 > remaining + 1000) {
            /* connect-redis's own rule: the cookie's expiry */
            expires = cachectl_iso_ms(json_string_value(json_object_get(
                          json_object_get(sess, "cookie"), "expires")));

            want = ttl == -1 ? (expires > now ? (expires - now + 999) / 1000
                                              : conf->session_default_ttl_s)
                             : ttl;

            if (want * 1000 > remaining) {
                want = (remaining + 999) / 1000;
            }

            redisAppendCommand(c, "EXPIRE %s %lld", keys->element[i]->str,
                               (long long) want);
            queued++;

            if (ttl == -1) {
                ss->ttl_set++;
            }
        }

        if (uid != NULL && strlen(uid) < CACHECTL_SID_MAX) {
            redisAppendCommand(c, "SADD %ssessidx:%s %s", conf->ns, uid, sid);
            redisAppendCommand(c, "EXPIRE %ssessidx:%s %ld", conf->ns, uid,
                               conf->session_max_age_s);
            queued += 2;
            ss->pass_indexed++;
        }

        ss->pass_live++;
        json_decref(sess);

    next:

        for (k = 0; k < 4; k++) {
            freeReplyObject(rp[k]);
        }
    }

    freeReplyObject(r);

    for (i = 0; i < queued; i++) {
        void  *rp;

        if (redisGetReply(c, &rp) != REDIS_OK) {
            snprintf(err, size, "Redis: %s", c->errstr);
            return -1;
        }

        freeReplyObject(rp);
    }

    if (strcmp(ss->cursor, "0") == 0) {
        ss->passes++;
        ss->live = ss->pass_live;
        ss->pass_live = 0;
        ss->indexed = ss->pass_indexed;
        ss->pass_indexed = 0;
        ss->last_pass_ms = now;
        rc = cachectl_sessions_cleanup(conf, c, err, size);
    }

    return rc;
}


/* first-seen records of sessions that are gone */

static int
cachectl_sessions_cleanup(cachectl_conf_t *conf, redisContext *c,
    char *err, size_t size)
{
    char         cursor[32], dead[1024];
    size_t       i, n, gone;
    redisReply  *r, *fields, *e;
    void        *rp;

    snprintf(cursor, sizeof(cursor), "0");

    do {
        /* COUNT is a hint: at most sizeof(dead) fields are checked a round */
        r = cachectl_redis_cmd(c, err, size,
                               "HSCAN %scachectl:sessfirst %s COUNT 500",
                               conf->ns, cursor);
        if (r == NULL) {
            return -1;
        }

        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            return 0;
        }

        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        fields = r->element[1];
        n = 0;

        for (i = 0; i + 1 < fields->elements && n < sizeof(dead); i += 2) {
            redisAppendCommand(c, "EXISTS %ssess:%s", conf->ns,
                               fields->element[i]->str);
            n++;
        }

        /* every reply first: nothing else may use the connection */
        gone = 0;

        for (i = 0; i < n; i++) {
            if (redisGetReply(c, &rp) != REDIS_OK) {
                freeReplyObject(r);
                snprintf(err, size, "Redis: %s", c->errstr);
                return -1;
            }

            e = rp;
            dead[i] = (e->type == REDIS_REPLY_INTEGER && e->integer == 0);
            gone += dead[i];
            freeReplyObject(e);
        }

        for (i = 0; gone && i < n; i++) {
            if (dead[i]) {
                freeReplyObject(cachectl_redis_cmd(c, err, size,
                    "HDEL %scachectl:sessfirst %s", conf->ns,
                    fields->element[i * 2]->str));
            }
        }

        freeReplyObject(r);

    } while (strcmp(cursor, "0") != 0);

    return 0;
}


/* the sessions commands -------------------------------------------------- */


typedef int (*cachectl_each_pt)(void *arg, const char *sid, json_t *sess,
    long long ttl);


/* every session (or one user's), with its TTL */

static int
cachectl_sessions_each(cachectl_conf_t *conf, redisContext *c,
    const char *user, cachectl_each_pt cb, void *arg, char *err,
    size_t size)
{
    char         cursor[32];
    size_t       i, n, prefix;
    json_t      *sess;
    redisReply  *r, *keys;
    void        *get, *ttl;
    const char  *uid;

    snprintf(cursor, sizeof(cursor), "0");
    prefix = strlen(conf->ns) + 5;

    do {
        r = cachectl_redis_cmd(c, err, size,
                               "SCAN %s MATCH %ssess:* COUNT 1000", cursor,
                               conf->ns);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r) {
                snprintf(err, size, "SCAN failed");
                freeReplyObject(r);
            }
            return -1;
        }

        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        keys = r->element[1];
        n = keys->elements;

        for (i = 0; i < n; i++) {
            redisAppendCommand(c, "GET %s", keys->element[i]->str);
            redisAppendCommand(c, "TTL %s", keys->element[i]->str);
        }

        for (i = 0; i < n; i++) {
            if (redisGetReply(c, &get) != REDIS_OK
                || redisGetReply(c, &ttl) != REDIS_OK)
            {
                snprintf(err, size, "Redis: %s", c->errstr);
                freeReplyObject(r);
                return -1;
            }

            if (((redisReply *) get)->type == REDIS_REPLY_STRING) {
                sess = json_loadb(((redisReply *) get)->str,
                                  ((redisReply *) get)->len, 0, NULL);
                uid = cachectl_session_user(sess);

                if (user == NULL || (uid && strcmp(uid, user) == 0)) {
                    cb(arg, keys->element[i]->str + prefix, sess,
                       ((redisReply *) ttl)->integer);
                }

                json_decref(sess);
            }

            freeReplyObject(get);
            freeReplyObject(ttl);
        }

        freeReplyObject(r);

    } while (strcmp(cursor, "0") != 0);

    return 0;
}


static int
cachectl_sessions_count_cb(void *arg, const char *sid, json_t *sess,
    long long ttl)
{
    (*(long *) arg)++;
    return 0;
}


static int
cachectl_sessions_list_cb(void *arg, const char *sid, json_t *sess,
    long long ttl)
{
    json_t      *user, *list;
    const char  *uid, *name, *expires;

    list = arg;
    user = json_object_get(sess, "user");
    uid = cachectl_session_user(sess);
    name = json_string_value(json_object_get(user, "username"));
    expires = json_string_value(json_object_get(json_object_get(sess,
                                                "cookie"), "expires"));

    json_array_append_new(list, json_pack("{s:s, s:s?, s:s?, s:b, s:I, s:s?}",
        "sid", sid, "userId", uid, "username", name,
        "authenticated",
        json_is_true(json_object_get(user, "isAuthenticated")),
        "ttl", (json_int_t) ttl, "expires", expires));

    return 0;
}


typedef struct {
    redisContext     *c;
    cachectl_conf_t  *conf;
    long              n;
} cachectl_revoke_t;


/* collects: the connection is busy with the listing's replies */

static int
cachectl_sessions_collect_cb(void *arg, const char *sid, json_t *sess,
    long long ttl)
{
    return json_array_append_new(arg, json_string(sid));
}


static int
cachectl_sessions_revoke_cb(void *arg, const char *sid, json_t *sess,
    long long ttl)
{
    cachectl_revoke_t  *rv = arg;

    redisReply  *r;

    r = redisCommand(rv->c, "DEL %ssess:%s", rv->conf->ns, sid);

    if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
        rv->n += r->integer;
    }

    if (r) {
        freeReplyObject(r);
    }

    freeReplyObject(redisCommand(rv->c, "HDEL %scachectl:sessfirst %s",
                                 rv->conf->ns, sid));

    return 0;
}


static int
cachectl_sessions_usage(const char *msg)
{
    fprintf(stderr, "cachectl sessions: %s\n"
            "Usage: cachectl sessions count\n"
            "       cachectl sessions list [--user USERID] [--json]\n"
            "       cachectl sessions show SID [--json]\n"
            "       cachectl sessions revoke SID\n"
            "       cachectl sessions revoke-user USERID\n", msg);

    return CACHECTL_EXIT_USAGE;
}


int
cachectl_sessions_cli(cachectl_conf_t *conf)
{
    int            rc;
    long           count;
    char           err[512], *text;
    size_t         i;
    json_t        *list, *sess, *v;
    redisReply    *r, *t;
    redisContext  *c;
    const char    *cmd;
    cachectl_revoke_t  rv;

    if (conf->nargs < 2) {
        return cachectl_sessions_usage("missing a command");
    }

    cmd = conf->args[1];

    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        cachectl_sessions_usage("help");
        return CACHECTL_EXIT_OK;
    }

    if ((strcmp(cmd, "count") == 0 || strcmp(cmd, "list") == 0)
        ? conf->nargs != 2 : conf->nargs != 3)
    {
        return cachectl_sessions_usage(strcmp(cmd, "count") == 0
                                       || strcmp(cmd, "list") == 0
                                       || strcmp(cmd, "show") == 0
                                       || strcmp(cmd, "revoke") == 0
                                       || strcmp(cmd, "revoke-user") == 0
                                       ? "wrong number of arguments"
                                       : "unknown command");
    }

    if (strcmp(cmd, "count") != 0 && strcmp(cmd, "list") != 0
        && strcmp(cmd, "show") != 0 && strcmp(cmd, "revoke") != 0
        && strcmp(cmd, "revoke-user") != 0)
    {
        return cachectl_sessions_usage("unknown command");
    }

    c = cachectl_redis_connect(conf, err, sizeof(err));
    if (c == NULL) {
        fprintf(stderr, "cachectl: %s\n", err);
        return CACHECTL_EXIT_FAIL;
    }

    rc = CACHECTL_EXIT_OK;

    if (strcmp(cmd, "count") == 0) {
        count = 0;

        if (cachectl_sessions_each(conf, c, conf->user,
                                   cachectl_sessions_count_cb, &count, err,
                                   sizeof(err)) != 0)
        {
            fprintf(stderr, "cachectl: %s\n", err);
            rc = CACHECTL_EXIT_FAIL;

        } else if (conf->json) {
            printf("{\"sessions\":%ld}\n", count);

        } else {
            printf("%ld\n", count);
        }

    } else if (strcmp(cmd, "list") == 0) {
        list = json_array();

        if (list == NULL
            || cachectl_sessions_each(conf, c, conf->user,
                                      cachectl_sessions_list_cb, list, err,
                                      sizeof(err)) != 0)
        {
            fprintf(stderr, "cachectl: %s\n", err);
            rc = CACHECTL_EXIT_FAIL;

        } else if (conf->json) {
            text = json_dumps(list, JSON_COMPACT);
            printf("%s\n", text ? text : "[]");
            free(text);

        } else {
            printf("%-34s %-26s %-16s %8s  %s\n", "SID", "USER", "USERNAME",
                   "TTL", "EXPIRES");

            json_array_foreach(list, i, v) {
                printf("%-34s %-26s %-16s %8lld  %s\n",
                       json_string_value(json_object_get(v, "sid")),
                       json_string_value(json_object_get(v, "userId"))
                       ? json_string_value(json_object_get(v, "userId"))
                       : "-",
                       json_string_value(json_object_get(v, "username"))
                       ? json_string_value(json_object_get(v, "username"))
                       : "-",
                       (long long) json_integer_value(json_object_get(v,
                                                                    "ttl")),
                       json_string_value(json_object_get(v, "expires"))
                       ? json_string_value(json_object_get(v, "expires"))
                       : "-");
            }
        }

        json_decref(list);

    } else if (strcmp(cmd, "show") == 0) {
        r = cachectl_redis_cmd(c, err, sizeof(err), "GET %ssess:%s",
                               conf->ns, conf->args[2]);
        t = r ? cachectl_redis_cmd(c, err, sizeof(err), "TTL %ssess:%s",
                                   conf->ns, conf->args[2])
              : NULL;

        if (r == NULL || t == NULL) {
            fprintf(stderr, "cachectl: %s\n", err);
            rc = CACHECTL_EXIT_FAIL;

        } else if (r->type != REDIS_REPLY_STRING) {
            fprintf(stderr, "cachectl: no session \"%s\"\n", conf->args[2]);
            rc = CACHECTL_EXIT_FAIL;

        } else {
            sess = json_loadb(r->str, r->len, 0, NULL);
            v = json_pack("{s:s, s:I, s:O?}", "sid", conf->args[2],
                          "ttl", (json_int_t) t->integer, "session", sess);
            text = v ? json_dumps(v, conf->json ? JSON_COMPACT
                                                : JSON_INDENT(2)) : NULL;
            printf("%s\n", text ? text : r->str);
            free(text);
            json_decref(v);
            json_decref(sess);
        }

        if (r) {
            freeReplyObject(r);
        }

        if (t) {
            freeReplyObject(t);
        }

    } else if (strcmp(cmd, "revoke") == 0) {
        r = cachectl_redis_cmd(c, err, sizeof(err), "DEL %ssess:%s",
                               conf->ns, conf->args[2]);

        if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
            fprintf(stderr, "cachectl: %s\n", r ? r->str : err);
            rc = CACHECTL_EXIT_FAIL;

        } else if (r->integer == 0) {
            fprintf(stderr, "cachectl: no session \"%s\"\n", conf->args[2]);
            rc = CACHECTL_EXIT_FAIL;

        } else {
            freeReplyObject(redisCommand(c, "HDEL %scachectl:sessfirst %s",
                                         conf->ns, conf->args[2]));
            printf("revoked 1 session\n");
        }

        if (r) {
            freeReplyObject(r);
        }

    } else { /* revoke-user */
        rv.c = c;
        rv.conf = conf;
        rv.n = 0;

        /* the index first, then a full scan for sessions it has not seen */
        r = cachectl_redis_cmd(c, err, sizeof(err), "SMEMBERS %ssessidx:%s",
                               conf->ns, conf->args[2]);

        if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
            for (i = 0; i < r->elements; i++) {
                cachectl_sessions_revoke_cb(&rv, r->element[i]->str, NULL,
                                            0);
            }
        }

        if (r) {
            freeReplyObject(r);
        }

        list = json_array();

        if (list == NULL
            || cachectl_sessions_each(conf, c, conf->args[2],
                                      cachectl_sessions_collect_cb, list,
                                      err, sizeof(err)) != 0)
        {
            fprintf(stderr, "cachectl: %s\n", err);
            rc = CACHECTL_EXIT_FAIL;

        } else {
            json_array_foreach(list, i, v) {
                cachectl_sessions_revoke_cb(&rv, json_string_value(v), NULL,
                                            0);
            }

            freeReplyObject(redisCommand(c, "DEL %ssessidx:%s", conf->ns,
                                         conf->args[2]));
            if (conf->json) {
                printf("{\"revoked\":%ld}\n", rv.n);
            } else {
                printf("revoked %ld session%s of user %s\n", rv.n,
                       rv.n == 1 ? "" : "s", conf->args[2]);
            }
        }

        json_decref(list);
    }

    redisFree(c);

    return rc;
}
