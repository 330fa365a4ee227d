/*
 * cachectl in a Redis Cluster (see cachectl_cluster.h).
 *
 * Everything is synchronous and bounded: each connection has the 2 s
 * timeout of cachectl_redis_open(), a command chases redirects at most
 * CACHECTL_CLUSTER_REDIRECTS times and CACHECTL_CLUSTER_DEADLINE_MS in
 * all, the map is refreshed at most every CACHECTL_CLUSTER_REFRESH_MS,
 * at most CACHECTL_CLUSTER_CONNS connections are kept, and the map holds
 * at most JP_RC_MAX_NODES nodes (jp_rc_map_build).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jp_redis_cluster.h"

#include "cachectl_cluster.h"
#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_sync.h"


#define CACHECTL_CLUSTER_CONNS       64
#define CACHECTL_CLUSTER_REFRESH_MS  100
#define CACHECTL_CLUSTER_TRYAGAIN_MS 50
#define CACHECTL_CLUSTER_DOWN_MS     200
#define CACHECTL_CLUSTER_ARGS_MAX    (1024 * 1024)

/* the one-shot commands' WAIT for the replicas */
#define CACHECTL_CLUSTER_WAIT_MS     1000


typedef struct {
    char            host[JP_RC_HOST_MAX + 1];
    unsigned        port;
    redisContext   *c;
    unsigned        pending;        /* pipelined replies not read yet */
    unsigned        home:1;         /* c is the caller's */
} cachectl_cluster_conn_t;


typedef struct {
    cachectl_cluster_conn_t  *conn;     /* NULL: could not be sent */
    char                     *cmd;
    size_t                    len;
} cachectl_cluster_queued_t;


static struct {
    int                        on;
    cachectl_conf_t           *conf;
    jp_rc_map_t               *map;
    uint64_t                   generation;
    int64_t                    refreshed;

    cachectl_cluster_conn_t    conns[CACHECTL_CLUSTER_CONNS];
    int                        nconns;
    redisContext              *home;
    char                       home_addr[JP_RC_HOST_MAX + 8];
    unsigned                   l2_slot;

    /* 1 while this file reads a reply: cluster errors are its own */
    int                        follow;
    redisContext              *broken;
    char                       why[512];

    cachectl_cluster_queued_t *queue;
    size_t                     qhead, qtail, qcap;

    char                       describe[1024];
} cachectl_cluster_st;


static void cachectl_cluster_queue_reset(void);


static redisReplyObjectFunctions  cachectl_cluster_fns;
static void *(*cachectl_cluster_create_string)(const redisReadTask *task,
    char *str, size_t len);


static void *
cachectl_cluster_string(const redisReadTask *task, char *str, size_t len)
{
    jp_rc_redirect_t  rd;

    if (task->type == REDIS_REPLY_ERROR && !cachectl_cluster_st.follow
        && jp_rc_parse_error(str, len, &rd) != JP_RC_ERR_NONE
        && rd.kind != JP_RC_ERR_CROSSSLOT)
    {
        cachectl_cluster_st.broken = task->privdata;
        snprintf(cachectl_cluster_st.why, sizeof(cachectl_cluster_st.why),
                 "%s: %.*s (the cluster changed: reconnecting)",
                 cachectl_cluster_st.home_addr, (int) (len > 160 ? 160 : len),
                 str);

        /* hiredis fails the read and the context with it */
        return NULL;
    }

    return cachectl_cluster_create_string(task, str, len);
}


static void
cachectl_cluster_hook(redisContext *c)
{
    if (cachectl_cluster_create_string == NULL) {
        cachectl_cluster_fns = *c->reader->fn;
        cachectl_cluster_create_string = c->reader->fn->createString;
        cachectl_cluster_fns.createString = cachectl_cluster_string;
    }

    c->reader->fn = &cachectl_cluster_fns;
    c->reader->privdata = c;
}


int
cachectl_cluster_on(void)
{
    return cachectl_cluster_st.on;
}


void
cachectl_cluster_off(void)
{
    int  i;

    if (!cachectl_cluster_st.on) {
        return;
    }

    cachectl_cluster_queue_reset();

    for (i = 0; i < cachectl_cluster_st.nconns; i++) {
        if (!cachectl_cluster_st.conns[i].home
            && cachectl_cluster_st.conns[i].c != NULL)
        {
            redisFree(cachectl_cluster_st.conns[i].c);
        }
    }

    cachectl_cluster_st.nconns = 0;
    cachectl_cluster_st.home = NULL;
    cachectl_cluster_st.broken = NULL;
    cachectl_cluster_st.home_addr[0] = '\0';
    jp_rc_map_free(cachectl_cluster_st.map);
    cachectl_cluster_st.map = NULL;
    cachectl_cluster_st.on = 0;
}


