/*
 * The ops commands (see cachectl_cli.h).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "jp_identity.h"
#include "jp_registry.h"
#include "jp_version.h"
#include "cachectl_cli.h"
#include "cachectl_cluster.h"
#include "cachectl_lease.h"
#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_sync.h"


static redisContext *
cachectl_cli_connect(cachectl_conf_t *conf)
{
    char           err[1024], esc[2048];
    size_t         len;
    redisContext  *c;

    c = cachectl_redis_connect(conf, err, sizeof(err));

    if (c == NULL) {
        /* a sentinel's or a server's text: no terminal escapes */
        len = 0;
        esc[0] = '\0';
        cachectl_cli_esc(esc, sizeof(esc), &len, err);
        fprintf(stderr, "cachectl: %s\n", esc);
    }

    return c;
}


int
cachectl_cli_replicated(cachectl_conf_t *conf, redisContext *c, int rc)
{
    char    err[512], esc[1024];
    size_t  len;

    if (cachectl_redis_replicated(conf, c, err, sizeof(err)) == 0) {
        return rc;
    }

    len = 0;
    esc[0] = '\0';
    cachectl_cli_esc(esc, sizeof(esc), &len, err);
    fprintf(stderr, "cachectl: %s\n", esc);

    return rc == CACHECTL_EXIT_OK || rc == CACHECTL_EXIT_EVENT
           ? CACHECTL_EXIT_UNREPLICATED : rc;
}


static void
cachectl_print_json(json_t *j)
{
    char  *text;

    text = json_dumps(j, JSON_COMPACT);
    printf("%s\n", text ? text : "null");
    free(text);
}


/*
 * A string from Redis or the disk on one line of output: a file name
 * with a newline must not forge a line of its own (nor a terminal escape
 * reach the terminal). Appends to buf at *len, as much as fits.
 */

void
cachectl_cli_esc(char *buf, size_t size, size_t *len, const char *s)
{
    char                  tmp[8];
    size_t                n;
    const unsigned char  *p;

    for (p = (const unsigned char *) s; p && *p; p++) {
        if (*p == '\\' || *p == '\n' || *p == '\t') {
            snprintf(tmp, sizeof(tmp), "\\%c",
                     *p == '\n' ? 'n' : *p == '\t' ? 't' : '\\');

        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", *p);

        } else {
            tmp[0] = (char) *p;
            tmp[1] = '\0';
        }

        n = strlen(tmp);

        if (*len + n >= size) {
            break;
        }

        memcpy(buf + *len, tmp, n + 1);
        *len += n;
    }
}


static void
cachectl_cli_put(const char *s)
{
    char    buf[8], one[2];
    size_t  len;

    one[1] = '\0';

    for ( /* void */ ; s != NULL && *s; s++) {
        one[0] = *s;
        len = 0;
        buf[0] = '\0';
        cachectl_cli_esc(buf, sizeof(buf), &len, one);
        fputs(buf, stdout);
    }
}


/* a string of a record, escaped into buf, for a column of a table */

static const char *
cachectl_cli_str(char *buf, size_t size, json_t *v)
{
    size_t  len;

    len = 0;
    buf[0] = '\0';
    cachectl_cli_esc(buf, size, &len,
                     json_string_value(v) ? json_string_value(v) : "?");

    return buf;
}


/*
 * The live members of the instance registry (docs/protocol.md, "The
 * instance registry") and, MGET at once, the JSON at <ns><prefix><id> of
 * each: a bounded number of commands however many keys the namespace
 * holds, where a SCAN would take keys/1000 round trips. An id whose key
 * is gone (or is not JSON, or is an nginx instance's when prefix is the
 * daemons' status records) is left out. *nlive receives the number of
 * live ids. NULL on failure, said on stderr.
 */

static json_t *
cachectl_cli_registry(redisContext *c, cachectl_conf_t *conf,
    const char *prefix, int with_ttl, size_t *nlive)
{
    char         err[512], *key;
    size_t       i, n, *lens, size, len;
    json_t      *all, *j;
    redisReply  *ids, *vals, *t;
    const char **argv;

    static const char  live[] = JP_REGISTRY_LUA_LIVE;

    *nlive = 0;

    ids = cachectl_redis_cmd(c, err, sizeof(err), "EVAL %s 1 %s"
                             JP_REGISTRY_KEY " %d", live, conf->mx,
                             JP_REGISTRY_MAX);

    if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "cachectl: the instance registry: %s\n",
                ids == NULL ? err
                : ids->type == REDIS_REPLY_ERROR ? ids->str
                : "unexpected reply");
        if (ids) {
            freeReplyObject(ids);
        }
        return NULL;
    }

    all = json_array();
    n = ids->elements;
    *nlive = n;

    if (all == NULL || n == 0) {
        freeReplyObject(ids);
        return all;
    }

    argv = calloc(n + 1, sizeof(char *));
    lens = calloc(n + 1, sizeof(size_t));

    if (argv == NULL || lens == NULL) {
        goto nomem;
    }

    argv[0] = "MGET";
    lens[0] = 4;

    for (i = 0; i < n; i++) {
        size = strlen(conf->mx) + strlen(prefix) + ids->element[i]->len + 1;
        key = malloc(size);
        if (key == NULL) {
            goto nomem;
        }

        /* the id as Redis holds it, a NUL in it included */
        len = strlen(conf->mx);
        memcpy(key, conf->mx, len);
        memcpy(key + len, prefix, strlen(prefix));
        len += strlen(prefix);
        memcpy(key + len, ids->element[i]->str, ids->element[i]->len);
        key[size - 1] = '\0';

        argv[i + 1] = key;
        lens[i + 1] = size - 1;
    }

    vals = cachectl_redis_argv(c, err, sizeof(err), (int) n + 1, argv, lens);

    if (vals == NULL || vals->type != REDIS_REPLY_ARRAY
        || vals->elements != n)
    {
        fprintf(stderr, "cachectl: MGET: %s\n",
                vals == NULL ? err
                : vals->type == REDIS_REPLY_ERROR ? vals->str
                : "unexpected reply");
        if (vals) {
            freeReplyObject(vals);
        }
        goto failed;
    }

    /* the TTLs in one round trip too */
    for (i = 0; with_ttl && i < n; i++) {
        cachectl_redis_append(c, "TTL %b", argv[i + 1], lens[i + 1]);
    }

    for (i = 0; i < n; i++) {
        t = NULL;

        if (with_ttl && cachectl_redis_reply(c, (void **) &t) != REDIS_OK) {
            fprintf(stderr, "cachectl: TTL: %s\n", cachectl_redis_errstr(c));
            freeReplyObject(vals);
            goto failed;
        }

        j = vals->element[i]->type == REDIS_REPLY_STRING
            ? json_loadb(vals->element[i]->str, vals->element[i]->len, 0,
                         NULL)
            : NULL;

        if (json_is_object(j)) {
            if (t != NULL && t->type == REDIS_REPLY_INTEGER) {
                json_object_set_new(j, "_ttl", json_integer(t->integer));
            }

            json_array_append_new(all, j);

        } else {
            json_decref(j);
        }

        if (t) {
            freeReplyObject(t);
        }
    }

    freeReplyObject(vals);

    for (i = 1; i <= n; i++) {
        free((char *) argv[i]);
    }

    free(argv);
    free(lens);
    freeReplyObject(ids);

    return all;

