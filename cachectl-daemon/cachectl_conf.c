/*
 * Settings (see cachectl_conf.h). The config file holds the long option
 * names without "--":
 *
 *     # /etc/cachectl.conf
 *     redis = 127.0.0.1:6379
 *     password-file = /etc/cachectl/redis.pass
 *     site-id = jpulse
 *     mode = prod
 *     views = /opt/jpulse/site/webapp/view
 *     views = /opt/jpulse/webapp/view
 *     app-config = /opt/jpulse/.jpulse/app.json
 *     i18n = /opt/jpulse/webapp/translations
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cachectl_conf.h"
#include "jp_redis_cluster.h"


typedef enum {
    CACHECTL_OPT_STR,
    CACHECTL_OPT_INT,
    CACHECTL_OPT_VIEWS,
    CACHECTL_OPT_FLAG
} cachectl_opt_type_e;


typedef struct {
    const char           *name;         /* long name, also the file key */
    char                  short_name;
    cachectl_opt_type_e   type;
    size_t                offset;
} cachectl_opt_t;


#define O(field)  offsetof(cachectl_conf_t, field)

static const cachectl_opt_t  cachectl_opts[] = {
    { "config",              'c', CACHECTL_OPT_STR,   O(file) },
    { "redis",               0,   CACHECTL_OPT_STR,   O(redis) },
    { "redis-sentinel",      0,   CACHECTL_OPT_STR,   O(redis_sentinel) },
    { "redis-cluster",       0,   CACHECTL_OPT_STR,   O(redis_cluster) },
    { "redis-master",        0,   CACHECTL_OPT_STR,   O(redis_master) },
    { "password-file",       0,   CACHECTL_OPT_STR,   O(password_file) },
    { "sentinel-password-file", 0, CACHECTL_OPT_STR,
      O(sentinel_password_file) },
    { "db",                  0,   CACHECTL_OPT_INT,   O(db) },
    { "site-id",             0,   CACHECTL_OPT_STR,   O(site_id) },
    { "mode",                0,   CACHECTL_OPT_STR,   O(mode) },
    { "views",               0,   CACHECTL_OPT_VIEWS, O(views) },
    { "app-config",          0,   CACHECTL_OPT_STR,   O(app_config) },
    { "site-config",         0,   CACHECTL_OPT_STR,   O(site_config) },
    { "i18n",                0,   CACHECTL_OPT_STR,   O(i18n) },
    { "settle-ms",           0,   CACHECTL_OPT_INT,   O(settle_ms) },
    { "rescan",              0,   CACHECTL_OPT_INT,   O(rescan_s) },
    { "heartbeat",           0,   CACHECTL_OPT_INT,   O(heartbeat_s) },
    { "session-max-age",     0,   CACHECTL_OPT_INT,   O(session_max_age_s) },
    { "session-default-ttl", 0,   CACHECTL_OPT_INT,
      O(session_default_ttl_s) },
    { "session-scan-rate",   0,   CACHECTL_OPT_INT,   O(session_scan_rate) },
    { "session-pass-interval", 0, CACHECTL_OPT_INT,   O(session_pass_s) },
    { "settle-max-ms",       0,   CACHECTL_OPT_INT,   O(settle_max_ms) },
    { "deploy-marker",       0,   CACHECTL_OPT_STR,   O(deploy_marker) },
    { "max-delete-share",    0,   CACHECTL_OPT_INT,   O(max_delete_pct) },
    { "batch-bytes",         0,   CACHECTL_OPT_INT,   O(batch_bytes) },
    { "force",               0,   CACHECTL_OPT_FLAG,  O(force) },
    { "dry-run",             0,   CACHECTL_OPT_FLAG,  O(dry_run) },
    { "json",                0,   CACHECTL_OPT_FLAG,  O(json) },
    { "user",                0,   CACHECTL_OPT_STR,   O(user) },
    { "collection",          0,   CACHECTL_OPT_STR,   O(collection) },
    { NULL, 0, 0, 0 }
};


