/*
 * Redis Sentinel, per worker (jpulse_redis sentinel=... master=NAME).
 *
 * Which server is the primary is asked of the sentinels, in order, with
 * SENTINEL get-master-addr-by-name over an async hiredis connection of
 * its own (the "ask" connection: connect_timeout, then command_timeout
 * for AUTH and the question). The first valid answer wins, and its
 * sentinel moves to the front for the next time. The answer is the
 * worker's: both connections use it, so they never end up on two
 * servers; when a later answer names another server, the connection
 * still on the old one is recycled.
 *
 * The answer is kept until it is proven wrong: a connection to it fails,
 * ROLE there is not "master", a command meets -READONLY or -MASTERDOWN,
 * or a sentinel announces +switch-master. A round that gets no answer
 * fails the connections waiting for it; they retry with their backoff,
 * and the features fall back as when Redis is down.
 *
 * A third connection (the "watch") SUBSCRIBEs +switch-master on one
 * sentinel, the next one when that fails: a switch of our master is
 * logged, counted and followed at once, without waiting for a command
 * to fail.
 *
 * The rounds move on from a posted event, never from inside a hiredis
 * callback: hiredis frees a context closed from its own callback only
 * after the callback returns, and the ask connection is reused.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_redis_sentinel.h"


static ngx_int_t ngx_http_jpulse_sentinel_start_ask(
    ngx_http_jpulse_redis_conn_t *rc);
static void ngx_http_jpulse_sentinel_ask_reply(redisReply *reply,
    void *data);
static void ngx_http_jpulse_sentinel_ask_settled(
    ngx_http_jpulse_redis_conn_t *rc, ngx_uint_t ready);
static void ngx_http_jpulse_sentinel_ask(void);
static void ngx_http_jpulse_sentinel_next(ngx_event_t *ev);
static void ngx_http_jpulse_sentinel_end_round(ngx_uint_t found);
static void ngx_http_jpulse_sentinel_set_primary(u_char *addr, size_t len,
    in_port_t port);
static void ngx_http_jpulse_sentinel_recycle(ngx_event_t *ev);
static void ngx_http_jpulse_sentinel_refused(ngx_event_t *ev);
static void ngx_http_jpulse_sentinel_check(void);
static ngx_int_t ngx_http_jpulse_sentinel_start_watch(
    ngx_http_jpulse_redis_conn_t *rc);
static void ngx_http_jpulse_sentinel_watch_reply(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_jpulse_sentinel_switch(u_char *p, size_t len);
static void ngx_http_jpulse_sentinel_ignored(u_char *p, size_t len,
    const char *why);
static void ngx_http_jpulse_sentinel_keepalive(ngx_event_t *ev);
static void ngx_http_jpulse_sentinel_watch_settled(
    ngx_http_jpulse_redis_conn_t *rc, ngx_uint_t ready);
static void ngx_http_jpulse_sentinel_watch_on(ngx_uint_t i);
static in_port_t ngx_http_jpulse_sentinel_parse_port(u_char *p, size_t len);
static ngx_uint_t ngx_http_jpulse_sentinel_on(
    ngx_http_jpulse_redis_conn_t *rc);


static ngx_http_jpulse_redis_conf_t   *ngx_http_jpulse_sentinel_rcf;

/* the sentinels' connections: the sentinel password, no db, no ROLE */
static ngx_http_jpulse_redis_conf_t    ngx_http_jpulse_sentinel_conf;

static ngx_http_jpulse_redis_conn_t    ngx_http_jpulse_sentinel_asker;
static ngx_http_jpulse_redis_conn_t    ngx_http_jpulse_sentinel_watcher;
static ngx_http_jpulse_redis_conn_t   *ngx_http_jpulse_sentinel_conns[2];

/* indexes into rcf->sentinels, in the order they are asked */
static ngx_uint_t  ngx_http_jpulse_sentinel_order[
                                          NGX_HTTP_JPULSE_REDIS_SENTINELS_MAX];
static ngx_uint_t  ngx_http_jpulse_sentinel_n;

/* a sentinel's failure is logged once until it answers again */
static u_char      ngx_http_jpulse_sentinel_failing[
                                          NGX_HTTP_JPULSE_REDIS_SENTINELS_MAX];

static ngx_uint_t  ngx_http_jpulse_sentinel_round;      /* under way */
static ngx_uint_t  ngx_http_jpulse_sentinel_asking;     /* its position */
static ngx_uint_t  ngx_http_jpulse_sentinel_found;      /* it has an answer */
static ngx_uint_t  ngx_http_jpulse_sentinel_overtaken;  /* +switch-master
                                                           came meanwhile */
