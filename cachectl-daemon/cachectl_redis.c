/*
 * Synchronous Redis for cachectl (see cachectl_redis.h).
 *
 * With --redis-sentinel the primary is found as the Redis Sentinel client
 * guidelines say: the sentinels are asked in order ("SENTINEL
 * get-master-addr-by-name NAME", each bounded by the connect timeout);
 * the address named is connected to, AUTH and SELECT as for one server,
 * then "ROLE" must say "master": a replica (a sentinel that has not seen
 * the failover yet, or a stale one) is refused and the next sentinel is
 * asked. The sentinel whose primary was taken moves to the front of the
 * list. One pass over the list per connect: the daemon retries with its
 * backoff, the CLI gives up with every sentinel's answer in the error.
 *
 * On such a connection a "-READONLY" or "-MASTERDOWN" reply (the server
 * turned into a replica under us) breaks the connection: every caller
 * already treats a broken connection as "reconnect, then compare
 * everything", which is what a failover needs. The reader's string
 * constructor refuses the reply; hiredis then marks the context in error
 * and every later command on it fails too.
 */

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "cachectl_cluster.h"
#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_sync.h"


#define CACHECTL_REDIS_TIMEOUT_MS  2000

/*
 * One sentinel exchange (connect, AUTH, SENTINEL) as a whole, however
 * slowly the bytes come; its answer is an address, a few dozen bytes
 */
#define CACHECTL_SENTINEL_TIMEOUT_MS  500
#define CACHECTL_SENTINEL_REPLY_MAX   512

/* the first bytes of a reply kept to read an array's header */
#define CACHECTL_REDIS_HEAD           32

/* the one-shot commands' WAIT for the replicas */
#define CACHECTL_WAIT_MS              1000


typedef struct {
    char              host[256];
    int               port;
    unsigned          mute:1;           /* "no answer" was logged */
} cachectl_redis_addr_t;


static struct {
    /* the sentinels, in the order they are asked */
    char                      source[CACHECTL_SENTINEL_LIST_MAX];
    char                      master[256];
    cachectl_redis_addr_t     sentinels[CACHECTL_SENTINELS_MAX];
    int                       nsentinels;

    char                      primary[300];     /* "IP:PORT" in use */
    char                      was[300];         /* the one before */
    char                      via[300];         /* the sentinel "H:P" */
    int                       switched;         /* not told yet */
    int                       quiet;            /* no sentinel answered */
    unsigned long             failovers;
    char                      differs[300];     /* a sentinel's other
                                                   primary, seen once */

    /* the connection that got a READONLY or MASTERDOWN reply */
    redisContext             *current;
    redisContext             *demoted;
    char                      why[512];
} cachectl_redis_st;


static redisReplyObjectFunctions  cachectl_redis_fns;
static void *(*cachectl_redis_create_string)(const redisReadTask *task,
    char *str, size_t len);


static redisContext *cachectl_redis_sentinel(cachectl_conf_t *conf,
    char *err, size_t size);
static int cachectl_redis_ask(cachectl_conf_t *conf,
    cachectl_redis_addr_t *s, char *ip, size_t ipsize, int *port,
    char *err, size_t size);
static int cachectl_redis_parse(cachectl_conf_t *conf);
static void cachectl_redis_watch(redisContext *c);
static size_t cachectl_redis_head(char *head, size_t size, size_t have,
    const char *p, size_t n);
static int cachectl_redis_over(const char *head, size_t have, size_t got,
    size_t max, long max_elts, char *err, size_t size);
static redisReply *cachectl_redis_vcmd(redisContext *c, char *err,
    size_t size, const char *fmt, va_list ap);
static void *cachectl_redis_string(const redisReadTask *task, char *str,
    size_t len);


redisContext *
cachectl_redis_connect(cachectl_conf_t *conf, char *err, size_t size)
{
    if (conf->redis_cluster != NULL) {
        return cachectl_cluster_connect(conf, err, size);
    }

    /* the caller freed the connection it had */
    cachectl_cluster_off();

    if (conf->redis_sentinel != NULL) {
        return cachectl_redis_sentinel(conf, err, size);
    }

    return cachectl_redis_open_addr(conf, conf->redis, err, size);
}


/* one server at addr ("HOST:PORT" or "unix:PATH"): connect, AUTH, SELECT */

