/*
 * cachectl daemon.
 *
 * One thread, one poll() loop over an inotify descriptor and a signalfd.
 * Events only mark the tree dirty; once they have been quiet for
 * settle-ms (or one second after the first, whichever comes first) one
 * batch rescans and publishes everything that changed, so a 500-file
 * deploy is one transaction and one event. A full rescan every --rescan
 * seconds catches what inotify cannot see (NFS, a queue overflow).
 *
 * Redis away: the batch stays dirty, reconnects back off from 100 ms to
 * 5 s, and the first batch after a reconnect reads Redis's state again
 * and writes whatever differs (a restarted Redis gets everything).
 */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
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
#include "cachectl_daemon.h"
#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_sessions.h"
#include "cachectl_sync.h"


#define CACHECTL_SETTLE_MAX_MS   1000
#define CACHECTL_RETRY_MIN_MS    100
#define CACHECTL_RETRY_MAX_MS    5000
#define CACHECTL_SESSION_TICK_MS 100
#define CACHECTL_WATCH_MASK                                                  \
    (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM      \
     | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)


typedef struct {
    cachectl_conf_t      *conf;
    cachectl_sync_t       sync;
    cachectl_sessions_t   sessions;
    redisContext         *redis;
    int                   inotify;
    json_t               *watches;      /* wd -> directory */
    unsigned              watch_gen;

    int                   dirty;
    int64_t               dirty_since;
    int64_t               settle_at;
    int64_t               retry_at;
    int64_t               retry_ms;
    int64_t               heartbeat_at;
    int64_t               sessions_at;
    int64_t               rescan_at;
    int64_t               started_ms;

    char                  instance_id[JP_INSTANCE_ID_MAX];
    char                  hostname[256];
    char                  error[512];
    char                  beat_error[256];  /* the refusal logged last */
    uint64_t              events;
} cachectl_daemon_t;


static int cachectl_daemon_watch_dir(void *arg, const char *dir);
static void cachectl_daemon_watch_all(cachectl_daemon_t *d);
static void cachectl_daemon_watch_tree(cachectl_daemon_t *d,
    const char *dir, int depth, json_t *visited);
static void cachectl_daemon_watch_new(cachectl_daemon_t *d, int wd,
    const char *name);
static void cachectl_daemon_events(cachectl_daemon_t *d);
static void cachectl_daemon_batch(cachectl_daemon_t *d);
static void cachectl_daemon_connect(cachectl_daemon_t *d);
static void cachectl_daemon_lost(cachectl_daemon_t *d);
static void cachectl_daemon_heartbeat(cachectl_daemon_t *d, int remove);
static void cachectl_daemon_beat_reply(cachectl_daemon_t *d,
    redisReply *r);


/* KEYS[1] heartbeat, KEYS[2] registry; ARGV: blob, ttl ms, instance id */
static const char  cachectl_heartbeat_script[] =
    JP_REGISTRY_LUA_PROLOGUE
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    JP_REGISTRY_LUA_ADD("KEYS[2]", "ARGV[3]", "ARGV[2]")
    "return 1";