static ngx_uint_t  ngx_http_jpulse_sentinel_silent;     /* "none" logged */
static ngx_uint_t  ngx_http_jpulse_sentinel_awaited;    /* requests wait
                                                           for the round */
static ngx_uint_t  ngx_http_jpulse_sentinel_timed_out;  /* a sentinel of the
                                                           round timed out */
static ngx_uint_t  ngx_http_jpulse_sentinel_watching;   /* order position */
static ngx_uint_t  ngx_http_jpulse_sentinel_watch_started;

/* the primary: known (believed) or only the last one, for the log */
static ngx_uint_t  ngx_http_jpulse_sentinel_known;
static u_char      ngx_http_jpulse_sentinel_primary_addr[
                                                    NGX_SOCKADDR_STRLEN + 1];
static in_port_t   ngx_http_jpulse_sentinel_primary_port;

static u_char      ngx_http_jpulse_sentinel_answer[NGX_SOCKADDR_STRLEN + 1];
static in_port_t   ngx_http_jpulse_sentinel_answer_port;

/*
 * The primary that answered -READONLY/-MASTERDOWN last: named again by
 * the sentinels and refusing again, it is recycled after a backoff (and
 * the notice is not logged again), not at once in a loop.
 */
static u_char      ngx_http_jpulse_sentinel_refused_addr[
                                                    NGX_SOCKADDR_STRLEN + 1];
static in_port_t   ngx_http_jpulse_sentinel_refused_port;
static ngx_msec_t  ngx_http_jpulse_sentinel_refused_backoff;

static ngx_event_t  ngx_http_jpulse_sentinel_next_ev;
static ngx_event_t  ngx_http_jpulse_sentinel_recycle_ev;
static ngx_event_t  ngx_http_jpulse_sentinel_refused_ev;


ngx_int_t
ngx_http_jpulse_redis_sentinel_init(ngx_cycle_t *cycle,
    ngx_http_jpulse_redis_conf_t *rcf, ngx_http_jpulse_redis_conn_t *commands,
    ngx_http_jpulse_redis_conn_t *subscriber)
{
    ngx_uint_t                     i;
    ngx_http_jpulse_redis_conf_t  *scf;

    ngx_http_jpulse_sentinel_rcf = rcf;
    ngx_http_jpulse_sentinel_conns[0] = commands;
    ngx_http_jpulse_sentinel_conns[1] = subscriber;

    ngx_http_jpulse_sentinel_n = rcf->sentinels->nelts;

    for (i = 0; i < ngx_http_jpulse_sentinel_n; i++) {
        ngx_http_jpulse_sentinel_order[i] = i;
    }

    scf = &ngx_http_jpulse_sentinel_conf;

    *scf = *rcf;
    scf->sentinels = NULL;
    scf->resolver = NULL;
    ngx_str_null(&scf->resolve);
    ngx_str_null(&scf->unix_path);
    scf->password = rcf->sentinel_password;
    scf->db = 0;
    scf->max_pending = 16;

    ngx_http_jpulse_redis_conn_init(&ngx_http_jpulse_sentinel_asker,
                                    "sentinel", scf, cycle->log,
                                    ngx_http_jpulse_sentinel_start_ask, NULL);
    ngx_http_jpulse_sentinel_asker.oneshot = 1;
    ngx_http_jpulse_sentinel_asker.auxiliary = 1;
    ngx_http_jpulse_sentinel_asker.settled =
                                    ngx_http_jpulse_sentinel_ask_settled;

    ngx_http_jpulse_redis_conn_init(&ngx_http_jpulse_sentinel_watcher,
                                    "sentinel pub/sub", scf, cycle->log,
                                    ngx_http_jpulse_sentinel_start_watch,
                                    ngx_http_jpulse_sentinel_keepalive);
    ngx_http_jpulse_sentinel_watcher.auxiliary = 1;
    ngx_http_jpulse_sentinel_watcher.settled =
                                    ngx_http_jpulse_sentinel_watch_settled;

    ngx_http_jpulse_sentinel_next_ev.handler = ngx_http_jpulse_sentinel_next;
    ngx_http_jpulse_sentinel_next_ev.log = cycle->log;

    ngx_http_jpulse_sentinel_recycle_ev.handler =
                                    ngx_http_jpulse_sentinel_recycle;
    ngx_http_jpulse_sentinel_recycle_ev.log = cycle->log;

    ngx_http_jpulse_sentinel_refused_ev.handler =
                                    ngx_http_jpulse_sentinel_refused;
    ngx_http_jpulse_sentinel_refused_ev.log = cycle->log;
    /* timers log ev->data as a connection's: any readable memory */
    ngx_http_jpulse_sentinel_refused_ev.data = &ngx_http_jpulse_sentinel_asker;
    ngx_http_jpulse_sentinel_refused_ev.cancelable = 1;

    /* the watch starts on the sentinel that answers first */

    return NGX_OK;
}