const char *
cachectl_cluster_why(redisContext *c)
{
    if (c->err && c == cachectl_cluster_st.broken) {
        return cachectl_cluster_st.why;
    }

    return NULL;
}


/* a node of the cluster failed: so did the command, as if home broke */

static void
cachectl_cluster_break(redisContext *home, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(cachectl_cluster_st.why, sizeof(cachectl_cluster_st.why), fmt,
              ap);
    va_end(ap);

    cachectl_cluster_st.broken = home;

    if (home != NULL && home->err == 0) {
        home->err = REDIS_ERR_IO;
        snprintf(home->errstr, sizeof(home->errstr), "%.120s",
                 cachectl_cluster_st.why);
    }
}


static void
cachectl_cluster_sleep(int ms)
{
    struct timespec  ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long) (ms % 1000) * 1000000;
    nanosleep(&ts, NULL);
}


/* a reply as libjpulse's neutral tree; 0 or -1 (out of memory) */

static int
cachectl_cluster_tree(const redisReply *r, jp_resp_value_t *v)
{
    size_t            i;
    jp_resp_value_t  *e;

    memset(v, 0, sizeof(jp_resp_value_t));

    switch (r->type) {

    case REDIS_REPLY_INTEGER:
        v->type = JP_RESP_INTEGER;
        v->integer = r->integer;
        return 0;

    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        v->type = r->type == REDIS_REPLY_STRING ? JP_RESP_STRING
                  : r->type == REDIS_REPLY_STATUS ? JP_RESP_STATUS
                  : JP_RESP_ERROR;
        v->str = r->str;
        v->len = r->len;
        return 0;

    case REDIS_REPLY_NIL:
        v->type = JP_RESP_NIL;
        return 0;

    case REDIS_REPLY_ARRAY:
        v->type = JP_RESP_ARRAY;

        if (r->elements == 0) {
            return 0;
        }

        e = calloc(r->elements, sizeof(jp_resp_value_t));
        if (e == NULL) {
            return -1;
        }

        v->element = e;
        v->elements = r->elements;

        for (i = 0; i < r->elements; i++) {
            if (cachectl_cluster_tree(r->element[i], &e[i]) != 0) {
                return -1;
            }
        }

        return 0;

    default:
        v->type = JP_RESP_OTHER;
        return 0;
    }
}


static void
cachectl_cluster_tree_free(const jp_resp_value_t *v)
{
    size_t  i;

    if (v->type != JP_RESP_ARRAY || v->element == NULL) {
        return;
    }

    for (i = 0; i < v->elements; i++) {
        cachectl_cluster_tree_free(&v->element[i]);
    }

    free((void *) v->element);
}


/* CLUSTER SLOTS of one node as a map; NULL with err */

static jp_rc_map_t *
cachectl_cluster_ask(const char *host, unsigned port, char *err, size_t size)
{
    char              addr[JP_RC_HOST_MAX + 8], why[512];
    redisReply       *r;
    jp_rc_map_t      *map;
    redisContext     *c;
    jp_resp_value_t   tree;
    jp_rc_map_conf_t  mc;

    snprintf(addr, sizeof(addr), "%s:%u", host, port);

    c = cachectl_redis_open_addr(cachectl_cluster_st.conf, addr, why,
                                 sizeof(why));
    if (c == NULL) {
        snprintf(err, size, "%s", why);
        return NULL;
    }

    r = redisCommand(c, "CLUSTER SLOTS");

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, size, "%s: CLUSTER SLOTS: %s", addr,
                 r == NULL ? c->errstr
                 : r->type == REDIS_REPLY_ERROR ? r->str
                 : "unexpected reply");
        if (r) {
            freeReplyObject(r);
        }
        redisFree(c);
        return NULL;
    }

    memset(&mc, 0, sizeof(jp_rc_map_conf_t));
    mc.origin_host = host;
    mc.generation = ++cachectl_cluster_st.generation;

    map = NULL;

    if (cachectl_cluster_tree(r, &tree) != 0) {
        snprintf(err, size, "out of memory");

    } else {
        map = jp_rc_map_build(&mc, &tree, why, sizeof(why));

        if (map == NULL) {
            snprintf(err, size, "%s: CLUSTER SLOTS: %.200s", addr, why);
        }
    }

    cachectl_cluster_tree_free(&tree);
    freeReplyObject(r);
    redisFree(c);

    return map;
}


/*
 * A fresh map: from the nodes of the one we have first (they know the
 * cluster best after a failover), then the seeds. 0, or -1 with err.
 */

