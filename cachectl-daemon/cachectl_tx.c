/*
 * The Redis transactions of a batch (see cachectl_sync.c): the writes
 * queued between MULTI and EXEC (the batch sends one when its payload
 * reaches --batch-bytes), the writes that count only once EXEC applied
 * them (cachectl_pending_t), the lease fence (WATCH) in front of each
 * transaction, the generation bumps with the last one and the
 * invalidation events after it; the batch's changes for the caller. A
 * dry run plans and counts the writes and sends nothing.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "cachectl_lease.h"
#include "cachectl_redis.h"
#include "cachectl_sync.h"
#include "cachectl_sync_int.h"
#include "cachectl_tx.h"


#define CACHECTL_EVENT_PATHS  100


static const char  *cachectl_kinds[] = { "view", "config", "i18n" };


static int cachectl_tx_fence(cachectl_tx_t *tx);


void
cachectl_change(cachectl_batch_t *batch, const char *op, int kind,
    const char *path)
{
    if (batch->changes != NULL) {
        json_array_append_new(batch->changes,
                              json_pack("{s:s, s:s, s:s}", "op", op,
                                        "kind", cachectl_kinds[kind],
                                        "path", path));
    }
}


void
cachectl_tx_path(cachectl_tx_t *tx, int kind, const char *path)
{
    if (tx->paths[kind] == NULL) {
        tx->paths[kind] = json_array();
    }

    if (tx->paths[kind] != NULL
        && json_array_size(tx->paths[kind]) < CACHECTL_EVENT_PATHS)
    {
        json_array_append_new(tx->paths[kind], json_string(path));
    }
}


int
cachectl_tx_cmd(cachectl_tx_t *tx, int kind, int argc, const char **argv,
    const size_t *argvlen)
{
    int  i;

    tx->kinds |= 1 << kind;
    tx->all |= 1 << kind;

    if (tx->dry) {
        return 0;       /* planned, counted, not sent */
    }

    if (!tx->multi) {
        if (cachectl_tx_fence(tx) != 0
            || redisAppendCommand(tx->c, "MULTI") != REDIS_OK)
        {
            if (!tx->refused && tx->c->err == 0) {
                snprintf(tx->err, tx->size, "out of memory");
            }
            return -1;
        }

        tx->multi = 1;
    }

    if (redisAppendCommandArgv(tx->c, argc, argv, argvlen) != REDIS_OK) {
        snprintf(tx->err, tx->size, "out of memory");
        return -1;
    }

    tx->queued++;

    for (i = 0; i < argc; i++) {
        tx->bytes += argvlen[i];
    }

    return 0;
}


int
cachectl_tx_set(cachectl_tx_t *tx, int kind, const char *key,
    const char *value, size_t len)
{
    size_t       argvlen[3];
    const char  *argv[3];

    argv[0] = "SET";
    argv[1] = key;
    argv[2] = value;
    argvlen[0] = 3;
    argvlen[1] = strlen(key);
    argvlen[2] = len;

    return cachectl_tx_cmd(tx, kind, 3, argv, argvlen);
}


int
cachectl_tx_del(cachectl_tx_t *tx, int kind, const char *key)
{
    size_t       argvlen[2];
    const char  *argv[2];

    argv[0] = "DEL";
    argv[1] = key;
    argvlen[0] = 3;
    argvlen[1] = strlen(key);

    return cachectl_tx_cmd(tx, kind, 2, argv, argvlen);
}


/* first: the transaction's command count before the write's commands */

int
cachectl_tx_pending(cachectl_tx_t *tx, int type, cachectl_file_t *f,
    const char *etag, const char *name, int first)
{
    cachectl_pending_t  *p;

    if (tx->npending == tx->cap) {
        tx->cap = tx->cap ? tx->cap * 2 : 64;
        p = realloc(tx->pending, tx->cap * sizeof(cachectl_pending_t));
        if (p == NULL) {
            snprintf(tx->err, tx->size, "out of memory");
            return -1;
        }

        tx->pending = p;
    }

    p = &tx->pending[tx->npending];
    memset(p, 0, sizeof(cachectl_pending_t));

    if (name != NULL) {
        p->name = strdup(name);
        if (p->name == NULL) {
            snprintf(tx->err, tx->size, "out of memory");
            return -1;
        }
    }

    tx->npending++;
    p->type = type;
    p->file = f;
    p->first = first;
    snprintf(p->etag, sizeof(p->etag), "%s", etag);

    return 0;
}