nomem:

    fprintf(stderr, "cachectl: out of memory\n");

failed:

    for (i = 1; argv && i <= n; i++) {
        free((char *) argv[i]);
    }

    free(argv);
    free(lens);
    freeReplyObject(ids);
    json_decref(all);

    return NULL;
}


/*
 * "ID on HOST (views A, B)" for the daemon id, from its status record;
 * the lease of a one-shot `sync` or of a daemon that stopped has none.
 */

static void
cachectl_cli_who(redisContext *c, cachectl_conf_t *conf, const char *id,
    char *buf, size_t size)
{
    char         err[256];
    size_t       i, len;
    json_t      *j, *v;
    redisReply  *r;

    j = NULL;

    r = cachectl_redis_cmd(c, err, sizeof(err), "GET %scachectl:status:%s",
                           conf->mx, id);

    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        j = json_loadb(r->str, r->len, 0, NULL);
    }

    if (r) {
        freeReplyObject(r);
    }

    if (!json_is_object(j)) {
        len = 0;
        buf[0] = '\0';
        cachectl_cli_esc(buf, size, &len, id);
        cachectl_cli_esc(buf, size, &len, " (no status record: a one-shot "
                         "sync, or a daemon that stopped heartbeating)");
        json_decref(j);
        return;
    }

    len = 0;
    buf[0] = '\0';
    cachectl_cli_esc(buf, size, &len, id);
    cachectl_cli_esc(buf, size, &len, " on ");
    cachectl_cli_esc(buf, size, &len,
                     json_string_value(json_object_get(j, "hostname"))
                     ? json_string_value(json_object_get(j, "hostname"))
                     : "?");

    json_array_foreach(json_object_get(j, "views"), i, v) {
        cachectl_cli_esc(buf, size, &len, i == 0 ? " (views " : ", ");
        cachectl_cli_esc(buf, size, &len, json_string_value(v));
    }

    if (json_array_size(json_object_get(j, "views"))) {
        cachectl_cli_esc(buf, size, &len, ")");
    }

    json_decref(j);
}


/* null, "", [] or {}: nothing to say, so nothing printed */

static int
cachectl_cli_empty(json_t *v)
{
    return v == NULL || json_is_null(v)
           || (json_is_string(v) && json_string_length(v) == 0)
           || (json_is_array(v) && json_array_size(v) == 0)
           || (json_is_object(v) && json_object_size(v) == 0);
}


/* one value of a status record, for people */

static void
cachectl_cli_value(const char *key, json_t *v)
{
    char         when[32], *text;
    time_t       t;
    size_t       len;
    json_int_t   n;
    const char  *k;
    json_t      *e;
    size_t       i;

    switch (json_typeof(v)) {

    case JSON_STRING:
        cachectl_cli_put(json_string_value(v));
        break;

    case JSON_INTEGER:
        n = json_integer_value(v);
        len = strlen(key);

        /* ms timestamps: "startedAt", "since", "lastSync"... */
        if (n > 1000000000000LL
            && ((len > 2 && strcmp(key + len - 2, "At") == 0)
                || strncmp(key, "last", 4) == 0 || strcmp(key, "since") == 0))
        {
            t = (time_t) (n / 1000);
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
            printf("%s", when);

        } else {
            printf("%lld", (long long) n);
        }

        break;

    case JSON_TRUE:
        printf("yes");
        break;

    case JSON_FALSE:
        printf("no");
        break;

    case JSON_NULL:
        printf("-");
        break;

    case JSON_OBJECT:
        i = 0;

        json_object_foreach(v, k, e) {
            if (cachectl_cli_empty(e)) {
                continue;
            }

            printf("%s", i++ ? " " : "");
            cachectl_cli_put(k);
            printf("=");

            if (json_is_object(e) || json_is_array(e)) {
                text = json_dumps(e, JSON_COMPACT);
                cachectl_cli_put(text);
                free(text);

            } else {
                cachectl_cli_value(k, e);
            }
        }

        break;

    default:
        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        cachectl_cli_put(text);
        free(text);
        break;
    }
}