void
ngx_http_jpulse_redis_sentinel_exit(void)
{
    if (ngx_http_jpulse_sentinel_rcf == NULL) {
        return;
    }

    if (ngx_http_jpulse_sentinel_next_ev.posted) {
        ngx_delete_posted_event(&ngx_http_jpulse_sentinel_next_ev);
    }

    if (ngx_http_jpulse_sentinel_recycle_ev.posted) {
        ngx_delete_posted_event(&ngx_http_jpulse_sentinel_recycle_ev);
    }

    if (ngx_http_jpulse_sentinel_refused_ev.timer_set) {
        ngx_del_timer(&ngx_http_jpulse_sentinel_refused_ev);
    }

    ngx_http_jpulse_redis_conn_close(&ngx_http_jpulse_sentinel_watcher);
    ngx_http_jpulse_redis_conn_close(&ngx_http_jpulse_sentinel_asker);

    ngx_http_jpulse_sentinel_round = 0;
}


ngx_int_t
ngx_http_jpulse_redis_sentinel_primary(ngx_http_jpulse_redis_conn_t *rc)
{
    if (ngx_http_jpulse_sentinel_known) {
        ngx_cpystrn(rc->addr, ngx_http_jpulse_sentinel_primary_addr,
                    sizeof(rc->addr));
        rc->port = ngx_http_jpulse_sentinel_primary_port;
        return NGX_OK;
    }

    if (!ngx_http_jpulse_sentinel_round) {
        ngx_http_jpulse_sentinel_round = 1;
        ngx_http_jpulse_sentinel_asking = 0;
        ngx_http_jpulse_sentinel_found = 0;
        ngx_http_jpulse_sentinel_overtaken = 0;
        ngx_http_jpulse_sentinel_timed_out = 0;

        /* from a posted event: the caller marks itself discovering first */
        ngx_post_event(&ngx_http_jpulse_sentinel_next_ev, &ngx_posted_events);
    }

    return NGX_AGAIN;
}


void
ngx_http_jpulse_redis_sentinel_lost(ngx_http_jpulse_redis_conn_t *rc)
{
    /* a connection recycled because the primary moved was not on it */

    if (ngx_http_jpulse_sentinel_on(rc)) {
        ngx_http_jpulse_sentinel_known = 0;
    }
}


void
ngx_http_jpulse_redis_sentinel_not_primary(ngx_http_jpulse_redis_conn_t *rc)
{
    if (ngx_http_jpulse_sentinel_on(rc)) {
        ngx_http_jpulse_sentinel_known = 0;
    }
}


void
ngx_http_jpulse_redis_sentinel_moved(ngx_http_jpulse_redis_conn_t *rc,
    const char *error)
{
    u_char      text[64 * 4 + 1], *last;
    ngx_msec_t  delay;

    if (!ngx_http_jpulse_sentinel_on(rc)) {
        return;
    }

    if (ngx_http_jpulse_sentinel_refused_port == rc->port
        && ngx_strcmp(ngx_http_jpulse_sentinel_refused_addr, rc->addr) == 0)
    {
        /*
         * Named again after it refused, and refusing again (a server that
         * says "master" to ROLE and refuses writes): the next recycle
         * waits, with a backoff, and nothing more is logged.
         */

        if (ngx_http_jpulse_sentinel_refused_ev.timer_set
            || ngx_http_jpulse_sentinel_recycle_ev.posted)
        {
            return;
        }

        delay = ngx_http_jpulse_sentinel_refused_backoff;
        ngx_http_jpulse_sentinel_refused_backoff = ngx_min(delay * 2,
                                           NGX_HTTP_JPULSE_REDIS_BACKOFF_MAX);

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                       "jpulse redis sentinel: %s:%d refuses again, "
                       "recycled in %M ms", rc->addr, (int) rc->port, delay);

        ngx_add_timer(&ngx_http_jpulse_sentinel_refused_ev, delay);
        return;
    }

    last = ngx_http_jpulse_redis_escape(text, (u_char *) error,
                                        ngx_min(ngx_strlen(error), 64));

    ngx_log_error(NGX_LOG_NOTICE, rc->log, 0,
                  "jpulse_redis \"%V\": %s connection: %s:%d answered "
                  "\"%*s\": asking the sentinels for the primary",
                  &rc->conf->name, rc->role, rc->addr, (int) rc->port,
                  last - text, text);

    ngx_cpystrn(ngx_http_jpulse_sentinel_refused_addr, rc->addr,
                sizeof(ngx_http_jpulse_sentinel_refused_addr));
    ngx_http_jpulse_sentinel_refused_port = rc->port;
    ngx_http_jpulse_sentinel_refused_backoff =
                                          NGX_HTTP_JPULSE_REDIS_BACKOFF_MIN;

    ngx_http_jpulse_sentinel_known = 0;

    /* not from inside hiredis: both connections go */

    if (!ngx_http_jpulse_sentinel_recycle_ev.posted) {
        ngx_post_event(&ngx_http_jpulse_sentinel_recycle_ev,
                       &ngx_posted_events);
    }
}