redisContext *
cachectl_redis_open_addr(cachectl_conf_t *conf, const char *addr, char *err,
    size_t size)
{
    char            host[256];
    long            port;
    const char     *colon;
    redisReply     *r;
    redisContext   *c;
    struct timeval  tv;

    tv.tv_sec = CACHECTL_REDIS_TIMEOUT_MS / 1000;
    tv.tv_usec = (CACHECTL_REDIS_TIMEOUT_MS % 1000) * 1000;

    if (strncmp(addr, "unix:", 5) == 0) {
        c = redisConnectUnixWithTimeout(addr + 5, tv);

    } else {
        colon = strrchr(addr, ':');
        port = colon ? strtol(colon + 1, NULL, 10) : 0;

        if (colon == NULL || (size_t) (colon - addr) >= sizeof(host)
            || port <= 0 || port > 65535)
        {
            snprintf(err, size, "invalid Redis address \"%s\"", addr);
            return NULL;
        }

        memcpy(host, addr, colon - addr);
        host[colon - addr] = '\0';

        c = redisConnectWithTimeout(host, (int) port, tv);
    }

    if (c == NULL || c->err) {
        snprintf(err, size, "Redis %s: %s", addr,
                 c ? c->errstr : "out of memory");
        if (c) {
            redisFree(c);
        }
        return NULL;
    }

    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, size, "Redis %s: cannot set a timeout", addr);
        redisFree(c);
        return NULL;
    }

    if (conf->password[0]) {
        r = redisCommand(c, "AUTH %s", conf->password);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, size, "Redis %s: AUTH: %s", addr,
                     r ? r->str : c->errstr);
            if (r) {
                freeReplyObject(r);
            }
            redisFree(c);
            return NULL;
        }

        freeReplyObject(r);
    }

    /*
     * Without AUTH or SELECT nothing has answered yet: a server that wants
     * a password, or that is not Redis at all, would otherwise make every
     * later command fail with a stranger message ("not in Redis").
     */
    if (conf->password[0] == '\0' && conf->db == 0) {
        r = redisCommand(c, "PING");

        if (r == NULL || r->type != REDIS_REPLY_STATUS) {
            snprintf(err, size, "Redis %s: PING: %s", addr,
                     r == NULL ? c->errstr
                     : r->type == REDIS_REPLY_ERROR ? r->str
                     : "unexpected reply");
            if (r) {
                freeReplyObject(r);
            }
            redisFree(c);
            return NULL;
        }

        freeReplyObject(r);
    }

    if (conf->db) {
        r = redisCommand(c, "SELECT %d", conf->db);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, size, "Redis %s: SELECT %d: %s", addr,
                     conf->db, r ? r->str : c->errstr);
            if (r) {
                freeReplyObject(r);
            }
            redisFree(c);
            return NULL;
        }

        freeReplyObject(r);
    }

    return c;
}


/* the list of sentinels, parsed again when the configuration changed */

static int
cachectl_redis_parse(cachectl_conf_t *conf)
{
    int                     n;
    char                    list[sizeof(cachectl_redis_st.source)];
    char                   *item, *save, *colon, *end;
    size_t                  hlen;
    cachectl_redis_addr_t  *a;

    if (cachectl_redis_st.nsentinels
        && strcmp(cachectl_redis_st.source, conf->redis_sentinel) == 0
        && strcmp(cachectl_redis_st.master, conf->redis_master) == 0)
    {
        return 0;
    }

    /* another list or master (SIGHUP): no failover, a new start */
    cachectl_redis_st.primary[0] = '\0';
    cachectl_redis_st.differs[0] = '\0';
    snprintf(cachectl_redis_st.master, sizeof(cachectl_redis_st.master),
             "%s", conf->redis_master);

    if (strlen(conf->redis_sentinel) >= sizeof(list)) {
        return -1;
    }

    memcpy(list, conf->redis_sentinel, strlen(conf->redis_sentinel) + 1);
    n = 0;

    /* cachectl_conf.c checked the syntax */
    for (item = strtok_r(list, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save))
    {
        item += strspn(item, " \t");
        end = item + strlen(item);

        while (end > item && (end[-1] == ' ' || end[-1] == '\t')) {
            *--end = '\0';
        }

        colon = strrchr(item, ':');

        if (colon == NULL || n == CACHECTL_SENTINELS_MAX) {
            return -1;
        }

        a = &cachectl_redis_st.sentinels[n++];
        hlen = colon - item;

        /* "[::1]:26379" */
        if (hlen > 2 && item[0] == '[' && item[hlen - 1] == ']') {
            item++;
            hlen -= 2;
        }

        if (hlen == 0 || hlen >= sizeof(a->host)) {
            return -1;
        }

        memcpy(a->host, item, hlen);
        a->host[hlen] = '\0';
        a->port = atoi(colon + 1);
        a->mute = 0;
    }

    if (n == 0) {
        return -1;
    }

    snprintf(cachectl_redis_st.source, sizeof(cachectl_redis_st.source),
             "%s", conf->redis_sentinel);
    cachectl_redis_st.nsentinels = n;

    return 0;
}