/*
 * What a status record holds beyond the fields shown above it: printed
 * as it comes (lease, degraded watches, errors, held deletions, a deploy
 * marker waiting...), so that a field the daemon adds is seen without a
 * new CLI. Arrays: one line per element, at most 20.
 */

#define CACHECTL_CLI_LIST_MAX  20

static void
cachectl_cli_fields(json_t *d)
{
    size_t       i;
    json_t      *v, *e;
    const char  *k;

    static const char  *shown[] = {
        "instanceId", "hostname", "lastSync", "refused", "stats", "views",
        "state", "message", NULL
    };

    json_object_foreach(d, k, v) {
        for (i = 0; shown[i]; i++) {
            if (strcmp(k, shown[i]) == 0) {
                break;
            }
        }

        if (shown[i] != NULL || k[0] == '_' || cachectl_cli_empty(v)) {
            continue;
        }

        /* the State line said it already */
        if (strcmp(k, "error") == 0 && json_equal(v, json_object_get(d,
                                                               "message")))
        {
            continue;
        }

        if (!json_is_array(v)) {
            printf("           ");
            cachectl_cli_put(k);
            printf(": ");
            cachectl_cli_value(k, v);
            printf("\n");
            continue;
        }

        json_array_foreach(v, i, e) {
            printf("           ");
            cachectl_cli_put(k);

            if (i == CACHECTL_CLI_LIST_MAX) {
                printf(": ... %zu more (--json lists them)\n",
                       json_array_size(v) - i);
                break;
            }

            printf(": ");
            cachectl_cli_value(k, e);
            printf("\n");
        }
    }
}


