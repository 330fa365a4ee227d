/*
 * cachectl daemon.
 *
 * One thread, one poll() loop over an inotify descriptor and a signalfd.
 * Events only mark the tree dirty and note their directories; once they
 * have been quiet for settle-ms (or settle-max-ms after the first,
 * whichever comes first) one batch publishes what changed there, so a
 * 500-file deploy is one transaction and one event. A full rescan every
 * --rescan seconds catches what inotify cannot see (NFS, a queue
 * overflow; every 5 s while some directory has no watch).
 *
 * With --deploy-marker the changes wait for the marker file to change (a
 * deploy touches it once the release is in place): a half-copied tree is
 * never published. Start, a reconnect and SIGHUP publish at once.
 *
 * One daemon per namespace publishes: the holder of the lease
 * (cachectl_lease.h), renewed with every heartbeat and before every
 * batch. Another one stands by, says who holds it, and takes over (with
 * a full sync) once the lease runs out.
 *
 * Redis away: the batch stays dirty, reconnects back off from 100 ms to
 * 5 s, and the first batch after a reconnect reads Redis's state again
 * and writes whatever differs (a restarted Redis gets everything). Redis
 * refusing a batch (an error reply: WRONGTYPE, OOM) is no lost
 * connection: the batch is retried with the same backoff and status says
 * why. The backoffs start over only after a batch went through: a
 * connect that works is no proof that publishing does.
 *
 * Every timer runs on CLOCK_MONOTONIC (cachectl_mono_ms()): a step of
 * the wall clock moves timestamps, never a deadline.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "jp_identity.h"
#include "jp_registry.h"
#include "jp_sysinfo.h"
#include "jp_time.h"
#include "jp_version.h"
#include "cachectl_cluster.h"
#include "cachectl_daemon.h"
#include "cachectl_lease.h"
#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_sessions.h"
#include "cachectl_sync.h"
#include "cachectl_watch.h"


#define CACHECTL_RETRY_MIN_MS    100
#define CACHECTL_RETRY_MAX_MS    5000
#define CACHECTL_SENTINEL_RETRY_MS  1000
#define CACHECTL_STABLE_MS       60000  /* connected this long: no wedge */
#define CACHECTL_DEGRADED_S      5      /* rescans while unwatched */
#define CACHECTL_LEASE_MIN_MS    10000
#define CACHECTL_NEVER           INT64_MAX

#define CACHECTL_ROLE_NONE       0      /* not asked yet */
#define CACHECTL_ROLE_HOLDER     1
#define CACHECTL_ROLE_STANDBY    2      /* another daemon holds it */
#define CACHECTL_ROLE_ERROR      3      /* Redis refused the lease */


typedef struct {
    cachectl_conf_t      *conf;
    cachectl_sync_t       sync;
    cachectl_sessions_t   sessions;
    cachectl_watch_t      watch;
    redisContext         *redis;

    json_t               *dirs;         /* directories with events */
    int                   full;         /* the next batch walks all */
    int                   dirty;
    unsigned              dirty_events;
    int64_t               dirty_since;
    int64_t               settle_at;
    int64_t               retry_at;     /* the next connect */
    char                  primary_error[512];  /* said once */
    char                  replid[64];   /* the dataset connected to */
    int64_t               retry_ms;
    int64_t               batch_at;     /* the next batch after a refusal */
    int64_t               batch_ms;
    int64_t               connected_at;
    int64_t               heartbeat_at;
    int64_t               sessions_at;
    int64_t               rescan_at;
    int64_t               started_ms;   /* wall clock, for status */
    int64_t               started_mono;

    int                   marker_open;  /* the next batch may publish */
    int                   marker_said;  /* "waiting" logged */
    char                  marker_stamp[128];

    int                   role;
    char                  holder[JP_INSTANCE_ID_MAX + 64];
    char                  holder_about[256];
    char                  lease_error[512];

    int                   down_said;    /* "retrying" logged */
    char                  down_error[1024];  /* ... with this error */
    char                  instance_id[JP_INSTANCE_ID_MAX];
    char                  hostname[256];
    char                  boot_id[64];  /* this host and this boot */
    char                  pid_ns[64];   /* whose pids we can check */
    char                  error[512];
    char                  batch_error[512];  /* the refusal logged last */
    char                  beat_error[256];   /* the refusal logged last */
    uint64_t              events;
} cachectl_daemon_t;


static void cachectl_daemon_events(cachectl_daemon_t *d);
static int64_t cachectl_daemon_batch_at(cachectl_daemon_t *d);
static void cachectl_daemon_batch(cachectl_daemon_t *d);
static void cachectl_daemon_dirty(cachectl_daemon_t *d, int64_t now);
static int64_t cachectl_daemon_rescan_ms(cachectl_daemon_t *d);
static int cachectl_daemon_rescan_due(cachectl_daemon_t *d, int64_t now);
static void cachectl_daemon_rescan(cachectl_daemon_t *d, int64_t now);
static void cachectl_daemon_marker(cachectl_daemon_t *d, int64_t now);
static void cachectl_daemon_connect(cachectl_daemon_t *d);
static void cachectl_daemon_lost(cachectl_daemon_t *d);
static int cachectl_daemon_primary(cachectl_daemon_t *d, int beat);
static int cachectl_daemon_lease(cachectl_daemon_t *d);
static int cachectl_daemon_holder_about(cachectl_daemon_t *d);
static void cachectl_daemon_heartbeat(cachectl_daemon_t *d, int remove);
static json_t *cachectl_daemon_status(cachectl_daemon_t *d, json_t *stats);
static void cachectl_daemon_beat_reply(cachectl_daemon_t *d,
    redisReply *r);
static void cachectl_daemon_where(cachectl_daemon_t *d);


/* KEYS[1] heartbeat, KEYS[2] registry; ARGV: blob, ttl ms, instance id */
static const char  cachectl_heartbeat_script[] =
    JP_REGISTRY_LUA_PROLOGUE
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    JP_REGISTRY_LUA_ADD("KEYS[2]", "ARGV[3]", "ARGV[2]")
    "return 1";


