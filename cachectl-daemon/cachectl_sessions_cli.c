/*
 * The sessions commands: count, list, show, revoke, revoke-user (see
 * cachectl_sessions.h). They read the sessions themselves, not what the
 * daemon keeps about them: its index only narrows a user's lookup, and a
 * session counts or goes for a user only if it says it is that user's.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jp_identity.h"
#include "jp_version.h"

#include "cachectl_cli.h"
#include "cachectl_cluster.h"
#include "cachectl_import.h"
#include "cachectl_redis.h"
#include "cachectl_sessions.h"
#include "cachectl_sessions_int.h"


/* revoke-user walks a resharding cluster at most this many times */
#define CACHECTL_SESSIONS_WALKS  3


typedef int (*cachectl_each_pt)(void *arg, const char *sid, json_t *sess,
    long long ttl);


/*
 * GET and TTL of a batch of sessions, each handed to cb when it belongs to
 * user (NULL: any). names are keys when prefix is their "<ns>sess:"
 * length, sids when it is 0.
 */

static int
cachectl_sessions_fetch(cachectl_conf_t *conf, redisContext *c,
    redisReply *names, size_t prefix, const char *user, cachectl_each_pt cb,
    void *arg, char *err, size_t size)
{
    int          rc;
    size_t       i, n;
    json_t      *sess;
    void        *get, *ttl;
    redisReply  *e, *g;
    const char  *uid;

    /* a SCAN reply is a node's word: only strings "<ns>sess:<sid>" */
    n = cachectl_sessions_keep(names, conf->ns, prefix);

    for (i = 0; i < n; i++) {
        e = names->element[i];

        if (prefix) {
            rc = cachectl_redis_append(c, "GET %b", e->str, e->len)
                 == REDIS_OK
                 && cachectl_redis_append(c, "TTL %b", e->str, e->len)
                    == REDIS_OK;

        } else {
            rc = cachectl_redis_append(c, "GET %ssess:%b", conf->ns,
                                       e->str, e->len) == REDIS_OK
                 && cachectl_redis_append(c, "TTL %ssess:%b", conf->ns,
                                          e->str, e->len) == REDIS_OK;
        }

        if (!rc) {
            snprintf(err, size, "out of memory");
            return -1;
        }
    }

    for (i = 0; i < n; i++) {
        if (cachectl_redis_reply(c, &get) != REDIS_OK) {
            snprintf(err, size, "Redis: %s", cachectl_redis_errstr(c));
            return -1;
        }

        if (cachectl_redis_reply(c, &ttl) != REDIS_OK) {
            snprintf(err, size, "Redis: %s", cachectl_redis_errstr(c));
            freeReplyObject(get);
            return -1;
        }

        g = get;

        if (g->type == REDIS_REPLY_STRING) {
            sess = cachectl_session_load(g->str, g->len);
            uid = cachectl_session_user(sess);

            /* an index may be stale: the session says whose it is */
            if (user == NULL || (uid && strcmp(uid, user) == 0)) {
                cb(arg, names->element[i]->str + prefix, sess,
                   ((redisReply *) ttl)->type == REDIS_REPLY_INTEGER
                   ? ((redisReply *) ttl)->integer : -2);
            }

            json_decref(sess);
        }

        freeReplyObject(get);
        freeReplyObject(ttl);
    }

    return 0;
}


/*
 * Every session, or one user's. For a user, the daemon's index serves
 * when it has members (sessions made since its last pass are not in it
 * yet); index 0 or no index: a SCAN of every session.
 */