int
cachectl_status(cachectl_conf_t *conf)
{
    int            rc, lease, refusing;
    char           err[1024], when[32], holder[JP_INSTANCE_ID_MAX],
                   who[1024], where[1024];
    char           esc[2 * sizeof(err)];
    size_t         i, j, nlive, elen;
    unsigned       primaries;
    json_t        *out, *gen, *daemons, *d, *ref, *s, *v;
    time_t         t;
    long long      pttl;
    const char    *k, *address, *primary, *via;
    redisReply    *r;
    redisContext  *c;

    if (conf->nargs != 1) {
        fprintf(stderr, "Usage: cachectl status [--json]\n");
        return CACHECTL_EXIT_USAGE;
    }

    c = cachectl_redis_connect(conf, err, sizeof(err));

    if (c == NULL) {
        /* MISCONF (a failed save, stop-writes-on-bgsave-error) refuses
         * even PING: Redis is there, it takes no writes */
        refusing = strstr(err, "MISCONF") != NULL;

        if (conf->json) {
            /* the address may hold a quote (unix:PATH): encoded */
            /* with the sentinels, "detail": each sentinel's answer */
            out = conf->redis_sentinel == NULL ? NULL
                  : json_pack("{s:{s:b, s:s, s:s, s:s}}", "redis",
                              "reachable", 0, "address", conf->redis,
                              "error", refusing ? "refuses writes"
                                                : "unreachable",
                              "detail", err);
            if (out == NULL) {
                /* one server, or not UTF-8 (a sentinel's raw text) */
                out = json_pack("{s:{s:b, s:s, s:s}}", "redis",
                                "reachable", 0, "address", conf->redis,
                                "error", refusing ? "refuses writes"
                                                  : "unreachable");
            }
            cachectl_print_json(out);
            json_decref(out);

        } else {
            /* a sentinel's or a server's text: no terminal escapes */
            elen = 0;
            esc[0] = '\0';
            cachectl_cli_esc(esc, sizeof(esc), &elen, err);
            printf("Redis      %s: %s (%s)\n", conf->redis,
                   refusing ? "answers but refuses writes" : "unreachable",
                   esc);
        }
        return CACHECTL_EXIT_FAIL;
    }

    gen = json_object();

    r = cachectl_redis_command(c, "HGETALL %sgen", conf->l2);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i + 1 < r->elements; i += 2) {
            json_object_set_new(gen, r->element[i]->str,
                                json_integer(atoll(r->element[i + 1]->str)));
        }
    }
    if (r) {
        freeReplyObject(r);
    }

    /* through the sentinels: the primary they named, and who named it */
    address = conf->redis;
    primary = cachectl_redis_primary(&via, NULL);

    if (conf->redis_sentinel != NULL && primary != NULL) {
        snprintf(where, sizeof(where), "%s (primary of %s, found via "
                 "sentinel %s)", primary, conf->redis_master, via);
        address = primary;

    } else if (conf->redis_cluster != NULL
               && cachectl_cluster_home(&primaries) != NULL)
    {
        snprintf(where, sizeof(where), "%s (l2 group on %s, %u primaries)",
                 conf->redis, cachectl_cluster_home(NULL), primaries);

    } else {
        snprintf(where, sizeof(where), "%s", conf->redis);
    }

    r = cachectl_redis_command(c, "HLEN %stplindex", conf->l2);
    out = json_pack("{s:{s:b, s:s}, s:s, s:O, s:I}",
                    "redis", "reachable", 1, "address", address,
                    "namespace", conf->ns, "generations", gen,
                    "filesInRedis",
                    (json_int_t) (r && r->type == REDIS_REPLY_INTEGER
                                  ? r->integer : 0));
    if (r) {
        freeReplyObject(r);
    }

    if (out == NULL) {
        fprintf(stderr, "cachectl: out of memory\n");
        json_decref(gen);
        redisFree(c);
        return CACHECTL_EXIT_FAIL;
    }

    if (conf->redis_cluster != NULL) {
        primary = cachectl_cluster_home(&primaries);
        json_object_set_new(json_object_get(out, "redis"), "cluster",
                            json_pack("{s:s?, s:I, s:s}", "l2Primary",
                                      primary, "primaries",
                                      (json_int_t) primaries, "nodes",
                                      cachectl_cluster_describe()));
    }

    if (conf->redis_sentinel != NULL) {
        json_object_set_new(json_object_get(out, "redis"), "sentinel",
                            json_pack("{s:s, s:s}", "master",
                                      conf->redis_master, "via", via));
    }

    pttl = 0;
    lease = cachectl_lease_holder(c, conf, holder, sizeof(holder), &pttl,
                                  err, sizeof(err));

    json_object_set_new(out, "lease",
                        lease == 1 ? json_pack("{s:s, s:I}", "holder",
                                               holder, "ttlMs",
                                               (json_int_t) pttl)
                        : lease == 0 ? json_null()
                        : json_pack("{s:s}", "error", err));

    daemons = cachectl_cli_registry(c, conf, "cachectl:status:", 0, &nlive);

    json_object_set_new(out, "daemons", daemons ? daemons : json_array());
    json_object_set_new(out, "instances", json_integer((json_int_t) nlive));

    rc = (daemons == NULL || json_array_size(daemons) == 0)
         ? CACHECTL_EXIT_FAIL : CACHECTL_EXIT_OK;

    if (conf->json) {
        cachectl_print_json(out);
        goto done;
    }

    printf("Redis      %s: reachable, namespace \"%s\"\n", where,
           conf->ns);
    printf("Generation view %lld, config %lld, i18n %lld\n",
           (long long) json_integer_value(json_object_get(gen, "view")),
           (long long) json_integer_value(json_object_get(gen, "config")),
           (long long) json_integer_value(json_object_get(gen, "i18n")));
    printf("Files      %lld in Redis\n", (long long) json_integer_value(
               json_object_get(out, "filesInRedis")));
    printf("Instances  %zu seen (cachectl instances lists them)\n", nlive);

    if (lease == 1) {
        cachectl_cli_who(c, conf, holder, who, sizeof(who));
        printf("Lease      %s publishes, %lld s left\n", who,
               (pttl + 999) / 1000);

    } else if (lease == 0) {
        printf("Lease      free: no daemon publishes the view tree\n");

    } else {
        printf("Lease      unknown: %s\n", err);
    }

    if (daemons == NULL || json_array_size(daemons) == 0) {
        printf("Daemon     none running for this namespace\n");
    }

    json_array_foreach(daemons, i, d) {
        t = (time_t) (json_integer_value(json_object_get(d, "lastSync"))
                      / 1000);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        s = json_object_get(d, "stats");

        printf("Daemon     ");
        cachectl_cli_put(json_string_value(json_object_get(d, "instanceId")));
        printf(" on ");
        cachectl_cli_put(json_string_value(json_object_get(d, "hostname")));
        printf(": %lld files tracked, last sync %s\n",
               (long long) json_integer_value(json_object_get(s,
                                                              "filesTracked")),
               json_integer_value(json_object_get(d, "lastSync"))
               ? when : "never");

        /* the daemon's own word for its state, and its sentence */
        k = json_string_value(json_object_get(d, "state"));
        v = json_object_get(d, "message");

        if (k != NULL || !cachectl_cli_empty(v)) {
            printf("State      ");

            if (cachectl_cli_empty(v)) {
                cachectl_cli_put(k);

            } else if (k == NULL
                       || strncmp(json_string_value(v) ? json_string_value(v)
                                                       : "",
                                  k, strlen(k)) == 0)
            {
                cachectl_cli_value("message", v);

            } else {
                cachectl_cli_put(k);
                printf(": ");
                cachectl_cli_value("message", v);
            }

            printf("\n");
        }

        k = json_string_value(json_object_get(d, "instanceId"));

        if (lease == 1) {
            printf("Role       %s\n",
                   k != NULL && strcmp(holder, k) == 0
                   ? "publisher (holds the lease)"
                   : "standby (another holds the lease)");

        } else if (lease == 0) {
            printf("Role       none: the lease is free\n");
        }

        json_array_foreach(json_object_get(d, "views"), j, v) {
            printf("%s", j ? ", " : "Views      ");
            cachectl_cli_put(json_string_value(v));
        }

        if (json_array_size(json_object_get(d, "views"))) {
            printf("\n");
        }

        j = 0;

        json_object_foreach(s, k, v) {
            if (strcmp(k, "sessions") != 0 && strcmp(k, "filesTracked") != 0
                && !cachectl_cli_empty(v))
            {
                printf("%s", j++ ? ", " : "Counters   ");
                cachectl_cli_put(k);
                printf(": ");
                cachectl_cli_value(k, v);
            }
        }

        if (j) {
            printf("\n");
        }

        s = json_object_get(s, "sessions");
        printf("Sessions   %lld live, %lld given a TTL, %lld removed at "
               "the age limit, %lld indexed\n",
               (long long) json_integer_value(json_object_get(s, "live")),
               (long long) json_integer_value(json_object_get(s, "ttlSet")),
               (long long) json_integer_value(json_object_get(s, "expired")),
               (long long) json_integer_value(json_object_get(s,
                                                              "indexed")));

        /* and whatever else the upkeep counts */
        j = 0;

        json_object_foreach(s, k, v) {
            if (strcmp(k, "live") != 0 && strcmp(k, "ttlSet") != 0
                && strcmp(k, "expired") != 0 && strcmp(k, "indexed") != 0
                && !cachectl_cli_empty(v))
            {
                printf("%s", j++ ? ", " : "Upkeep     ");
                cachectl_cli_put(k);
                printf(": ");
                cachectl_cli_value(k, v);
            }
        }

        if (j) {
            printf("\n");
        }

        ref = json_object_get(d, "refused");

        if (json_array_size(ref) == 0) {
            printf("Refused    none\n");
        }

        json_array_foreach(ref, j, s) {
            printf("Refused    ");
            cachectl_cli_put(json_string_value(json_object_get(s, "error")));
            printf("\n");
        }

        /* published, with jPulse's error comment in the page */
        json_array_foreach(json_object_get(d, "warnings"), j, s) {
            printf("Warning    ");
            cachectl_cli_put(json_string_value(json_object_get(s,
                                                               "warning")));
            printf("\n");
        }

        cachectl_cli_fields(d);
    }