/*
 * With sentinels a failover is expected: the sentinels name the new
 * primary within seconds, and asking them is cheap. Retries back off to
 * 1 s there, not 5 s.
 */
static int64_t  cachectl_retry_max_ms = CACHECTL_RETRY_MAX_MS;


static int64_t
cachectl_backoff(int64_t *ms)
{
    int64_t  cur;

    cur = *ms;
    *ms = cur * 2 > cachectl_retry_max_ms ? cachectl_retry_max_ms : cur * 2;

    return cur;
}


int
cachectl_daemon(cachectl_conf_t *conf)
{
    int                 sfd, timeout, stop, rc;
    int64_t             now, next, at;
    sigset_t            mask;
    struct pollfd       pfd[2];
    cachectl_daemon_t   d;
    struct signalfd_siginfo  si;

    if (conf->nviews == 0 && conf->app_config == NULL
        && conf->i18n == NULL)
    {
        fprintf(stderr, "cachectl daemon: nothing to publish: give --views, "
                "--app-config or --i18n\n");
        return CACHECTL_EXIT_USAGE;
    }

    memset(&d, 0, sizeof(cachectl_daemon_t));
    d.conf = conf;
    cachectl_retry_max_ms = conf->redis_sentinel || conf->redis_cluster
                            ? CACHECTL_SENTINEL_RETRY_MS
                                                 : CACHECTL_RETRY_MAX_MS;
    d.started_ms = cachectl_now_ms();
    d.started_mono = cachectl_mono_ms();
    d.retry_ms = CACHECTL_RETRY_MIN_MS;
    d.batch_ms = CACHECTL_RETRY_MIN_MS;

    if (gethostname(d.hostname, sizeof(d.hostname) - 1) != 0) {
        snprintf(d.hostname, sizeof(d.hostname), "localhost");
    }

    cachectl_daemon_where(&d);

    jp_instance_id(d.instance_id, sizeof(d.instance_id),
                   jp_server_id(d.hostname, strlen(d.hostname)),
                   JP_PM2ID_CACHECTL, (long) getpid());

    d.dirs = json_object();

    if (d.dirs == NULL || cachectl_sync_init(&d.sync, conf) != 0) {
        fprintf(stderr, "cachectl daemon: out of memory\n");
        return CACHECTL_EXIT_FAIL;
    }

    snprintf(d.sync.instance_id, sizeof(d.sync.instance_id), "%s",
             d.instance_id);

    /* a batch writes only while the lease is ours (cachectl_tx_fence) */
    snprintf(d.sync.lease_id, sizeof(d.sync.lease_id), "%s", d.instance_id);

    cachectl_sessions_init(&d.sessions, d.instance_id);

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);

    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0
        || (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
    {
        fprintf(stderr, "cachectl daemon: signals: %s\n", strerror(errno));
        return CACHECTL_EXIT_FAIL;
    }

    signal(SIGPIPE, SIG_IGN);

    if (cachectl_watch_init(&d.watch) != 0) {
        fprintf(stderr, "cachectl daemon: inotify: %s\n", strerror(errno));
        return CACHECTL_EXIT_FAIL;
    }

    cachectl_log(CACHECTL_INFO, "%s %s starting as %s, namespace \"%s\", "
                 "Redis %s", JP_NAME, JP_VERSION, d.instance_id, conf->ns,
                 conf->redis);

    cachectl_watch_all(&d.watch, conf);

    now = cachectl_mono_ms();
    cachectl_daemon_marker(&d, now);

    /* the start publishes whatever the marker says */
    d.full = 1;
    d.marker_open = 1;
    cachectl_daemon_dirty(&d, now);
    d.rescan_at = conf->rescan_s ? now + conf->rescan_s * 1000
                                 : CACHECTL_NEVER;

    stop = 0;
    rc = CACHECTL_EXIT_OK;

    while (!stop) {
        now = cachectl_mono_ms();

        if (d.redis == NULL && now >= d.retry_at) {
            cachectl_daemon_connect(&d);
            now = cachectl_mono_ms();
        }

        if (d.redis != NULL && now >= cachectl_daemon_batch_at(&d)) {
            cachectl_daemon_batch(&d);
        }

        if (d.redis != NULL && now >= d.heartbeat_at) {
            cachectl_daemon_heartbeat(&d, 0);
            d.heartbeat_at = now + conf->heartbeat_s * 1000;
        }

        if (d.redis != NULL && now >= d.sessions_at) {
            /* a step of a few ms; it says when the next one is due */
            if (cachectl_sessions_step(&d.sessions, conf, d.redis,
                                       d.error, sizeof(d.error)) != 0)
            {
                cachectl_log(CACHECTL_ERR, "sessions: %s", d.error);
                cachectl_daemon_lost(&d);
            }

            /* next_at is monotonic: carried over to the loop's clock */
            d.sessions_at = now + (d.sessions.next_at - cachectl_mono_ms());
        }

        if (cachectl_daemon_rescan_due(&d, now)) {
            cachectl_daemon_rescan(&d, now);
        }

        /* sleep until the next thing to do */
        now = cachectl_mono_ms();
        next = now + 1000;

        if (d.redis == NULL) {
            next = d.retry_at < next ? d.retry_at : next;

        } else {
            at = cachectl_daemon_batch_at(&d);
            next = at < next ? at : next;

            next = d.heartbeat_at < next ? d.heartbeat_at : next;
            next = d.sessions_at < next ? d.sessions_at : next;
        }

        next = d.rescan_at < next ? d.rescan_at : next;

        timeout = next > now ? (int) (next - now) : 0;

        pfd[0].fd = d.watch.fd;
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        pfd[1].fd = sfd;
        pfd[1].events = POLLIN;
        pfd[1].revents = 0;

        if (poll(pfd, 2, timeout) == -1 && errno != EINTR) {
            /* exit non-zero: systemd's Restart=on-failure starts us again */
            cachectl_log(CACHECTL_ERR, "poll: %s; exiting", strerror(errno));
            rc = CACHECTL_EXIT_FAIL;
            break;
        }

        if (pfd[0].revents & POLLIN) {
            cachectl_daemon_events(&d);
        }

        while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
            if (si.ssi_signo == SIGHUP) {
                if (cachectl_conf_reload(conf) != CACHECTL_EXIT_OK) {
                    cachectl_log(CACHECTL_ERR, "SIGHUP: %s; keeping the "
                                 "running configuration", conf->error);
                    continue;
                }

                cachectl_log(CACHECTL_INFO, "SIGHUP: configuration "
                             "reloaded");
                cachectl_retry_max_ms = conf->redis_sentinel
                                        || conf->redis_cluster
                                        ? CACHECTL_SENTINEL_RETRY_MS
                                        : CACHECTL_RETRY_MAX_MS;
                cachectl_sync_reset(&d.sync);
                cachectl_watch_all(&d.watch, conf);

                now = cachectl_mono_ms();
                cachectl_daemon_marker(&d, now);
                d.full = 1;
                d.marker_open = 1;
                cachectl_daemon_dirty(&d, now);

                if (d.redis) {
                    redisFree(d.redis);
                    d.redis = NULL;
                    d.retry_at = 0;
                }

                continue;
            }

            cachectl_log(CACHECTL_INFO, "%s: stopping",
                         si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            stop = 1;
        }
    }

    if (d.redis != NULL) {
        cachectl_daemon_heartbeat(&d, 1);
        redisFree(d.redis);
    }

    /* the connections to the other primaries of a cluster */
    cachectl_cluster_off();

    cachectl_sync_free(&d.sync);
    cachectl_watch_free(&d.watch);
    json_decref(d.dirs);
    close(sfd);

    cachectl_log(CACHECTL_INFO, "stopped");

    return rc;
}


