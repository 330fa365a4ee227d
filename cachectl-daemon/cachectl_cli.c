/*
 * The ops commands (see cachectl_cli.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jp_identity.h"
#include "jp_version.h"
#include "cachectl_cli.h"
#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_sync.h"


static redisContext *
cachectl_cli_connect(cachectl_conf_t *conf)
{
    char           err[512];
    redisContext  *c;

    c = cachectl_redis_connect(conf, err, sizeof(err));

    if (c == NULL) {
        fprintf(stderr, "cachectl: %s\n", err);
    }

    return c;
}


static void
cachectl_print_json(json_t *j)
{
    char  *text;

    text = json_dumps(j, JSON_COMPACT);
    printf("%s\n", text ? text : "null");
    free(text);
}


/* every value of the keys matching pattern (SCAN + GET), as JSON */

static json_t *
cachectl_cli_scan(redisContext *c, const char *pattern, int with_ttl)
{
    char         cursor[32];
    size_t       i;
    json_t      *all, *j;
    redisReply  *r, *v, *t;

    all = json_array();
    snprintf(cursor, sizeof(cursor), "0");

    do {
        r = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r) {
                freeReplyObject(r);
            }
            json_decref(all);
            return NULL;
        }

        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);

        for (i = 0; i < r->element[1]->elements; i++) {
            v = redisCommand(c, "GET %s", r->element[1]->element[i]->str);
            t = with_ttl ? redisCommand(c, "TTL %s",
                                        r->element[1]->element[i]->str)
                         : NULL;

            if (v != NULL && v->type == REDIS_REPLY_STRING) {
                j = json_loadb(v->str, v->len, 0, NULL);

                if (json_is_object(j)) {
                    if (t != NULL && t->type == REDIS_REPLY_INTEGER) {
                        json_object_set_new(j, "_ttl",
                                            json_integer(t->integer));
                    }

                    json_array_append_new(all, j);

                } else {
                    json_decref(j);
                }
            }

            if (v) {
                freeReplyObject(v);
            }

            if (t) {
                freeReplyObject(t);
            }
        }

        freeReplyObject(r);

    } while (strcmp(cursor, "0") != 0);

    return all;
}