static int      cachectl_conf_argc;
static char   **cachectl_conf_argv;


static int cachectl_conf_fail(cachectl_conf_t *conf, int rc,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const cachectl_opt_t *cachectl_conf_find(const char *name,
    size_t len, char short_name);
static int cachectl_conf_set(cachectl_conf_t *conf, const cachectl_opt_t *o,
    const char *value, int from_file);
static int cachectl_conf_file(cachectl_conf_t *conf, const char *file);
static int cachectl_conf_password(cachectl_conf_t *conf, const char *file,
    const char *what, char *password, size_t size);
static int cachectl_conf_redis(cachectl_conf_t *conf);
static int cachectl_conf_sentinel(cachectl_conf_t *conf);
static int cachectl_conf_nodes(cachectl_conf_t *conf, const char *what,
    const char *p);
static int cachectl_conf_cluster(cachectl_conf_t *conf);
static int cachectl_conf_groups(cachectl_conf_t *conf);
static int cachectl_conf_argv_pass(cachectl_conf_t *conf, int apply);
static int cachectl_conf_finish(cachectl_conf_t *conf);


static int
cachectl_conf_fail(cachectl_conf_t *conf, int rc, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(conf->error, sizeof(conf->error), fmt, ap);
    va_end(ap);

    return rc;
}


static void
cachectl_conf_defaults(cachectl_conf_t *conf)
{
    memset(conf, 0, sizeof(cachectl_conf_t));

    conf->site_id = "jpulse";
    conf->mode = "prod";
    conf->settle_ms = 25;
    conf->rescan_s = 30;
    conf->heartbeat_s = 15;
    conf->session_max_age_s = 86400;
    conf->session_default_ttl_s = 3600;
    conf->session_scan_rate = 1000;
    conf->session_pass_s = 60;
    conf->settle_max_ms = 1000;
    conf->max_delete_pct = 50;
    conf->batch_bytes = 32 * 1024 * 1024;
}


int
cachectl_conf_parse(cachectl_conf_t *conf, int argc, char **argv)
{
    int  rc;

    cachectl_conf_argc = argc;
    cachectl_conf_argv = argv;

    cachectl_conf_defaults(conf);

    /* the file first, so that every flag overrides it */
    rc = cachectl_conf_argv_pass(conf, 0);
    if (rc != CACHECTL_EXIT_OK) {
        return rc;
    }

    if (conf->file != NULL) {
        rc = cachectl_conf_file(conf, conf->file);
        if (rc != CACHECTL_EXIT_OK) {
            return rc;
        }
    }

    rc = cachectl_conf_argv_pass(conf, 1);
    if (rc != CACHECTL_EXIT_OK) {
        return rc;
    }

    return cachectl_conf_finish(conf);
}


int
cachectl_conf_reload(cachectl_conf_t *conf)
{
    cachectl_conf_t  fresh;

    if (cachectl_conf_parse(&fresh, cachectl_conf_argc, cachectl_conf_argv)
        != CACHECTL_EXIT_OK)
    {
        snprintf(conf->error, sizeof(conf->error), "%s", fresh.error);
        cachectl_conf_free(&fresh);
        return CACHECTL_EXIT_FAIL;
    }

    cachectl_conf_free(conf);
    *conf = fresh;

    /* the text of where Redis is lives in the struct: moved with it */
    if (fresh.redis == fresh.redis_desc) {
        conf->redis = conf->redis_desc;
    }

    return CACHECTL_EXIT_OK;
}


void
cachectl_conf_free(cachectl_conf_t *conf)
{
    while (conf->nowned) {
        free(conf->owned[--conf->nowned]);
    }
}


static const cachectl_opt_t *
cachectl_conf_find(const char *name, size_t len, char short_name)
{
    const cachectl_opt_t  *o;

    for (o = cachectl_opts; o->name; o++) {
        if (short_name ? o->short_name == short_name
                       : (strlen(o->name) == len
                          && strncmp(o->name, name, len) == 0))
        {
            return o;
        }
    }

    return NULL;
}


/*
 * apply 0: only -c; apply 1: every option, and the positional arguments.
 * "--name=value" and "--name value" both work; "--" ends the options.
 */

static int
cachectl_conf_argv_pass(cachectl_conf_t *conf, int apply)
{
    int                    i, options;
    size_t                 len;
    const char            *arg, *eq, *value;
    const cachectl_opt_t  *o;

    conf->nargs = 0;
    options = 1;

    for (i = 1; i < cachectl_conf_argc; i++) {
        arg = cachectl_conf_argv[i];

        if (!options || arg[0] != '-' || arg[1] == '\0') {
            goto positional;
        }

        if (strcmp(arg, "--") == 0) {
            options = 0;
            continue;
        }

        if (arg[1] != '-') {
            if (arg[2] != '\0') {
                goto positional;        /* e.g. "-h" handled by the caller */
            }

            o = cachectl_conf_find(NULL, 0, arg[1]);
            eq = NULL;

        } else {
            eq = strchr(arg + 2, '=');
            len = eq ? (size_t) (eq - arg - 2) : strlen(arg + 2);
            o = cachectl_conf_find(arg + 2, len, 0);
        }

        if (o == NULL) {
            if (arg[1] == '-' && strcmp(arg, "--help") != 0
                && strcmp(arg, "--version") != 0)
            {
                return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                          "unknown option \"%s\"", arg);
            }

            goto positional;
        }

        value = NULL;

        /* "--force=no" must not force */
        if (o->type == CACHECTL_OPT_FLAG && eq != NULL) {
            return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                      "option --%s takes no value",
                                      o->name);
        }

        if (o->type != CACHECTL_OPT_FLAG) {
            if (eq != NULL) {
                value = eq + 1;

            } else if (i + 1 < cachectl_conf_argc) {
                value = cachectl_conf_argv[++i];

            } else {
                return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                          "option %s needs a value", arg);
            }
        }

        if (apply || o->offset == O(file)) {
            if (cachectl_conf_set(conf, o, value, 0) != CACHECTL_EXIT_OK) {
                return CACHECTL_EXIT_USAGE;
            }
        }

        continue;

    positional:

        if (conf->nargs == CACHECTL_ARGS_MAX) {
            return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                      "too many arguments");
        }

        conf->args[conf->nargs++] = arg;
    }

    return CACHECTL_EXIT_OK;
}