/* the tree has something to publish: the settle time starts over */

static void
cachectl_daemon_dirty(cachectl_daemon_t *d, int64_t now)
{
    if (!d->dirty) {
        d->dirty = 1;
        d->dirty_since = now;
    }

    d->settle_at = now + d->conf->settle_ms;
}


/* when the next batch may run: CACHECTL_NEVER for none */

static int64_t
cachectl_daemon_batch_at(cachectl_daemon_t *d)
{
    int64_t  at, cap;

    if (!d->dirty || (d->conf->deploy_marker && !d->marker_open)
        || d->role == CACHECTL_ROLE_STANDBY || d->role == CACHECTL_ROLE_ERROR)
    {
        return CACHECTL_NEVER;
    }

    at = d->settle_at;
    cap = d->dirty_since + d->conf->settle_max_ms;
    at = at < cap ? at : cap;

    return at > d->batch_at ? at : d->batch_at;
}


static void
cachectl_daemon_connect(cachectl_daemon_t *d)
{
    int64_t      now;
    unsigned     primaries;
    const char  *primary, *via, *was;

    d->redis = cachectl_redis_connect(d->conf, d->error, sizeof(d->error));
    now = cachectl_mono_ms();

    if (d->redis == NULL) {
        /*
         * Through the sentinels the reason changes as a failover goes on
         * (the old primary refused, then a replica refused by its role):
         * each new one is said once.
         */
        if (!d->down_said
            || (d->conf->redis_sentinel != NULL
                && strcmp(d->down_error, d->error) != 0))
        {
            cachectl_log(CACHECTL_ERR, "%s; retrying", d->error);
            d->down_said = 1;
            snprintf(d->down_error, sizeof(d->down_error), "%s", d->error);
        }

        d->retry_at = now + cachectl_backoff(&d->retry_ms);
        return;
    }

    d->down_error[0] = '\0';

    if (d->conf->redis_sentinel != NULL) {
        primary = cachectl_redis_primary(&via, NULL);

        if (cachectl_redis_switched(&was) != NULL) {
            cachectl_log(CACHECTL_WARN, "redis: primary of %s is now %s "
                         "(was %s)", d->conf->redis_master, primary, was);
        }

        cachectl_log(CACHECTL_INFO, "connected to Redis %s (primary of %s, "
                     "found via sentinel %s): full sync", primary,
                     d->conf->redis_master, via);

    } else if (d->conf->redis_cluster != NULL) {
        primary = cachectl_cluster_home(&primaries);

        cachectl_log(CACHECTL_INFO, "connected to Redis Cluster (the l2 "
                     "group on %s, %u primaries; seeds %s): full sync",
                     primary ? primary : "?", primaries,
                     d->conf->redis_cluster);

    } else {
        cachectl_log(CACHECTL_INFO, "connected to Redis %s: full sync",
                     d->conf->redis);
    }

    d->down_said = 0;
    d->connected_at = now;

    /* the dataset this connection writes to (see cachectl_daemon_primary) */
    d->replid[0] = '\0';

    if (d->conf->redis_sentinel != NULL) {
        (void) cachectl_redis_replid(d->redis, d->replid, sizeof(d->replid));
    }

    /* whatever happened while we were away: compare everything */
    cachectl_sync_reset(&d->sync);

    /*
     * SCAN cursors belong to the server that gave them: a pass under way
     * starts over on this one
     */
    snprintf(d->sessions.cursor, sizeof(d->sessions.cursor), "0");
    snprintf(d->sessions.hcursor, sizeof(d->sessions.hcursor), "0");
    d->sessions.pass_live = 0;
    d->sessions.pass_indexed = 0;
    d->full = 1;
    d->marker_open = 1;
    d->batch_at = 0;
    cachectl_daemon_dirty(d, now);

    /* the lease and the status first: they say why a batch fails */
    cachectl_daemon_heartbeat(d, 0);
    d->heartbeat_at = now + d->conf->heartbeat_s * 1000;
}