void
ngx_http_jpulse_redis_sentinel_await(void)
{
    ngx_http_jpulse_redis_conn_t  *ask;

    ask = &ngx_http_jpulse_sentinel_asker;

    if (ngx_http_jpulse_sentinel_round) {
        ngx_http_jpulse_sentinel_awaited = 1;
        ngx_http_jpulse_redis_conn_await(ask);
    }
}


static void
ngx_http_jpulse_sentinel_refused(ngx_event_t *ev)
{
    if (ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    ngx_http_jpulse_sentinel_known = 0;

    ngx_http_jpulse_sentinel_recycle(ev);
}


/*
 * A round while the primary is known (the watch subscribed again, so a
 * +switch-master may have been missed): a different answer is followed,
 * the connections keep the primary meanwhile.
 */

static void
ngx_http_jpulse_sentinel_check(void)
{
    if (ngx_http_jpulse_sentinel_round || ngx_http_jpulse_redis_shutting_down())
    {
        return;
    }

    ngx_http_jpulse_sentinel_round = 1;
    ngx_http_jpulse_sentinel_asking = 0;
    ngx_http_jpulse_sentinel_found = 0;
    ngx_http_jpulse_sentinel_overtaken = 0;
    ngx_http_jpulse_sentinel_timed_out = 0;

    if (!ngx_http_jpulse_sentinel_next_ev.posted) {
        ngx_post_event(&ngx_http_jpulse_sentinel_next_ev, &ngx_posted_events);
    }
}


static ngx_uint_t
ngx_http_jpulse_sentinel_on(ngx_http_jpulse_redis_conn_t *rc)
{
    return rc->port == ngx_http_jpulse_sentinel_primary_port
           && ngx_strcmp(rc->addr, ngx_http_jpulse_sentinel_primary_addr) == 0;
}


/* the round: ask the sentinel at the current position, or end */

static void
ngx_http_jpulse_sentinel_ask(void)
{
    ngx_http_jpulse_redis_conn_t           *ask;
    ngx_http_jpulse_redis_sentinel_addr_t  *sa;

    if (ngx_http_jpulse_redis_shutting_down()
        || ngx_http_jpulse_sentinel_asking >= ngx_http_jpulse_sentinel_n)
    {
        ngx_http_jpulse_sentinel_end_round(0);
        return;
    }

    sa = ngx_http_jpulse_sentinel_rcf->sentinels->elts;
    sa = &sa[ngx_http_jpulse_sentinel_order[ngx_http_jpulse_sentinel_asking]];

    ask = &ngx_http_jpulse_sentinel_asker;

    ngx_cpystrn(ask->addr, sa->host, sizeof(ask->addr));
    ask->port = sa->port;
    ask->failing = ngx_http_jpulse_sentinel_failing[
                   ngx_http_jpulse_sentinel_order[
                                           ngx_http_jpulse_sentinel_asking]];

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ask->log, 0,
                   "jpulse redis sentinel: asking %s:%d", ask->addr,
                   (int) ask->port);

    /* a failure now is settled through a posted event too */

    if (ngx_http_jpulse_sentinel_awaited) {
        ask->awaited = 1;
    }

    ngx_http_jpulse_redis_conn_connect(ask);
}


static ngx_int_t
ngx_http_jpulse_sentinel_start_ask(ngx_http_jpulse_redis_conn_t *rc)
{
    const char  *argv[3];
    size_t       argvlen[3];

    argv[0] = "SENTINEL";
    argvlen[0] = 8;
    argv[1] = "get-master-addr-by-name";
    argvlen[1] = sizeof("get-master-addr-by-name") - 1;
    argv[2] = (char *) ngx_http_jpulse_sentinel_rcf->master.data;
    argvlen[2] = ngx_http_jpulse_sentinel_rcf->master.len;

    return ngx_http_jpulse_redis_conn_send(rc,
                                          ngx_http_jpulse_sentinel_ask_reply,
                                          rc, 3, argv, argvlen);
}