/* what EXEC applied counts as published */

static void
cachectl_tx_apply(cachectl_tx_t *tx, cachectl_pending_t *p)
{
    cachectl_sync_t  *s;

    s = tx->s;

    switch (p->type) {

    case CACHECTL_P_VIEW:
        memcpy(p->file->etag, p->etag, 20);
        p->file->stamp = p->stamp;
        p->file->mtime = p->mtime;
        s->written++;
        break;

    case CACHECTL_P_VIEW_DEL:
        cachectl_file_drop(s->files, p->name);
        s->deleted++;
        break;

    case CACHECTL_P_CFG:
        memcpy(p->dst, p->etag, 20);
        s->written++;
        break;

    case CACHECTL_P_I18N:
        json_object_set_new(s->i18n, p->name, json_string(p->etag));
        s->written++;
        break;

    default:
        json_object_del(s->i18n, p->name);
        s->deleted++;
        break;
    }
}


/* puts back the index field of a view whose write was refused */

static void
cachectl_tx_unindex(cachectl_tx_t *tx, cachectl_pending_t *p)
{
    char          err[64];
    redisReply   *r;

    if (p->file->etag[0]) {
        r = cachectl_redis_cmd(tx->c, err, sizeof(err),
                               "HSET %stplindex %s %lld:%s", tx->s->conf->l2,
                               p->name, (long long) p->file->mtime,
                               p->file->etag);

    } else {
        r = cachectl_redis_cmd(tx->c, err, sizeof(err),
                               "HDEL %stplindex %s", tx->s->conf->l2,
                               p->name);
    }

    /* a broken connection shows at the next command */
    if (r != NULL) {
        freeReplyObject(r);
    }
}


/* the first error reply: Redis refused, the connection is fine */

static void
cachectl_tx_refused(cachectl_tx_t *tx, const char *what, const char *msg)
{
    if (!tx->refused) {
        snprintf(tx->err, tx->size, "Redis refused %s: %s", what, msg);
    }

    tx->refused = 1;
}


/*
 * Before each transaction of a lease holder: WATCH the lease and check
 * that it is still ours. A loop held past the lease's TTL (a long walk, a
 * slow Redis, SIGSTOP) may have lost it to a standby meanwhile; EXEC then
 * applies nothing if the lease moves before it, so two daemons never write
 * at once. The obuf is empty here: the previous transaction was read.
 */

static int
cachectl_tx_fence(cachectl_tx_t *tx)
{
    int               ours;
    void             *reply;
    redisReply       *watch, *get;
    cachectl_sync_t  *s;

    s = tx->s;

    if (s->lease_id[0] == '\0') {
        return 0;
    }

    if (redisAppendCommand(tx->c, "WATCH %s" CACHECTL_LEASE_KEY, s->conf->l2)
        != REDIS_OK
        || redisAppendCommand(tx->c, "GET %s" CACHECTL_LEASE_KEY,
                              s->conf->l2) != REDIS_OK)
    {
        snprintf(tx->err, tx->size, "out of memory");
        return -1;
    }

    if (redisGetReply(tx->c, &reply) != REDIS_OK) {
        snprintf(tx->err, tx->size, "Redis: %s", cachectl_redis_errstr(tx->c));
        tx->refused = 0;
        return -1;
    }

    watch = reply;

    if (redisGetReply(tx->c, &reply) != REDIS_OK) {
        freeReplyObject(watch);
        snprintf(tx->err, tx->size, "Redis: %s", cachectl_redis_errstr(tx->c));
        tx->refused = 0;
        return -1;
    }

    get = reply;

    /* an earlier write may have been refused already: not a lost lease */
    ours = 1;

    if (watch->type == REDIS_REPLY_ERROR) {
        cachectl_tx_refused(tx, "WATCH", watch->str);
        ours = 0;

    } else if (get->type != REDIS_REPLY_STRING
               || strcmp(get->str, s->lease_id) != 0)
    {
        cachectl_tx_refused(tx, "the write", "the lease is no longer ours");
        ours = 0;
    }

    freeReplyObject(watch);
    freeReplyObject(get);

    if (ours) {
        return 0;
    }

    tx->aborted = 1;
    reply = redisCommand(tx->c, "UNWATCH");

    if (reply != NULL) {
        freeReplyObject(reply);
    }

    return -1;
}