/*
 * With --redis-sentinel, at every heartbeat and before every batch: is
 * the server still the primary? A failover that keeps our connection
 * open shows in no reply while there is nothing to write, and SENTINEL
 * FAILOVER turns the old primary into a replica only seconds after the
 * new one took over: ROLE, then the sentinels' answer. 0: go on; -1: the
 * connection is dropped, discovery runs again at once. What was
 * published on the old primary meanwhile is not lost: the reconnect
 * compares everything with the new one.
 */

static int
cachectl_daemon_primary(cachectl_daemon_t *d, int beat)
{
    int   rc;
    char  id[64];

    if (d->conf->redis_sentinel == NULL) {
        return 0;
    }

    /*
     * Before a batch ROLE is enough (a demoted server also answers a
     * write with READONLY); the sentinels are asked at the heartbeat
     * only: a mute one costs its timeout there, not on every save.
     */
    rc = cachectl_redis_role(d->redis, d->error, sizeof(d->error));

    /*
     * A dataset replaced under a connection that stays open (the server
     * was a replica for a while: REPLICAOF closes no normal client) has
     * lost what we wrote: a new replication id, everything compared again
     */
    if (rc == 0) {
        if (cachectl_redis_replid(d->redis, id, sizeof(id)) != 0) {
            snprintf(d->error, sizeof(d->error), "Redis: %s",
                     cachectl_redis_errstr(d->redis));
            rc = -1;

        } else if (d->replid[0] != '\0' && id[0] != '\0'
                   && strcmp(d->replid, id) != 0)
        {
            snprintf(d->error, sizeof(d->error), "the dataset of %s was "
                     "replaced (replication id %s, was %s)",
                     cachectl_redis_primary(NULL, NULL), id, d->replid);
            rc = -1;
        }
    }

    if (rc == 0 && beat) {
        rc = cachectl_redis_confirm(d->conf, beat, d->error,
                                    sizeof(d->error));
    }

    if (rc == 0) {
        d->primary_error[0] = '\0';
        return 0;
    }

    /* each distinct reason once: sentinels that disagree repeat it */
    if (strcmp(d->primary_error, d->error) != 0) {
        cachectl_log(CACHECTL_WARN, rc > 0 ? "redis: %s"
                     : "redis: %s; asking the sentinels of %s again",
                     d->error, d->conf->redis_master);
        snprintf(d->primary_error, sizeof(d->primary_error), "%s",
                 d->error);
    }

    if (rc > 0) {
        return 0;
    }

    /* with the backoff lost() sets: never a hot reconnect loop */
    cachectl_daemon_lost(d);

    return -1;
}


static void
cachectl_daemon_lost(cachectl_daemon_t *d)
{
    int64_t  now;

    now = cachectl_mono_ms();

    if (d->redis != NULL) {
        redisFree(d->redis);
        d->redis = NULL;
    }

    /* a connection that held for a while was no wedge: start over */
    if (d->connected_at && now - d->connected_at >= CACHECTL_STABLE_MS) {
        d->retry_ms = CACHECTL_RETRY_MIN_MS;
    }

    d->connected_at = 0;
    d->retry_at = now + cachectl_backoff(&d->retry_ms);
    d->dirty = 1;
}


static void
cachectl_daemon_batch(cachectl_daemon_t *d)
{
    int               rc;
    int64_t           start;
    cachectl_batch_t  b;

    start = cachectl_mono_ms();

    /* a standby, a refused lease or a lost connection publishes nothing */
    if (cachectl_daemon_primary(d, 0) != 0 || cachectl_daemon_lease(d) != 1)
    {
        return;
    }

    b.changes = NULL;

    rc = cachectl_sync_run(&d->sync, d->redis, d->full ? NULL : d->dirs, &b,
                           d->error, sizeof(d->error));

    if (rc != CACHECTL_SYNC_OK) {
        if (strcmp(d->error, d->batch_error) != 0) {
            cachectl_log(CACHECTL_ERR, "publish: %s; %s, with a backoff "
                         "up to %lld s", d->error,
                         rc == CACHECTL_SYNC_LOST ? "reconnecting"
                                                  : "retrying",
                         (long long) cachectl_retry_max_ms / 1000);
            snprintf(d->batch_error, sizeof(d->batch_error), "%s",
                     d->error);

            /* status says why at once */
            d->heartbeat_at = 0;
        }

        if (rc == CACHECTL_SYNC_LOST) {
            cachectl_daemon_lost(d);

        } else {
            d->batch_at = cachectl_mono_ms() + cachectl_backoff(&d->batch_ms);
        }

        return;
    }

    if (d->batch_error[0] != '\0') {
        cachectl_log(CACHECTL_INFO, "publish: accepted again");
        d->batch_error[0] = '\0';
        d->heartbeat_at = 0;
    }

    d->retry_ms = CACHECTL_RETRY_MIN_MS;
    d->batch_ms = CACHECTL_RETRY_MIN_MS;
    d->batch_at = 0;
    d->dirty = 0;
    d->full = 0;
    d->dirty_events = 0;
    d->marker_open = 0;
    d->marker_said = 0;
    json_object_clear(d->dirs);

    if (b.refused) {
        d->heartbeat_at = 0;
    }

    if (b.views || b.config || b.i18n) {
        cachectl_log(CACHECTL_INFO, "published %u view, %u config, %u i18n "
                     "change(s)%s in %lld ms", b.views, b.config, b.i18n,
                     b.refused ? ", refused some" : "",
                     (long long) (cachectl_mono_ms() - start));

        /* status shows the batch at once */
        d->heartbeat_at = 0;
    }
}