static int
cachectl_conf_set(cachectl_conf_t *conf, const cachectl_opt_t *o,
    const char *value, int from_file)
{
    char         *end;
    long          n;
    const char  **s;

    switch (o->type) {

    case CACHECTL_OPT_FLAG:
        *(int *) ((char *) conf + o->offset) = 1;
        return CACHECTL_EXIT_OK;

    case CACHECTL_OPT_STR:
        s = (const char **) ((char *) conf + o->offset);
        *s = value;

        /* where Redis is: the command line's way replaces the file's */
        if (o->offset == O(redis)) {
            conf->redis_from = from_file ? 1 : 2;

        } else if (o->offset == O(redis_sentinel)) {
            conf->sentinel_from = from_file ? 1 : 2;

        } else if (o->offset == O(redis_cluster)) {
            conf->cluster_from = from_file ? 1 : 2;

        } else if (o->offset == O(redis_master)) {
            conf->master_from = from_file ? 1 : 2;

        } else if (o->offset == O(sentinel_password_file)) {
            conf->spass_from = from_file ? 1 : 2;
        }

        return CACHECTL_EXIT_OK;

    case CACHECTL_OPT_VIEWS:
        /* --views on the command line replaces the file's list */
        if (!from_file && !conf->views_cli) {
            conf->nviews = 0;
            conf->views_cli = 1;
        }

        if (conf->nviews == CACHECTL_VIEWS_MAX) {
            return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                      "more than %d views directories",
                                      CACHECTL_VIEWS_MAX);
        }

        conf->views[conf->nviews++] = value;
        return CACHECTL_EXIT_OK;

    default: /* CACHECTL_OPT_INT */
        errno = 0;
        n = strtol(value, &end, 10);

        if (errno == 0 && end != value && *end == '\0'
            && (n < 0 || n > 1000000000))
        {
            return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                      "%s: %s is out of range (0 to "
                                      "1000000000)", o->name, value);
        }

        if (errno || end == value || *end != '\0') {
            return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                      "%s: \"%s\" is not a number",
                                      o->name, value);
        }

        if (o->offset == O(max_delete_pct) && !from_file) {
            conf->max_delete_cli = 1;
        }

        if (o->offset == O(db)) {
            conf->db = (int) n;

        } else {
            *(long *) ((char *) conf + o->offset) = n;
        }

        return CACHECTL_EXIT_OK;
    }
}