/*
 * The next reply on c, a non-blocking context, before deadline (monotonic
 * ms; budget_ms is what the message says): SO_RCVTIMEO bounds each recv()
 * only, and a peer sending one byte a second would never trip it. At most
 * max bytes are read for the reply (0: no limit) and, with max_elts, an
 * array of more elements is refused as soon as its header arrives, before
 * hiredis builds it. NULL with err; c is then failed (c->err), the caller
 * drops it.
 */

redisReply *
cachectl_redis_await(redisContext *c, int64_t deadline, int budget_ms,
    size_t max, long max_elts, char *err, size_t size)
{
    int            rc, done;
    char           buf[16384], head[CACHECTL_REDIS_HEAD];
    void          *reply;
    size_t         got, have;
    ssize_t        n;
    int64_t        left;
    struct pollfd  pfd;

    /*
     * What hiredis holds already (the rest of a pipelined read) counts
     * toward the cap, and its first bytes are the reply's header.
     */

    got = c->reader->len - c->reader->pos;
    have = cachectl_redis_head(head, sizeof(head), 0,
                               c->reader->buf + c->reader->pos, got);

    for ( ;; ) {
        if (cachectl_redis_over(head, have, got, max, max_elts, err, size)) {
            cachectl_redis_fail(c, err);
            return NULL;
        }

        reply = NULL;

        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            snprintf(err, size, "%s", c->reader->errstr);
            cachectl_redis_fail(c, err);
            return NULL;
        }

        if (reply != NULL) {
            return reply;
        }

        done = 0;

        if (redisBufferWrite(c, &done) != REDIS_OK) {
            snprintf(err, size, "%s", c->errstr);
            return NULL;
        }

        left = deadline - cachectl_mono_ms();

        if (left <= 0) {
            snprintf(err, size, "no answer within %d ms", budget_ms);
            cachectl_redis_fail(c, err);
            return NULL;
        }

        pfd.fd = c->fd;
        pfd.events = done ? POLLIN : POLLIN | POLLOUT;
        pfd.revents = 0;

        rc = poll(&pfd, 1, (int) left);

        if (rc < 0 && errno != EINTR) {
            snprintf(err, size, "poll: %s", strerror(errno));
            cachectl_redis_fail(c, err);
            return NULL;
        }

        if (rc <= 0 || (pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
            continue;
        }

        n = read(c->fd, buf, sizeof(buf));

        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }

        if (n <= 0) {
            snprintf(err, size, "%s", n == 0 ? "Server closed the connection"
                                             : strerror(errno));
            cachectl_redis_fail(c, err);
            return NULL;
        }

        have = cachectl_redis_head(head, sizeof(head), have, buf, (size_t) n);
        got += (size_t) n;

        if (cachectl_redis_over(head, have, got, max, max_elts, err, size)) {
            cachectl_redis_fail(c, err);
            return NULL;
        }

        if (redisReaderFeed(c->reader, buf, (size_t) n) != REDIS_OK) {
            snprintf(err, size, "%s", c->reader->errstr);
            cachectl_redis_fail(c, err);
            return NULL;
        }
    }
}


/* the first bytes of a reply, kept NUL-terminated: how many now */

static size_t
cachectl_redis_head(char *head, size_t size, size_t have, const char *p,
    size_t n)
{
    if (have < size - 1) {
        n = n < size - 1 - have ? n : size - 1 - have;
        memcpy(head + have, p, n);
        have += n;
        head[have] = '\0';
    }

    return have;
}


/*
 * Past the caps: more than max bytes (0: any), or with max_elts an array
 * header announcing more elements (or a header longer than head), said
 * before hiredis builds anything. 1 with err.
 */

static int
cachectl_redis_over(const char *head, size_t have, size_t got, size_t max,
    long max_elts, char *err, size_t size)
{
    if (max && got > max) {
        snprintf(err, size, "a reply of more than %zu bytes", max);
        return 1;
    }

    if (max_elts && have > 0 && head[0] == '*'
        && (memchr(head, '\r', have) != NULL
            ? strtol(head + 1, NULL, 10) > max_elts
            : have == CACHECTL_REDIS_HEAD - 1))
    {
        snprintf(err, size, "a reply of more than %ld elements", max_elts);
        return 1;
    }

    return 0;
}


/* marks c failed with why, unless it already is */

void
cachectl_redis_fail(redisContext *c, const char *why)
{
    if (c->err == 0) {
        c->err = REDIS_ERR_IO;
        snprintf(c->errstr, sizeof(c->errstr), "%s", why);
    }
}