done:

    json_decref(gen);
    json_decref(out);
    redisFree(c);

    return rc;
}


/* a batch's changes: "write view home/index.shtml", one a line */

static void
cachectl_cli_changes(json_t *changes, const char *only)
{
    size_t       i;
    json_t      *e;
    const char  *op;

    json_array_foreach(changes, i, e) {
        op = json_string_value(json_object_get(e, "op"));

        if (op == NULL || (only != NULL && strcmp(op, only) != 0)) {
            continue;
        }

        printf("%-6s %-6s ", op,
               json_string_value(json_object_get(e, "kind"))
               ? json_string_value(json_object_get(e, "kind")) : "?");
        cachectl_cli_put(json_string_value(json_object_get(e, "path")));
        printf("\n");
    }
}


/*
 * Whether this run may publish: a daemon holding the namespace's lease
 * (docs/protocol.md, "<ns>cachectl:lease") publishes its own view roots,
 * and a sync with other roots would undo its work (issue 11: one root's
 * sync deleted the other root's pages). The holder is read first (a read
 * works even when Redis is out of memory); a run that writes then takes
 * the free lease, so that a daemon starting meanwhile waits. When Redis
 * will not let us take it (out of memory, scripts forbidden), nobody held
 * it a moment ago: the run goes on, and *unleased says why. *owned says
 * whether we took it. 0, or the exit code.
 */

#define CACHECTL_CLI_LEASE_MS  60000

static int
cachectl_cli_lease(redisContext *c, cachectl_conf_t *conf, const char *id,
    int *owned, char *unleased, size_t usize)
{
    int        rc;
    char       err[512], holder[JP_INSTANCE_ID_MAX], who[1024];
    long long  pttl;

    *owned = 0;
    unleased[0] = '\0';
    pttl = 0;

    rc = cachectl_lease_holder(c, conf, holder, sizeof(holder), &pttl, err,
                               sizeof(err));

    if (rc == 0 && !conf->dry_run) {
        rc = cachectl_lease_acquire(c, conf, id, CACHECTL_CLI_LEASE_MS,
                                    holder, sizeof(holder), err,
                                    sizeof(err));

        if (rc == CACHECTL_LEASE_OURS) {
            *owned = 1;
            return 0;
        }

        if (rc == CACHECTL_LEASE_ERROR) {
            snprintf(unleased, usize, "%s", err);
            return 0;
        }

        /* CACHECTL_LEASE_OTHER: a daemon took it meanwhile, said below */
        rc = rc == CACHECTL_LEASE_OTHER ? 1 : rc;
    }

    if (rc == 0) {
        return 0;
    }

    if (rc == CACHECTL_LEASE_FAILED) {
        fprintf(stderr, "cachectl sync: %s\n", err);
        return CACHECTL_EXIT_FAIL;
    }

    if (rc == CACHECTL_LEASE_ERROR) {
        if (conf->force || conf->dry_run) {
            fprintf(stderr, "cachectl sync: cannot tell whether a daemon "
                    "publishes (%s): going on%s\n", err,
                    conf->dry_run ? "" : " (--force)");
            return 0;
        }

        fprintf(stderr, "cachectl sync: cannot tell whether a daemon "
                "publishes (%s): refused; --force publishes anyway\n", err);
        return CACHECTL_EXIT_FAIL;
    }

    cachectl_cli_who(c, conf, holder, who, sizeof(who));

    if (conf->dry_run) {
        fprintf(stderr, "cachectl sync: note: %s holds %scachectl:lease: "
                "without --dry-run, sync refuses to publish (unless "
                "--force)\n", who, conf->ns);
        return 0;
    }

    if (conf->force) {
        fprintf(stderr, "cachectl sync: %s holds %scachectl:lease: "
                "publishing anyway (--force)\n", who, conf->ns);
        return 0;
    }

    fprintf(stderr, "cachectl sync: refused: %s publishes this namespace "
            "(it holds %scachectl:lease); a second writer would undo its "
            "work: let the daemon publish, stop it, or use --force\n", who,
            conf->ns);

    return CACHECTL_EXIT_FAIL;
}


/*
 * A one-shot run is given its paths by hand: a typo must fail (exit 1),
 * not publish nothing and exit 0 as the daemon rightly does while a root
 * is being swapped.
 */

static int
cachectl_cli_path(const char *what, const char *path, int dir)
{
    struct stat  st;

    if (path == NULL) {
        return 0;
    }

    if (stat(path, &st) != 0) {
        fprintf(stderr, "cachectl sync: %s \"%s\": %s\n", what, path,
                strerror(errno));
        return -1;
    }

    if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
        fprintf(stderr, "cachectl sync: %s \"%s\": not a %s\n", what, path,
                dir ? "directory" : "regular file");
        return -1;
    }

    return 0;
}