static void
cachectl_daemon_events(cachectl_daemon_t *d)
{
    int64_t              now;
    cachectl_watch_ev_t  ev;

    memset(&ev, 0, sizeof(cachectl_watch_ev_t));
    ev.dirs = d->dirs;

    cachectl_watch_read(&d->watch, &ev);

    now = cachectl_mono_ms();
    d->events += ev.events;

    if (ev.overflow) {
        cachectl_log(CACHECTL_WARN, "inotify queue overflow: full rescan");
    }

    /* a release swapped above a root: the new tree needs its watches now */
    if (ev.full) {
        cachectl_watch_all(&d->watch, d->conf);
        d->full = 1;
    }

    if (ev.marker || ev.full) {
        cachectl_daemon_marker(d, now);
    }

    /* the daemon's own log line, or a file beside a config: no change */
    if (ev.events == 0 && !ev.full) {
        return;
    }

    d->dirty_events += ev.events;
    cachectl_daemon_dirty(d, now);

    if (d->conf->deploy_marker && !d->marker_open && !d->marker_said) {
        cachectl_log(CACHECTL_INFO, "changes wait for the deploy marker "
                     "\"%s\"", d->conf->deploy_marker);
        d->marker_said = 1;
        d->heartbeat_at = 0;
    }
}


/* 0 for none */

static int64_t
cachectl_daemon_rescan_ms(cachectl_daemon_t *d)
{
    long  s;

    s = d->conf->rescan_s;

    /* what has no watch is seen by rescans only */
    if (d->watch.degraded && (s == 0 || s > CACHECTL_DEGRADED_S)) {
        s = CACHECTL_DEGRADED_S;
    }

    return (int64_t) s * 1000;
}


static int
cachectl_daemon_rescan_due(cachectl_daemon_t *d, int64_t now)
{
    int64_t  ms;

    ms = cachectl_daemon_rescan_ms(d);

    if (ms == 0) {
        d->rescan_at = CACHECTL_NEVER;
        return 0;
    }

    /* degraded since: the next rescan comes sooner */
    if (d->rescan_at > now + ms) {
        d->rescan_at = now + ms;
    }

    return now >= d->rescan_at;
}


static void
cachectl_daemon_rescan(cachectl_daemon_t *d, int64_t now)
{
    cachectl_watch_all(&d->watch, d->conf);
    d->full = 1;

    if (d->conf->deploy_marker) {
        /* a rescan publishes no half deploy: it looks at the marker */
        cachectl_daemon_marker(d, now);

    } else if (!d->dirty) {
        cachectl_daemon_dirty(d, now);
    }

    d->rescan_at = now + cachectl_daemon_rescan_ms(d);
}


/*
 * The deploy marker's stamp: inode, mtime, size and content, so that a
 * touch, a rewrite and a new file in its place all count; "missing" when
 * it is not there. A change (not its removal) opens the way for the next
 * batch.
 */

static void
cachectl_daemon_marker(cachectl_daemon_t *d, int64_t now)
{
    int          fd;
    char         stamp[sizeof(d->marker_stamp)], buf[8192], etag[20];
    ssize_t      n;
    struct stat  st;

    if (d->conf->deploy_marker == NULL) {
        return;
    }

    snprintf(stamp, sizeof(stamp), "missing");

    fd = open(d->conf->deploy_marker, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd != -1) {
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            n = read(fd, buf, sizeof(buf));
            cachectl_etag(buf, n > 0 ? (size_t) n : 0, etag);

            snprintf(stamp, sizeof(stamp), "%llu:%llu:%lld.%09ld:%lld:%s",
                     (unsigned long long) st.st_dev,
                     (unsigned long long) st.st_ino,
                     (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                     (long long) st.st_size, etag);
        }

        close(fd);
    }

    if (strcmp(stamp, d->marker_stamp) == 0) {
        return;
    }

    /*
     * A marker taken away is a deploy starting ("rm DEPLOYED; rsync ...;
     * touch DEPLOYED"), not one done: only its return opens the way.
     */
    if (d->marker_stamp[0] != '\0' && strcmp(stamp, "missing") != 0) {
        cachectl_log(CACHECTL_INFO, "deploy marker \"%s\" changed: "
                     "publishing %u change event(s)",
                     d->conf->deploy_marker, d->dirty_events);

        d->marker_open = 1;
        d->marker_said = 0;

        /* the settle time after the marker, not after the first edit */
        d->dirty = 0;
        cachectl_daemon_dirty(d, now);
    }

    memcpy(d->marker_stamp, stamp, sizeof(stamp));
}


/*
 * 1: the lease is ours, publish; 0: it is not (standby, or Redis refused
 * it: status says which); -1: the connection is lost.
 */