/*
 * Sends what is queued: MULTI, the writes, (last: the generation bumps
 * of every kind written since the last bump), EXEC; then, last, one
 * event per kind. A transaction that is not the last bumps nothing:
 * readers see its keys only when they fetch them (a cache miss), and
 * every cached copy moves with the last one. A write counts once EXEC
 * applied it; an error reply of one write (WRONGTYPE) leaves that write
 * pending, the others count. 0 (tx->refused set when a write was refused),
 * or -1 with err set: tx->refused tells a discarded transaction
 * (connection fine) from a broken connection.
 */

int
cachectl_tx_flush(cachectl_tx_t *tx, int last)
{
    int           k, n, total, bump, nbump, idx;
    char          key[CACHECTL_GROUP_MAX + 64], *msg, what[256];
    void         *reply;
    size_t        j, e;
    json_t       *m;
    long long     gen[3];
    redisReply   *r, *exec;
    cachectl_pending_t  *p;
    cachectl_sync_t     *s;

    s = tx->s;

    if (tx->dry) {
        goto done;
    }

    bump = last ? ((tx->all | s->gen_owed) & 7) : 0;

    /* each write's commands: up to the next write's first */
    for (j = 0; j < tx->npending; j++) {
        p = &tx->pending[j];
        p->n = (j + 1 < tx->npending ? tx->pending[j + 1].first
                                     : tx->queued) - p->first;
    }

    if (!tx->multi && bump == 0) {
        goto done;
    }

    if (!tx->multi) {
        if (cachectl_tx_fence(tx) != 0
            || redisAppendCommand(tx->c, "MULTI") != REDIS_OK)
        {
            if (!tx->refused && tx->c->err == 0) {
                snprintf(tx->err, tx->size, "out of memory");
            }
            return -1;
        }

        tx->multi = 1;
    }

    nbump = 0;

    for (k = 0; k < 3; k++) {
        if (bump & (1 << k)) {
            if (redisAppendCommand(tx->c, "HINCRBY %sgen %s 1", s->conf->l2,
                                   cachectl_kinds[k]) != REDIS_OK)
            {
                snprintf(tx->err, tx->size, "out of memory");
                return -1;
            }

            nbump++;
        }
    }

    if (redisAppendCommand(tx->c, "EXEC") != REDIS_OK) {
        snprintf(tx->err, tx->size, "out of memory");
        return -1;
    }

    total = tx->queued + nbump;

    /* MULTI, QUEUED for each, then EXEC's array */
    exec = NULL;

    for (n = 0; n < total + 2; n++) {
        if (redisGetReply(tx->c, &reply) != REDIS_OK) {
            if (exec) {
                freeReplyObject(exec);
            }

            snprintf(tx->err, tx->size, "Redis: %s",
                     cachectl_redis_errstr(tx->c));
            tx->refused = 0;
            return -1;
        }

        r = reply;

        if (r->type == REDIS_REPLY_ERROR && n < total + 1) {
            snprintf(what, sizeof(what), n == 0 ? "MULTI" : "a write");
            cachectl_tx_refused(tx, what, r->str);
        }

        if (n == total + 1) {
            exec = r;

        } else {
            freeReplyObject(r);
        }
    }

    tx->multi = 0;
    tx->queued = 0;
    tx->bytes = 0;

    if (exec == NULL || exec->type != REDIS_REPLY_ARRAY
        || exec->elements != (size_t) total)
    {
        /* nothing was applied (EXECABORT after an OOM, ...) */
        cachectl_tx_refused(tx, "the transaction",
                            exec && exec->type == REDIS_REPLY_ERROR
                            ? exec->str
                            : exec && exec->type == REDIS_REPLY_NIL
                              && s->lease_id[0] != '\0'
                            ? "the lease is no longer ours (it moved under "
                              "WATCH)"
                            : "discarded");
        tx->aborted = 1;

        if (exec) {
            freeReplyObject(exec);
        }

        tx->kinds = 0;
        goto done;
    }

    /* applied, but each command on its own: WRONGTYPE on one key */

    for (j = 0; j < tx->npending; j++) {
        p = &tx->pending[j];
        n = 0;

        for (idx = p->first; idx < p->first + p->n
             && idx < (int) exec->elements; idx++)
        {
            if (exec->element[idx]->type == REDIS_REPLY_ERROR) {
                n = 1;
                snprintf(what, sizeof(what), "the write of %.40s%s%.160s",
                         cachectl_kinds[p->type == CACHECTL_P_CFG
                                        ? CACHECTL_CONFIG
                                        : p->type >= CACHECTL_P_I18N
                                          ? CACHECTL_I18N : CACHECTL_VIEW],
                         p->name ? " " : "", p->name ? p->name : "");
                cachectl_tx_refused(tx, what, exec->element[idx]->str);
            }
        }

        if (n) {
            /*
             * The tpl: key refused its HSET (WRONGTYPE) but the index
             * took its field: the index must not name a version that
             * is not there.
             */
            if (p->type == CACHECTL_P_VIEW && p->n == 2
                && exec->element[p->first]->type == REDIS_REPLY_ERROR
                && exec->element[p->first + 1]->type != REDIS_REPLY_ERROR)
            {
                cachectl_tx_unindex(tx, p);
            }

            continue;
        }

        cachectl_tx_apply(tx, p);
    }

    /* the counters are the last replies of EXEC */
    e = exec->elements;

    for (k = 2; k >= 0; k--) {
        gen[k] = -1;

        if ((bump & (1 << k)) && e > 0) {
            e--;

            if (exec->element[e]->type == REDIS_REPLY_INTEGER) {
                gen[k] = exec->element[e]->integer;

            } else {
                cachectl_tx_refused(tx, "the generation bump",
                                    exec->element[e]->type
                                    == REDIS_REPLY_ERROR
                                    ? exec->element[e]->str : "?");
            }
        }
    }

    freeReplyObject(exec);

    for (k = 0; k < 3; k++) {
        if (gen[k] >= 0) {
            s->gen_owed &= ~(1 << k);

        } else if (tx->kinds & (1 << k)) {
            s->gen_owed |= 1 << k;
        }
    }

    tx->kinds = 0;

    for (k = 0; last && k < 3; k++) {
        if (gen[k] < 0) {
            continue;
        }

        m = json_pack("{s:s+, s:{s:s, s:I, s:s, s:O?}, s:s, s:I}",
                      "channel", "controller:cache:invalidate:",
                      cachectl_kinds[k],
                      "data", "type", cachectl_kinds[k], "gen",
                      (json_int_t) gen[k], "source", "cachectl",
                      "paths", tx->paths[k],
                      "instanceId", s->instance_id,
                      "timestamp", (json_int_t) cachectl_now_ms());

        msg = m ? json_dumps(m, JSON_COMPACT) : NULL;
        json_decref(m);

        if (msg == NULL) {
            continue;
        }

        snprintf(key, sizeof(key), "%sbc:controller:cache:invalidate:%s",
                 s->conf->ns, cachectl_kinds[k]);

        r = cachectl_redis_cmd(tx->c, tx->err, tx->size, "PUBLISH %s %s",
                               key, msg);
        free(msg);

        if (r == NULL) {
            /* written and counted: peers catch up through <ns>gen */
            tx->err[0] = '\0';
            break;
        }

        freeReplyObject(r);
    }

done:

    while (tx->npending) {
        free(tx->pending[--tx->npending].name);
    }

    /*
     * A discarded part stops the batch (the next would be too); a refused
     * write is that file's error, the others go on; the last one reports.
     */
    return (tx->aborted && !last) ? -1 : 0;
}