static char *
cachectl_conf_trim(char *s)
{
    char  *end;

    while (*s == ' ' || *s == '\t') {
        s++;
    }

    end = s + strlen(s);

    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'
                       || end[-1] == '\r'))
    {
        *--end = '\0';
    }

    return s;
}


static int
cachectl_conf_file(cachectl_conf_t *conf, const char *file)
{
    int                    fd, err;
    FILE                  *f;
    char                   line[4096], *key, *value, *eq, *copy;
    size_t                 len;
    unsigned               n;
    struct stat            st;
    const cachectl_opt_t  *o;

    /* O_NONBLOCK: a FIFO in its place must not hang the start (or HUP) */
    fd = open(file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    f = fd == -1 ? NULL : fdopen(fd, "r");

    if (f == NULL) {
        err = errno;

        if (fd != -1) {
            close(fd);
        }

        return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL, "%s: %s", file,
                                  strerror(err));
    }

    /*
     * The file names the Redis server and the password file: whoever may
     * rewrite it may send the password to a server of theirs (ssh refuses
     * its config in that case too). It holds no secret itself, so being
     * readable by all is fine.
     */
    /* a directory opens, then reads as an empty file: no settings at all */
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                  "%s: not a regular file", file);
    }

    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        fclose(f);
        return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                  "%s: writable by group or others (mode "
                                  "%04o): it says where the password goes; "
                                  "run \"chmod go-w %s\"", file,
                                  (unsigned) (st.st_mode & 07777), file);
    }

    for (n = 1; fgets(line, sizeof(line), f) != NULL; n++) {
        key = cachectl_conf_trim(line);

        if (*key == '\0' || *key == '#') {
            continue;
        }

        eq = strchr(key, '=');
        if (eq == NULL) {
            fclose(f);
            return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                      "%s:%u: expected \"key = value\"",
                                      file, n);
        }

        *eq = '\0';
        key = cachectl_conf_trim(key);
        value = cachectl_conf_trim(eq + 1);

        o = cachectl_conf_find(key, strlen(key), 0);

        if (o == NULL || o->offset == O(file) || o->type == CACHECTL_OPT_FLAG
            || o->offset == O(user) || o->offset == O(collection))
        {
            fclose(f);

            /*
             * A secret pasted on a line of its own ("s3cret=") must not
             * reach the log: only what looks like a misspelt setting name
             * (short, lowercase letters and "-", as every name is) is
             * quoted.
             */
            len = strlen(key);

            if (len == 0 || len > 32
                || strspn(key, "abcdefghijklmnopqrstuvwxyz-") != len)
            {
                return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                          "%s:%u: unknown setting (not "
                                          "shown: not a setting name)",
                                          file, n);
            }

            return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                      "%s:%u: unknown setting \"%s\"",
                                      file, n, key);
        }

        if (conf->nowned == CACHECTL_OWNED_MAX) {
            fclose(f);
            return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                      "%s:%u: more than %d settings", file, n,
                                      CACHECTL_OWNED_MAX);
        }

        copy = strdup(value);
        if (copy == NULL) {
            fclose(f);
            return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                      "out of memory");
        }

        conf->owned[conf->nowned++] = copy;

        if (cachectl_conf_set(conf, o, copy, 1) != CACHECTL_EXIT_OK) {
            char  why[sizeof(conf->error)];

            memcpy(why, conf->error, sizeof(why));
            fclose(f);
            return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL, "%s:%u: %.400s",
                                      file, n, why);
        }
    }

    fclose(f);

    return CACHECTL_EXIT_OK;
}