int
cachectl_status(cachectl_conf_t *conf)
{
    int            rc;
    char           pattern[CACHECTL_NS_MAX + 32], when[32];
    size_t         i, j;
    json_t        *out, *gen, *daemons, *instances, *d, *ref, *s;
    time_t         t;
    redisReply    *r;
    redisContext  *c;

    if (conf->nargs != 1) {
        fprintf(stderr, "Usage: cachectl status [--json]\n");
        return CACHECTL_EXIT_USAGE;
    }

    c = cachectl_redis_connect(conf, pattern, sizeof(pattern));

    if (c == NULL) {
        if (conf->json) {
            printf("{\"redis\":{\"reachable\":false,\"address\":\"%s\","
                   "\"error\":\"%s\"}}\n", conf->redis, "unreachable");
        } else {
            printf("Redis      %s: unreachable (%s)\n", conf->redis, pattern);
        }
        return CACHECTL_EXIT_FAIL;
    }

    gen = json_object();

    r = redisCommand(c, "HGETALL %sgen", conf->ns);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i + 1 < r->elements; i += 2) {
            json_object_set_new(gen, r->element[i]->str,
                                json_integer(atoll(r->element[i + 1]->str)));
        }
    }
    if (r) {
        freeReplyObject(r);
    }

    r = redisCommand(c, "HLEN %stplindex", conf->ns);
    out = json_pack("{s:{s:b, s:s}, s:s, s:O, s:I}",
                    "redis", "reachable", 1, "address", conf->redis,
                    "namespace", conf->ns, "generations", gen,
                    "filesInRedis",
                    (json_int_t) (r && r->type == REDIS_REPLY_INTEGER
                                  ? r->integer : 0));
    if (r) {
        freeReplyObject(r);
    }

    snprintf(pattern, sizeof(pattern), "%scachectl:status:*", conf->ns);
    daemons = cachectl_cli_scan(c, pattern, 0);

    snprintf(pattern, sizeof(pattern), "%smetrics:instance:*", conf->ns);
    instances = cachectl_cli_scan(c, pattern, 0);

    json_object_set_new(out, "daemons", daemons ? daemons : json_array());
    json_object_set_new(out, "instances",
                        json_integer(instances
                                     ? (json_int_t) json_array_size(instances)
                                     : 0));

    rc = (daemons == NULL || json_array_size(daemons) == 0)
         ? CACHECTL_EXIT_FAIL : CACHECTL_EXIT_OK;

    if (conf->json) {
        cachectl_print_json(out);

    } else {
        printf("Redis      %s: reachable, namespace \"%s\"\n", conf->redis,
               conf->ns);
        printf("Generation view %lld, config %lld, i18n %lld\n",
               (long long) json_integer_value(json_object_get(gen, "view")),
               (long long) json_integer_value(json_object_get(gen, "config")),
               (long long) json_integer_value(json_object_get(gen, "i18n")));
        printf("Files      %lld in Redis\n", (long long) json_integer_value(
                   json_object_get(out, "filesInRedis")));
        printf("Instances  %zu seen (cachectl instances lists them)\n",
               instances ? json_array_size(instances) : 0);

        if (daemons == NULL || json_array_size(daemons) == 0) {
            printf("Daemon     none running for this namespace\n");
        }

        json_array_foreach(daemons, i, d) {
            t = (time_t) (json_integer_value(json_object_get(d, "lastSync"))
                          / 1000);
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
            s = json_object_get(d, "stats");

            printf("Daemon     %s on %s: %lld files tracked, last sync %s\n",
                   json_string_value(json_object_get(d, "instanceId")),
                   json_string_value(json_object_get(d, "hostname")),
                   (long long) json_integer_value(json_object_get(s,
                                                          "filesTracked")),
                   json_integer_value(json_object_get(d, "lastSync"))
                   ? when : "never");

            s = json_object_get(s, "sessions");
            printf("Sessions   %lld live, %lld given a TTL, %lld removed at "
                   "the age limit, %lld indexed\n",
                   (long long) json_integer_value(json_object_get(s, "live")),
                   (long long) json_integer_value(json_object_get(s,
                                                                  "ttlSet")),
                   (long long) json_integer_value(json_object_get(s,
                                                                  "expired")),
                   (long long) json_integer_value(json_object_get(s,
                                                                  "indexed")));

            ref = json_object_get(d, "refused");

            if (json_array_size(ref) == 0) {
                printf("Refused    none\n");
            }

            json_array_foreach(ref, j, s) {
                printf("Refused    %s\n",
                       json_string_value(json_object_get(s, "error")));
            }
        }
    }

    json_decref(instances);
    json_decref(gen);
    json_decref(out);
    redisFree(c);

    return rc;
}


/* one batch from the command line: what the daemon would publish now */

int
cachectl_sync(cachectl_conf_t *conf)
{
    int               rc;
    char              err[512];
    size_t            i;
    json_t           *v;
    redisContext     *c;
    cachectl_sync_t   s;
    cachectl_batch_t  b;

    if (conf->nargs != 1) {
        fprintf(stderr, "Usage: cachectl sync --views DIR [--views DIR ...] "
                "[--app-config F] [--i18n DIR]\n");
        return CACHECTL_EXIT_USAGE;
    }

    if (conf->nviews == 0 && conf->app_config == NULL && conf->i18n == NULL) {
        fprintf(stderr, "cachectl sync: nothing to publish: give --views, "
                "--app-config or --i18n\n");
        return CACHECTL_EXIT_USAGE;
    }

    c = cachectl_cli_connect(conf);
    if (c == NULL) {
        return CACHECTL_EXIT_FAIL;
    }

    if (cachectl_sync_init(&s, conf) != 0) {
        redisFree(c);
        return CACHECTL_EXIT_FAIL;
    }

    jp_instance_id(s.instance_id, sizeof(s.instance_id), 0,
                   JP_PM2ID_CACHECTL, (long) getpid());

    rc = CACHECTL_EXIT_OK;

    b.changes = NULL;

    if (cachectl_sync_run(&s, c, NULL, &b, err, sizeof(err)) != 0) {
        fprintf(stderr, "cachectl sync: %s\n", err);
        rc = CACHECTL_EXIT_FAIL;

    } else {
        if (conf->json) {
            v = json_pack("{s:i, s:i, s:i, s:i, s:i, s:O}",
                          "views", b.views, "config", b.config,
                          "i18n", b.i18n, "unchanged", b.unchanged,
                          "refusedNow", b.refused, "refused", s.refused);
            cachectl_print_json(v);
            json_decref(v);

        } else {
            printf("published %u view, %u config, %u i18n change(s); %u "
                   "unchanged\n", b.views, b.config, b.i18n, b.unchanged);

            json_array_foreach(s.refused, i, v) {
                printf("refused %s\n",
                       json_string_value(json_object_get(v, "error")));
            }
        }

        /* a deploy pipeline wants to know about a refused file */
        if (b.refused) {
            rc = CACHECTL_EXIT_FAIL;
        }
    }

    cachectl_sync_free(&s);
    redisFree(c);

    return rc;
}