static void
ngx_http_jpulse_sentinel_ask_reply(redisReply *reply, void *data)
{
    ngx_http_jpulse_redis_conn_t  *rc = data;

    ngx_uint_t   i, first;
    in_port_t    port;
    redisReply  *host, *p;
    u_char       err[128];

    if (reply == NULL || rc->state != NGX_HTTP_JPULSE_REDIS_HANDSHAKE) {
        /* a failure is settled by ngx_http_jpulse_redis_conn_fail() */
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_snprintf(err, sizeof(err) - 1, "%*s%Z",
                     ngx_min(reply->len, sizeof(err) - 2), reply->str);
        err[sizeof(err) - 1] = '\0';
        ngx_http_jpulse_redis_conn_fail(rc, (char *) err);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        ngx_snprintf(err, sizeof(err) - 1, "does not know master \"%V\"%Z",
                     &ngx_http_jpulse_sentinel_rcf->master);
        err[sizeof(err) - 1] = '\0';
        ngx_http_jpulse_redis_conn_fail(rc, (char *) err);
        return;
    }

    host = reply->element[0];
    p = reply->element[1];

    port = ngx_http_jpulse_sentinel_parse_port((u_char *) p->str, p->len);

    if (port == 0 || host->len == 0 || host->len > NGX_SOCKADDR_STRLEN) {
        ngx_http_jpulse_redis_conn_fail(rc, "invalid answer");
        return;
    }

    if (!ngx_http_jpulse_redis_sentinel_numeric((u_char *) host->str, host->len)) {
        /* hiredis would resolve a name with blocking DNS */
        ngx_http_jpulse_redis_conn_fail(rc, "names a host name, not an IP "
                                            "address (resolve-hostnames)");
        return;
    }

    ngx_memcpy(ngx_http_jpulse_sentinel_answer, host->str, host->len);
    ngx_http_jpulse_sentinel_answer[host->len] = '\0';
    ngx_http_jpulse_sentinel_answer_port = port;
    ngx_http_jpulse_sentinel_found = 1;

    /* this sentinel answers first from now on */

    i = ngx_http_jpulse_sentinel_asking;
    first = ngx_http_jpulse_sentinel_order[i];

    ngx_http_jpulse_sentinel_failing[first] = 0;

    for ( /* void */ ; i > 0; i--) {
        ngx_http_jpulse_sentinel_order[i] =
                                        ngx_http_jpulse_sentinel_order[i - 1];
    }

    ngx_http_jpulse_sentinel_order[0] = first;

    rc->failing = 0;

    ngx_http_jpulse_redis_conn_drop(rc);

    ngx_post_event(&ngx_http_jpulse_sentinel_next_ev, &ngx_posted_events);
}


static void
ngx_http_jpulse_sentinel_ask_settled(ngx_http_jpulse_redis_conn_t *rc,
    ngx_uint_t ready)
{
    /* the asked sentinel failed (conn_fail): the next one */

    if (!ngx_http_jpulse_sentinel_round
        || ngx_http_jpulse_sentinel_asking >= ngx_http_jpulse_sentinel_n)
    {
        return;
    }

    ngx_http_jpulse_sentinel_failing[ngx_http_jpulse_sentinel_order[
                                 ngx_http_jpulse_sentinel_asking]] = 1;

    if (rc->timed_out) {
        rc->timed_out = 0;
        ngx_http_jpulse_sentinel_timed_out = 1;
    }

    ngx_http_jpulse_sentinel_asking++;

    if (!ngx_http_jpulse_sentinel_next_ev.posted) {
        ngx_post_event(&ngx_http_jpulse_sentinel_next_ev, &ngx_posted_events);
    }
}


static void
ngx_http_jpulse_sentinel_next(ngx_event_t *ev)
{
    if (!ngx_http_jpulse_sentinel_round) {
        return;
    }

    if (ngx_http_jpulse_sentinel_found) {
        ngx_http_jpulse_sentinel_end_round(1);
        return;
    }

    ngx_http_jpulse_sentinel_ask();
}