/*
 * Asks one sentinel for the primary: 1 with ip and port, 0 with err
 * filled (unreachable, mute, refused, or it does not know the name).
 * The whole exchange is bounded by CACHECTL_SENTINEL_TIMEOUT_MS.
 */

static int
cachectl_redis_ask(cachectl_conf_t *conf, cachectl_redis_addr_t *s,
    char *ip, size_t ipsize, int *port, char *err, size_t size)
{
    int              ok;
    long             p;
    char            *end;
    int64_t          deadline;
    redisReply      *r;
    redisContext    *c;

    deadline = cachectl_mono_ms() + CACHECTL_SENTINEL_TIMEOUT_MS;

    c = redisConnectNonBlock(s->host, s->port);

    if (c == NULL || c->err) {
        snprintf(err, size, "%s", c ? c->errstr : "out of memory");
        if (c) {
            redisFree(c);
        }
        return 0;
    }

    if (conf->sentinel_password[0]) {
        if (redisAppendCommand(c, "AUTH %s", conf->sentinel_password)
            != REDIS_OK)
        {
            snprintf(err, size, "out of memory");
            redisFree(c);
            return 0;
        }
    }

    if (redisAppendCommand(c, "SENTINEL get-master-addr-by-name %s",
                           conf->redis_master) != REDIS_OK)
    {
        snprintf(err, size, "out of memory");
        redisFree(c);
        return 0;
    }

    if (conf->sentinel_password[0]) {
        r = cachectl_redis_await(c, deadline, CACHECTL_SENTINEL_TIMEOUT_MS,
                                 CACHECTL_SENTINEL_REPLY_MAX, 0, err, size);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            if (r) {
                snprintf(err, size, "AUTH: %.*s", (int) r->len, r->str);
                freeReplyObject(r);
            }
            redisFree(c);
            return 0;
        }

        freeReplyObject(r);
    }

    r = cachectl_redis_await(c, deadline, CACHECTL_SENTINEL_TIMEOUT_MS,
                             CACHECTL_SENTINEL_REPLY_MAX, 0, err, size);

    ok = 0;

    if (r == NULL) {
        /* err is filled */

    } else if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, size, "%.*s", (int) (r->len > 160 ? 160 : r->len),
                 r->str);

    } else if (r->type == REDIS_REPLY_NIL) {
        snprintf(err, size, "does not know the master \"%s\"",
                 conf->redis_master);

    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
               || r->element[0]->type != REDIS_REPLY_STRING
               || r->element[1]->type != REDIS_REPLY_STRING
               || r->element[0]->len == 0
               || r->element[0]->len >= ipsize
               || strlen(r->element[0]->str) != r->element[0]->len
               || strspn(r->element[0]->str, "0123456789abcdefABCDEF.:-"
                         "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ_")
                  != r->element[0]->len
               || r->element[1]->len == 0 || r->element[1]->len > 5
               || strspn(r->element[1]->str, "0123456789")
                  != r->element[1]->len
               || (p = strtol(r->element[1]->str, &end, 10)) <= 0
               || *end != '\0' || p > 65535)
    {
        snprintf(err, size, "an answer that is no address");

    } else {
        memcpy(ip, r->element[0]->str, r->element[0]->len + 1);
        *port = (int) p;
        ok = 1;
    }

    if (r) {
        freeReplyObject(r);
    }

    redisFree(c);

    return ok;
}