static int
cachectl_sessions_each(cachectl_conf_t *conf, redisContext *c,
    const char *user, int index, cachectl_each_pt cb, void *arg, char *err,
    size_t size)
{
    int          rc;
    char         cursor[32];
    redisReply  *r;

    if (user != NULL && index) {
        r = cachectl_redis_cmd(c, err, size, "SMEMBERS %ssessidx:%s",
                               conf->sx, user);
        if (r == NULL) {
            return -1;
        }

        /* an index of nothing usable: the walk instead */
        if (r->type == REDIS_REPLY_ARRAY
            && cachectl_sessions_keep(r, conf->ns, 0) > 0)
        {
            rc = cachectl_sessions_fetch(conf, c, r, 0, user, cb, arg, err,
                                         size);
            freeReplyObject(r);
            return rc;
        }

        freeReplyObject(r);
    }

    snprintf(cursor, sizeof(cursor), "0");

    do {
        r = cachectl_redis_scan(c, cursor, err, size,
                                "MATCH %ssess:* COUNT 1000", conf->ns);
        if (r == NULL) {
            return -1;
        }

        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
            || r->element[0]->type != REDIS_REPLY_STRING
            || r->element[1]->type != REDIS_REPLY_ARRAY)
        {
            snprintf(err, size, "SCAN: %s", r->type == REDIS_REPLY_ERROR
                                            ? r->str : "unexpected reply");
            freeReplyObject(r);
            return -1;
        }

        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);

        rc = cachectl_sessions_fetch(conf, c, r->element[1],
                                     strlen(conf->ns) + 5, user, cb, arg,
                                     err, size);
        freeReplyObject(r);

        if (rc != 0) {
            return rc;
        }

    } while (strcmp(cursor, "0") != 0);

    return 0;
}


/*
 * cachectl_sessions_each() that sees every session in a cluster too: a
 * SCAN walks the primaries one after the other, and a session whose slot
 * moves from one not walked yet to one already walked would be missed.
 * The walk counts only if the slot map was the same before and after it
 * and no slot was migrating; it is done again up to tries times. 0, 1
 * when the cluster kept moving (the answer may be incomplete), -1 with
 * err.
 */

static int
cachectl_sessions_walk(cachectl_conf_t *conf, redisContext *c,
    const char *user, int index, int tries, cachectl_each_pt cb, void *arg,
    char *err, size_t size)
{
    int       i, rc;
    uint32_t  before, after;

    if (!cachectl_cluster_on()) {
        return cachectl_sessions_each(conf, c, user, index, cb, arg, err,
                                      size);
    }

    for (i = 0; i < tries; i++) {
        if (i > 0) {
            /* a migration under way: give it a moment */
            usleep(200000);
        }

        rc = cachectl_cluster_layout(&before, err, size);
        if (rc < 0) {
            return -1;
        }

        if (cachectl_sessions_each(conf, c, user, index, cb, arg, err, size)
            != 0)
        {
            return -1;
        }

        if (rc == 0) {
            rc = cachectl_cluster_layout(&after, err, size);
            if (rc < 0) {
                return -1;
            }

            if (rc == 0 && before == after) {
                return 0;
            }
        }
    }

    return 1;
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


/* collects sids into a JSON object used as a set */

static int
cachectl_sessions_collect_cb(void *arg, const char *sid, json_t *sess,
    long long ttl)
{
    return json_object_set_new(arg, sid, json_true());
}


/* 1 (err filled) if r is no reply or an error; r is freed */

static int
cachectl_sessions_refused(redisReply *r, const char *what, char *err,
    size_t size)
{
    char  why[256];

    if (r == NULL) {
        return 1;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "%.200s", r->str);
        snprintf(err, size, "revoke: %s: %s", what, why);
        freeReplyObject(r);
        return 1;
    }

    freeReplyObject(r);

    return 0;
}


/*
 * cachectl_sessions_revoke() in a cluster (docs/protocol.md "What cannot
 * share a slot"): the session is read first to learn whose it is, then
 * the tombstone (sess group), DEL of the session (its own slot), then its
 * first-seen record and index entry (sess group). A session that comes
 * back between the steps is deleted by the tombstone check.
 */