/*
 * One batch from the command line: what the daemon would publish now.
 * Without --force it deletes nothing (the publisher holds every deletion:
 * a sync given one root must not delete another root's pages); with
 * --dry-run it writes nothing and lists what it would do.
 */

int
cachectl_sync(cachectl_conf_t *conf)
{
    int               rc, owned;
    char              err[512], host[256], unleased[512];
    size_t            i;
    json_t           *v, *held, *st;
    const char       *walk;
    redisContext     *c;
    cachectl_sync_t   s;
    cachectl_batch_t  b;

    if (conf->nargs != 1) {
        fprintf(stderr, "Usage: cachectl sync --views DIR [--views DIR ...] "
                "[--app-config F] [--i18n DIR] [--dry-run] [--force] "
                "[--max-delete-share PCT]\n");
        return CACHECTL_EXIT_USAGE;
    }

    if (conf->nviews == 0 && conf->app_config == NULL && conf->i18n == NULL) {
        fprintf(stderr, "cachectl sync: nothing to publish: give --views, "
                "--app-config or --i18n\n");
        return CACHECTL_EXIT_USAGE;
    }

    for (i = 0; i < (size_t) conf->nviews; i++) {
        if (cachectl_cli_path("views", conf->views[i], 1) != 0) {
            return CACHECTL_EXIT_FAIL;
        }
    }

    if (cachectl_cli_path("i18n", conf->i18n, 1) != 0
        || cachectl_cli_path("app-config", conf->app_config, 0) != 0
        || cachectl_cli_path("site-config", conf->site_config, 0) != 0)
    {
        return CACHECTL_EXIT_FAIL;
    }

    c = cachectl_cli_connect(conf);
    if (c == NULL) {
        return CACHECTL_EXIT_FAIL;
    }

    if (cachectl_sync_init(&s, conf) != 0) {
        redisFree(c);
        return CACHECTL_EXIT_FAIL;
    }

    if (gethostname(host, sizeof(host) - 1) != 0) {
        snprintf(host, sizeof(host), "localhost");
    }

    host[sizeof(host) - 1] = '\0';

    jp_instance_id(s.instance_id, sizeof(s.instance_id),
                   jp_server_id(host, strlen(host)), JP_PM2ID_CACHECTL,
                   (long) getpid());

    rc = cachectl_cli_lease(c, conf, s.instance_id, &owned, unleased,
                            sizeof(unleased));
    if (rc != 0) {
        cachectl_sync_free(&s);
        redisFree(c);
        return rc;
    }

    /* holding the lease: write only while it is still ours */
    if (owned) {
        snprintf(s.lease_id, sizeof(s.lease_id), "%s", s.instance_id);
    }

    /*
     * Given a root or two, sync cannot tell a page that left the tree from
     * one of a root it was not given: it deletes nothing, unless told to
     * (--force), or told how much (--max-delete-share on its command line,
     * the daemon's guard; not the config file's, which is the daemon's).
     */
    if (!conf->force && !conf->max_delete_cli) {
        conf->max_delete_pct = 0;
    }

    st = NULL;
    memset(&b, 0, sizeof(cachectl_batch_t));
    b.changes = json_array();

    if (b.changes == NULL) {
        fprintf(stderr, "cachectl sync: out of memory\n");
        rc = CACHECTL_EXIT_FAIL;
        goto done;
    }

    if (cachectl_sync_run(&s, c, NULL, &b, err, sizeof(err)) != 0) {
        fprintf(stderr, "cachectl sync: %s\n", err);
        rc = CACHECTL_EXIT_FAIL;
        goto done;
    }

    /*
     * An incomplete walk (a directory that could not be read, too many
     * files) holds deletions whatever --force says: the publisher's state
     * tells it apart from this run's own hold.
     */
    st = cachectl_sync_status(&s);
    walk = json_string_value(json_object_get(st, "walk"));
    walk = walk != NULL && strcmp(walk, "incomplete") == 0
           ? (json_string_value(json_object_get(st, "walkReason"))
              ? json_string_value(json_object_get(st, "walkReason")) : "?")
           : NULL;

    if (conf->json) {
        held = json_array();

        json_array_foreach(b.changes, i, v) {
            if (held != NULL && json_is_string(json_object_get(v, "op"))
                && strcmp(json_string_value(json_object_get(v, "op")),
                          "hold") == 0)
            {
                json_array_append(held, json_object_get(v, "path"));
            }
        }

        v = json_pack("{s:i, s:i, s:i, s:i, s:i, s:O, s:i, s:o?, s:b}",
                      "views", b.views, "config", b.config,
                      "i18n", b.i18n, "unchanged", b.unchanged,
                      "refusedNow", b.refused, "refused", s.refused,
                      "held", b.held, "heldPaths", held,
                      "dryRun", conf->dry_run);

        if (v != NULL && conf->dry_run) {
            json_object_set(v, "changes", b.changes);
        }

        if (v != NULL && walk != NULL) {
            json_object_set_new(v, "walkIncomplete", json_string(walk));
        }

        if (v != NULL && json_array_size(s.warnings) > 0) {
            json_object_set(v, "warnings", s.warnings);
        }

        cachectl_print_json(v);
        json_decref(v);

    } else if (conf->dry_run) {
        cachectl_cli_changes(b.changes, NULL);

        printf("dry run: %zu change(s), %u unchanged; nothing written\n",
               json_array_size(b.changes), b.unchanged);

    } else {
        printf("published %u view, %u config, %u i18n change(s); %u "
               "unchanged\n", b.views, b.config, b.i18n, b.unchanged);

        if (b.held && walk != NULL) {
            printf("held %u deletion(s): the walk was incomplete (", b.held);
            cachectl_cli_put(walk);
            printf("); --force does not delete then: fix it, sync again\n");
            cachectl_cli_changes(b.changes, "hold");

        } else if (b.held) {
            printf("held %u deletion(s): run with --force to delete\n",
                   b.held);
            cachectl_cli_changes(b.changes, "hold");
        }
    }

    if (!conf->json) {
        json_array_foreach(s.refused, i, v) {
            printf("refused ");
            cachectl_cli_put(json_string_value(json_object_get(v, "error")));
            printf("\n");
        }

        json_array_foreach(s.warnings, i, v) {
            printf("warning ");
            cachectl_cli_put(json_string_value(json_object_get(v,
                                                               "warning")));
            printf("\n");
        }
    }

    if (unleased[0] != '\0') {
        fprintf(stderr, "cachectl sync: note: published without holding the "
                "lease (%s)\n", unleased);
    }

    /*
     * A deploy pipeline wants to know about a refused file, and about
     * pages left in place; a dry run only reports.
     */
    if (!conf->dry_run && (b.refused || b.held)) {
        rc = CACHECTL_EXIT_FAIL;
    }

done:

    /* a failover must not undo what we said was published */
    if (!conf->dry_run && (b.views || b.i18n || b.config)) {
        rc = cachectl_cli_replicated(conf, c, rc);
    }

    if (owned) {
        (void) cachectl_lease_release(c, conf, s.instance_id, err,
                                      sizeof(err));
    }

    json_decref(st);
    json_decref(b.changes);
    cachectl_sync_free(&s);
    redisFree(c);

    return rc;
}