static redisContext *
cachectl_redis_sentinel(cachectl_conf_t *conf, char *err, size_t size)
{
    int                    i, port, master;
    char                   ip[256], addr[300], target[300], why[512];
    char                   tried[8][300];
    size_t                 n;
    unsigned               ntried, k;
    redisReply            *r;
    redisContext          *c;
    cachectl_redis_addr_t  s;

    if (cachectl_redis_parse(conf) != 0) {
        snprintf(err, size, "invalid --redis-sentinel \"%s\"",
                 conf->redis_sentinel);
        return NULL;
    }

    n = snprintf(err, size, "no primary for \"%s\" from the sentinels:",
                 conf->redis_master);
    ntried = 0;

    for (i = 0; i < cachectl_redis_st.nsentinels; i++) {
        s = cachectl_redis_st.sentinels[i];

        if (!cachectl_redis_ask(conf, &s, ip, sizeof(ip), &port, why,
                                sizeof(why)))
        {
            if (n < size) {
                n += snprintf(err + n, size - n, " %s:%d: %s;", s.host,
                              s.port, why);
            }
            continue;
        }

        snprintf(addr, sizeof(addr), strchr(ip, ':') ? "[%s]:%d" : "%s:%d",
                 ip, port);

        /* another sentinel naming the same refused server: not again */
        for (k = 0; k < ntried; k++) {
            if (strcmp(tried[k], addr) == 0) {
                break;
            }
        }

        if (k < ntried) {
            if (n < size) {
                n += snprintf(err + n, size - n, " %s:%d: names %s again;",
                              s.host, s.port, addr);
            }
            continue;
        }

        if (ntried < sizeof(tried) / sizeof(tried[0])) {
            snprintf(tried[ntried++], sizeof(tried[0]), "%s", addr);
        }

        snprintf(target, sizeof(target), "%s:%d", ip, port);
        c = cachectl_redis_open_addr(conf, target, why, sizeof(why));

        if (c == NULL) {
            if (n < size) {
                n += snprintf(err + n, size - n, " %s:%d names %s: %s;",
                              s.host, s.port, addr, why);
            }
            continue;
        }

        /* never write to a replica: the sentinel may not know better yet */
        r = redisCommand(c, "ROLE");
        master = r != NULL && r->type == REDIS_REPLY_ARRAY
                 && r->elements > 0
                 && r->element[0]->type == REDIS_REPLY_STRING
                 && strcmp(r->element[0]->str, "master") == 0;

        if (!master) {
            if (n < size) {
                n += snprintf(err + n, size - n, " %s:%d names %s, which "
                              "is no primary (ROLE: %s);", s.host, s.port,
                              addr,
                              r == NULL ? c->errstr
                              : r->type == REDIS_REPLY_ERROR ? r->str
                              : r->type == REDIS_REPLY_ARRAY
                                && r->elements > 0
                                && r->element[0]->type
                                   == REDIS_REPLY_STRING
                              ? r->element[0]->str : "unexpected reply");
            }

            if (r) {
                freeReplyObject(r);
            }

            redisFree(c);
            continue;
        }

        freeReplyObject(r);

        /* the sentinel that answered is asked first next time */
        if (i > 0) {
            memmove(&cachectl_redis_st.sentinels[1],
                    &cachectl_redis_st.sentinels[0],
                    i * sizeof(cachectl_redis_addr_t));
            cachectl_redis_st.sentinels[0] = s;
        }

        if (strcmp(cachectl_redis_st.primary, addr) != 0) {
            if (cachectl_redis_st.primary[0] != '\0') {
                memcpy(cachectl_redis_st.was, cachectl_redis_st.primary,
                       sizeof(cachectl_redis_st.was));
                cachectl_redis_st.switched = 1;
                cachectl_redis_st.failovers++;
            }

            snprintf(cachectl_redis_st.primary,
                     sizeof(cachectl_redis_st.primary), "%s", addr);
        }

        snprintf(cachectl_redis_st.via, sizeof(cachectl_redis_st.via),
                 strchr(s.host, ':') ? "[%s]:%d" : "%s:%d", s.host, s.port);
        cachectl_redis_st.differs[0] = '\0';

        cachectl_redis_watch(c);

        return c;
    }

    if (n > 0 && n < size && err[n - 1] == ';') {
        err[n - 1] = '\0';
    }

    return NULL;
}


/* a READONLY or MASTERDOWN reply on c breaks it (see above) */

static void
cachectl_redis_watch(redisContext *c)
{
    if (cachectl_redis_create_string == NULL) {
        cachectl_redis_fns = *c->reader->fn;
        cachectl_redis_create_string = c->reader->fn->createString;
        cachectl_redis_fns.createString = cachectl_redis_string;
    }

    c->reader->fn = &cachectl_redis_fns;

    cachectl_redis_st.current = c;
    cachectl_redis_st.demoted = NULL;
}


static void *
cachectl_redis_string(const redisReadTask *task, char *str, size_t len)
{
    if (task->type == REDIS_REPLY_ERROR
        && ((len >= 8 && strncmp(str, "READONLY", 8) == 0)
            || (len >= 10 && strncmp(str, "MASTERDOWN", 10) == 0)
            || (len >= 10 && strncmp(str, "NOREPLICAS", 10) == 0)))
    {
        cachectl_redis_st.demoted = cachectl_redis_st.current;
        snprintf(cachectl_redis_st.why, sizeof(cachectl_redis_st.why),
                 str[0] == 'N' ? "%s refuses writes (no replica in reach): "
                                 "%.*s"
                               : "%s is no longer the primary: %.*s",
                 cachectl_redis_st.primary, (int) (len > 160 ? 160 : len),
                 str);

        /* hiredis fails the read and the context with it */
        return NULL;
    }

    return cachectl_redis_create_string(task, str, len);
}