static int
cachectl_daemon_lease(cachectl_daemon_t *d)
{
    int        rc, was;
    char       holder[sizeof(d->holder)];
    int64_t    now;
    long long  ttl;

    ttl = (long long) d->conf->heartbeat_s * 4000;
    ttl = ttl > CACHECTL_LEASE_MIN_MS ? ttl : CACHECTL_LEASE_MIN_MS;

    rc = cachectl_lease_acquire(d->redis, d->conf, d->instance_id, ttl,
                                holder, sizeof(holder), d->error,
                                sizeof(d->error));
    was = d->role;

    if (rc == CACHECTL_LEASE_FAILED) {
        cachectl_log(CACHECTL_ERR, "lease: %s; reconnecting", d->error);
        cachectl_daemon_lost(d);
        return -1;
    }

    if (rc == CACHECTL_LEASE_ERROR) {
        if (was != CACHECTL_ROLE_ERROR
            || strcmp(d->lease_error, d->error) != 0)
        {
            /* MISCONF: Redis answers but refuses every write (a failed
             * save with stop-writes-on-bgsave-error) */
            cachectl_log(CACHECTL_ERR, "%s; not publishing until Redis "
                         "%s", d->error,
                         strstr(d->error, "MISCONF") != NULL
                         ? "accepts writes again" : "takes the lease");
            snprintf(d->lease_error, sizeof(d->lease_error), "%s",
                     d->error);
        }

        d->role = CACHECTL_ROLE_ERROR;
        return 0;
    }

    d->lease_error[0] = '\0';

    if (rc == CACHECTL_LEASE_OTHER) {
        if (was != CACHECTL_ROLE_STANDBY || strcmp(holder, d->holder) != 0) {
            snprintf(d->holder, sizeof(d->holder), "%s", holder);

            /*
             * A daemon of this host killed with SIGKILL (and restarted by
             * systemd as us) would keep us waiting for its lease to run
             * out: its process is gone, so is its claim.
             */
            if (cachectl_daemon_holder_about(d) == 1) {
                rc = cachectl_lease_steal(d->redis, d->conf, d->instance_id,
                                          ttl, d->holder, d->error,
                                          sizeof(d->error));

                if (rc == CACHECTL_LEASE_FAILED) {
                    cachectl_daemon_lost(d);
                    return -1;
                }

                if (rc == CACHECTL_LEASE_OURS) {
                    cachectl_log(CACHECTL_INFO, "lease: its holder %s%s "
                                 "has no process on this host any more",
                                 d->holder, d->holder_about);
                }
            }

            if (rc != CACHECTL_LEASE_OURS) {
                cachectl_log(CACHECTL_WARN, "lease: %s %s%s: %s",
                             was == CACHECTL_ROLE_HOLDER ? "taken by"
                                                         : "held by",
                             d->holder, d->holder_about,
                             was == CACHECTL_ROLE_HOLDER
                             ? "stopped publishing, standing by"
                             : "standing by, not publishing");
                d->heartbeat_at = 0;
            }
        }

        if (rc != CACHECTL_LEASE_OURS) {
            d->role = CACHECTL_ROLE_STANDBY;
            return 0;
        }
    }

    if (was != CACHECTL_ROLE_HOLDER) {
        if (was == CACHECTL_ROLE_NONE) {
            cachectl_log(CACHECTL_INFO, "lease: taken");

        } else {
            cachectl_log(CACHECTL_INFO, "lease: taken%s%s: full sync",
                         was == CACHECTL_ROLE_STANDBY ? " over from " : "",
                         was == CACHECTL_ROLE_STANDBY ? d->holder : "");

            /* whatever the other one published: compare everything */
            now = cachectl_mono_ms();
            cachectl_sync_reset(&d->sync);
            d->full = 1;
            d->marker_open = 1;
            cachectl_daemon_dirty(d, now);
        }

        snprintf(d->holder, sizeof(d->holder), "%s", d->instance_id);
        d->holder_about[0] = '\0';
        d->heartbeat_at = 0;
    }

    d->role = CACHECTL_ROLE_HOLDER;

    return 1;
}


/*
 * The holder's host and views, from its status record, for the log: 1
 * when it is a daemon of this host whose process is gone.
 */

static int
cachectl_daemon_holder_about(cachectl_daemon_t *d)
{
    int           gone;
    char          err[256];
    size_t        i, n;
    json_t       *st, *views;
    json_int_t    pid;
    redisReply   *r;
    const char   *host, *v, *boot, *pidns;

    d->holder_about[0] = '\0';

    r = cachectl_redis_cmd(d->redis, err, sizeof(err),
                           "GET %scachectl:status:%s", d->conf->mx,
                           d->holder);

    if (r == NULL) {
        return 0;
    }

    st = r->type == REDIS_REPLY_STRING ? json_loadb(r->str, r->len, 0, NULL)
                                       : NULL;
    freeReplyObject(r);

    if (st == NULL) {
        return 0;
    }

    host = json_string_value(json_object_get(st, "hostname"));
    pid = json_integer_value(json_object_get(st, "pid"));
    views = json_object_get(st, "views");

    /*
     * Its pid means something here only in the same boot of the same
     * host and the same pid namespace: containers and cloned hosts share
     * host names, and each would take the other's lease for good.
     */
    boot = json_string_value(json_object_get(st, "bootId"));
    pidns = json_string_value(json_object_get(st, "pidNs"));

    gone = host != NULL && strcmp(host, d->hostname) == 0 && pid > 0
           && boot != NULL && d->boot_id[0] && strcmp(boot, d->boot_id) == 0
           && pidns != NULL && d->pid_ns[0]
           && strcmp(pidns, d->pid_ns) == 0
           && pid != (json_int_t) getpid()
           && kill((pid_t) pid, 0) == -1 && errno == ESRCH;

    n = snprintf(d->holder_about, sizeof(d->holder_about),
                 " (pid %lld on %s, views", (long long) pid,
                 host ? host : "?");

    for (i = 0; i < json_array_size(views) && n < sizeof(d->holder_about);
         i++)
    {
        v = json_string_value(json_array_get(views, i));
        n += snprintf(d->holder_about + n, sizeof(d->holder_about) - n,
                      " %s", v ? v : "?");
    }

    if (n < sizeof(d->holder_about)) {
        snprintf(d->holder_about + n, sizeof(d->holder_about) - n, ")");
    }

    json_decref(st);

    return gone;
}


/* the heartbeat and the status record, or their removal at exit */