static int
cachectl_cluster_refresh(char *err, size_t size)
{
    char                 list[CACHECTL_SENTINEL_LIST_MAX], *item, *save;
    char                *colon, *end, host[JP_RC_HOST_MAX + 1], why[512];
    size_t               i, n, hlen, elen;
    unsigned             port;
    jp_rc_map_t         *map;
    const jp_rc_node_t  *node;

    cachectl_cluster_st.refreshed = cachectl_mono_ms();

    elen = (size_t) snprintf(err, size, "no node of the cluster gives its "
                             "slot map:");
    map = NULL;

    if (cachectl_cluster_st.map != NULL) {
        n = jp_rc_map_nodes(cachectl_cluster_st.map);

        for (i = 0; i < n && map == NULL; i++) {
            node = jp_rc_map_node(cachectl_cluster_st.map, i);
            map = cachectl_cluster_ask(node->host, node->port, why,
                                       sizeof(why));
        }
    }

    if (map == NULL) {
        snprintf(list, sizeof(list), "%s",
                 cachectl_cluster_st.conf->redis_cluster);

        /* cachectl_conf.c checked the syntax */
        for (item = strtok_r(list, ",", &save);
             item != NULL && map == NULL;
             item = strtok_r(NULL, ",", &save))
        {
            item += strspn(item, " \t");
            end = item + strlen(item);

            while (end > item && (end[-1] == ' ' || end[-1] == '\t')) {
                *--end = '\0';
            }

            colon = strrchr(item, ':');
            if (colon == NULL) {
                continue;
            }

            hlen = colon - item;

            if (hlen > 2 && item[0] == '[' && item[hlen - 1] == ']') {
                item++;
                hlen -= 2;
            }

            if (hlen == 0 || hlen >= sizeof(host)) {
                continue;
            }

            memcpy(host, item, hlen);
            host[hlen] = '\0';
            port = (unsigned) atoi(colon + 1);

            map = cachectl_cluster_ask(host, port, why, sizeof(why));

            if (map == NULL && elen < size) {
                elen += snprintf(err + elen, size - elen, " %s;", why);
            }
        }
    }

    if (map == NULL) {
        if (elen > 0 && elen < size && err[elen - 1] == ';') {
            err[elen - 1] = '\0';
        }
        return -1;
    }

    jp_rc_map_free(cachectl_cluster_st.map);
    cachectl_cluster_st.map = map;

    return 0;
}


/* the connection to a node, opened when first needed; NULL with err */

static cachectl_cluster_conn_t *
cachectl_cluster_conn(const char *host, unsigned port, char *err,
    size_t size)
{
    int                       i, free_at;
    char                      addr[JP_RC_HOST_MAX + 8];
    cachectl_cluster_conn_t  *cn;

    free_at = -1;

    for (i = 0; i < cachectl_cluster_st.nconns; i++) {
        cn = &cachectl_cluster_st.conns[i];

        if (cn->port == port && strcmp(cn->host, host) == 0) {
            if (cn->c != NULL) {
                return cn;
            }

            free_at = i;
            break;
        }

        if (cn->c == NULL && cn->pending == 0 && free_at < 0) {
            free_at = i;
        }
    }

    if (free_at < 0) {
        if (cachectl_cluster_st.nconns == CACHECTL_CLUSTER_CONNS) {
            snprintf(err, size, "more than %d cluster nodes in use",
                     CACHECTL_CLUSTER_CONNS);
            return NULL;
        }

        free_at = cachectl_cluster_st.nconns++;
    }

    cn = &cachectl_cluster_st.conns[free_at];
    memset(cn, 0, sizeof(cachectl_cluster_conn_t));
    snprintf(cn->host, sizeof(cn->host), "%s", host);
    cn->port = port;

    snprintf(addr, sizeof(addr), "%s:%u", host, port);

    cn->c = cachectl_redis_open_addr(cachectl_cluster_st.conf, addr, err,
                                     size);

    if (cn->c == NULL) {
        return NULL;
    }

    cachectl_cluster_hook(cn->c);

    return cn;
}


static void
cachectl_cluster_drop(cachectl_cluster_conn_t *cn)
{
    size_t  i;

    /* what was queued on it fails */
    for (i = cachectl_cluster_st.qhead; i < cachectl_cluster_st.qtail; i++) {
        if (cachectl_cluster_st.queue[i].conn == cn) {
            cachectl_cluster_st.queue[i].conn = NULL;
        }
    }

    if (!cn->home && cn->c != NULL) {
        redisFree(cn->c);
    }

    cn->c = NULL;
    cn->pending = 0;
}


/* the connection for a slot (its primary), NULL with err */

static cachectl_cluster_conn_t *
cachectl_cluster_slot(unsigned slot, char *err, size_t size)
{
    const jp_rc_node_t  *p;

    p = cachectl_cluster_st.map
        ? jp_rc_map_primary(cachectl_cluster_st.map, slot) : NULL;

    if (p == NULL) {
        snprintf(err, size, "slot %u has no primary in the cluster's map",
                 slot);
        return NULL;
    }

    return cachectl_cluster_conn(p->host, p->port, err, size);
}