static void
ngx_http_jpulse_sentinel_end_round(ngx_uint_t found)
{
    u_char                        *answer;
    ngx_uint_t                     i;
    ngx_http_jpulse_redis_conn_t  *rc;

    ngx_http_jpulse_sentinel_awaited = 0;
    ngx_http_jpulse_sentinel_round = 0;
    ngx_http_jpulse_sentinel_found = 0;

    if (ngx_http_jpulse_sentinel_overtaken && ngx_http_jpulse_sentinel_known)
    {
        /*
         * A sentinel announced the switch while another was asked: the
         * announcement is newer than an answer that may predate it.
         */

        found = 1;

    } else if (found) {
        ngx_http_jpulse_sentinel_silent = 0;

        answer = ngx_http_jpulse_sentinel_answer;

        ngx_http_jpulse_sentinel_set_primary(answer, ngx_strlen(answer),
                                       ngx_http_jpulse_sentinel_answer_port);

        if (!ngx_http_jpulse_sentinel_watch_started) {
            ngx_http_jpulse_sentinel_watch_started = 1;
            ngx_http_jpulse_sentinel_watch_on(0);
            ngx_http_jpulse_redis_conn_connect(
                                          &ngx_http_jpulse_sentinel_watcher);
        }

    } else if (!ngx_http_jpulse_sentinel_silent
               && !ngx_http_jpulse_sentinel_known
               && !ngx_http_jpulse_redis_shutting_down())
    {
        ngx_log_error(NGX_LOG_ERR, ngx_http_jpulse_sentinel_asker.log, 0,
                      "jpulse_redis \"%V\": no sentinel of %ui names the "
                      "primary of \"%V\", retrying",
                      &ngx_http_jpulse_sentinel_rcf->name,
                      ngx_http_jpulse_sentinel_n,
                      &ngx_http_jpulse_sentinel_rcf->master);
        ngx_http_jpulse_sentinel_silent = 1;
    }

    for (i = 0; i < 2; i++) {
        rc = ngx_http_jpulse_sentinel_conns[i];

        if (!rc->discovering) {
            continue;
        }

        if (found) {
            ngx_cpystrn(rc->addr, ngx_http_jpulse_sentinel_primary_addr,
                        sizeof(rc->addr));
            rc->port = ngx_http_jpulse_sentinel_primary_port;
        }

        if (!found && ngx_http_jpulse_sentinel_timed_out) {
            rc->timed_out = 1;
        }

        ngx_http_jpulse_redis_conn_discovered(rc, found);
    }
}


/*
 * The primary is addr:port now. Another than the last one is a failover
 * followed: logged and counted once per worker (the counter only by
 * worker 0, so that the sum over the workers counts failovers), and the
 * connections still on the old one are recycled.
 */

static void
ngx_http_jpulse_sentinel_set_primary(u_char *addr, size_t len,
    in_port_t port)
{
    u_char      *cur;
    ngx_uint_t   v6, was6;

    cur = ngx_http_jpulse_sentinel_primary_addr;

    if (len > NGX_SOCKADDR_STRLEN) {
        return;
    }

    ngx_http_jpulse_sentinel_known = 1;

    if (ngx_http_jpulse_sentinel_primary_port == port
        && ngx_strlen(cur) == len && ngx_strncmp(cur, addr, len) == 0)
    {
        return;
    }

    /* another primary: its refusals and its failures are logged */

    ngx_http_jpulse_sentinel_refused_addr[0] = '\0';
    ngx_http_jpulse_sentinel_refused_port = 0;

    if (ngx_http_jpulse_sentinel_refused_ev.timer_set) {
        ngx_del_timer(&ngx_http_jpulse_sentinel_refused_ev);
    }

    if (ngx_http_jpulse_sentinel_primary_port) {
        v6 = (ngx_strlchr(addr, addr + len, ':') != NULL);
        was6 = (ngx_strchr(cur, ':') != NULL);

        ngx_log_error(NGX_LOG_NOTICE, ngx_http_jpulse_sentinel_asker.log, 0,
                      "redis: primary of %V is now %s%*s%s:%d (was %s%s%s:%d)",
                      &ngx_http_jpulse_sentinel_rcf->master,
                      v6 ? "[" : "", len, addr, v6 ? "]" : "", (int) port,
                      was6 ? "[" : "", cur, was6 ? "]" : "",
                      (int) ngx_http_jpulse_sentinel_primary_port);

        if (ngx_worker == 0) {
            ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_REDIS_FAILOVERS, 1);
        }

    } else {
        ngx_log_error(NGX_LOG_INFO, ngx_http_jpulse_sentinel_asker.log, 0,
                      "jpulse_redis \"%V\": primary of %V is %*s:%d",
                      &ngx_http_jpulse_sentinel_rcf->name,
                      &ngx_http_jpulse_sentinel_rcf->master, len, addr,
                      (int) port);
    }

    ngx_memcpy(cur, addr, len);
    cur[len] = '\0';
    ngx_http_jpulse_sentinel_primary_port = port;

    if (!ngx_http_jpulse_sentinel_recycle_ev.posted) {
        ngx_post_event(&ngx_http_jpulse_sentinel_recycle_ev,
                       &ngx_posted_events);
    }
}