int
cachectl_daemon(cachectl_conf_t *conf)
{
    int                 sfd, timeout, stop;
    int64_t             now, next;
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
    d.started_ms = cachectl_now_ms();
    d.retry_ms = CACHECTL_RETRY_MIN_MS;

    if (gethostname(d.hostname, sizeof(d.hostname) - 1) != 0) {
        snprintf(d.hostname, sizeof(d.hostname), "localhost");
    }

    jp_instance_id(d.instance_id, sizeof(d.instance_id),
                   jp_server_id(d.hostname, strlen(d.hostname)),
                   JP_PM2ID_CACHECTL, (long) getpid());

    if (cachectl_sync_init(&d.sync, conf) != 0) {
        fprintf(stderr, "cachectl daemon: out of memory\n");
        return CACHECTL_EXIT_FAIL;
    }

    snprintf(d.sync.instance_id, sizeof(d.sync.instance_id), "%s",
             d.instance_id);

    cachectl_sessions_init(&d.sessions);

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

    d.inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    d.watches = json_object();

    if (d.inotify == -1 || d.watches == NULL) {
        fprintf(stderr, "cachectl daemon: inotify: %s\n", strerror(errno));
        return CACHECTL_EXIT_FAIL;
    }

    cachectl_log(CACHECTL_INFO, "%s %s starting as %s, namespace \"%s\", "
                 "Redis %s", JP_NAME, JP_VERSION, d.instance_id, conf->ns,
                 conf->redis);

    cachectl_daemon_watch_all(&d);

    d.dirty = 1;
    d.dirty_since = d.settle_at = cachectl_now_ms();
    d.rescan_at = d.started_ms + conf->rescan_s * 1000;

    stop = 0;

    while (!stop) {
        now = cachectl_now_ms();

        if (d.redis == NULL && now >= d.retry_at) {
            cachectl_daemon_connect(&d);
            now = cachectl_now_ms();
        }

        if (d.redis != NULL && d.dirty
            && (now >= d.settle_at
                || now - d.dirty_since >= CACHECTL_SETTLE_MAX_MS))
        {
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

        if (conf->rescan_s && now >= d.rescan_at) {
            cachectl_daemon_watch_all(&d);

            if (!d.dirty) {
                d.dirty = 1;
                d.dirty_since = d.settle_at = now;
            }

            d.rescan_at = now + conf->rescan_s * 1000;
        }

        /* sleep until the next thing to do */
        now = cachectl_now_ms();
        next = now + 1000;

        if (d.redis == NULL) {
            next = d.retry_at < next ? d.retry_at : next;

        } else {
            if (d.dirty) {
                next = d.settle_at < next ? d.settle_at : next;
            }

            next = d.heartbeat_at < next ? d.heartbeat_at : next;
            next = d.sessions_at < next ? d.sessions_at : next;
        }

        timeout = next > now ? (int) (next - now) : 0;

        pfd[0].fd = d.inotify;
        pfd[0].events = POLLIN;
        pfd[1].fd = sfd;
        pfd[1].events = POLLIN;

        if (poll(pfd, 2, timeout) == -1 && errno != EINTR) {
            cachectl_log(CACHECTL_ERR, "poll: %s", strerror(errno));
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
                cachectl_sync_reset(&d.sync);
                cachectl_daemon_watch_all(&d);
                d.dirty = 1;
                d.dirty_since = d.settle_at = cachectl_now_ms();

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

    cachectl_sync_free(&d.sync);
    json_decref(d.watches);
    close(d.inotify);
    close(sfd);

    cachectl_log(CACHECTL_INFO, "stopped");

    return CACHECTL_EXIT_OK;
}


static void
cachectl_daemon_connect(cachectl_daemon_t *d)
{
    d->redis = cachectl_redis_connect(d->conf, d->error, sizeof(d->error));

    if (d->redis == NULL) {
        if (d->retry_ms == CACHECTL_RETRY_MIN_MS) {
            cachectl_log(CACHECTL_ERR, "%s; retrying", d->error);
        }

        d->retry_at = cachectl_now_ms() + d->retry_ms;
        d->retry_ms = d->retry_ms * 2 > CACHECTL_RETRY_MAX_MS
                      ? CACHECTL_RETRY_MAX_MS : d->retry_ms * 2;
        return;
    }

    cachectl_log(CACHECTL_INFO, "connected to Redis %s: full sync",
                 d->conf->redis);

    d->retry_ms = CACHECTL_RETRY_MIN_MS;

    /* whatever happened while we were away: compare everything */
    cachectl_sync_reset(&d->sync);
    d->dirty = 1;
    d->dirty_since = d->settle_at = cachectl_now_ms();
    d->heartbeat_at = 0;
}


static void
cachectl_daemon_lost(cachectl_daemon_t *d)
{
    if (d->redis != NULL) {
        redisFree(d->redis);
        d->redis = NULL;
    }

    d->retry_at = cachectl_now_ms() + d->retry_ms;
    d->dirty = 1;
}


static void
cachectl_daemon_batch(cachectl_daemon_t *d)
{
    int64_t           start;
    cachectl_batch_t  b;

    start = cachectl_now_ms();

    /* new directories since the last batch need watches first */
    cachectl_daemon_watch_all(d);

    b.changes = NULL;

    if (cachectl_sync_run(&d->sync, d->redis, NULL, &b, d->error,
                          sizeof(d->error)) != 0)
    {
        cachectl_log(CACHECTL_ERR, "publish: %s; retrying after a "
                     "reconnect", d->error);
        cachectl_daemon_lost(d);
        return;
    }

    d->dirty = 0;

    if (b.refused) {
        d->heartbeat_at = 0;
    }

    if (b.views || b.config || b.i18n) {
        cachectl_log(CACHECTL_INFO, "published %u view, %u config, %u i18n "
                     "change(s)%s in %lld ms", b.views, b.config, b.i18n,
                     b.refused ? ", refused some" : "",
                     (long long) (cachectl_now_ms() - start));

        /* status shows the batch at once */
        d->heartbeat_at = 0;
    }
}


static void
cachectl_daemon_events(cachectl_daemon_t *d)
{
    char                         buf[16384];
    ssize_t                      n;
    int64_t                      now;
    const struct inotify_event  *ev;

    for ( ;; ) {
        n = read(d->inotify, buf, sizeof(buf));

        if (n <= 0) {
            break;
        }

        for (ev = (const struct inotify_event *) buf;
             (const char *) ev < buf + n;
             ev = (const struct inotify_event *) ((const char *) ev
                  + sizeof(struct inotify_event) + ev->len))
        {
            d->events++;

            if (ev->mask & IN_Q_OVERFLOW) {
                cachectl_log(CACHECTL_WARN, "inotify queue overflow: full "
                             "rescan");
            }

            /*
             * A new directory is watched at once: a copy into it goes on
             * after its creation event, and must keep the batch open.
             */
            if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO))
                && ev->len && ev->name[0] != '.')
            {
                cachectl_daemon_watch_new(d, ev->wd, ev->name);
            }
        }
    }

    now = cachectl_now_ms();

    if (!d->dirty) {
        d->dirty = 1;
        d->dirty_since = now;
    }

    d->settle_at = now + d->conf->settle_ms;
}