static void
cachectl_cluster_queue_reset(void)
{
    size_t  i;

    for (i = cachectl_cluster_st.qhead; i < cachectl_cluster_st.qtail; i++) {
        free(cachectl_cluster_st.queue[i].cmd);
    }

    cachectl_cluster_st.qhead = 0;
    cachectl_cluster_st.qtail = 0;
}


redisContext *
cachectl_cluster_connect(cachectl_conf_t *conf, char *err, size_t size)
{
    int                       i, master;
    char                      why[512];
    redisReply               *r;
    const jp_rc_node_t       *p;
    cachectl_cluster_conn_t  *cn;

    cachectl_cluster_st.on = 1;
    cachectl_cluster_st.conf = conf;

    /* the caller freed the home connection it had; the rest goes too */
    cachectl_cluster_queue_reset();

    for (i = 0; i < cachectl_cluster_st.nconns; i++) {
        cn = &cachectl_cluster_st.conns[i];

        if (!cn->home && cn->c != NULL) {
            redisFree(cn->c);
        }
    }

    cachectl_cluster_st.nconns = 0;
    cachectl_cluster_st.home = NULL;
    cachectl_cluster_st.broken = NULL;
    cachectl_cluster_st.home_addr[0] = '\0';

    if (cachectl_cluster_refresh(err, size) != 0) {
        return NULL;
    }

    cachectl_cluster_st.l2_slot = jp_rc_key_slot(conf->l2, strlen(conf->l2));

    p = jp_rc_map_primary(cachectl_cluster_st.map,
                          cachectl_cluster_st.l2_slot);

    if (p == NULL) {
        snprintf(err, size, "Redis Cluster: slot %u (the group \"%s\") has "
                 "no primary yet (%u of 16384 slots served)",
                 cachectl_cluster_st.l2_slot, conf->l2,
                 jp_rc_map_covered(cachectl_cluster_st.map));
        return NULL;
    }

    cn = cachectl_cluster_conn(p->host, p->port, why, sizeof(why));

    if (cn == NULL) {
        snprintf(err, size, "Redis Cluster: the primary of slot %u: %s",
                 cachectl_cluster_st.l2_slot, why);
        return NULL;
    }

    /* a map from a node that has not seen a failover yet: not a replica */
    r = redisCommand(cn->c, "ROLE");
    master = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0
             && r->element[0]->type == REDIS_REPLY_STRING
             && strcmp(r->element[0]->str, "master") == 0;
    if (r) {
        freeReplyObject(r);
    }

    if (!master) {
        snprintf(err, size, "Redis Cluster: %s:%u, the primary of slot %u "
                 "in the map, is no primary (a failover under way)",
                 p->host, p->port, cachectl_cluster_st.l2_slot);
        cachectl_cluster_drop(cn);
        return NULL;
    }

    cn->home = 1;
    cachectl_cluster_st.home = cn->c;
    snprintf(cachectl_cluster_st.home_addr,
             sizeof(cachectl_cluster_st.home_addr),
             strchr(p->host, ':') ? "[%s]:%u" : "%s:%u", p->host, p->port);

    return cn->c;
}


const char *
cachectl_cluster_home(unsigned *primaries)
{
    size_t   i, n;
    unsigned k;

    if (primaries != NULL) {
        k = 0;
        n = cachectl_cluster_st.map ? jp_rc_map_nodes(cachectl_cluster_st.map)
                                    : 0;

        for (i = 0; i < n; i++) {
            k += jp_rc_map_node(cachectl_cluster_st.map, i)->primary;
        }

        *primaries = k;
    }

    return cachectl_cluster_st.home_addr[0] ? cachectl_cluster_st.home_addr
                                            : NULL;
}


const char *
cachectl_cluster_describe(void)
{
    size_t               i, n, len;
    const jp_rc_node_t  *node;

    len = 0;
    cachectl_cluster_st.describe[0] = '\0';
    n = cachectl_cluster_st.map ? jp_rc_map_nodes(cachectl_cluster_st.map)
                                : 0;

    for (i = 0; i < n && len < sizeof(cachectl_cluster_st.describe); i++) {
        node = jp_rc_map_node(cachectl_cluster_st.map, i);

        if (node->primary) {
            len += snprintf(cachectl_cluster_st.describe + len,
                            sizeof(cachectl_cluster_st.describe) - len,
                            "%s%s:%u", len ? " " : "", node->host,
                            node->port);
        }
    }

    return cachectl_cluster_st.describe;
}


/*
 * The arguments of a formatted command ("*N\r\n$L\r\n...\r\n"), pointing
 * into cmd: their number, or -1
 */