int
cachectl_invalidate(cachectl_conf_t *conf)
{
    int            i, k, rc, first, last;
    char           id[JP_INSTANCE_ID_MAX], *msg;
    json_t        *paths, *m;
    long long      gen;
    redisReply    *r;
    redisContext  *c;

    static const char  *kinds[] = { "view", "config", "i18n", "all" };

    /*
     * invalidate destroys nothing: the counters only grow and every worker
     * refetches what it caches from Redis, which holds it all. A preview
     * would have nothing to show; ignoring the flag would bump the
     * counters of someone who asked for no change: refused.
     */
    if (conf->dry_run) {
        fprintf(stderr, "cachectl invalidate: no --dry-run: it deletes "
                "nothing (it bumps the generation counters, and nginx "
                "refetches from Redis what it caches)\n");
        return CACHECTL_EXIT_USAGE;
    }

    k = 3;

    if (conf->nargs >= 2) {
        for (k = 0; k < 4; k++) {
            if (strcmp(conf->args[1], kinds[k]) == 0) {
                break;
            }
        }

        if (k == 4) {
            fprintf(stderr, "Usage: cachectl invalidate [view|config|i18n|all]"
                    " [PATH ...]\n");
            return CACHECTL_EXIT_USAGE;
        }
    }

    c = cachectl_cli_connect(conf);
    if (c == NULL) {
        return CACHECTL_EXIT_FAIL;
    }

    paths = json_array();

    for (i = 2; i < conf->nargs; i++) {
        json_array_append_new(paths, json_string(conf->args[i]));
    }

    jp_instance_id(id, sizeof(id), 0, JP_PM2ID_CACHECTL, (long) getpid());

    first = k == 3 ? 0 : k;
    last = k == 3 ? 2 : k;
    gen = 0;

    for (i = first; i <= last; i++) {
        r = cachectl_redis_command(c, "HINCRBY %sgen %s 1", conf->l2, kinds[i]);

        if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
            fprintf(stderr, "cachectl: %s\n",
                    r ? r->str : cachectl_redis_errstr(c));
            if (r) {
                freeReplyObject(r);
            }
            json_decref(paths);
            redisFree(c);
            return CACHECTL_EXIT_FAIL;
        }

        gen = r->integer;
        freeReplyObject(r);
    }

    m = json_pack("{s:s+, s:{s:s, s:I, s:s, s:O}, s:s, s:I}",
                  "channel", "controller:cache:invalidate:", kinds[k],
                  "data", "type", kinds[k], "gen", (json_int_t) gen,
                  "source", "cachectl", "paths", paths,
                  "instanceId", id, "timestamp",
                  (json_int_t) cachectl_now_ms());
    msg = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    json_decref(paths);

    r = msg ? cachectl_redis_command(c, "PUBLISH %sbc:controller:cache:"
                                     "invalidate:%s %s", conf->ns, kinds[k],
                                     msg)
            : NULL;
    free(msg);

    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        fprintf(stderr, "cachectl: %s\n",
                r ? r->str : cachectl_redis_errstr(c));
        if (r) {
            freeReplyObject(r);
        }
        redisFree(c);
        return CACHECTL_EXIT_FAIL;
    }

    if (conf->json) {
        printf("{\"type\":\"%s\",\"receivers\":%lld}\n", kinds[k],
               r->integer);
    } else {
        printf("invalidated %s: %lld subscriber%s heard it\n", kinds[k],
               r->integer, r->integer == 1 ? "" : "s");
    }

    freeReplyObject(r);

    rc = cachectl_cli_replicated(conf, c, CACHECTL_EXIT_OK);
    redisFree(c);

    return rc;
}


