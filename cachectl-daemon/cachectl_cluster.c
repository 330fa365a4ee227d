/*
 * cachectl in a Redis Cluster (see cachectl_cluster.h).
 *
 * Everything is synchronous and bounded: a command, with the connects,
 * the CLUSTER SLOTS refreshes and the redirects it needs, has
 * CACHECTL_CLUSTER_DEADLINE_MS in all (cachectl_cluster_await() polls
 * against that deadline, as the Sentinel path does), chases MOVED and ASK
 * at most CACHECTL_CLUSTER_REDIRECTS times and only to nodes of the map;
 * a CLUSTER SLOTS reply is at most CACHECTL_CLUSTER_SLOTS_MAX bytes, a
 * refresh asks at most CACHECTL_CLUSTER_ASK nodes of the map, at most
 * CACHECTL_CLUSTER_CONNS connections are kept (idle ones make room), and
 * the map holds at most JP_RC_MAX_NODES nodes (jp_rc_map_build).
 */

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jp_redis_cluster.h"

#include "cachectl_cluster.h"
#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_resp.h"
#include "cachectl_sync.h"


#define CACHECTL_CLUSTER_CONNS       64
#define CACHECTL_CLUSTER_REFRESH_MS  100
#define CACHECTL_CLUSTER_TRYAGAIN_MS 50
#define CACHECTL_CLUSTER_DOWN_MS     200
#define CACHECTL_CLUSTER_ARGS_MAX    (1024 * 1024)

/* each connect, each recv() and send() */
#define CACHECTL_CLUSTER_TIMEOUT_MS  2000

/* CLUSTER SLOTS: 16384 ranges are about 3 MB with ids and replicas */
#define CACHECTL_CLUSTER_SLOTS_MAX   (4 * 1024 * 1024)
#define CACHECTL_CLUSTER_SLOTS_ELTS  16384

/* the reply to AUTH, PING or ROLE */
#define CACHECTL_CLUSTER_HELLO_MAX   4096

/* CLUSTER NODES of one node */
#define CACHECTL_CLUSTER_NODES_MAX   (4 * 1024 * 1024)

/* a refresh asks at most this many nodes of the map, then the seeds */
#define CACHECTL_CLUSTER_ASK         8
#define CACHECTL_CLUSTER_SEEDS       64

/* the one-shot commands' WAIT for the replicas */
#define CACHECTL_CLUSTER_WAIT_MS     1000


typedef struct {
    char            host[JP_RC_HOST_MAX + 1];
    unsigned        port;
    redisContext   *c;
    redisContext   *side;           /* for commands while replies are due
                                       on c; kept for the WAIT */
    unsigned        pending;        /* pipelined replies not read yet */
    unsigned        home:1;         /* c is the caller's */
    unsigned        used:1;         /* a command was sent on it */
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

    /* a connection used, then lost: its writes cannot be WAITed for */
    char                       lost[JP_RC_HOST_MAX + 8];

    /* 1 while this file reads a reply: cluster errors are its own */
    int                        follow;
    redisContext              *broken;
    char                       why[512];

    cachectl_cluster_queued_t *queue;
    size_t                     qhead, qtail, qcap;

    char                       describe[1024];
} cachectl_cluster_st;


static void cachectl_cluster_queue_reset(void);
static void cachectl_cluster_drop(cachectl_cluster_conn_t *cn);


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
        cachectl_cluster_drop(&cachectl_cluster_st.conns[i]);
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


/* what is left of a deadline, for a connect or a poll(); 0: none */

static int
cachectl_cluster_left(int64_t deadline)
{
    int64_t  left;

    left = deadline - cachectl_mono_ms();

    return left > 0 ? (int) left : 0;
}


/*
 * The next reply on c before deadline: cachectl_redis_await() with the
 * cluster's budget; a reply capped at max bytes (0: none) is a map read,
 * whose array may not exceed the slots either.
 */

static redisReply *
cachectl_cluster_await(redisContext *c, int64_t deadline, size_t max,
    char *err, size_t size)
{
    return cachectl_redis_await(c, deadline, CACHECTL_CLUSTER_DEADLINE_MS,
                                max, max ? CACHECTL_CLUSTER_SLOTS_ELTS : 0,
                                err, size);
}


/*
 * A connection to a node, AUTH (or PING) answered, all before deadline;
 * only to a node of the map or a seed: callers check. NULL with err.
 */