static int
cachectl_cluster_args(const char *cmd, size_t len, const char **argv,
    size_t *argvlen, int max)
{
    int          n, i;
    long         l;
    char        *end;
    const char  *p, *last;

    last = cmd + len;

    if (len < 4 || cmd[0] != '*') {
        return -1;
    }

    n = (int) strtol(cmd + 1, &end, 10);

    if (n < 1 || n > max || end + 2 > last || end[0] != '\r') {
        return -1;
    }

    p = end + 2;

    for (i = 0; i < n; i++) {
        if (p >= last || *p != '$') {
            return -1;
        }

        l = strtol(p + 1, &end, 10);

        if (l < 0 || end + 2 > last || (size_t) (last - end - 2) < (size_t) l)
        {
            return -1;
        }

        argv[i] = end + 2;
        argvlen[i] = (size_t) l;
        p = end + 2 + l + 2;
    }

    return n;
}


/* the slot a formatted command goes to; JP_RC_NOT_COVERED: home */

static int
cachectl_cluster_cmd_slot(const char *cmd, size_t len)
{
    int          n, slot;
    long         count;
    size_t      *lens;
    const char **argv;

    /* as many as the command has: an MGET or HDEL may have thousands */
    count = len > 1 && cmd[0] == '*' ? strtol(cmd + 1, NULL, 10) : 0;

    if (count < 1 || count > CACHECTL_CLUSTER_ARGS_MAX) {
        /* home: a MOVED sends it where it belongs */
        return JP_RC_NOT_COVERED;
    }

    argv = malloc(count * sizeof(char *));
    lens = malloc(count * sizeof(size_t));

    slot = JP_RC_NOT_COVERED;

    if (argv != NULL && lens != NULL) {
        n = cachectl_cluster_args(cmd, len, argv, lens, (int) count);

        if (n > 0) {
            slot = jp_rc_command_slot(n, (const char *const *) argv, lens);
        }
    }

    free(argv);
    free(lens);

    /* CROSSSLOT and a bad EVAL go home: Redis's answer says why */
    return slot >= 0 ? slot : JP_RC_NOT_COVERED;
}


static cachectl_cluster_conn_t *
cachectl_cluster_home_conn(void)
{
    int  i;

    for (i = 0; i < cachectl_cluster_st.nconns; i++) {
        if (cachectl_cluster_st.conns[i].home
            && cachectl_cluster_st.conns[i].c != NULL)
        {
            return &cachectl_cluster_st.conns[i];
        }
    }

    return NULL;
}


/*
 * One command, sent, its reply read, redirects followed: NULL when the
 * home connection broke (err filled) or a node stayed out of reach until
 * the deadline (home is then broken too: the caller reconnects).
 */