static void
cachectl_daemon_heartbeat(cachectl_daemon_t *d, int remove)
{
    char         *text;
    json_t       *stats, *blob, *status;
    redisReply   *r;
    long long     ttl;

    ttl = d->conf->heartbeat_s * 4 > 60 ? d->conf->heartbeat_s * 4 : 60;

    if (remove) {
        /* a standby takes over at once, not when the lease runs out */
        if (d->role == CACHECTL_ROLE_HOLDER
            && cachectl_lease_release(d->redis, d->conf, d->instance_id,
                                      d->error, sizeof(d->error)) == 0)
        {
            cachectl_log(CACHECTL_INFO, "lease: released");
        }

        r = cachectl_redis_cmd(d->redis, d->error, sizeof(d->error),
                               "DEL %smetrics:instance:%s "
                               "%scachectl:status:%s", d->conf->mx,
                               d->instance_id, d->conf->mx, d->instance_id);
        if (r) {
            freeReplyObject(r);
        }

        r = cachectl_redis_cmd(d->redis, d->error, sizeof(d->error),
                               "ZREM %s" JP_REGISTRY_KEY " %s", d->conf->mx,
                               d->instance_id);
        if (r) {
            freeReplyObject(r);
        }

        return;
    }

    if (cachectl_daemon_primary(d, 1) != 0) {
        return;
    }

    /* the lease goes with the heartbeat: a standby learns it is free */
    if (cachectl_daemon_lease(d) < 0) {
        return;
    }

    stats = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}",
                      "filesTracked",
                      (json_int_t) json_object_size(d->sync.files),
                      "batches", (json_int_t) d->sync.batches,
                      "written", (json_int_t) d->sync.written,
                      "deleted", (json_int_t) d->sync.deleted,
                      "refused", (json_int_t) json_array_size(d->sync.refused),
                      "sessions", cachectl_sessions_stats(&d->sessions));

    blob = cachectl_daemon_blob(d->instance_id,
                                cachectl_mono_ms() - d->started_mono, stats);

    status = cachectl_daemon_status(d, stats);

    json_decref(stats);

    text = blob ? json_dumps(blob, JSON_COMPACT) : NULL;
    json_decref(blob);

    if (text != NULL) {
        /* the heartbeat and its entry in the instance registry, at once */

        r = cachectl_redis_cmd(d->redis, d->error, sizeof(d->error),
                               "EVAL %s 2 %smetrics:instance:%s "
                               "%s" JP_REGISTRY_KEY " %s %lld %s",
                               cachectl_heartbeat_script, d->conf->mx,
                               d->instance_id, d->conf->mx, text,
                               ttl * 1000, d->instance_id);
        free(text);

        if (r == NULL) {
            json_decref(status);
            cachectl_daemon_lost(d);
            return;
        }

        cachectl_daemon_beat_reply(d, r);

        freeReplyObject(r);
    }

    text = status ? json_dumps(status, JSON_COMPACT) : NULL;
    json_decref(status);

    if (text != NULL) {
        /* an error reply here is no lost connection: the next beat tries */
        r = cachectl_redis_cmd(d->redis, d->error, sizeof(d->error),
                               "SET %scachectl:status:%s %s EX %lld",
                               d->conf->mx, d->instance_id, text, ttl);
        free(text);

        if (r == NULL) {
            cachectl_daemon_lost(d);
            return;
        }

        freeReplyObject(r);
    }
}


/*
 * The status record (docs/protocol.md, <ns>cachectl:status:<id>): what
 * "cachectl status" shows. "state" is the one word that matters most,
 * "message" says it for a human.
 */

static json_t *
cachectl_daemon_status(cachectl_daemon_t *d, json_t *stats)
{
    int            i;
    char           msg[1024];
    json_t        *status, *views;
    const char    *state, *error, *primary, *via;
    unsigned       primaries;
    unsigned long  failovers;

    error = d->lease_error[0] ? d->lease_error
            : d->batch_error[0] ? d->batch_error : NULL;

    msg[0] = '\0';

    if (d->role == CACHECTL_ROLE_STANDBY) {
        state = "standby";
        snprintf(msg, sizeof(msg), "standby: the lease is held by %s%s",
                 d->holder, d->holder_about);

    } else if (error != NULL) {
        state = "error";
        snprintf(msg, sizeof(msg), "%s", error);

    } else if (d->conf->deploy_marker && d->dirty && !d->marker_open) {
        state = "waiting";
        snprintf(msg, sizeof(msg), "waiting for the deploy marker: %u "
                 "change event(s)", d->dirty_events);

    } else if (d->watch.degraded) {
        state = "degraded";
        snprintf(msg, sizeof(msg), "degraded: %u director%s not watched, "
                 "rescanning every %lld s", d->watch.unwatched,
                 d->watch.unwatched == 1 ? "y" : "ies",
                 (long long) cachectl_daemon_rescan_ms(d) / 1000);

    } else {
        state = "ok";
    }

    views = json_array();

    for (i = 0; views != NULL && i < d->conf->nviews; i++) {
        json_array_append_new(views, json_string(d->conf->views[i]));
    }

    status = json_pack("{s:s, s:I, s:s, s:I, s:I, s:O, s:O, s:I, s:o?,"
                       " s:s, s:s, s:s?, s:{s:s?, s:b, s:s}, s:I, s:s?,"
                       " s:o?, s:o?, s:s?, s:s?}",
                       "instanceId", d->instance_id,
                       "pid", (json_int_t) getpid(),
                       "hostname", d->hostname,
                       "startedAt", (json_int_t) d->started_ms,
                       "lastSync", (json_int_t) d->sync.last_sync_ms,
                       "refused", d->sync.refused,
                       "stats", stats,
                       "events", (json_int_t) d->events,
                       "views", views,
                       "state", state,
                       "message", msg,
                       "error", error,
                       "lease",
                           "holder", d->holder[0] ? d->holder : NULL,
                           "ours", d->role == CACHECTL_ROLE_HOLDER,
                           "about", d->holder_about,
                       "dirtyEvents", (json_int_t) d->dirty_events,
                       "deployMarker", d->conf->deploy_marker,
                       "watches", cachectl_watch_status(&d->watch),
                       "publisher", cachectl_sync_status(&d->sync),
                       "bootId", d->boot_id[0] ? d->boot_id : NULL,
                       "pidNs", d->pid_ns[0] ? d->pid_ns : NULL);

    if (status != NULL && d->conf->redis_sentinel != NULL) {
        primary = cachectl_redis_primary(&via, &failovers);

        json_object_set_new(status, "redis",
                            json_pack("{s:s?, s:s, s:s?, s:I}",
                                      "primary", primary,
                                      "master", d->conf->redis_master,
                                      "via", via,
                                      "failovers", (json_int_t) failovers));
    }

    if (status != NULL && d->conf->redis_cluster != NULL) {
        primary = cachectl_cluster_home(&primaries);

        json_object_set_new(status, "redis",
                            json_pack("{s:{s:s?, s:I, s:s}}", "cluster",
                                      "l2Primary", primary,
                                      "primaries", (json_int_t) primaries,
                                      "nodes", cachectl_cluster_describe()));
    }

    /* published with an error comment jPulse renders: where */
    if (status != NULL && json_array_size(d->sync.warnings) > 0) {
        json_object_set(status, "warnings", d->sync.warnings);
    }

    return status;
}