static redisContext *
cachectl_cluster_open(const char *host, unsigned port, int64_t deadline,
    char *err, size_t size)
{
    int              ms;
    char             why[256];
    redisReply      *r;
    redisContext    *c;
    struct timeval   tv;

    ms = cachectl_cluster_left(deadline);

    if (ms == 0) {
        snprintf(err, size, "Redis %s:%u: no time left to connect", host,
                 port);
        return NULL;
    }

    if (ms > CACHECTL_CLUSTER_TIMEOUT_MS) {
        ms = CACHECTL_CLUSTER_TIMEOUT_MS;
    }

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;

    c = redisConnectWithTimeout(host, (int) port, tv);

    if (c == NULL || c->err) {
        snprintf(err, size, "Redis %s:%u: %s", host, port,
                 c ? c->errstr : "out of memory");
        if (c) {
            redisFree(c);
        }
        return NULL;
    }

    tv.tv_sec = CACHECTL_CLUSTER_TIMEOUT_MS / 1000;
    tv.tv_usec = (CACHECTL_CLUSTER_TIMEOUT_MS % 1000) * 1000;

    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, size, "Redis %s:%u: cannot set a timeout", host, port);
        redisFree(c);
        return NULL;
    }

    /* as cachectl_redis_open_addr(): AUTH, or a PING that proves Redis */
    if ((cachectl_cluster_st.conf->password[0]
         ? redisAppendCommand(c, "AUTH %s", cachectl_cluster_st.conf->password)
         : redisAppendCommand(c, "PING")) != REDIS_OK)
    {
        snprintf(err, size, "out of memory");
        redisFree(c);
        return NULL;
    }

    r = cachectl_cluster_await(c, deadline, CACHECTL_CLUSTER_HELLO_MAX, why,
                               sizeof(why));

    if (r == NULL || r->type != REDIS_REPLY_STATUS) {
        snprintf(err, size, "Redis %s:%u: %s: %s", host, port,
                 cachectl_cluster_st.conf->password[0] ? "AUTH" : "PING",
                 r == NULL ? why
                 : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        if (r) {
            freeReplyObject(r);
        }
        redisFree(c);
        return NULL;
    }

    freeReplyObject(r);

    return c;
}


/* CLUSTER SLOTS of one node as a map, before deadline; NULL with err */

static jp_rc_map_t *
cachectl_cluster_ask(const char *host, unsigned port, int64_t deadline,
    char *err, size_t size)
{
    char              addr[JP_RC_HOST_MAX + 8], why[512];
    redisReply       *r;
    jp_rc_map_t      *map;
    redisContext     *c;
    jp_resp_value_t   tree;
    jp_rc_map_conf_t  mc;

    snprintf(addr, sizeof(addr), "%s:%u", host, port);

    c = cachectl_cluster_open(host, port, deadline, why, sizeof(why));
    if (c == NULL) {
        snprintf(err, size, "%s", why);
        return NULL;
    }

    r = NULL;

    if (redisAppendCommand(c, "CLUSTER SLOTS") == REDIS_OK) {
        r = cachectl_cluster_await(c, deadline, CACHECTL_CLUSTER_SLOTS_MAX,
                                   why, sizeof(why));
    } else {
        snprintf(why, sizeof(why), "out of memory");
    }

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, size, "%s: CLUSTER SLOTS: %.200s", addr,
                 r == NULL ? why
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

    if (cachectl_resp_tree(r, &tree) != 0) {
        snprintf(err, size, "out of memory");

    } else {
        map = jp_rc_map_build(&mc, &tree, why, sizeof(why));

        if (map == NULL) {
            snprintf(err, size, "%s: CLUSTER SLOTS: %.200s", addr, why);
        }
    }

    cachectl_resp_tree_free(&tree);
    freeReplyObject(r);
    redisFree(c);

    return map;
}


/* the seeds of redis-cluster= that parse, in order; how many */

static int
cachectl_cluster_seeds(char hosts[][JP_RC_HOST_MAX + 1], unsigned *ports,
    int max)
{
    int      n;
    char     list[CACHECTL_SENTINEL_LIST_MAX], *item, *save, *colon, *end;
    size_t   hlen;

    n = 0;
    snprintf(list, sizeof(list), "%s", cachectl_cluster_st.conf->redis_cluster);

    /* cachectl_conf.c checked the syntax */
    for (item = strtok_r(list, ",", &save);
         item != NULL && n < max;
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

        if (hlen == 0 || hlen > JP_RC_HOST_MAX) {
            continue;
        }

        memcpy(hosts[n], item, hlen);
        hosts[n][hlen] = '\0';
        ports[n] = (unsigned) atoi(colon + 1);
        n++;
    }

    return n;
}


/* 1 if host:port is a node of the map or a seed: one we may talk to */