redisReply *
cachectl_cluster_exec(redisContext *home, const char *cmd, size_t len,
    char *err, size_t size)
{
    int                       slot, redirects, asking, was_asking, rc;
    void                     *reply;
    int64_t                   deadline;
    redisReply               *r;
    redisContext             *c, *tmp;
    jp_rc_redirect_t          rd;
    cachectl_cluster_conn_t  *cn;
    char                      why[512], addr[JP_RC_HOST_MAX + 8];

    slot = cachectl_cluster_cmd_slot(cmd, len);
    deadline = cachectl_mono_ms() + CACHECTL_CLUSTER_DEADLINE_MS;
    redirects = 0;
    asking = 0;
    cn = NULL;

    for ( ;; ) {
        if (cn == NULL) {
            if (slot == JP_RC_NOT_COVERED) {
                cn = cachectl_cluster_home_conn();

                if (cn == NULL || cn->c != home) {
                    snprintf(err, size, "Redis: %s",
                             home->errstr[0] ? home->errstr
                                             : "connection lost");
                    return NULL;
                }

            } else {
                cn = cachectl_cluster_slot((unsigned) slot, why,
                                           sizeof(why));
            }
        }

        if (cn == NULL) {
            if (cachectl_mono_ms() >= deadline) {
                snprintf(err, size, "Redis Cluster: %s", why);
                cachectl_cluster_break(home, "%s", err);
                return NULL;
            }

            cachectl_cluster_sleep(CACHECTL_CLUSTER_DOWN_MS);
            (void) cachectl_cluster_refresh(why, sizeof(why));
            continue;
        }

        /* replies of a pipeline are due on it: a connection of its own */
        tmp = NULL;
        c = cn->c;

        if (cn->pending) {
            snprintf(addr, sizeof(addr), "%s:%u", cn->host, cn->port);
            tmp = cachectl_redis_open_addr(cachectl_cluster_st.conf, addr,
                                           why, sizeof(why));
            if (tmp == NULL) {
                snprintf(err, size, "Redis Cluster: %s", why);
                cachectl_cluster_break(home, "%s", err);
                return NULL;
            }

            c = tmp;
        }

        reply = NULL;
        rc = REDIS_OK;

        if ((asking && redisAppendCommand(c, "ASKING") != REDIS_OK)
            || redisAppendFormattedCommand(c, cmd, len) != REDIS_OK)
        {
            rc = REDIS_ERR;
        }

        cachectl_cluster_st.follow = 1;

        if (rc == REDIS_OK && asking) {
            rc = redisGetReply(c, &reply);
            if (reply != NULL) {
                freeReplyObject(reply);
                reply = NULL;
            }
        }

        if (rc == REDIS_OK) {
            rc = redisGetReply(c, &reply);
        }

        cachectl_cluster_st.follow = 0;

        if (rc != REDIS_OK) {
            snprintf(why, sizeof(why), "%s:%u: %s", cn->host, cn->port,
                     c->errstr[0] ? c->errstr : "connection lost");

            if (tmp != NULL) {
                redisFree(tmp);
            }

            if (c == home) {
                snprintf(err, size, "Redis: %s", why);
                return NULL;
            }

            if (tmp == NULL) {
                cachectl_cluster_drop(cn);
            }

            /* a failover: the map names the new primary soon */
            if (cachectl_mono_ms() >= deadline) {
                snprintf(err, size, "Redis Cluster: %s", why);
                cachectl_cluster_break(home, "%s", err);
                return NULL;
            }

            cachectl_cluster_sleep(CACHECTL_CLUSTER_DOWN_MS);
            (void) cachectl_cluster_refresh(why, sizeof(why));
            cn = NULL;
            asking = 0;
            continue;
        }

        if (tmp != NULL) {
            redisFree(tmp);
        }

        r = reply;
        was_asking = asking;
        asking = 0;

        if (r->type != REDIS_REPLY_ERROR
            || jp_rc_parse_error(r->str, r->len, &rd) == JP_RC_ERR_NONE
            || rd.kind == JP_RC_ERR_CROSSSLOT
            || ++redirects > CACHECTL_CLUSTER_REDIRECTS
            || cachectl_mono_ms() >= deadline)
        {
            return r;
        }

        freeReplyObject(r);

        switch (rd.kind) {

        case JP_RC_ERR_MOVED:
        case JP_RC_ERR_ASK:
            if (rd.host_len == 0) {
                rd.host_len = (size_t) snprintf(rd.host, sizeof(rd.host),
                                                "%s", cn->host);
            }

            if (rd.kind == JP_RC_ERR_MOVED
                && jp_rc_map_moved(cachectl_cluster_st.map, &rd) != 1
                && cachectl_mono_ms() - cachectl_cluster_st.refreshed
                   >= CACHECTL_CLUSTER_REFRESH_MS)
            {
                (void) cachectl_cluster_refresh(why, sizeof(why));
            }

            cn = cachectl_cluster_conn(rd.host, rd.port, why, sizeof(why));
            asking = rd.kind == JP_RC_ERR_ASK;
            break;

        case JP_RC_ERR_TRYAGAIN:
            /* to the same node, with ASKING again if it was an ASK's */
            cachectl_cluster_sleep(CACHECTL_CLUSTER_TRYAGAIN_MS);
            asking = was_asking;
            break;

        default:    /* CLUSTERDOWN, a redirect we could not parse */
            cachectl_cluster_sleep(CACHECTL_CLUSTER_DOWN_MS);
            (void) cachectl_cluster_refresh(why, sizeof(why));
            cn = NULL;
            break;
        }
    }
}


int
cachectl_cluster_append(redisContext *home, const char *cmd, size_t len)
{
    int                         slot;
    char                        why[512];
    size_t                      cap;
    cachectl_cluster_conn_t    *cn;
    cachectl_cluster_queued_t  *q;

    if (cachectl_cluster_st.qtail == cachectl_cluster_st.qcap) {
        if (cachectl_cluster_st.qhead > 0) {
            memmove(cachectl_cluster_st.queue,
                    cachectl_cluster_st.queue + cachectl_cluster_st.qhead,
                    (cachectl_cluster_st.qtail - cachectl_cluster_st.qhead)
                    * sizeof(cachectl_cluster_queued_t));
            cachectl_cluster_st.qtail -= cachectl_cluster_st.qhead;
            cachectl_cluster_st.qhead = 0;

        } else {
            cap = cachectl_cluster_st.qcap ? cachectl_cluster_st.qcap * 2
                                           : 256;
            q = realloc(cachectl_cluster_st.queue,
                        cap * sizeof(cachectl_cluster_queued_t));
            if (q == NULL) {
                return REDIS_ERR;
            }

            cachectl_cluster_st.queue = q;
            cachectl_cluster_st.qcap = cap;
        }
    }

    q = &cachectl_cluster_st.queue[cachectl_cluster_st.qtail];
    q->cmd = malloc(len);

    if (q->cmd == NULL) {
        return REDIS_ERR;
    }

    memcpy(q->cmd, cmd, len);
    q->len = len;

    slot = cachectl_cluster_cmd_slot(cmd, len);
    cn = slot == JP_RC_NOT_COVERED ? cachectl_cluster_home_conn()
         : cachectl_cluster_slot((unsigned) slot, why, sizeof(why));

    /* out of reach now: cachectl_cluster_reply() tries it alone */
    if (cn != NULL && cn->c != NULL
        && redisAppendFormattedCommand(cn->c, cmd, len) == REDIS_OK)
    {
        cn->pending++;
        q->conn = cn;

    } else {
        q->conn = NULL;
    }

    cachectl_cluster_st.qtail++;

    return REDIS_OK;
}