int
cachectl_invalidate(cachectl_conf_t *conf)
{
    int            i, k, first, last;
    char           id[JP_INSTANCE_ID_MAX], *msg;
    json_t        *paths, *m;
    long long      gen;
    redisReply    *r;
    redisContext  *c;

    static const char  *kinds[] = { "view", "config", "i18n", "all" };

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
        r = redisCommand(c, "HINCRBY %sgen %s 1", conf->ns, kinds[i]);

        if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
            fprintf(stderr, "cachectl: %s\n", r ? r->str : c->errstr);
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

    r = msg ? redisCommand(c, "PUBLISH %sbc:controller:cache:invalidate:%s "
                           "%s", conf->ns, kinds[k], msg)
            : NULL;
    free(msg);

    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        fprintf(stderr, "cachectl: %s\n", r ? r->str : c->errstr);
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
    redisFree(c);

    return CACHECTL_EXIT_OK;
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

    r = redisCommand(c, "HMGET %stpl:%s source etag mtime", conf->ns,
                     conf->args[1] + (conf->args[1][0] == '/'));

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || r->element[0]->type != REDIS_REPLY_STRING)
    {
        fprintf(stderr, "cachectl: \"%s\" is not in Redis\n", conf->args[1]);
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
    char           pattern[CACHECTL_NS_MAX + 32];
    size_t         i;
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

    snprintf(pattern, sizeof(pattern), "%smetrics:instance:*", conf->ns);
    all = cachectl_cli_scan(c, pattern, 1);
    redisFree(c);

    if (all == NULL) {
        fprintf(stderr, "cachectl: SCAN failed\n");
        return CACHECTL_EXIT_FAIL;
    }

    if (conf->json) {
        cachectl_print_json(all);

    } else {
        printf("%-22s %-9s %-24s %-15s %-16s %5s\n", "INSTANCE", "KIND",
               "HOST", "IP", "UPTIME", "TTL");

        json_array_foreach(all, i, b) {
            inst = json_array_get(json_object_get(b, "instances"), 0);

            printf("%-22s %-9s %-24s %-15s %-16s %5lld\n",
                   json_string_value(json_object_get(inst, "instanceId"))
                   ? json_string_value(json_object_get(inst, "instanceId"))
                   : "?",
                   json_string_value(json_object_get(b, "kind"))
                   ? json_string_value(json_object_get(b, "kind")) : "?",
                   json_string_value(json_object_get(b, "hostname"))
                   ? json_string_value(json_object_get(b, "hostname")) : "?",
                   json_string_value(json_object_get(b, "ip"))
                   ? json_string_value(json_object_get(b, "ip")) : "?",
                   json_string_value(json_object_get(b, "uptimeFormatted"))
                   ? json_string_value(json_object_get(b, "uptimeFormatted"))
                   : "?",
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
        fprintf(stderr, "cachectl: %s\n", c->errstr);
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

    fprintf(stderr, "cachectl watch: %s\n", c->errstr);
    redisFree(c);

    return CACHECTL_EXIT_FAIL;
}