const char *
cachectl_redis_errstr(redisContext *c)
{
    const char  *why;

    if (cachectl_cluster_on() && (why = cachectl_cluster_why(c)) != NULL) {
        return why;
    }

    if (c->err && c == cachectl_redis_st.demoted) {
        return cachectl_redis_st.why;
    }

    return c->errstr[0] ? c->errstr : "connection lost";
}


int
cachectl_redis_role(redisContext *c, char *err, size_t size)
{
    int          master;
    redisReply  *r;

    r = redisCommand(c, "ROLE");

    if (r == NULL) {
        snprintf(err, size, "Redis: %s", cachectl_redis_errstr(c));
        return -1;
    }

    master = r->type == REDIS_REPLY_ARRAY && r->elements > 0
             && r->element[0]->type == REDIS_REPLY_STRING
             && strcmp(r->element[0]->str, "master") == 0;

    if (!master) {
        snprintf(err, size, "%s is no longer the primary (ROLE: %s)",
                 cachectl_redis_st.primary,
                 r->type == REDIS_REPLY_ERROR ? r->str
                 : r->type == REDIS_REPLY_ARRAY && r->elements > 0
                   && r->element[0]->type == REDIS_REPLY_STRING
                 ? r->element[0]->str : "unexpected reply");
    }

    freeReplyObject(r);

    return master ? 0 : -1;
}


/* the sentinel at i answered: first from now on, the mute ones last */

static void
cachectl_redis_reorder(int i)
{
    int                    j, n, k;
    cachectl_redis_addr_t  old[CACHECTL_SENTINELS_MAX];

    n = cachectl_redis_st.nsentinels;
    memcpy(old, cachectl_redis_st.sentinels, n * sizeof(old[0]));

    k = 0;
    cachectl_redis_st.sentinels[k++] = old[i];

    for (j = 0; j < n; j++) {
        if (j != i && !old[j].mute) {
            cachectl_redis_st.sentinels[k++] = old[j];
        }
    }

    for (j = 0; j < n; j++) {
        if (j != i && old[j].mute) {
            cachectl_redis_st.sentinels[k++] = old[j];
        }
    }
}


/* "master_replid" from INFO replication: "" when not found */

int
cachectl_redis_replid(redisContext *c, char *id, size_t size)
{
    size_t       n;
    const char  *p;
    redisReply  *r;

    id[0] = '\0';

    r = redisCommand(c, "INFO replication");

    if (r == NULL) {
        return -1;
    }

    if (r->type == REDIS_REPLY_STRING
        && (p = strstr(r->str, "master_replid:")) != NULL)
    {
        p += sizeof("master_replid:") - 1;
        n = strspn(p, "0123456789abcdefABCDEF");

        if (n < size) {
            memcpy(id, p, n);
            id[n] = '\0';
        }
    }

    freeReplyObject(r);

    return 0;
}


int
cachectl_redis_confirm(cachectl_conf_t *conf, int always, char *err,
    size_t size)
{
    int                     i, port, master;
    char                    ip[256], addr[300], target[300], why[512];
    redisReply             *r;
    redisContext           *c;
    cachectl_redis_addr_t  *s;

    /* none answered last time: each may cost a timeout, not every batch */
    if (!always && cachectl_redis_st.quiet) {
        return 0;
    }

    cachectl_redis_st.quiet = 0;

    for (i = 0; i < cachectl_redis_st.nsentinels; i++) {
        s = &cachectl_redis_st.sentinels[i];

        if (!cachectl_redis_ask(conf, s, ip, sizeof(ip), &port, why,
                                sizeof(why)))
        {
            if (!s->mute) {
                s->mute = 1;
                cachectl_log(CACHECTL_WARN, "redis: sentinel %s:%d: no "
                             "answer (%s); asked last from now on",
                             s->host, s->port, why);
            }
            continue;
        }

        if (s->mute) {
            s->mute = 0;
            cachectl_log(CACHECTL_INFO, "redis: sentinel %s:%d answers "
                         "again", s->host, s->port);
        }

        cachectl_redis_reorder(i);
        s = &cachectl_redis_st.sentinels[0];

        snprintf(addr, sizeof(addr), strchr(ip, ':') ? "[%s]:%d" : "%s:%d",
                 ip, port);

        if (strcmp(addr, cachectl_redis_st.primary) == 0) {
            cachectl_redis_st.differs[0] = '\0';
            return 0;
        }

        /*
         * Sentinels disagree during a failover, or behind one address
         * (a load balancer): the server named must be a primary, and
         * named so twice in a row, before ours is dropped. Ours is
         * still a primary (ROLE said so); if it is demoted, ROLE or a
         * READONLY reply says it at once.
         */
        snprintf(target, sizeof(target), "%s:%d", ip, port);
        c = cachectl_redis_open_addr(conf, target, why, sizeof(why));
        master = 0;

        if (c != NULL) {
            r = redisCommand(c, "ROLE");
            master = r != NULL && r->type == REDIS_REPLY_ARRAY
                     && r->elements > 0
                     && r->element[0]->type == REDIS_REPLY_STRING
                     && strcmp(r->element[0]->str, "master") == 0;
            if (r) {
                freeReplyObject(r);
            }
            redisFree(c);
        }

        if (!master) {
            snprintf(err, size, "sentinel %s:%d names %s as the primary of "
                     "%s, which is no primary; keeping %s", s->host,
                     s->port, addr, conf->redis_master,
                     cachectl_redis_st.primary);
            return 1;
        }

        if (strcmp(cachectl_redis_st.differs, addr) != 0) {
            snprintf(cachectl_redis_st.differs,
                     sizeof(cachectl_redis_st.differs), "%s", addr);
            snprintf(err, size, "sentinel %s:%d names %s as the primary of "
                     "%s, also a primary; keeping %s until a sentinel "
                     "names it again", s->host, s->port, addr,
                     conf->redis_master, cachectl_redis_st.primary);
            return 1;
        }

        cachectl_redis_st.differs[0] = '\0';
        snprintf(err, size, "sentinel %s:%d names %s as the primary of %s, "
                 "not %s", s->host, s->port, addr, conf->redis_master,
                 cachectl_redis_st.primary);
        return -1;
    }

    /* none answers: ROLE said master, that has to do */
    cachectl_redis_st.quiet = 1;

    return 0;
}