int
cachectl_cluster_reply(redisContext *home, void **reply)
{
    int                         rc;
    char                        err[512];
    void                       *r;
    jp_rc_redirect_t            rd;
    cachectl_cluster_conn_t    *cn;
    cachectl_cluster_queued_t   q;

    *reply = NULL;

    if (cachectl_cluster_st.qhead == cachectl_cluster_st.qtail) {
        /* nothing queued through here: the caller's own reply */
        return redisGetReply(home, reply);
    }

    q = cachectl_cluster_st.queue[cachectl_cluster_st.qhead++];
    cn = q.conn;
    r = NULL;

    if (cn != NULL) {
        cachectl_cluster_st.follow = 1;
        rc = redisGetReply(cn->c, &r);
        cachectl_cluster_st.follow = 0;
        cn->pending--;

        if (rc != REDIS_OK) {
            if (cn->c == home) {
                free(q.cmd);
                return REDIS_ERR;
            }

            cachectl_cluster_drop(cn);
            r = NULL;
        }
    }

    if (r != NULL
        && ((redisReply *) r)->type == REDIS_REPLY_ERROR
        && jp_rc_parse_error(((redisReply *) r)->str,
                             ((redisReply *) r)->len, &rd)
           != JP_RC_ERR_NONE
        && rd.kind != JP_RC_ERR_CROSSSLOT)
    {
        if (rd.kind == JP_RC_ERR_MOVED && rd.host_len) {
            (void) jp_rc_map_moved(cachectl_cluster_st.map, &rd);
        }

        freeReplyObject(r);
        r = NULL;
    }

    /* not sent, its node gone, or redirected: once more on its own */
    if (r == NULL) {
        r = cachectl_cluster_exec(home, q.cmd, q.len, err, sizeof(err));
    }

    free(q.cmd);

    if (r == NULL) {
        return REDIS_ERR;
    }

    *reply = r;

    return REDIS_OK;
}


/* an empty SCAN page with the cursor "0", as a server would send it */

static redisReply *
cachectl_cluster_empty_page(char *err, size_t size)
{
    void          *r;
    redisReader   *rd;

    static const char  page[] = "*2\r\n$1\r\n0\r\n*0\r\n";

    r = NULL;
    rd = redisReaderCreate();

    if (rd == NULL || redisReaderFeed(rd, page, sizeof(page) - 1) != REDIS_OK
        || redisReaderGetReply(rd, &r) != REDIS_OK || r == NULL)
    {
        snprintf(err, size, "out of memory");
        r = NULL;
    }

    if (rd != NULL) {
        redisReaderFree(rd);
    }

    return r;
}