static int
cachectl_conf_finish(cachectl_conf_t *conf)
{
    int          rc;
    size_t       n;

    n = strlen(conf->site_id);

    if (n == 0 || n > 64
        || strspn(conf->site_id, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != n)
    {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "invalid --site-id \"%s\": 1 to 64 letters, "
                                  "digits, \"-\" or \"_\"", conf->site_id);
    }

    if (strcmp(conf->mode, "dev") != 0 && strcmp(conf->mode, "prod") != 0) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "invalid --mode \"%s\"%s%s%s: expected "
                                  "\"dev\" or \"prod\"", conf->mode,
                                  conf->file ? " (or mode in " : "",
                                  conf->file ? conf->file : "",
                                  conf->file ? ")" : "");
    }

    snprintf(conf->ns, sizeof(conf->ns), "%s:%s:", conf->site_id,
             conf->mode);

    if (conf->settle_ms == 0 || conf->heartbeat_s == 0
        || conf->session_scan_rate == 0 || conf->session_default_ttl_s == 0
        || conf->batch_bytes == 0)
    {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "settle-ms, heartbeat, session-scan-rate, "
                                  "session-default-ttl and batch-bytes must "
                                  "be positive");
    }

    if (conf->settle_max_ms < conf->settle_ms) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "settle-max-ms (%ld) is below settle-ms "
                                  "(%ld)", conf->settle_max_ms,
                                  conf->settle_ms);
    }

    if (conf->max_delete_pct > 100) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "max-delete-share is a percentage: 0 to "
                                  "100");
    }

    rc = cachectl_conf_redis(conf);
    if (rc != CACHECTL_EXIT_OK) {
        return rc;
    }

    return cachectl_conf_groups(conf);
}


/* the key groups' prefixes: byte for byte "<ns>" outside cluster mode */

static int
cachectl_conf_groups(cachectl_conf_t *conf)
{
    int      cluster;
    size_t   n;

    cluster = conf->redis_cluster != NULL;
    n = strlen(conf->ns);

    if (cluster && !jp_rc_namespace_ok(conf->ns, n)) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "redis-cluster: the namespace \"%s\" "
                                  "holds a '{' or '}', which would break "
                                  "the hash tags of its key groups",
                                  conf->ns);
    }

    if (jp_rc_group_prefix(conf->l2, sizeof(conf->l2), conf->ns, n,
                           JP_RC_GROUP_L2, cluster) < 0
        || jp_rc_group_prefix(conf->mx, sizeof(conf->mx), conf->ns, n,
                              JP_RC_GROUP_METRICS, cluster) < 0
        || jp_rc_group_prefix(conf->sx, sizeof(conf->sx), conf->ns, n,
                              JP_RC_GROUP_SESS, cluster) < 0)
    {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "the namespace \"%s\" is too long",
                                  conf->ns);
    }

    return CACHECTL_EXIT_OK;
}


/*
 * Where Redis is: --redis (one server, 127.0.0.1:6379 when neither is
 * given) or --redis-sentinel with --redis-master, exactly one of the two
 * ways. Given both in the same place (the file, or the command line) is
 * an error; the command line's way replaces the file's.
 */