/* (re)adds a watch on every directory; drops those no longer there */

static void
cachectl_daemon_watch_all(cachectl_daemon_t *d)
{
    int          i;
    void        *tmp;
    json_t      *v, *visited;
    const char  *k;

    d->watch_gen++;

    cachectl_sync_dirs(&d->sync, cachectl_daemon_watch_dir, d);

    visited = json_object();

    for (i = 0; visited != NULL && i < d->conf->nviews; i++) {
        cachectl_daemon_watch_tree(d, d->conf->views[i], 0, visited);
    }

    json_decref(visited);

    json_object_foreach_safe(d->watches, tmp, k, v) {
        if ((unsigned) json_integer_value(json_object_get(v, "gen"))
            != d->watch_gen)
        {
            inotify_rm_watch(d->inotify, atoi(k));
            json_object_del(d->watches, k);
        }
    }
}


static void
cachectl_daemon_watch_new(cachectl_daemon_t *d, int wd, const char *name)
{
    char         key[16], path[PATH_MAX];
    json_t      *visited;
    const char  *parent;

    snprintf(key, sizeof(key), "%d", wd);
    parent = json_string_value(json_object_get(json_object_get(d->watches,
                                                               key), "dir"));

    if (parent == NULL
        || snprintf(path, sizeof(path), "%s/%s", parent, name)
           >= (int) sizeof(path))
    {
        return;
    }

    visited = json_object();

    if (visited != NULL) {
        cachectl_daemon_watch_tree(d, path, 0, visited);
        json_decref(visited);
    }
}