redisReply *
cachectl_cluster_scan(redisContext *home, const char *cursor,
    const char *tail, size_t tlen, char *err, size_t size)
{
    int                       n, i, k, argc;
    char                     *cmd, *s, next[40], why[512];
    size_t                   *lens, np;
    long long                 tl;
    unsigned long             at;
    redisReply               *r;
    const char              **argv;
    const jp_rc_node_t       *node, *prim[CACHECTL_CLUSTER_CONNS];
    cachectl_cluster_conn_t  *cn;

    at = 0;
    s = strchr(cursor, ':');

    if (s != NULL) {
        at = strtoul(cursor, NULL, 10);
        cursor = s + 1;
    }

    np = 0;
    n = (int) jp_rc_map_nodes(cachectl_cluster_st.map);

    for (i = 0; i < n && np < CACHECTL_CLUSTER_CONNS; i++) {
        node = jp_rc_map_node(cachectl_cluster_st.map, i);
        if (node->primary) {
            prim[np++] = node;
        }
    }

    if (at >= np) {
        /* the cluster shrank under the walk: this pass ends here */
        return cachectl_cluster_empty_page(err, size);
    }

    argv = malloc(66 * sizeof(char *));
    lens = malloc(66 * sizeof(size_t));

    if (argv == NULL || lens == NULL) {
        free(argv);
        free(lens);
        snprintf(err, size, "out of memory");
        return NULL;
    }

    argc = cachectl_cluster_args(tail, tlen, argv + 2, lens + 2, 64);

    if (argc < 0) {
        argc = 0;
    }

    argv[0] = "SCAN";
    lens[0] = 4;
    argv[1] = cursor;
    lens[1] = strlen(cursor);

    tl = redisFormatCommandArgv(&cmd, argc + 2, argv, lens);
    free(argv);
    free(lens);

    if (tl < 0) {
        snprintf(err, size, "out of memory");
        return NULL;
    }

    cn = cachectl_cluster_conn(prim[at]->host, prim[at]->port, why,
                               sizeof(why));
    r = NULL;

    if (cn == NULL) {
        snprintf(err, size, "Redis Cluster: %s", why);
        cachectl_cluster_break(home, "%s", err);

    } else {
        if (redisAppendFormattedCommand(cn->c, cmd, (size_t) tl) == REDIS_OK)
        {
            cachectl_cluster_st.follow = 1;
            if (redisGetReply(cn->c, (void **) &r) != REDIS_OK) {
                r = NULL;
            }
            cachectl_cluster_st.follow = 0;
        }

        if (r == NULL) {
            snprintf(err, size, "Redis Cluster: %s:%u: %s", cn->host,
                     cn->port, cn->c->errstr);
            if (cn->c != home) {
                cachectl_cluster_drop(cn);
                cachectl_cluster_break(home, "%s", err);
            }
        }
    }

    free(cmd);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING)
    {
        return r;
    }

    /* the cursor of the walk over every primary */
    k = strcmp(r->element[0]->str, "0") == 0;

    if (k) {
        if (at + 1 >= np) {
            snprintf(next, sizeof(next), "0");
        } else {
            snprintf(next, sizeof(next), "%lu:0", at + 1);
        }

    } else {
        snprintf(next, sizeof(next), "%lu:%.24s", at, r->element[0]->str);
    }

    s = malloc(strlen(next) + 1);

    if (s == NULL) {
        freeReplyObject(r);
        snprintf(err, size, "out of memory");
        return NULL;
    }

    memcpy(s, next, strlen(next) + 1);
    free(r->element[0]->str);
    r->element[0]->str = s;
    r->element[0]->len = strlen(s);

    return r;
}


/*
 * WAIT on the home primary and every other one connected to (a one-shot
 * command connects only to those it wrote to or read from): each for the
 * replicas its ROLE lists, at least one.
 */

int
cachectl_cluster_replicated(redisContext *home, char *err, size_t size)
{
    int           i, missing;
    long long     want, got;
    size_t        len;
    redisReply   *r;
    redisContext *c;

    missing = 0;
    len = 0;
    err[0] = '\0';

    for (i = 0; i < cachectl_cluster_st.nconns; i++) {
        c = cachectl_cluster_st.conns[i].c;

        if (c == NULL || c->err) {
            continue;
        }

        r = redisCommand(c, "ROLE");
        want = 0;

        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 3
            && r->element[2]->type == REDIS_REPLY_ARRAY)
        {
            want = (long long) r->element[2]->elements;
        }

        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0
            && r->element[0]->type == REDIS_REPLY_STRING
            && strcmp(r->element[0]->str, "master") != 0)
        {
            /* a replica now: nothing of ours to wait for there */
            freeReplyObject(r);
            continue;
        }

        if (r) {
            freeReplyObject(r);
        }

        if (want < 1) {
            want = 1;
        }

        r = redisCommand(c, "WAIT %lld %d", want, CACHECTL_CLUSTER_WAIT_MS);
        got = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

        if (r) {
            freeReplyObject(r);
        }

        if (got < 0) {
            missing = missing ? missing : -1;
            if (len < size) {
                len += snprintf(err + len, size - len, "%swritten on %s:%u; "
                                "WAIT failed", len ? "; " : "",
                                cachectl_cluster_st.conns[i].host,
                                cachectl_cluster_st.conns[i].port);
            }
            continue;
        }

        if (got < want) {
            missing = missing < 0 ? missing : missing + (int) (want - got);
            if (len < size) {
                len += snprintf(err + len, size - len, "%swritten on the "
                                "primary %s:%u, not yet on %lld replica(s) "
                                "(%lld of %lld acknowledged within %d ms): "
                                "a failover now would lose it",
                                len ? "; " : "",
                                cachectl_cluster_st.conns[i].host,
                                cachectl_cluster_st.conns[i].port,
                                want - got, got, want,
                                CACHECTL_CLUSTER_WAIT_MS);
            }
        }
    }

    (void) home;

    return missing;
}