/*
 * With --redis-sentinel, after a one-shot command's last write: WAIT for
 * the replicas the primary lists in ROLE (at least one: a primary
 * without a replica loses everything in a failover).
 */

int
cachectl_redis_replicated(cachectl_conf_t *conf, redisContext *c,
    char *err, size_t size)
{
    long long    want, got;
    redisReply  *r;

    if (conf->redis_cluster != NULL && c != NULL && !c->err) {
        return cachectl_cluster_replicated(c, err, size);
    }

    if (conf->redis_sentinel == NULL || c == NULL || c->err) {
        return 0;
    }

    r = redisCommand(c, "ROLE");

    if (r == NULL) {
        snprintf(err, size, "written on the primary; ROLE: %s",
                 cachectl_redis_errstr(c));
        return -1;
    }

    want = 0;

    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3
        && r->element[2]->type == REDIS_REPLY_ARRAY)
    {
        want = (long long) r->element[2]->elements;
    }

    freeReplyObject(r);

    if (want < 1) {
        want = 1;
    }

    r = redisCommand(c, "WAIT %lld %d", want, CACHECTL_WAIT_MS);

    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        snprintf(err, size, "written on the primary; WAIT: %s",
                 r == NULL ? cachectl_redis_errstr(c)
                 : r->type == REDIS_REPLY_ERROR ? r->str
                 : "unexpected reply");
        if (r) {
            freeReplyObject(r);
        }
        return -1;
    }

    got = r->integer;
    freeReplyObject(r);

    if (got >= want) {
        return 0;
    }

    snprintf(err, size, "written on the primary, not yet on %lld "
             "replica(s) (%lld of %lld acknowledged within %d ms): a "
             "failover now would lose it", want - got, got, want,
             CACHECTL_WAIT_MS);

    return (int) (want - got);
}


const char *
cachectl_redis_primary(const char **via, unsigned long *failovers)
{
    if (via != NULL) {
        *via = cachectl_redis_st.via;
    }

    if (failovers != NULL) {
        *failovers = cachectl_redis_st.failovers;
    }

    return cachectl_redis_st.primary[0] ? cachectl_redis_st.primary : NULL;
}


const char *
cachectl_redis_switched(const char **was)
{
    if (!cachectl_redis_st.switched) {
        return NULL;
    }

    cachectl_redis_st.switched = 0;
    *was = cachectl_redis_st.was;

    return cachectl_redis_st.primary;
}


redisReply *
cachectl_redis_cmd(redisContext *c, char *err, size_t size,
    const char *fmt, ...)
{
    va_list      ap;
    redisReply  *r;

    va_start(ap, fmt);
    r = cachectl_redis_vcmd(c, err, size, fmt, ap);
    va_end(ap);

    return r;
}


/* the one place a printf-style command is routed, for every wrapper */