static int
cachectl_conf_redis(cachectl_conf_t *conf)
{
    int          rc;
    const char  *p;

    /*
     * redis-cluster against the other two ways: the same rules as
     * between redis and redis-sentinel (below)
     */
    if (conf->redis_cluster != NULL
        && (conf->redis != NULL || conf->redis_sentinel != NULL))
    {
        if ((conf->redis != NULL && conf->redis_from == conf->cluster_from)
            || (conf->redis_sentinel != NULL
                && conf->sentinel_from == conf->cluster_from))
        {
            return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                      "redis-cluster and %s%s: give one "
                                      "of redis, redis-sentinel and "
                                      "redis-cluster",
                                      conf->redis != NULL
                                      && conf->redis_from
                                         == conf->cluster_from
                                      ? "redis" : "redis-sentinel",
                                      conf->cluster_from == 1
                                      ? " both in the config file"
                                      : " both given");
        }

        if (conf->cluster_from == 2) {
            conf->redis = NULL;
            conf->redis_sentinel = NULL;

            if (conf->master_from == 1) {
                conf->redis_master = NULL;
            }

            if (conf->spass_from == 1) {
                conf->sentinel_password_file = NULL;
            }

        } else {
            conf->redis_cluster = NULL;
        }
    }

    if (conf->redis_cluster != NULL) {
        return cachectl_conf_cluster(conf);
    }

    if (conf->redis != NULL && conf->redis_sentinel != NULL) {
        if (conf->redis_from == conf->sentinel_from) {
            return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                      "redis and redis-sentinel%s: give "
                                      "one of the two (one server, or the "
                                      "sentinels that name the primary)",
                                      conf->redis_from == 1
                                      ? " both in the config file"
                                      : " both given");
        }

        if (conf->redis_from == 2) {
            /* the file's sentinel settings go with its way */
            conf->redis_sentinel = NULL;

            if (conf->master_from == 1) {
                conf->redis_master = NULL;
            }

            if (conf->spass_from == 1) {
                conf->sentinel_password_file = NULL;
            }

        } else {
            conf->redis = NULL;
        }
    }

    if (conf->redis_sentinel != NULL) {
        rc = cachectl_conf_sentinel(conf);
        if (rc != CACHECTL_EXIT_OK) {
            return rc;
        }

        rc = cachectl_conf_password(conf, conf->sentinel_password_file,
                                    "sentinel password file",
                                    conf->sentinel_password,
                                    sizeof(conf->sentinel_password));
        if (rc != CACHECTL_EXIT_OK) {
            return rc;
        }

        return cachectl_conf_password(conf, conf->password_file,
                                      "password file", conf->password,
                                      sizeof(conf->password));
    }

    if (conf->redis_master != NULL) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "redis-master \"%s\" without "
                                  "redis-sentinel: the master name is the "
                                  "sentinels'; give --redis-sentinel "
                                  "HOST:PORT[,HOST:PORT...] too",
                                  conf->redis_master);
    }

    if (conf->sentinel_password_file != NULL) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "sentinel-password-file without "
                                  "redis-sentinel: there is no sentinel "
                                  "to send it to");
    }

    if (conf->redis == NULL) {
        conf->redis = "127.0.0.1:6379";
    }

    p = conf->redis;

    /*
     * A URL ("redis://:secret@host:6379") would pass for HOST:PORT and its
     * password would be quoted by every error about the address: refused
     * without quoting it.
     */
    if (strstr(p, "://") != NULL
        || (strncmp(p, "unix:", 5) != 0 && strchr(p, '@') != NULL))
    {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "invalid --redis: a URL (not shown); "
                                  "expected HOST:PORT or unix:PATH, and the "
                                  "password in --password-file");
    }

    if (strncmp(p, "unix:", 5) != 0
        && (strchr(p, ':') == NULL || strrchr(p, ':')[1] == '\0'))
    {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "invalid --redis \"%s\": expected "
                                  "HOST:PORT or unix:PATH", p);
    }

    return cachectl_conf_password(conf, conf->password_file,
                                  "password file", conf->password,
                                  sizeof(conf->password));
}