static int
cachectl_sessions_revoke_split(cachectl_conf_t *conf, redisContext *c,
    const char *sid, const char *user, int dry, const char *ttl,
    char *owner, size_t osize, char *err, size_t size)
{
    int          rc;
    json_t      *sess;
    redisReply  *r;
    const char  *uid;

    r = cachectl_redis_cmd(c, err, size, "GET %ssess:%s", conf->ns, sid);
    if (r == NULL) {
        return -2;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, size, "revoke: %s", r->str);
        freeReplyObject(r);
        return -2;
    }

    owner[0] = '\0';

    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return 0;
    }

    sess = cachectl_session_load(r->str, r->len);
    uid = cachectl_session_user(sess);
    snprintf(owner, osize, "%s", uid ? uid : "");
    json_decref(sess);
    freeReplyObject(r);

    if (user != NULL && strcmp(owner, user) != 0) {
        return -1;
    }

    if (dry) {
        return 1;
    }

    r = cachectl_redis_cmd(c, err, size, "EVAL %s 1 %scachectl:revoked %s %s",
                           cachectl_tombstone_script, conf->sx, sid, ttl);
    rc = r != NULL && r->type != REDIS_REPLY_ERROR;

    if (r != NULL && !rc) {
        snprintf(err, size, "revoke: %s", r->str);
    }

    if (r) {
        freeReplyObject(r);
    }

    if (!rc) {
        return -2;
    }

    /* every reply counts: a refused DEL leaves the session alive */
    r = cachectl_redis_cmd(c, err, size, "DEL %ssess:%s", conf->ns, sid);
    if (cachectl_sessions_refused(r, "DEL", err, size)) {
        return -2;
    }

    r = cachectl_redis_cmd(c, err, size, "HDEL %scachectl:sessfirst %s",
                           conf->sx, sid);
    if (cachectl_sessions_refused(r, "HDEL", err, size)) {
        return -2;
    }

    if (owner[0] != '\0') {
        r = cachectl_redis_cmd(c, err, size, "SREM %ssessidx:%s %s",
                               conf->sx, owner, sid);
        if (cachectl_sessions_refused(r, "SREM", err, size)) {
            return -2;
        }
    }

    return 1;
}


/*
 * Revokes sid (user: only if it is still that user's; dry: only says).
 * 1 revoked, 0 no such session, -1 another user's (*owner set), -2 Redis
 * failed (err set).
 */