json_t *
cachectl_daemon_blob(const char *instance_id, int64_t uptime_ms,
    json_t *stats)
{
    char             host[256], ip[JP_IPV4_MAX], iso[JP_ISO8601_LEN + 1];
    char             up[JP_DURATION_MAX], name[512];
    size_t           nlen;
    int64_t          now;
    uint64_t         rss, uptime;
    json_t          *blob, *inst, *comp;
    jp_host_stats_t  hs;
    struct utsname   un;

    if (gethostname(host, sizeof(host) - 1) != 0) {
        snprintf(host, sizeof(host), "localhost");
    }

    host[sizeof(host) - 1] = '\0';
    nlen = jp_server_name_len(host, strlen(host));

    memset(&hs, 0, sizeof(hs));
    (void) jp_host_stats(&hs);

    if (jp_host_ipv4(ip, sizeof(ip)) != 0) {
        snprintf(ip, sizeof(ip), "127.0.0.1");
    }

    rss = 0;
    (void) jp_process_rss(getpid(), &rss);

    if (uname(&un) != 0) {
        snprintf(un.machine, sizeof(un.machine), "unknown");
    }

    now = cachectl_now_ms();
    uptime = uptime_ms > 0 ? (uint64_t) uptime_ms / 1000 : 0;

    jp_time_iso8601(iso, sizeof(iso), (time_t) (now / 1000),
                    (unsigned) (now % 1000));
    jp_duration_format(up, sizeof(up), uptime);

    comp = json_pack("{s:{s:s, s:s, s:b, s:O, s:{s:i, s:s, s:{}}}}",
                     "cachectl", "component", "Cachectl", "status", "ok",
                     "initialized", 1, "stats", stats, "meta", "ttl", 0,
                     "category", "cachectl", "fields");

    /* instanceName is serverName:pm2Id:pid */
    snprintf(name, sizeof(name), "%.*s:%d:%ld", (int) nlen, host,
             JP_PM2ID_CACHECTL, (long) getpid());

    /* "kind" here too: the cluster view lists instances, not blobs */
    inst = json_pack("{s:s, s:I, s:i, s:n, s:s, s:s, s:b, s:s, s:s, s:I, s:s,"
                     " s:{s:I}, s:{s:s, s:s}, s:s, s:O?}",
                     "kind", "cachectl",
                     "pid", (json_int_t) getpid(), "pm2Id", JP_PM2ID_CACHECTL,
                     "port", "instanceName", name,
                     "instanceId", instance_id, "pm2Available", 0,
                     "reason", "cachectl sidecar (" JP_NAME ")",
                     "status", "online", "uptime", (json_int_t) uptime,
                     "uptimeFormatted", up,
                     "processInfo", "rss", (json_int_t) rss,
                     "jPulse", "version", JP_VERSION, "release", JP_RELEASE,
                     "environment", "", "components", comp);

    blob = json_pack("{s:s, s:s, s:s#, s:I, s:s, s:I, s:s, s:s, s:s, s:n,"
                     " s:I, s:[f,f,f], s:I, s:I, s:i, s:i,"
                     " s:i, s:i, s:i, s:i, s:i, s:[], s:[o?], s:O?, s:s}",
                     "kind", "cachectl", "hostname", host,
                     "serverName", host, (int) nlen,
                     "serverId", (json_int_t) jp_server_id(host, nlen),
                     "ip", ip, "uptime", (json_int_t) uptime,
                     "uptimeFormatted", up, "platform", "linux",
                     "arch", strcmp(un.machine, "x86_64") == 0 ? "x64"
                             : strcmp(un.machine, "aarch64") == 0 ? "arm64"
                             : un.machine,
                     "nodeVersion", "cpus", (json_int_t) hs.cpus,
                     "loadAverage", hs.load[0], hs.load[1], hs.load[2],
                     "freeMemory", (json_int_t) hs.free_memory,
                     "totalMemory", (json_int_t) hs.total_memory,
                     "totalInstances", 1, "totalProcesses", 1,
                     "runningProcesses", 1, "stoppedProcesses", 0,
                     "erroredProcesses", 0, "totalWebSocketConnections", 0,
                     "totalWebSocketMessages", 0, "webSocketNamespaces",
                     "instances", inst, "components", comp,
                     "timestamp", iso);

    json_decref(comp);

    return blob;
}


/* where our pid is valid: the boot of this host, the pid namespace */

static void
cachectl_daemon_where(cachectl_daemon_t *d)
{
    int       fd;
    ssize_t   n;

    fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

    if (fd != -1) {
        n = read(fd, d->boot_id, sizeof(d->boot_id) - 1);
        d->boot_id[n > 0 ? n : 0] = '\0';
        d->boot_id[strcspn(d->boot_id, "\n")] = '\0';
        close(fd);
    }

    n = readlink("/proc/self/ns/pid", d->pid_ns, sizeof(d->pid_ns) - 1);
    d->pid_ns[n > 0 ? n : 0] = '\0';
}


/*
 * Redis refusing the heartbeat (NOPERM from an ACL, WRONGTYPE from a key
 * someone else wrote) leaves this daemon out of the cluster's metrics:
 * said once per distinct error, not at every beat, and once when it is
 * accepted again.
 */

static void
cachectl_daemon_beat_reply(cachectl_daemon_t *d, redisReply *r)
{
    if (r->type != REDIS_REPLY_ERROR) {
        if (d->beat_error[0] != '\0') {
            cachectl_log(CACHECTL_INFO, "heartbeat: accepted again");
            d->beat_error[0] = '\0';
        }

        return;
    }

    if (strncmp(d->beat_error, r->str, sizeof(d->beat_error) - 1) == 0) {
        return;
    }

    snprintf(d->beat_error, sizeof(d->beat_error), "%.*s",
             (int) r->len, r->str);

    cachectl_log(CACHECTL_ERR, "heartbeat: refused by Redis: %s",
                 d->beat_error);
}