/*
 * A list of HOST:PORT[,HOST:PORT...] (TCP only), at most
 * CACHECTL_SENTINELS_MAX of them: the sentinels, or the cluster's seeds
 */

static int
cachectl_conf_nodes(cachectl_conf_t *conf, const char *what, const char *p)
{
    int          n;
    long         port;
    char        *end;
    size_t       len, hlen;
    const char  *item, *colon;

    /* cachectl_redis.c keeps the list in a buffer of this size */
    if (strlen(p) >= CACHECTL_SENTINEL_LIST_MAX) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "invalid --%s: longer than %d bytes",
                                  what, CACHECTL_SENTINEL_LIST_MAX - 1);
    }

    n = 0;

    for (item = p; ; item += len + 1) {
        len = strcspn(item, ",");

        while (len && (*item == ' ' || *item == '\t')) {
            item++;
            len--;
        }

        while (len && (item[len - 1] == ' ' || item[len - 1] == '\t')) {
            len--;
        }

        colon = NULL;

        for (hlen = 0; hlen < len; hlen++) {
            if (item[hlen] == ':') {
                colon = item + hlen;
            }
        }

        hlen = colon ? (size_t) (colon - item) : 0;

        if (len == 0 || colon == NULL || hlen == 0 || hlen > 255
            || strncmp(item, "unix:", 5) == 0)
        {
            return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                      "invalid --%s \"%s\": item %d "
                                      "\"%.*s\" is not HOST:PORT (%s are "
                                      "reached over TCP)", what, p, n + 1,
                                      (int) len, item, what[6] == 's'
                                      ? "sentinels" : "cluster nodes");
        }

        errno = 0;
        port = strtol(colon + 1, &end, 10);

        if (errno || end != item + len || end == colon + 1 || port < 1
            || port > 65535 || colon[1] == '-' || colon[1] == '+'
            || colon[1] == ' ')
        {
            return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                      "invalid --%s \"%s\": item %d "
                                      "\"%.*s\": the port is not 1 to "
                                      "65535", what, p, n + 1, (int) len,
                                      item);
        }

        if (++n > CACHECTL_SENTINELS_MAX) {
            return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                      "invalid --%s: more than %d %s",
                                      what, CACHECTL_SENTINELS_MAX,
                                      what[6] == 's' ? "sentinels"
                                      : "seed nodes");
        }

        if (item[len] == '\0') {
            break;
        }
    }

    return CACHECTL_EXIT_OK;
}


/*
 * --redis-cluster HOST:PORT[,HOST:PORT...]: seed nodes, any of which
 * gives the slot map. Only database 0 exists in a cluster, and the
 * sentinel settings have nothing to do with it.
 */

static int
cachectl_conf_cluster(cachectl_conf_t *conf)
{
    int          rc;
    const char  *p;

    p = conf->redis_cluster;

    if (strstr(p, "://") != NULL || strchr(p, '@') != NULL) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "invalid --redis-cluster: a URL (not "
                                  "shown); expected HOST:PORT[,HOST:PORT"
                                  "...], and the password in "
                                  "--password-file");
    }

    rc = cachectl_conf_nodes(conf, "redis-cluster", p);
    if (rc != CACHECTL_EXIT_OK) {
        return rc;
    }

    if (conf->db != 0) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "db %d with redis-cluster: a cluster has "
                                  "only database 0", conf->db);
    }

    if (conf->redis_master != NULL) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "redis-master with redis-cluster: the "
                                  "master name is the sentinels'");
    }

    if (conf->sentinel_password_file != NULL) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "sentinel-password-file with "
                                  "redis-cluster: there is no sentinel to "
                                  "send it to");
    }

    snprintf(conf->redis_desc, sizeof(conf->redis_desc), "cluster via %s",
             p);
    conf->redis = conf->redis_desc;

    return cachectl_conf_password(conf, conf->password_file,
                                  "password file", conf->password,
                                  sizeof(conf->password));
}