static int
cachectl_cluster_known(const char *host, unsigned port)
{
    int       i, n;
    char      hosts[CACHECTL_CLUSTER_SEEDS][JP_RC_HOST_MAX + 1];
    unsigned  ports[CACHECTL_CLUSTER_SEEDS];

    if (cachectl_cluster_st.map != NULL
        && jp_rc_map_find(cachectl_cluster_st.map, host, port) != NULL)
    {
        return 1;
    }

    n = cachectl_cluster_seeds(hosts, ports, CACHECTL_CLUSTER_SEEDS);

    for (i = 0; i < n; i++) {
        if (ports[i] == port && strcmp(hosts[i], host) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * A fresh map, before deadline: from the nodes of the one we have first
 * (they know the cluster best after a failover), at most
 * CACHECTL_CLUSTER_ASK nodes of it, then the seeds; the seeds first when
 * a node's word is in doubt (a redirect to a node the map does not
 * know). 0, or -1 with err.
 */

static int
cachectl_cluster_refresh(int64_t deadline, int seeds_first, char *err,
    size_t size)
{
    int                  k, ns, pass;
    char                 why[512];
    char                 hosts[CACHECTL_CLUSTER_SEEDS][JP_RC_HOST_MAX + 1];
    size_t               i, n, elen;
    unsigned             ports[CACHECTL_CLUSTER_SEEDS];
    jp_rc_map_t         *map;
    const jp_rc_node_t  *node;

    cachectl_cluster_st.refreshed = cachectl_mono_ms();

    elen = (size_t) snprintf(err, size, "no node of the cluster gives its "
                             "slot map:");
    map = NULL;
    ns = cachectl_cluster_seeds(hosts, ports, CACHECTL_CLUSTER_SEEDS);

    for (pass = 0; pass < 2 && map == NULL; pass++) {

        if ((pass == 0) != (seeds_first != 0)) {
            n = cachectl_cluster_st.map
                ? jp_rc_map_nodes(cachectl_cluster_st.map) : 0;

            for (i = 0, k = 0;
                 i < n && k < CACHECTL_CLUSTER_ASK && map == NULL
                 && cachectl_cluster_left(deadline) > 0;
                 i++)
            {
                node = jp_rc_map_node(cachectl_cluster_st.map, i);

                if (node->port == 0) {
                    continue;
                }

                k++;
                map = cachectl_cluster_ask(node->host, node->port, deadline,
                                           why, sizeof(why));
            }

            continue;
        }

        for (k = 0;
             k < ns && map == NULL && cachectl_cluster_left(deadline) > 0;
             k++)
        {
            map = cachectl_cluster_ask(hosts[k], ports[k], deadline, why,
                                       sizeof(why));

            if (map == NULL && elen < size) {
                elen += snprintf(err + elen, size - elen, " %s;", why);
            }
        }
    }

    if (map == NULL) {
        if (cachectl_cluster_left(deadline) == 0 && elen < size) {
            elen += snprintf(err + elen, size - elen, " no answer within "
                             "%d ms;", CACHECTL_CLUSTER_DEADLINE_MS);
        }

        if (elen > 0 && elen < size && err[elen - 1] == ';') {
            err[elen - 1] = '\0';
        }
        return -1;
    }

    jp_rc_map_free(cachectl_cluster_st.map);
    cachectl_cluster_st.map = map;

    return 0;
}


/*
 * The connection to a node of the map, opened when first needed, before
 * deadline; NULL with err. When every place is taken, an idle connection
 * that is not home's makes room.
 */

static cachectl_cluster_conn_t *
cachectl_cluster_conn(const char *host, unsigned port, int64_t deadline,
    char *err, size_t size)
{
    int                       i, free_at, idle;
    cachectl_cluster_conn_t  *cn;

    free_at = -1;
    idle = -1;

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

        if (cn->c != NULL && !cn->home && cn->pending == 0 && idle < 0) {
            idle = i;
        }
    }

    /* never a connection (nor the password) to an address of no map */
    if (!cachectl_cluster_known(host, port)) {
        snprintf(err, size, "%s:%u is no node of the cluster's map", host,
                 port);
        return NULL;
    }

    if (free_at < 0) {
        if (cachectl_cluster_st.nconns < CACHECTL_CLUSTER_CONNS) {
            free_at = cachectl_cluster_st.nconns++;

        } else if (idle >= 0) {
            free_at = idle;
            cachectl_cluster_drop(&cachectl_cluster_st.conns[idle]);

        } else {
            snprintf(err, size, "more than %d cluster nodes in use",
                     CACHECTL_CLUSTER_CONNS);
            return NULL;
        }
    }

    cn = &cachectl_cluster_st.conns[free_at];
    memset(cn, 0, sizeof(cachectl_cluster_conn_t));
    snprintf(cn->host, sizeof(cn->host), "%s", host);
    cn->port = port;

    cn->c = cachectl_cluster_open(host, port, deadline, err, size);

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

    if (cn->used && cn->c != NULL) {
        snprintf(cachectl_cluster_st.lost, sizeof(cachectl_cluster_st.lost),
                 "%s:%u", cn->host, cn->port);
    }

    if (!cn->home && cn->c != NULL) {
        redisFree(cn->c);
    }

    if (cn->side != NULL) {
        redisFree(cn->side);
    }

    cn->c = NULL;
    cn->side = NULL;
    cn->pending = 0;
    cn->used = 0;
}


/* the connection for a slot (its primary), NULL with err */

static cachectl_cluster_conn_t *
cachectl_cluster_slot(unsigned slot, int64_t deadline, char *err,
    size_t size)
{
    const jp_rc_node_t  *p;

    p = cachectl_cluster_st.map
        ? jp_rc_map_primary(cachectl_cluster_st.map, slot) : NULL;

    if (p == NULL) {
        snprintf(err, size, "slot %u has no primary in the cluster's map",
                 slot);
        return NULL;
    }

    return cachectl_cluster_conn(p->host, p->port, deadline, err, size);
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
    int64_t                   deadline;
    redisReply               *r;
    const jp_rc_node_t       *p;
    cachectl_cluster_conn_t  *cn;

    cachectl_cluster_st.on = 1;
    cachectl_cluster_st.conf = conf;

    /* the caller freed the home connection it had; the rest goes too */
    cachectl_cluster_queue_reset();

    for (i = 0; i < cachectl_cluster_st.nconns; i++) {
        cachectl_cluster_drop(&cachectl_cluster_st.conns[i]);
    }

    cachectl_cluster_st.nconns = 0;
    cachectl_cluster_st.home = NULL;
    cachectl_cluster_st.broken = NULL;
    cachectl_cluster_st.home_addr[0] = '\0';
    cachectl_cluster_st.lost[0] = '\0';

    deadline = cachectl_mono_ms() + CACHECTL_CLUSTER_DEADLINE_MS;

    if (cachectl_cluster_refresh(deadline, 0, err, size) != 0) {
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

    cn = cachectl_cluster_conn(p->host, p->port, deadline, why,
                               sizeof(why));

    if (cn == NULL) {
        snprintf(err, size, "Redis Cluster: the primary of slot %u: %s",
                 cachectl_cluster_st.l2_slot, why);
        return NULL;
    }

    /* a map from a node that has not seen a failover yet: not a replica */
    r = NULL;

    if (redisAppendCommand(cn->c, "ROLE") == REDIS_OK) {
        cachectl_cluster_st.follow = 1;
        r = cachectl_cluster_await(cn->c, deadline,
                                   CACHECTL_CLUSTER_HELLO_MAX, why,
                                   sizeof(why));
        cachectl_cluster_st.follow = 0;
    }

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
 * One command, sent, its reply read, redirects followed, all within
 * CACHECTL_CLUSTER_DEADLINE_MS: NULL when the home connection broke (err
 * filled), or a node stayed out of reach, or the redirects or the
 * deadline were spent on cluster errors (MOVED, ASK, TRYAGAIN,
 * CLUSTERDOWN) or a redirect named a node the cluster's map does not
 * know: home is then broken too, the caller reconnects. A cluster error
 * is never handed back as the command's reply.
 */

redisReply *
cachectl_cluster_exec(redisContext *home, const char *cmd, size_t len,
    char *err, size_t size)
{
    int                       slot, redirects, asking, was_asking;
    int64_t                   deadline;
    redisReply               *r, *a;
    redisContext             *c, *tmp;
    jp_rc_redirect_t          rd;
    cachectl_cluster_conn_t  *cn;
    char                      why[512];

    slot = cachectl_cluster_cmd_slot(cmd, len);
    deadline = cachectl_mono_ms() + CACHECTL_CLUSTER_DEADLINE_MS;
    redirects = 0;
    asking = 0;
    cn = NULL;
    why[0] = '\0';

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
                cn = cachectl_cluster_slot((unsigned) slot, deadline, why,
                                           sizeof(why));
            }
        }

        if (cn == NULL) {
            if (cachectl_cluster_left(deadline) <= CACHECTL_CLUSTER_DOWN_MS)
            {
                snprintf(err, size, "Redis Cluster: %s", why);
                cachectl_cluster_break(home, "%s", err);
                return NULL;
            }

            cachectl_cluster_sleep(CACHECTL_CLUSTER_DOWN_MS);
            (void) cachectl_cluster_refresh(deadline, 0, why, sizeof(why));
            continue;
        }

        /* replies of a pipeline are due on it: a connection of its own */
        tmp = NULL;
        c = cn->c;

        if (cn->pending) {
            if (cn->side == NULL) {
                cn->side = cachectl_cluster_open(cn->host, cn->port, deadline,
                                                 why, sizeof(why));
                if (cn->side == NULL) {
                    snprintf(err, size, "Redis Cluster: %s", why);
                    cachectl_cluster_break(home, "%s", err);
                    return NULL;
                }
            }

            tmp = cn->side;
            c = tmp;
        }

        r = NULL;
        cn->used = 1;

        cachectl_cluster_st.follow = 1;

        if ((asking && redisAppendCommand(c, "ASKING") != REDIS_OK)
            || redisAppendFormattedCommand(c, cmd, len) != REDIS_OK)
        {
            snprintf(why, sizeof(why), "out of memory");
            cachectl_redis_fail(c, why);

        } else {
            a = asking ? cachectl_cluster_await(c, deadline, 0, why,
                                                sizeof(why))
                       : NULL;

            if (!asking || a != NULL) {
                r = cachectl_cluster_await(c, deadline, 0, why, sizeof(why));
            }

            if (a != NULL) {
                freeReplyObject(a);
            }
        }

        cachectl_cluster_st.follow = 0;

        if (r == NULL) {
            snprintf(why + strlen(why), sizeof(why) - strlen(why),
                     " (%s:%u)", cn->host, cn->port);

            if (tmp != NULL) {
                redisFree(tmp);
                cn->side = NULL;
                snprintf(cachectl_cluster_st.lost,
                         sizeof(cachectl_cluster_st.lost), "%s:%u",
                         cn->host, cn->port);
            }

            if (c == home) {
                snprintf(err, size, "Redis: %s", why);
                cachectl_cluster_break(home, "%s", err);
                return NULL;
            }

            if (tmp == NULL) {
                cachectl_cluster_drop(cn);
            }

            /* a failover: the map names the new primary soon */
            if (cachectl_cluster_left(deadline) <= CACHECTL_CLUSTER_DOWN_MS)
            {
                snprintf(err, size, "Redis Cluster: %s", why);
                cachectl_cluster_break(home, "%s", err);
                return NULL;
            }

            cachectl_cluster_sleep(CACHECTL_CLUSTER_DOWN_MS);
            (void) cachectl_cluster_refresh(deadline, 0, why, sizeof(why));
            cn = NULL;
            asking = 0;
            continue;
        }

        was_asking = asking;
        asking = 0;

        if (r->type != REDIS_REPLY_ERROR
            || jp_rc_parse_error(r->str, r->len, &rd) == JP_RC_ERR_NONE
            || rd.kind == JP_RC_ERR_CROSSSLOT)
        {
            return r;
        }

        /* TRYAGAIN is bounded by the deadline only */
        if ((rd.kind != JP_RC_ERR_TRYAGAIN
             && ++redirects > CACHECTL_CLUSTER_REDIRECTS)
            || cachectl_cluster_left(deadline) == 0)
        {
            snprintf(err, size, "Redis Cluster: %s:%u: %.200s (after %d "
                     "redirects, %d ms)", cn->host, cn->port, r->str,
                     redirects > CACHECTL_CLUSTER_REDIRECTS
                     ? CACHECTL_CLUSTER_REDIRECTS : redirects,
                     CACHECTL_CLUSTER_DEADLINE_MS);
            freeReplyObject(r);
            cachectl_cluster_break(home, "%s", err);
            return NULL;
        }

        snprintf(why, sizeof(why), "%s:%u: %.200s", cn->host, cn->port,
                 r->str);
        freeReplyObject(r);

        switch (rd.kind) {

        case JP_RC_ERR_MOVED:
        case JP_RC_ERR_ASK:
            if (rd.host_len == 0) {
                rd.host_len = (size_t) snprintf(rd.host, sizeof(rd.host),
                                                "%s", cn->host);
            }

            /*
             * Only to a node of the map: one it does not know, the seeds
             * are asked first, and it is followed only if their map
             * names it (a node's word alone sends nothing, not even the
             * password, to an address of its choosing).
             */
            if (jp_rc_map_find(cachectl_cluster_st.map, rd.host, rd.port)
                == NULL)
            {
                (void) cachectl_cluster_refresh(deadline, 1, why,
                                                sizeof(why));

                if (jp_rc_map_find(cachectl_cluster_st.map, rd.host, rd.port)
                    == NULL)
                {
                    snprintf(err, size, "Redis Cluster: %s:%u redirects to "
                             "%s:%u, no node of the cluster's map",
                             cn->host, cn->port, rd.host, rd.port);
                    cachectl_cluster_break(home, "%s", err);
                    return NULL;
                }

            } else if (rd.kind == JP_RC_ERR_MOVED
                       && jp_rc_map_moved(cachectl_cluster_st.map, &rd) != 1
                       && cachectl_mono_ms() - cachectl_cluster_st.refreshed
                          >= CACHECTL_CLUSTER_REFRESH_MS)
            {
                (void) cachectl_cluster_refresh(deadline, 0, why,
                                                sizeof(why));
            }

            cn = cachectl_cluster_conn(rd.host, rd.port, deadline, why,
                                       sizeof(why));
            asking = rd.kind == JP_RC_ERR_ASK;
            break;

        case JP_RC_ERR_TRYAGAIN:
            /* to the same node, with ASKING again if it was an ASK's */
            cachectl_cluster_sleep(CACHECTL_CLUSTER_TRYAGAIN_MS);
            asking = was_asking;
            break;

        default:    /* CLUSTERDOWN, a redirect we could not parse */
            cachectl_cluster_sleep(CACHECTL_CLUSTER_DOWN_MS);
            (void) cachectl_cluster_refresh(deadline, 0, why, sizeof(why));
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
         : cachectl_cluster_slot((unsigned) slot,
                                 cachectl_mono_ms()
                                 + CACHECTL_CLUSTER_DEADLINE_MS,
                                 why, sizeof(why));

    /* out of reach now: cachectl_cluster_reply() tries it alone */
    if (cn != NULL && cn->c != NULL
        && redisAppendFormattedCommand(cn->c, cmd, len) == REDIS_OK)
    {
        cn->pending++;
        cn->used = 1;
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
        r = cachectl_cluster_await(cn->c, cachectl_mono_ms()
                                          + CACHECTL_CLUSTER_DEADLINE_MS,
                                   0, err, sizeof(err));
        rc = r != NULL ? REDIS_OK : REDIS_ERR;
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


/* a node's address as the cursor of the walk names it */

static uint32_t
cachectl_cluster_node_hash(const jp_rc_node_t *node)
{
    char      addr[JP_RC_HOST_MAX + 8];
    uint32_t  h;
    size_t    i, n;

    n = (size_t) snprintf(addr, sizeof(addr), "%s:%u", node->host,
                          node->port);
    h = 2166136261u;

    for (i = 0; i < n && i < sizeof(addr); i++) {
        h = (h ^ (unsigned char) addr[i]) * 16777619u;
    }

    return h;
}


static int
cachectl_cluster_node_cmp(const void *one, const void *two)
{
    int                  rc;
    const jp_rc_node_t  *a, *b;

    a = *(const jp_rc_node_t *const *) one;
    b = *(const jp_rc_node_t *const *) two;

    rc = strcmp(a->host, b->host);

    return rc ? rc : (a->port > b->port) - (a->port < b->port);
}


/*
 * The primaries of the map, sorted by address (not by their lowest slot,
 * which a reshard changes): an array to free, *n of them
 */

static const jp_rc_node_t **
cachectl_cluster_primaries(size_t *np)
{
    size_t                i, n;
    const jp_rc_node_t   *node, **prim;

    *np = 0;
    n = cachectl_cluster_st.map ? jp_rc_map_nodes(cachectl_cluster_st.map)
                                : 0;

    prim = malloc((n ? n : 1) * sizeof(jp_rc_node_t *));
    if (prim == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        node = jp_rc_map_node(cachectl_cluster_st.map, i);
        if (node->primary && node->port != 0) {
            prim[(*np)++] = node;
        }
    }

    qsort(prim, *np, sizeof(jp_rc_node_t *), cachectl_cluster_node_cmp);

    return prim;
}


/*
 * The cursor of the walk over every primary is "<node>:<cursor>", node
 * the hash of the primary's address (cachectl_cluster_node_hash): a
 * refresh that reorders or changes the map cannot make the walk go on
 * with one node's cursor on another. When the node is no longer a
 * primary, the pass starts over from the first primary.
 */

redisReply *
cachectl_cluster_scan(redisContext *home, const char *cursor,
    const char *tail, size_t tlen, char *err, size_t size)
{
    int                       argc, last;
    char                     *cmd, *s, next[40], why[512];
    size_t                   *lens, np, at;
    int64_t                   deadline;
    uint32_t                  h;
    long long                 tl;
    redisReply               *r;
    const char              **argv;
    const jp_rc_node_t      **prim;
    cachectl_cluster_conn_t  *cn;

    prim = cachectl_cluster_primaries(&np);

    if (prim == NULL) {
        snprintf(err, size, "out of memory");
        return NULL;
    }

    at = 0;
    s = strchr(cursor, ':');

    if (s != NULL) {
        h = (uint32_t) strtoul(cursor, NULL, 16);
        cursor = s + 1;

        for (at = 0; at < np; at++) {
            if (cachectl_cluster_node_hash(prim[at]) == h) {
                break;
            }
        }

        if (at == np) {
            /* gone: resume with the next primary after it is unknown */
            at = 0;
            cursor = "0";
        }
    }

    if (np == 0) {
        free(prim);
        return cachectl_cluster_empty_page(err, size);
    }

    argv = malloc(66 * sizeof(char *));
    lens = malloc(66 * sizeof(size_t));

    if (argv == NULL || lens == NULL) {
        free(argv);
        free(lens);
        free(prim);
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
        free(prim);
        snprintf(err, size, "out of memory");
        return NULL;
    }

    deadline = cachectl_mono_ms() + CACHECTL_CLUSTER_DEADLINE_MS;
    cn = cachectl_cluster_conn(prim[at]->host, prim[at]->port, deadline,
                               why, sizeof(why));
    r = NULL;

    if (cn == NULL) {
        snprintf(err, size, "Redis Cluster: %s", why);
        cachectl_cluster_break(home, "%s", err);

    } else if (cn->pending) {
        snprintf(err, size, "Redis Cluster: %s:%u: replies of a pipeline "
                 "are due", cn->host, cn->port);
        cachectl_cluster_break(home, "%s", err);

    } else {
        if (redisAppendFormattedCommand(cn->c, cmd, (size_t) tl) == REDIS_OK)
        {
            cachectl_cluster_st.follow = 1;
            r = cachectl_cluster_await(cn->c, deadline, 0, why, sizeof(why));
            cachectl_cluster_st.follow = 0;

        } else {
            snprintf(why, sizeof(why), "out of memory");
        }

        if (r == NULL) {
            snprintf(err, size, "Redis Cluster: %s:%u: %s", cn->host,
                     cn->port, why);
            if (cn->c != home) {
                cachectl_cluster_drop(cn);
            }
            cachectl_cluster_break(home, "%s", err);
        }
    }

    free(cmd);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING)
    {
        free(prim);
        return r;
    }

    /* the cursor of the walk over every primary */
    last = strcmp(r->element[0]->str, "0") == 0;

    if (last) {
        if (at + 1 >= np) {
            snprintf(next, sizeof(next), "0");
        } else {
            snprintf(next, sizeof(next), "%08x:0",
                     (unsigned) cachectl_cluster_node_hash(prim[at + 1]));
        }

    } else {
        snprintf(next, sizeof(next), "%08x:%.20s",
                 (unsigned) cachectl_cluster_node_hash(prim[at]),
                 r->element[0]->str);
    }

    free(prim);

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
 * replicas its ROLE lists, at least one. The ROLEs, then the WAITs, are
 * sent to every primary at once and read back before one deadline. A
 * connection that broke after it was used counts as unconfirmed.
 */

int
cachectl_cluster_replicated(redisContext *home, char *err, size_t size)
{
    int                       i, missing, n;
    int                       want[2 * CACHECTL_CLUSTER_CONNS];
    char                      why[256];
    size_t                    len;
    int64_t                   deadline;
    long long                 got;
    redisReply               *r;
    redisContext             *c;
    cachectl_cluster_conn_t  *cn;

    missing = 0;
    len = 0;
    err[0] = '\0';
    n = 2 * cachectl_cluster_st.nconns;

    if (cachectl_cluster_st.lost[0]) {
        missing = -1;
        len += snprintf(err, size, "written on %s perhaps; the connection "
                        "broke before the WAIT", cachectl_cluster_st.lost);
    }

    deadline = cachectl_mono_ms() + CACHECTL_CLUSTER_WAIT_MS
               + CACHECTL_CLUSTER_DEADLINE_MS;

    for (i = 0; i < n; i++) {
        cn = &cachectl_cluster_st.conns[i / 2];
        c = i % 2 ? cn->side : cn->c;
        want[i] = -1;

        if (c == NULL) {
            continue;
        }

        if (c->err == 0 && redisAppendCommand(c, "ROLE") == REDIS_OK) {
            want[i] = 0;
            continue;
        }

        missing = -1;
        if (len < size) {
            len += snprintf(err + len, size - len, "%swritten on %s:%u; the "
                            "connection broke: %s", len ? "; " : "",
                            cn->host, cn->port, c->errstr);
        }
    }

    for (i = 0; i < n; i++) {
        cn = &cachectl_cluster_st.conns[i / 2];
        c = i % 2 ? cn->side : cn->c;

        if (want[i] < 0) {
            continue;
        }

        cachectl_cluster_st.follow = 1;
        r = cachectl_cluster_await(c, deadline, 0, why, sizeof(why));
        cachectl_cluster_st.follow = 0;

        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0
            && r->element[0]->type == REDIS_REPLY_STRING
            && strcmp(r->element[0]->str, "master") != 0)
        {
            /* a replica now: nothing of ours to wait for there */
            freeReplyObject(r);
            want[i] = -1;
            continue;
        }

        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 3
            && r->element[2]->type == REDIS_REPLY_ARRAY)
        {
            want[i] = (int) r->element[2]->elements;
        }

        if (r) {
            freeReplyObject(r);
        }

        if (want[i] < 1) {
            want[i] = 1;
        }

        if (c->err
            || redisAppendCommand(c, "WAIT %d %d", want[i],
                                  CACHECTL_CLUSTER_WAIT_MS) != REDIS_OK)
        {
            want[i] = -2;
        }
    }

    for (i = 0; i < n; i++) {
        cn = &cachectl_cluster_st.conns[i / 2];
        c = i % 2 ? cn->side : cn->c;

        if (want[i] == -1) {
            continue;
        }

        got = -1;

        if (want[i] > 0) {
            cachectl_cluster_st.follow = 1;
            r = cachectl_cluster_await(c, deadline, 0, why, sizeof(why));
            cachectl_cluster_st.follow = 0;

            got = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer
                                                              : -1;
            if (r) {
                freeReplyObject(r);
            }
        }

        if (got < 0) {
            missing = -1;
            if (len < size) {
                len += snprintf(err + len, size - len, "%swritten on %s:%u; "
                                "WAIT failed", len ? "; " : "",
                                cn->host, cn->port);
            }
            continue;
        }

        if (got < want[i]) {
            missing = missing < 0 ? missing : missing + (int) (want[i] - got);
            if (len < size) {
                len += snprintf(err + len, size - len, "%swritten on the "
                                "primary %s:%u, not yet on %lld replica(s) "
                                "(%lld of %d acknowledged within %d ms): "
                                "a failover now would lose it",
                                len ? "; " : "", cn->host, cn->port,
                                want[i] - got, got, want[i],
                                CACHECTL_CLUSTER_WAIT_MS);
            }
        }
    }

    (void) home;

    return missing;
}


/*
 * The layout of the cluster now: a fresh map, *sig a digest of which
 * primary serves each slot, and CLUSTER NODES of every primary for a slot
 * migrating or importing ("[slot->-id]", "[slot-<-id]"). 0 when no slot
 * moves, 1 when one does, -1 with err.
 */

int
cachectl_cluster_layout(uint32_t *sig, char *err, size_t size)
{
    int                   moving;
    char                  why[512];
    size_t                i, np;
    int64_t               deadline;
    uint32_t              h;
    unsigned              slot;
    redisReply           *r;
    redisContext         *c;
    const jp_rc_node_t   *p, **prim;

    deadline = cachectl_mono_ms() + CACHECTL_CLUSTER_DEADLINE_MS;

    if (cachectl_cluster_refresh(deadline, 0, err, size) != 0) {
        return -1;
    }

    h = 2166136261u;

    for (slot = 0; slot < 16384; slot++) {
        p = jp_rc_map_primary(cachectl_cluster_st.map, slot);
        h = (h ^ (p ? cachectl_cluster_node_hash(p) : 0)) * 16777619u;
    }

    *sig = h;

    prim = cachectl_cluster_primaries(&np);
    if (prim == NULL) {
        snprintf(err, size, "out of memory");
        return -1;
    }

    moving = 0;

    for (i = 0; i < np && !moving; i++) {
        c = cachectl_cluster_open(prim[i]->host, prim[i]->port, deadline,
                                  why, sizeof(why));
        if (c == NULL) {
            snprintf(err, size, "Redis Cluster: %s", why);
            free(prim);
            return -1;
        }

        r = NULL;

        if (redisAppendCommand(c, "CLUSTER NODES") == REDIS_OK) {
            r = cachectl_cluster_await(c, deadline,
                                       CACHECTL_CLUSTER_NODES_MAX, why,
                                       sizeof(why));
        } else {
            snprintf(why, sizeof(why), "out of memory");
        }

        if (r == NULL || r->type != REDIS_REPLY_STRING) {
            snprintf(err, size, "Redis Cluster: %s:%u: CLUSTER NODES: %.200s",
                     prim[i]->host, prim[i]->port,
                     r == NULL ? why
                     : r->type == REDIS_REPLY_ERROR ? r->str
                     : "unexpected reply");
            if (r) {
                freeReplyObject(r);
            }
            redisFree(c);
            free(prim);
            return -1;
        }

        moving = strstr(r->str, "->-") != NULL
                 || strstr(r->str, "-<-") != NULL;

        freeReplyObject(r);
        redisFree(c);
    }

    free(prim);

    return moving;
}
