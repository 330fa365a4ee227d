/*
 * A tool for t/840-redis-cluster-lib.t: libjpulse/jp_redis_cluster against
 * a real Redis Cluster, over hiredis's sync API (tools may link hiredis;
 * libjpulse may not), with cachectl's redisReply -> jp_resp_value_t
 * conversion (cachectl-daemon/cachectl_resp.c).
 *
 *   jp_cluster_tool slot KEY...          the slot of each key, one a line
 *   jp_cluster_tool map HOST PORT        CLUSTER SLOTS of that node, built
 *                                        into a map and printed:
 *       covered N
 *       range START END HOST:PORT [replica HOST:PORT ...]
 *       node HOST:PORT primary|replica ID [hostname NAME]
 *   jp_cluster_tool route HOST PORT KEY...   KEY SLOT HOST:PORT per key
 *   jp_cluster_tool error TEXT           KIND SLOT HOST PORT (or KIND)
 *   jp_cluster_tool send HOST PORT ARG...    one command to one node: the
 *                                        reply, or the parsed error
 *   jp_cluster_tool follow HOST PORT KEY   GET KEY as a cluster client:
 *                                        the map from HOST, then MOVED
 *                                        (patch the map) and ASK (ASKING)
 *                                        followed, each hop printed
 *
 * Exit status: 0, 1 on a failure (message on stderr), 2 on usage.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "jp_redis_cluster.h"

#include "cachectl_resp.h"


static void
usage(void)
{
    fprintf(stderr, "usage: jp_cluster_tool slot KEY... | map HOST PORT |"
            " route HOST PORT KEY... | error TEXT | send HOST PORT ARG... |"
            " follow HOST PORT KEY\n");
    exit(2);
}


static redisContext *
connect_to(const char *host, unsigned port)
{
    struct timeval   tv = { 5, 0 };
    redisContext    *c;

    c = redisConnectWithTimeout(host, (int) port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "jp_cluster_tool: %s:%u: %s\n", host, port,
                c ? c->errstr : "out of memory");
        exit(1);
    }

    redisSetTimeout(c, tv);

    return c;
}


static unsigned
port_arg(const char *s)
{
    char  *end;
    long   v;

    v = strtol(s, &end, 10);
    if (*end != '\0' || v <= 0 || v > 65535) {
        usage();
    }

    return (unsigned) v;
}


static jp_rc_map_t *
load_map(const char *host, unsigned port, uint64_t generation)
{
    jp_rc_map_conf_t   conf = { host, 0, generation };
    jp_resp_value_t    v;
    redisContext      *c;
    redisReply        *r;
    jp_rc_map_t       *map;
    char               err[256];

    c = connect_to(host, port);

    r = redisCommand(c, "CLUSTER SLOTS");
    if (r == NULL) {
        fprintf(stderr, "jp_cluster_tool: CLUSTER SLOTS: %s\n", c->errstr);
        exit(1);
    }

    if (cachectl_resp_tree(r, &v) != 0) {
        fprintf(stderr, "jp_cluster_tool: out of memory\n");
        exit(1);
    }

    map = jp_rc_map_build(&conf, &v, err, sizeof(err));
    if (map == NULL) {
        fprintf(stderr, "jp_cluster_tool: %s\n", err);
        exit(1);
    }

    cachectl_resp_tree_free(&v);
    freeReplyObject(r);
    redisFree(c);

    return map;
}


static void
print_addr(const char *prefix, const jp_rc_node_t *n)
{
    printf(strchr(n->host, ':') ? "%s[%s]:%u" : "%s%s:%u", prefix, n->host,
           n->port);
}


static int
cmd_map(const char *host, unsigned port)
{
    const jp_rc_node_t  *p, *reps[64];
    jp_rc_map_t         *map;
    unsigned             cursor, start, end;
    size_t               i, n;

    map = load_map(host, port, 1);

    printf("covered %u\n", jp_rc_map_covered(map));

    cursor = 0;
    while (jp_rc_map_next_range(map, &cursor, &start, &end, &p)) {
        printf("range %u %u ", start, end);
        print_addr("", p);

        n = jp_rc_map_replicas(map, start, reps, 64);
        for (i = 0; i < n && i < 64; i++) {
            print_addr(" replica ", reps[i]);
        }

        printf("\n");
    }

    for (i = 0; i < jp_rc_map_nodes(map); i++) {
        p = jp_rc_map_node(map, i);
        print_addr("node ", p);
        printf(" %s %s%s%s\n", p->primary ? "primary" : "replica",
               p->id[0] ? p->id : "-", p->hostname[0] ? " hostname " : "",
               p->hostname);
    }

    jp_rc_map_free(map);

    return 0;
}


static int
cmd_route(const char *host, unsigned port, int n, char **keys)
{
    const jp_rc_node_t  *p;
    jp_rc_map_t         *map;
    unsigned             slot;
    int                  i;

    map = load_map(host, port, 1);

    for (i = 0; i < n; i++) {
        slot = jp_rc_key_slot(keys[i], strlen(keys[i]));
        p = jp_rc_map_primary(map, slot);

        printf("%s %u ", keys[i], slot);

        if (p == NULL) {
            printf("not-covered\n");

        } else {
            print_addr("", p);
            printf("\n");
        }
    }

    jp_rc_map_free(map);

    return 0;
}


static void
print_error(const char *text, size_t len)
{
    jp_rc_redirect_t  r;
    jp_rc_err_t       kind;

    kind = jp_rc_parse_error(text, len, &r);

    if (kind == JP_RC_ERR_MOVED || kind == JP_RC_ERR_ASK) {
        printf("%s %u %s %u\n", jp_rc_err_name(kind), r.slot,
               r.host_len ? r.host : "-", r.port);

    } else {
        printf("%s\n", jp_rc_err_name(kind));
    }
}


static void
print_reply(const redisReply *r)
{
    switch (r->type) {

    case REDIS_REPLY_ERROR:
        printf("error ");
        print_error(r->str, (size_t) r->len);
        break;

    case REDIS_REPLY_NIL:
        printf("nil\n");
        break;

    case REDIS_REPLY_INTEGER:
        printf("integer %lld\n", r->integer);
        break;

    case REDIS_REPLY_ARRAY:
        printf("array %zu\n", r->elements);
        break;

    default:
        printf("value %.*s\n", (int) r->len, r->str);
        break;
    }
}


static int
cmd_send(const char *host, unsigned port, int argc, char **argv)
{
    redisContext  *c;
    redisReply    *r;

    c = connect_to(host, port);

    r = redisCommandArgv(c, argc, (const char **) argv, NULL);
    if (r == NULL) {
        fprintf(stderr, "jp_cluster_tool: %s\n", c->errstr);
        return 1;
    }

    print_reply(r);
    freeReplyObject(r);
    redisFree(c);

    return 0;
}


/* GET as a cluster client would send it: at most 5 hops */
static int
cmd_follow(const char *host, unsigned port, const char *key)
{
    const jp_rc_node_t  *p;
    jp_rc_redirect_t     red;
    redisContext        *c;
    redisReply          *r;
    jp_rc_map_t         *map;
    jp_rc_err_t          kind;
    const char          *to;
    unsigned             slot, to_port, hop;
    int                  asking;
    char                 to_host[JP_RC_HOST_MAX + 1];

    map = load_map(host, port, 1);
    slot = jp_rc_key_slot(key, strlen(key));

    p = jp_rc_map_primary(map, slot);
    if (p == NULL) {
        printf("not-covered %u\n", slot);
        return 1;
    }

    snprintf(to_host, sizeof(to_host), "%s", p->host);
    to_port = p->port;
    asking = 0;

    for (hop = 0; hop < 5; hop++) {
        to = to_host;
        printf("send %s%s:%u\n", asking ? "ASKING+GET " : "GET ", to,
               to_port);

        c = connect_to(to, to_port);

        if (asking) {
            r = redisCommand(c, "ASKING");
            if (r == NULL || r->type != REDIS_REPLY_STATUS) {
                fprintf(stderr, "jp_cluster_tool: ASKING failed\n");
                return 1;
            }

            freeReplyObject(r);
        }

        r = redisCommand(c, "GET %s", key);
        if (r == NULL) {
            fprintf(stderr, "jp_cluster_tool: %s\n", c->errstr);
            return 1;
        }

        redisFree(c);

        if (r->type != REDIS_REPLY_ERROR) {
            print_reply(r);
            freeReplyObject(r);
            jp_rc_map_free(map);
            return 0;
        }

        kind = jp_rc_parse_error(r->str, (size_t) r->len, &red);
        printf("got ");
        print_error(r->str, (size_t) r->len);
        freeReplyObject(r);

        if (kind == JP_RC_ERR_MOVED) {
            if (red.host_len == 0) {
                snprintf(red.host, sizeof(red.host), "%s", to_host);
                red.host_len = strlen(red.host);
            }

            switch (jp_rc_map_moved(map, &red)) {
            case 1:
                printf("map patched, generation %llu\n",
                       (unsigned long long) jp_rc_map_generation(map));
                break;
            default:
                /* a node the map does not know: refresh it */
                jp_rc_map_free(map);
                map = load_map(red.host, red.port, 2);
                printf("map refreshed\n");
                break;
            }

            p = jp_rc_map_primary(map, slot);
            if (p == NULL) {
                printf("not-covered %u\n", slot);
                return 1;
            }

            snprintf(to_host, sizeof(to_host), "%s", p->host);
            to_port = p->port;
            asking = 0;

        } else if (kind == JP_RC_ERR_ASK) {
            if (red.host_len != 0) {
                snprintf(to_host, sizeof(to_host), "%s", red.host);
            }

            to_port = red.port;
            asking = 1;

        } else {
            return 1;
        }
    }

    printf("too many hops\n");

    return 1;
}


int
main(int argc, char **argv)
{
    int  i;

    if (argc < 2) {
        usage();
    }

    if (strcmp(argv[1], "slot") == 0) {
        for (i = 2; i < argc; i++) {
            printf("%u\n", jp_rc_key_slot(argv[i], strlen(argv[i])));
        }

        return 0;
    }

    if (strcmp(argv[1], "error") == 0 && argc == 3) {
        print_error(argv[2], strlen(argv[2]));
        return 0;
    }

    if (argc < 4) {
        usage();
    }

    if (strcmp(argv[1], "map") == 0 && argc == 4) {
        return cmd_map(argv[2], port_arg(argv[3]));
    }

    if (strcmp(argv[1], "route") == 0) {
        return cmd_route(argv[2], port_arg(argv[3]), argc - 4, argv + 4);
    }

    if (strcmp(argv[1], "send") == 0 && argc > 4) {
        return cmd_send(argv[2], port_arg(argv[3]), argc - 4, argv + 4);
    }

    if (strcmp(argv[1], "follow") == 0 && argc == 5) {
        return cmd_follow(argv[2], port_arg(argv[3]), argv[4]);
    }

    usage();

    return 2;
}