/*
 * --redis-sentinel HOST:PORT[,HOST:PORT...] (TCP only: sentinels are
 * other hosts) and --redis-master NAME. conf->redis becomes a text for
 * the log and status until a primary is found.
 */

static int
cachectl_conf_sentinel(cachectl_conf_t *conf)
{
    int          rc;
    size_t       len;
    const char  *p, *name;

    p = conf->redis_sentinel;

    if (strstr(p, "://") != NULL || strchr(p, '@') != NULL) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "invalid --redis-sentinel: a URL (not "
                                  "shown); expected HOST:PORT[,HOST:PORT"
                                  "...], and the password in "
                                  "--sentinel-password-file");
    }

    rc = cachectl_conf_nodes(conf, "redis-sentinel", p);
    if (rc != CACHECTL_EXIT_OK) {
        return rc;
    }

    name = conf->redis_master;

    if (name == NULL) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "redis-sentinel without redis-master: "
                                  "give --redis-master NAME, the name the "
                                  "sentinels monitor the primary under");
    }

    len = strlen(name);

    if (len == 0 || len > 128
        || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") != len)
    {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_USAGE,
                                  "invalid --redis-master \"%.128s\": 1 to "
                                  "128 letters, digits, \"-\", \"_\", \".\" "
                                  "or \":\"", name);
    }

    snprintf(conf->redis_desc, sizeof(conf->redis_desc),
             "sentinel %s via %s", name, p);
    conf->redis = conf->redis_desc;

    return CACHECTL_EXIT_OK;
}


/*
 * The password file's first line. Refused, as ssh refuses a private key,
 * when group or others may read or write it: the password would be one
 * "cat" away from every local user, or replaceable. A symlink is followed
 * (secret stores such as Kubernetes' volumes are links into a directory of
 * versions): what matters is the mode of the file read, so the check is an
 * fstat() of the descriptor read from, not a stat() of the name.
 */

static int
cachectl_conf_password(cachectl_conf_t *conf, const char *file,
    const char *what, char *password, size_t size)
{
    int           fd;
    char          buf[sizeof(conf->password) + 1], *nl;
    ssize_t       n;
    struct stat   st;

    password[0] = '\0';

    if (file == NULL) {
        return CACHECTL_EXIT_OK;
    }

    /* O_NONBLOCK: a FIFO in its place must not hang the start */
    fd = open(file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd == -1) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                  "%s %s: %s", what, file,
                                  strerror(errno));
    }

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                  "%s %s: not a regular file", what, file);
    }

    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                  "%s %s: mode %04o lets group "
                                  "or others %s it; run \"chmod 600 %s\" "
                                  "(and give it to the user cachectl runs "
                                  "as)", what, file,
                                  (unsigned) (st.st_mode & 07777),
                                  (st.st_mode & (S_IRGRP | S_IROTH))
                                  ? "read" : "change", file);
    }

    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);

    if (n < 0) {
        return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                  "%s %s: %s", what, file,
                                  strerror(errno));
    }

    buf[n] = '\0';

    nl = strpbrk(buf, "\r\n");
    if (nl != NULL) {
        *nl = '\0';

    } else if ((size_t) n == sizeof(buf) - 1) {
        /* a cut password fails AUTH with a misleading message */
        explicit_bzero(buf, sizeof(buf));
        return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                  "%s %s: the first line is "
                                  "longer than %zu bytes", what, file,
                                  size - 1);
    }

    if (buf[0] == '\0') {
        /* no AUTH at all would be a surprise: say so */
        return cachectl_conf_fail(conf, CACHECTL_EXIT_FAIL,
                                  "%s %s: the first line is "
                                  "empty", what, file);
    }

    memcpy(password, buf, strlen(buf) + 1);
    explicit_bzero(buf, sizeof(buf));

    return CACHECTL_EXIT_OK;
}