static int
cachectl_daemon_watch_dir(void *arg, const char *dir)
{
    cachectl_daemon_t  *d = arg;

    int   wd;
    char  key[16];

    wd = inotify_add_watch(d->inotify, dir, CACHECTL_WATCH_MASK);

    if (wd == -1) {
        if (errno != ENOENT && errno != ENOTDIR) {
            cachectl_log(CACHECTL_WARN, "watch \"%s\": %s", dir,
                         strerror(errno));
        }
        return -1;
    }

    snprintf(key, sizeof(key), "%d", wd);

    json_object_set_new(d->watches, key,
                        json_pack("{s:s, s:I}", "dir", dir, "gen",
                                  (json_int_t) d->watch_gen));

    return 0;
}


static void
cachectl_daemon_watch_tree(cachectl_daemon_t *d, const char *dir, int depth,
    json_t *visited)
{
    DIR            *dh;
    char            sub[PATH_MAX];
    struct stat     st;
    struct dirent  *de;

    if (depth > 32 || json_object_size(d->watches) > 65536
        || stat(dir, &st) != 0)
    {
        return;
    }

    if (cachectl_dir_visited(visited, &st)) {
        return;
    }

    cachectl_daemon_watch_dir(d, dir);

    dh = opendir(dir);
    if (dh == NULL) {
        return;
    }

    while ((de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name)
            >= (int) sizeof(sub))
        {
            continue;
        }

        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            cachectl_daemon_watch_tree(d, sub, depth + 1, visited);
        }
    }

    closedir(dh);
}


json_t *
cachectl_daemon_blob(const char *instance_id, int64_t started_ms,
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
    uptime = (uint64_t) (now - started_ms) / 1000;

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
        r = cachectl_redis_cmd(d->redis, d->error, sizeof(d->error),
                               "DEL %smetrics:instance:%s "
                               "%scachectl:status:%s", d->conf->ns,
                               d->instance_id, d->conf->ns, d->instance_id);
        if (r) {
            freeReplyObject(r);
        }

        r = cachectl_redis_cmd(d->redis, d->error, sizeof(d->error),
                               "ZREM %s" JP_REGISTRY_KEY " %s", d->conf->ns,
                               d->instance_id);
        if (r) {
            freeReplyObject(r);
        }

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

    blob = cachectl_daemon_blob(d->instance_id, d->started_ms, stats);

    status = json_pack("{s:s, s:I, s:s, s:I, s:I, s:O, s:O, s:I, s:[]}",
                       "instanceId", d->instance_id,
                       "pid", (json_int_t) getpid(),
                       "hostname", d->hostname,
                       "startedAt", (json_int_t) d->started_ms,
                       "lastSync", (json_int_t) d->sync.last_sync_ms,
                       "refused", d->sync.refused,
                       "stats", stats,
                       "events", (json_int_t) d->events,
                       "views");

    if (status != NULL) {
        int  i;

        for (i = 0; i < d->conf->nviews; i++) {
            json_array_append_new(json_object_get(status, "views"),
                                  json_string(d->conf->views[i]));
        }
    }

    json_decref(stats);

    text = blob ? json_dumps(blob, JSON_COMPACT) : NULL;
    json_decref(blob);

    if (text != NULL) {
        /* the heartbeat and its entry in the instance registry, at once */

        r = cachectl_redis_cmd(d->redis, d->error, sizeof(d->error),
                               "EVAL %s 2 %smetrics:instance:%s "
                               "%s" JP_REGISTRY_KEY " %s %lld %s",
                               cachectl_heartbeat_script, d->conf->ns,
                               d->instance_id, d->conf->ns, text,
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
        r = cachectl_redis_cmd(d->redis, d->error, sizeof(d->error),
                               "SET %scachectl:status:%s %s EX %lld",
                               d->conf->ns, d->instance_id, text, ttl);
        free(text);

        if (r == NULL) {
            cachectl_daemon_lost(d);
            return;
        }

        freeReplyObject(r);
    }
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