int
cachectl_get(cachectl_conf_t *conf)
{
    json_t        *j;
    redisReply    *r;
    redisContext  *c;

    if (conf->nargs != 2) {
        fprintf(stderr, "Usage: cachectl get PATH [--json]\n");
        return CACHECTL_EXIT_USAGE;
    }

    c = cachectl_cli_connect(conf);
    if (c == NULL) {
        return CACHECTL_EXIT_FAIL;
    }

    r = cachectl_redis_command(c, "HMGET %stpl:%s source etag mtime",
                               conf->l2,
                               conf->args[1] + (conf->args[1][0] == '/'));

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || r->element[0]->type != REDIS_REPLY_STRING)
    {
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "cachectl: %s\n",
                    r ? r->str : cachectl_redis_errstr(c));

        } else {
            fprintf(stderr, "cachectl: \"%s\" is not in Redis\n",
                    conf->args[1]);
        }

        if (r) {
            freeReplyObject(r);
        }
        redisFree(c);
        return CACHECTL_EXIT_FAIL;
    }

    if (conf->json) {
        j = json_pack("{s:s, s:s#, s:s?, s:I}",
                      "path", conf->args[1] + (conf->args[1][0] == '/'),
                      "source", r->element[0]->str,
                      (int) r->element[0]->len,
                      "etag", r->element[1]->str,
                      "mtime", (json_int_t) (r->element[2]->str
                                             ? atoll(r->element[2]->str)
                                             : 0));
        if (j == NULL) {
            /* not UTF-8: an image, say */
            j = json_pack("{s:s, s:n, s:I, s:s?}", "path", conf->args[1],
                          "source", "bytes",
                          (json_int_t) r->element[0]->len,
                          "etag", r->element[1]->str);
        }

        cachectl_print_json(j);
        json_decref(j);

    } else {
        fwrite(r->element[0]->str, 1, r->element[0]->len, stdout);
    }

    freeReplyObject(r);
    redisFree(c);

    return CACHECTL_EXIT_OK;
}


int
cachectl_instances(cachectl_conf_t *conf)
{
    char           id[256], kind[64], host[256], ip[128], up[128];
    size_t         i, nlive;
    json_t        *all, *b, *inst;
    redisContext  *c;

    if (conf->nargs != 1) {
        fprintf(stderr, "Usage: cachectl instances [--json]\n");
        return CACHECTL_EXIT_USAGE;
    }

    c = cachectl_cli_connect(conf);
    if (c == NULL) {
        return CACHECTL_EXIT_FAIL;
    }

    all = cachectl_cli_registry(c, conf, "metrics:instance:", 1, &nlive);
    redisFree(c);

    if (all == NULL) {
        return CACHECTL_EXIT_FAIL;
    }

    if (conf->json) {
        cachectl_print_json(all);

    } else {
        printf("%-22s %-9s %-24s %-15s %-16s %5s\n", "INSTANCE", "KIND",
               "HOST", "IP", "UPTIME", "TTL");

        json_array_foreach(all, i, b) {
            inst = json_array_get(json_object_get(b, "instances"), 0);

            /* the records are written by every peer: escaped */
            printf("%-22s %-9s %-24s %-15s %-16s %5lld\n",
                   cachectl_cli_str(id, sizeof(id),
                                    json_object_get(inst, "instanceId")),
                   cachectl_cli_str(kind, sizeof(kind),
                                    json_object_get(b, "kind")),
                   cachectl_cli_str(host, sizeof(host),
                                    json_object_get(b, "hostname")),
                   cachectl_cli_str(ip, sizeof(ip), json_object_get(b, "ip")),
                   cachectl_cli_str(up, sizeof(up),
                                    json_object_get(b, "uptimeFormatted")),
                   (long long) json_integer_value(json_object_get(b,
                                                                  "_ttl")));
        }
    }

    json_decref(all);

    return CACHECTL_EXIT_OK;
}


/* every broadcast in the namespace, as it happens */

int
cachectl_watch(cachectl_conf_t *conf)
{
    char           when[40];
    void          *reply;
    redisReply    *r;
    redisContext  *c;
    struct tm      tm;
    struct timespec  ts;

    if (conf->nargs != 1) {
        fprintf(stderr, "Usage: cachectl watch [--json]\n");
        return CACHECTL_EXIT_USAGE;
    }

    c = cachectl_cli_connect(conf);
    if (c == NULL) {
        return CACHECTL_EXIT_FAIL;
    }

    /* no timeout: a quiet cluster is not an error */
    redisSetTimeout(c, (struct timeval) { 0, 0 });

    r = redisCommand(c, "PSUBSCRIBE %sbc:*", conf->ns);
    if (r == NULL) {
        fprintf(stderr, "cachectl: %s\n", cachectl_redis_errstr(c));
        redisFree(c);
        return CACHECTL_EXIT_FAIL;
    }

    freeReplyObject(r);
    setvbuf(stdout, NULL, _IOLBF, 0);

    while (redisGetReply(c, &reply) == REDIS_OK) {
        r = reply;

        if (r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
            clock_gettime(CLOCK_REALTIME, &ts);
            gmtime_r(&ts.tv_sec, &tm);
            strftime(when, sizeof(when), "%H:%M:%S", &tm);

            if (conf->json) {
                printf("%.*s\n", (int) r->element[3]->len,
                       r->element[3]->str);
            } else {
                printf("%s.%03ld %s %.*s\n", when, ts.tv_nsec / 1000000,
                       r->element[2]->str + strlen(conf->ns) + 3,
                       (int) r->element[3]->len, r->element[3]->str);
            }
        }

        freeReplyObject(r);
    }

    fprintf(stderr, "cachectl watch: %s\n", cachectl_redis_errstr(c));
    redisFree(c);

    return CACHECTL_EXIT_FAIL;
}