/*
 * The connections not on the primary known go (an attempt under way
 * too); the ones waiting for their retry go now rather than after their
 * backoff. Their resubscription resyncs everything.
 */

static void
ngx_http_jpulse_sentinel_recycle(ngx_event_t *ev)
{
    ngx_uint_t                     i;
    ngx_http_jpulse_redis_conn_t  *rc;

    if (ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    for (i = 0; i < 2; i++) {
        rc = ngx_http_jpulse_sentinel_conns[i];

        if (rc->discovering) {
            continue;
        }

        if (rc->state != NGX_HTTP_JPULSE_REDIS_IDLE) {
            if (ngx_http_jpulse_sentinel_known
                && ngx_http_jpulse_sentinel_on(rc))
            {
                continue;
            }

            /*
             * The switch is logged: not "lost" now; the new primary's
             * failures are logged again (failing cleared after).
             */
            rc->failing = 1;

            ngx_http_jpulse_redis_conn_fail(rc, "the primary moved");

            rc->failing = 0;
        }

        /* conn_fail scheduled a retry: not worth waiting for */

        if (rc->retry.timer_set) {
            ngx_del_timer(&rc->retry);
            ngx_http_jpulse_redis_conn_connect(rc);
        }
    }
}


/* the watch: SUBSCRIBE +switch-master on one sentinel */

static void
ngx_http_jpulse_sentinel_watch_on(ngx_uint_t i)
{
    ngx_http_jpulse_redis_conn_t           *w;
    ngx_http_jpulse_redis_sentinel_addr_t  *sa;

    ngx_http_jpulse_sentinel_watching = i % ngx_http_jpulse_sentinel_n;

    sa = ngx_http_jpulse_sentinel_rcf->sentinels->elts;
    sa = &sa[ngx_http_jpulse_sentinel_order[
                                        ngx_http_jpulse_sentinel_watching]];

    w = &ngx_http_jpulse_sentinel_watcher;

    ngx_cpystrn(w->addr, sa->host, sizeof(w->addr));
    w->port = sa->port;
}


static ngx_int_t
ngx_http_jpulse_sentinel_start_watch(ngx_http_jpulse_redis_conn_t *rc)
{
    const char  *argv[2];
    size_t       argvlen[2];

    /* the reader refuses messages for anything else */
    ngx_str_set(&rc->sub_channel, "+switch-master");
    ngx_str_null(&rc->sub_pattern);

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = "+switch-master";
    argvlen[1] = sizeof("+switch-master") - 1;

    if (redisAsyncCommandArgv(rc->ac, ngx_http_jpulse_sentinel_watch_reply,
                              rc, 2, argv, argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_jpulse_sentinel_watch_reply(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                    *reply = r;
    ngx_http_jpulse_redis_conn_t  *rc = privdata;

    redisReply  *kind, *msg;

    if (reply == NULL || rc->ac != ac || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 3
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    kind = reply->element[0];

    if (kind->len == 9 && ngx_strncmp(kind->str, "subscribe", 9) == 0
        && rc->state == NGX_HTTP_JPULSE_REDIS_HANDSHAKE)
    {
        ngx_http_jpulse_redis_conn_ready(rc);
        return;
    }

    msg = reply->element[2];

    if (rc->state != NGX_HTTP_JPULSE_REDIS_READY) {
        return;
    }

    /* any delivery (the keepalive's confirmation too) proves it alive */

    if (rc->deadline.timer_set) {
        ngx_del_timer(&rc->deadline);
    }

    if (kind->len != 7 || ngx_strncmp(kind->str, "message", 7) != 0
        || msg->type != REDIS_REPLY_STRING)
    {
        return;
    }

    ngx_http_jpulse_sentinel_switch((u_char *) msg->str, msg->len);
}


/*
 * The watch's keepalive, every ping_interval: SUBSCRIBE +switch-master
 * again, which a live sentinel confirms at once; no confirmation (nor
 * message) within command_timeout and the sentinel is taken for gone,
 * the next one is watched. Not PING: hiredis 0.14 keeps the callback of
 * any other command sent while subscribed until the connection closes.
 */

static void
ngx_http_jpulse_sentinel_keepalive(ngx_event_t *ev)
{
    ngx_http_jpulse_redis_conn_t  *rc = ev->data;

    if (ngx_http_jpulse_redis_shutting_down()
        || rc->state != NGX_HTTP_JPULSE_REDIS_READY || rc->ac == NULL)
    {
        return;
    }

    if (ngx_http_jpulse_sentinel_start_watch(rc) != NGX_OK) {
        ngx_http_jpulse_redis_conn_fail(rc, "cannot send SUBSCRIBE");
        return;
    }

    if (!rc->deadline.timer_set) {
        rc->deadline.cancelable = 1;
        ngx_add_timer(&rc->deadline, rc->conf->command_timeout);
    }

    ngx_add_timer(ev, rc->conf->ping_interval);
}


/* "<master name> <old ip> <old port> <new ip> <new port>" */

static void
ngx_http_jpulse_sentinel_switch(u_char *p, size_t len)
{
    u_char      *start, *last, *f[5];
    size_t       flen[5];
    in_port_t    port;
    ngx_str_t   *master;
    ngx_uint_t   n;

    start = p;
    last = p + len;

    for (n = 0; n < 5; n++) {
        while (p < last && *p == ' ') {
            p++;
        }

        if (p == last) {
            ngx_http_jpulse_sentinel_ignored(start, len, "fields missing");
            return;
        }

        f[n] = p;

        while (p < last && *p != ' ') {
            p++;
        }

        flen[n] = p - f[n];
    }

    master = &ngx_http_jpulse_sentinel_rcf->master;

    if (flen[0] != master->len
        || ngx_strncmp(f[0], master->data, master->len) != 0)
    {
        /* another master's: nothing for us */
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP,
                       ngx_http_jpulse_sentinel_watcher.log, 0,
                       "jpulse redis sentinel: +switch-master of another "
                       "master ignored");
        return;
    }

    while (p < last && *p == ' ') {
        p++;
    }

    if (p != last) {
        ngx_http_jpulse_sentinel_ignored(start, len, "extra fields");
        return;
    }

    port = ngx_http_jpulse_sentinel_parse_port(f[4], flen[4]);

    if (port == 0) {
        ngx_http_jpulse_sentinel_ignored(start, len, "invalid port");
        return;
    }

    if (flen[3] == 0 || flen[3] > NGX_SOCKADDR_STRLEN
        || !ngx_http_jpulse_redis_sentinel_numeric(f[3], flen[3]))
    {
        ngx_http_jpulse_sentinel_ignored(start, len, "not an IP address");
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_http_jpulse_sentinel_watcher.log,
                   0, "jpulse redis sentinel: +switch-master to %*s",
                   flen[3], f[3]);

    if (ngx_http_jpulse_sentinel_round) {
        ngx_http_jpulse_sentinel_overtaken = 1;
    }

    ngx_http_jpulse_sentinel_set_primary(f[3], flen[3], port);
}


/* a +switch-master of our master that makes no sense: logged, escaped */

static void
ngx_http_jpulse_sentinel_ignored(u_char *p, size_t len, const char *why)
{
    u_char  text[128 * 4], *last;

    last = ngx_http_jpulse_redis_escape(text, p, ngx_min(len, 128));

    ngx_log_error(NGX_LOG_INFO, ngx_http_jpulse_sentinel_watcher.log, 0,
                  "jpulse_redis \"%V\": +switch-master \"%*s\" ignored: %s",
                  &ngx_http_jpulse_sentinel_rcf->name, last - text, text,
                  why);
}


static void
ngx_http_jpulse_sentinel_watch_settled(ngx_http_jpulse_redis_conn_t *rc,
    ngx_uint_t ready)
{
    /* failed: its retry (scheduled, with backoff) goes to the next one */

    if (!ready) {
        ngx_http_jpulse_sentinel_watch_on(
                                     ngx_http_jpulse_sentinel_watching + 1);
        return;
    }

    /*
     * Subscribed (again): a +switch-master sent while it was not may have
     * been missed, and nothing else would tell of it before the old
     * primary is converted; the sentinels are asked once more.
     */

    ngx_http_jpulse_sentinel_check();
}


static in_port_t
ngx_http_jpulse_sentinel_parse_port(u_char *p, size_t len)
{
    ngx_int_t  n;

    n = ngx_atoi(p, len);

    if (n < 1 || n > 65535) {
        return 0;
    }

    return (in_port_t) n;
}


/*
 * An IPv4 or IPv6 address, nothing a resolver would have to look up: the
 * workers' test of a sentinel's answer, and the master's before its
 * goodbye (getaddrinfo() would block either)
 */

ngx_uint_t
ngx_http_jpulse_redis_sentinel_numeric(u_char *p, size_t len)
{
#if (NGX_HAVE_INET6)
    u_char  addr6[16];
#endif

    if (ngx_inet_addr(p, len) != INADDR_NONE) {
        return 1;
    }

#if (NGX_HAVE_INET6)
    if (ngx_inet6_addr(p, len, addr6) == NGX_OK) {
        return 1;
    }
#endif

    return 0;
}