static int
cachectl_sessions_revoke(cachectl_conf_t *conf, redisContext *c,
    const char *sid, const char *user, int dry, char *owner, size_t osize,
    char *err, size_t size)
{
    int          rc;
    char         ttl[32], idx[CACHECTL_GROUP_MAX + 16];
    redisReply  *r;

    snprintf(ttl, sizeof(ttl), "%lld",
             (long long) cachectl_sessions_tombstone(conf) * 1000);
    snprintf(idx, sizeof(idx), "%ssessidx:", conf->sx);

    if (conf->redis_cluster != NULL) {
        return cachectl_sessions_revoke_split(conf, c, sid, user, dry, ttl,
                                              owner, osize, err, size);
    }

    r = cachectl_redis_cmd(c, err, size, "EVAL %s 3 %scachectl:revoked "
                           "%ssess:%s %scachectl:sessfirst %s %s %s %s %s",
                           cachectl_revoke_script, conf->sx, conf->ns, sid,
                           conf->sx, sid, ttl, idx, user ? user : "",
                           dry ? "1" : "0");
    if (r == NULL) {
        return -2;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_INTEGER
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        snprintf(err, size, "revoke: %s", r->type == REDIS_REPLY_ERROR
                                          ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -2;
    }

    rc = (int) r->element[0]->integer;
    snprintf(owner, osize, "%s", r->element[1]->str);
    freeReplyObject(r);

    return rc;
}


/*
 * A string of a session (its user's id and name, chosen by whoever writes
 * the session) on one line of a terminal: escaped into buf.
 */

static const char *
cachectl_sessions_out(char *buf, size_t size, const char *s, const char *none)
{
    size_t  len;

    len = 0;
    buf[0] = '\0';
    cachectl_cli_esc(buf, size, &len, s ? s : none);

    return buf;
}


static int
cachectl_sessions_usage(const char *msg)
{
    fprintf(stderr, "cachectl sessions: %s\n"
            "Usage: cachectl sessions count [--user USERID] [--json]\n"
            "       cachectl sessions list [--user USERID] [--json]\n"
            "       cachectl sessions show SID [--json]\n"
            "       cachectl sessions revoke SID [--dry-run] [--json]\n"
            "       cachectl sessions revoke-user USERID [--dry-run] "
            "[--json]\n"
            "       cachectl sessions import-mongo URI|- [--collection NAME] "
            "[--dry-run]\n"
            "                                    [--json]\n"
            "revoke and revoke-user exit 1 when there is no such session "
            "or the user\nhas none. import-mongo exits 1 on a failure or a "
            "document it could not\nimport (named on stderr, left in "
            "MongoDB); run again, it changes nothing\nalready done.\n",
            msg);

    return CACHECTL_EXIT_USAGE;
}


static int
cachectl_sessions_cmp(const void *a, const void *b)
{
    return strcmp(*(const char **) a, *(const char **) b);
}


/*
 * revoke SID, revoke-user USERID: exit 1 when nothing matched, 3 when the
 * revocation event was refused or unanswered (the sessions are revoked,
 * but a worker's session cache may serve them until its entries expire)
 */

static int
cachectl_sessions_revoke_cli(cachectl_conf_t *conf, redisContext *c,
    int of_user)
{
    int          rc, res;
    char         err[512], owner[CACHECTL_SID_MAX], *text, event[512];
    char         buf[4 * CACHECTL_SID_MAX], id[JP_INSTANCE_ID_MAX];
    json_t      *sids, *done, *kept, *out, *v;
    void        *rp;
    redisReply  *r;
    const char  *arg, *sid, **order;
    size_t       i, n, queued;

    arg = conf->args[2];
    order = NULL;
    event[0] = '\0';
    sids = json_object();
    done = json_array();
    kept = json_array();

    if (sids == NULL || done == NULL || kept == NULL) {
        fprintf(stderr, "cachectl: out of memory\n");
        rc = CACHECTL_EXIT_FAIL;
        goto out;
    }

    if (!of_user) {
        json_object_set_new(sids, arg, json_true());

    } else {
        /* the index, then every session with that user.id (not indexed
         * yet); each is checked again when it is deleted */
        r = cachectl_redis_cmd(c, err, sizeof(err), "SMEMBERS %ssessidx:%s",
                               conf->sx, arg);
        if (r == NULL) {
            fprintf(stderr, "cachectl: %s\n", err);
            rc = CACHECTL_EXIT_FAIL;
            goto out;
        }

        if (r->type == REDIS_REPLY_ARRAY) {
            (void) cachectl_sessions_keep(r, conf->ns, 0);
        }

        for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
            json_object_set_new(sids, r->element[i]->str, json_true());
        }

        freeReplyObject(r);

        res = cachectl_sessions_walk(conf, c, arg, 0,
                                     CACHECTL_SESSIONS_WALKS,
                                     cachectl_sessions_collect_cb, sids, err,
                                     sizeof(err));
        if (res < 0) {
            fprintf(stderr, "cachectl: %s\n", err);
            rc = CACHECTL_EXIT_FAIL;
            goto out;
        }

        /* nothing is revoked on a walk that may have missed one, and the
         * index is kept */
        if (res > 0) {
            fprintf(stderr, "cachectl: the cluster resharded during the "
                    "walk (%d times): nothing revoked, run again\n",
                    CACHECTL_SESSIONS_WALKS);
            rc = CACHECTL_EXIT_FAIL;
            goto out;
        }
    }

    /* in order: the output is the same from one run to the next */
    n = json_object_size(sids);
    order = malloc((n + 1) * sizeof(char *));

    if (order == NULL) {
        fprintf(stderr, "cachectl: out of memory\n");
        rc = CACHECTL_EXIT_FAIL;
        goto out;
    }

    n = 0;

    json_object_foreach(sids, sid, v) {
        order[n++] = sid;
    }

    qsort(order, n, sizeof(char *), cachectl_sessions_cmp);

    for (i = 0; i < n; i++) {
        sid = order[i];
        res = cachectl_sessions_revoke(conf, c, sid, of_user ? arg : NULL,
                                       conf->dry_run, owner, sizeof(owner),
                                       err, sizeof(err));
        if (res == -2) {
            fprintf(stderr, "cachectl: %s\n", err);
            rc = CACHECTL_EXIT_FAIL;
            goto out;
        }

        if (res == 1) {
            json_array_append_new(done, json_string(sid));

        } else if (res == -1) {
            json_array_append_new(kept, json_pack("{s:s, s:s?}", "sid", sid,
                                  "userId", owner[0] ? owner : NULL));
        }
    }

    if (!conf->dry_run && json_array_size(done)) {
        /* the module's session caches drop them (protocol.md) */
        jp_instance_id(id, sizeof(id), 0, JP_PM2ID_CACHECTL, (long) getpid());
        queued = 0;

        if (cachectl_sessions_publish(c, conf, id, done, &queued) != 0) {
            fprintf(stderr, "cachectl: out of memory\n");
            rc = CACHECTL_EXIT_FAIL;
            goto out;
        }

        for (i = 0; i < queued; i++) {
            if (cachectl_redis_reply(c, &rp) != REDIS_OK) {
                snprintf(event, sizeof(event), "Redis: %s",
                         cachectl_redis_errstr(c));
                break;
            }

            if (((redisReply *) rp)->type == REDIS_REPLY_ERROR
                && event[0] == '\0')
            {
                snprintf(event, sizeof(event), "Redis: %s",
                         ((redisReply *) rp)->str);
            }

            freeReplyObject(rp);
        }
    }

    if (of_user && !conf->dry_run && !c->err) {
        /* what is left in it is stale: revoked, gone or moved (the
         * connection lost in the event's replies: left so, and what was
         * revoked is still said below) */
        r = cachectl_redis_cmd(c, err, sizeof(err), "DEL %ssessidx:%s",
                               conf->sx, arg);
        if (r == NULL) {
            fprintf(stderr, "cachectl: %s\n", err);
            rc = CACHECTL_EXIT_FAIL;
            goto out;
        }

        freeReplyObject(r);
    }

    rc = json_array_size(done) ? CACHECTL_EXIT_OK : CACHECTL_EXIT_FAIL;

    if (conf->json) {
        out = json_pack("{s:I, s:O, s:O, s:b}", "revoked",
                        (json_int_t) (conf->dry_run ? 0
                                                    : json_array_size(done)),
                        "sessions", done, "kept", kept,
                        "dryRun", conf->dry_run);
        text = out ? json_dumps(out, JSON_COMPACT) : NULL;
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(out);

    } else {
        json_array_foreach(kept, i, v) {
            printf("kept %s: ", cachectl_sessions_out(buf, sizeof(buf),
                       json_string_value(json_object_get(v, "sid")), "?"));
            printf("it belongs to user %s now\n",
                   cachectl_sessions_out(buf, sizeof(buf),
                       json_string_value(json_object_get(v, "userId")),
                       "(none)"));
        }

        if (rc == CACHECTL_EXIT_OK && conf->dry_run) {
            printf("would revoke %zu session%s%s%s:\n", json_array_size(done),
                   json_array_size(done) == 1 ? "" : "s",
                   of_user ? " of user " : "", of_user ? arg : "");

            json_array_foreach(done, i, v) {
                printf("  %s\n", cachectl_sessions_out(buf, sizeof(buf),
                                      json_string_value(v), "?"));
            }

        } else if (rc == CACHECTL_EXIT_OK && of_user) {
            printf("revoked %zu session%s of user %s\n",
                   json_array_size(done),
                   json_array_size(done) == 1 ? "" : "s", arg);

        } else if (rc == CACHECTL_EXIT_OK) {
            printf("revoked 1 session\n");
        }
    }

    if (rc != CACHECTL_EXIT_OK) {
        fprintf(stderr, of_user ? "cachectl: no session of user \"%s\"\n"
                                : "cachectl: no session \"%s\"\n", arg);

    } else if (event[0] != '\0') {
        fprintf(stderr, "cachectl: revoked, but the revocation event was not "
                "published (%s): nginx workers may serve %s from their "
                "session cache for up to its TTL\n", event,
                json_array_size(done) == 1 ? "it" : "them");
        rc = CACHECTL_EXIT_EVENT;
    }

out:

    free(order);
    json_decref(sids);
    json_decref(done);
    json_decref(kept);

    return rc;
}