static redisReply *
cachectl_redis_vcmd(redisContext *c, char *err, size_t size,
    const char *fmt, va_list ap)
{
    char        *cmd;
    long long    len;
    redisReply  *r;

    if (cachectl_cluster_on()) {
        len = redisvFormatCommand(&cmd, fmt, ap);

        if (len < 0) {
            snprintf(err, size, "out of memory");
            return NULL;
        }

        r = cachectl_cluster_exec(c, cmd, (size_t) len, err, size);
        free(cmd);

        return r;
    }

    r = redisvCommand(c, fmt, ap);

    if (r == NULL) {
        snprintf(err, size, "Redis: %s", cachectl_redis_errstr(c));
    }

    return r;
}


redisReply *
cachectl_redis_argv(redisContext *c, char *err, size_t size, int argc,
    const char **argv, const size_t *argvlen)
{
    char        *cmd;
    long long    len;
    redisReply  *r;

    if (cachectl_cluster_on()) {
        len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);

        if (len < 0) {
            snprintf(err, size, "out of memory");
            return NULL;
        }

        r = cachectl_cluster_exec(c, cmd, (size_t) len, err, size);
        free(cmd);

        return r;
    }

    r = redisCommandArgv(c, argc, argv, argvlen);

    if (r == NULL) {
        snprintf(err, size, "Redis: %s", cachectl_redis_errstr(c));
    }

    return r;
}


int
cachectl_redis_append(redisContext *c, const char *fmt, ...)
{
    int      rc;
    va_list  ap;

    va_start(ap, fmt);
    rc = cachectl_redis_vappend(c, fmt, ap);
    va_end(ap);

    return rc;
}


int
cachectl_redis_append_argv(redisContext *c, int argc, const char **argv,
    const size_t *argvlen)
{
    int         rc;
    char       *cmd;
    long long   len;

    if (!cachectl_cluster_on()) {
        return redisAppendCommandArgv(c, argc, argv, argvlen);
    }

    len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);

    if (len < 0) {
        return REDIS_ERR;
    }

    rc = cachectl_cluster_append(c, cmd, (size_t) len);
    free(cmd);

    return rc;
}


int
cachectl_redis_reply(redisContext *c, void **reply)
{
    if (!cachectl_cluster_on()) {
        return redisGetReply(c, reply);
    }

    return cachectl_cluster_reply(c, reply);
}


int
cachectl_redis_vappend(redisContext *c, const char *fmt, va_list ap)
{
    int         rc;
    char       *cmd;
    long long   len;

    if (!cachectl_cluster_on()) {
        return redisvAppendCommand(c, fmt, ap);
    }

    len = redisvFormatCommand(&cmd, fmt, ap);

    if (len < 0) {
        return REDIS_ERR;
    }

    rc = cachectl_cluster_append(c, cmd, (size_t) len);
    free(cmd);

    return rc;
}


/*
 * "SCAN <cursor> <fmt...>": the same bytes as before outside cluster
 * mode; over every primary in turn with --redis-cluster
 */

redisReply *
cachectl_redis_scan(redisContext *c, const char *cursor, char *err,
    size_t size, const char *fmt, ...)
{
    int           n, i;
    char         *tail, *p, *end;
    size_t        lens[16];
    va_list       ap;
    long long     tl;
    redisReply   *r;
    const char   *argv[16];

    va_start(ap, fmt);
    tl = redisvFormatCommand(&tail, fmt, ap);
    va_end(ap);

    if (tl < 0) {
        snprintf(err, size, "out of memory");
        return NULL;
    }

    if (cachectl_cluster_on()) {
        r = cachectl_cluster_scan(c, cursor, tail, (size_t) tl, err, size);
        free(tail);
        return r;
    }

    /* the arguments of fmt back from their RESP form */
    argv[0] = "SCAN";
    lens[0] = 4;
    argv[1] = cursor;
    lens[1] = strlen(cursor);
    n = (int) strtol(tail + 1, &end, 10);
    p = end + 2;

    for (i = 0; i < n && i < 14; i++) {
        lens[i + 2] = (size_t) strtol(p + 1, &end, 10);
        argv[i + 2] = end + 2;
        p = end + 2 + lens[i + 2] + 2;
    }

    r = cachectl_redis_argv(c, err, size, i + 2, argv, lens);
    free(tail);

    return r;
}


/* cachectl_redis_cmd() for callers that say cachectl_redis_errstr(c) */

redisReply *
cachectl_redis_command(redisContext *c, const char *fmt, ...)
{
    char         err[512];
    va_list      ap;
    redisReply  *r;

    va_start(ap, fmt);
    r = cachectl_redis_vcmd(c, err, sizeof(err), fmt, ap);
    va_end(ap);

    return r;
}