int
cachectl_sessions_cli(cachectl_conf_t *conf)
{
    int            rc, res;
    long           count;
    char           err[512], *text, out[1024];
    size_t         i;
    json_t        *list, *sess, *v;
    redisReply    *r, *t;
    redisContext  *c;
    const char    *cmd;

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
                                       || strcmp(cmd, "import-mongo") == 0
                                       ? "wrong number of arguments"
                                       : "unknown command");
    }

    if (strcmp(cmd, "count") != 0 && strcmp(cmd, "list") != 0
        && strcmp(cmd, "show") != 0 && strcmp(cmd, "revoke") != 0
        && strcmp(cmd, "revoke-user") != 0
        && strcmp(cmd, "import-mongo") != 0)
    {
        return cachectl_sessions_usage("unknown command");
    }

    if (conf->dry_run && strcmp(cmd, "revoke") != 0
        && strcmp(cmd, "revoke-user") != 0
        && strcmp(cmd, "import-mongo") != 0)
    {
        return cachectl_sessions_usage("--dry-run is for revoke, "
                                       "revoke-user and import-mongo");
    }

    if (conf->collection && strcmp(cmd, "import-mongo") != 0) {
        return cachectl_sessions_usage("--collection is for import-mongo");
    }

    if (strcmp(cmd, "import-mongo") == 0) {
        return cachectl_import_mongo(conf);
    }

    c = cachectl_redis_connect(conf, err, sizeof(err));
    if (c == NULL) {
        fprintf(stderr, "cachectl: %s\n", err);
        return CACHECTL_EXIT_FAIL;
    }

    rc = CACHECTL_EXIT_OK;

    if (strcmp(cmd, "count") == 0) {
        count = 0;

        res = cachectl_sessions_walk(conf, c, conf->user, 1, 1,
                                     cachectl_sessions_count_cb, &count, err,
                                     sizeof(err));
        if (res < 0) {
            fprintf(stderr, "cachectl: %s\n", err);
            rc = CACHECTL_EXIT_FAIL;

        } else if (res > 0) {
            fprintf(stderr, "cachectl: the cluster resharded during the "
                    "walk: the count may be incomplete\n");
        }

        if (res < 0) {
            /* said above */

        } else if (conf->json) {
            printf("{\"sessions\":%ld}\n", count);

        } else {
            printf("%ld\n", count);
        }

    } else if (strcmp(cmd, "list") == 0) {
        list = json_array();

        res = list == NULL ? -1
              : cachectl_sessions_walk(conf, c, conf->user, 1, 1,
                                       cachectl_sessions_list_cb, list, err,
                                       sizeof(err));
        if (res < 0) {
            fprintf(stderr, "cachectl: %s\n", list ? err : "out of memory");
            rc = CACHECTL_EXIT_FAIL;

        } else if (res > 0) {
            fprintf(stderr, "cachectl: the cluster resharded during the "
                    "walk: the list may be incomplete\n");
        }

        if (res < 0) {
            /* said above */

        } else if (conf->json) {
            text = json_dumps(list, JSON_COMPACT);
            printf("%s\n", text ? text : "[]");
            free(text);

        } else {
            printf("%-34s %-26s %-16s %8s  %s\n", "SID", "USER", "USERNAME",
                   "TTL", "EXPIRES");

            json_array_foreach(list, i, v) {
                printf("%-34s ", cachectl_sessions_out(out, sizeof(out),
                           json_string_value(json_object_get(v, "sid")),
                           "-"));
                printf("%-26s ", cachectl_sessions_out(out, sizeof(out),
                           json_string_value(json_object_get(v, "userId")),
                           "-"));
                printf("%-16s ", cachectl_sessions_out(out, sizeof(out),
                           json_string_value(json_object_get(v,
                                                             "username")),
                           "-"));
                printf("%8lld  %s\n",
                       (long long) json_integer_value(json_object_get(v,
                                                                    "ttl")),
                       cachectl_sessions_out(out, sizeof(out),
                           json_string_value(json_object_get(v, "expires")),
                           "-"));
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
            sess = cachectl_session_load(r->str, r->len);
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

    } else {
        rc = cachectl_sessions_revoke_cli(conf, c,
                                          strcmp(cmd, "revoke-user") == 0);

        /*
         * The DEL and the tombstone are one script: on a replica both or
         * neither. Not there yet: a failover would bring the session back.
         */
        if (!conf->dry_run) {
            rc = cachectl_cli_replicated(conf, c, rc);
        }
    }

    redisFree(c);

    return rc;
}
