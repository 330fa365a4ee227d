/*
 * Redis Cluster groundwork: key slots, the slot map of a CLUSTER SLOTS
 * reply, the cluster's errors (jp_redis_cluster.h). Written from the
 * Redis Cluster specification: CRC16-CCITT (XMODEM) of the key or of its
 * hash tag, mod 16384.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_redis_cluster.h"


#define JP_RC_NONE  0xffff      /* slot_owner: not covered */
#define JP_RC_NO_OWNER  (-1)    /* node: a primary, or not yet placed */


typedef struct {
    jp_rc_node_t  pub;
    int           owner;        /* a replica: its primary's index */
    char         *mem;          /* host, id, hostname: one allocation */
} jp_rc_node_int_t;


struct jp_rc_map_s {
    uint64_t           generation;
    unsigned           covered;
    size_t             nnodes;
    size_t             max_nodes;
    jp_rc_node_int_t  *nodes;
    unsigned           unknown;
    uint16_t           slot_owner[JP_RC_SLOTS];    /* index into nodes */
    uint8_t            unreachable[JP_RC_SLOTS / 8];
};


#define jp_rc_bit(bits, s)  ((bits)[(s) / 8] & (1u << ((s) % 8)))


/* a node entry of the reply, before it is placed */
typedef struct {
    const char  *host;
    size_t       host_len;
    const char  *id;
    size_t       id_len;
    const char  *hostname;
    size_t       hostname_len;
    unsigned     port;
    unsigned     unknown;       /* "?" or port 0: no way to reach it */
} jp_rc_entry_t;


/* CRC16 ------------------------------------------------------------------ */

static uint16_t  jp_rc_crc_tab[256];
static int       jp_rc_crc_ready;


static void
jp_rc_crc_init(void)
{
    unsigned  i, b;
    uint16_t  c;

    for (i = 0; i < 256; i++) {
        c = (uint16_t) (i << 8);

        for (b = 0; b < 8; b++) {
            c = (c & 0x8000) ? (uint16_t) ((c << 1) ^ 0x1021)
                             : (uint16_t) (c << 1);
        }

        jp_rc_crc_tab[i] = c;
    }

    /* idempotent: two threads racing here write the same table */
    jp_rc_crc_ready = 1;
}


uint16_t
jp_rc_crc16(const void *data, size_t len)
{
    const unsigned char  *p = data;
    uint16_t              crc = 0;
    size_t                i;

    if (!jp_rc_crc_ready) {
        jp_rc_crc_init();
    }

    for (i = 0; i < len; i++) {
        crc = (uint16_t) ((crc << 8) ^ jp_rc_crc_tab[((crc >> 8) ^ p[i])
                                                     & 0xff]);
    }

    return crc;
}


unsigned
jp_rc_key_slot(const void *key, size_t len)
{
    const char  *k = key;
    const char  *open, *close;

    open = memchr(k, '{', len);

    if (open != NULL) {
        close = memchr(open + 1, '}', len - (size_t) (open + 1 - k));

        if (close != NULL && close > open + 1) {
            return jp_rc_crc16(open + 1, (size_t) (close - open - 1))
                   & (JP_RC_SLOTS - 1);
        }
    }

    return jp_rc_crc16(k, len) & (JP_RC_SLOTS - 1);
}


int
jp_rc_slot_check_add(jp_rc_slot_check_t *c, const void *key, size_t len)
{
    int  slot;

    if (c->slot == JP_RC_CROSSSLOT) {
        return c->slot;
    }

    slot = (int) jp_rc_key_slot(key, len);

    if (c->slot == JP_RC_NOT_COVERED) {
        c->slot = slot;

    } else if (c->slot != slot) {
        c->slot = JP_RC_CROSSSLOT;
    }

    return c->slot;
}


int
jp_rc_keys_slot(const void *const *keys, const size_t *lens, size_t n)
{
    jp_rc_slot_check_t  c;
    size_t              i;

    jp_rc_slot_check_init(&c);

    for (i = 0; i < n; i++) {
        if (jp_rc_slot_check_add(&c, keys[i], lens[i]) == JP_RC_CROSSSLOT) {
            break;
        }
    }

    return c.slot;
}


/* endpoints -------------------------------------------------------------- */

static int
jp_rc_is_alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z');
}


static int
jp_rc_is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}


/*
 * An IPv6 address as Redis prints it (bare, maybe with a %zone): hex
 * digits, colons (at least two) and dots (an embedded IPv4).
 */
static int
jp_rc_ipv6_valid(const char *s, size_t len)
{
    size_t  i, colons = 0;

    if (len < 2 || len > JP_RC_HOST_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] == '%') {
            /* a zone: one or more interface name bytes */
            if (i + 1 == len || colons < 2) {
                return 0;
            }

            for (i++; i < len; i++) {
                if (!jp_rc_is_alnum(s[i]) && s[i] != '-' && s[i] != '_'
                    && s[i] != '.')
                {
                    return 0;
                }
            }

            return 1;
        }

        if (s[i] == ':') {
            colons++;

        } else if (!jp_rc_is_hex(s[i]) && s[i] != '.') {
            return 0;
        }
    }

    return colons >= 2 && colons <= 7;
}


/* an IPv4 address or a hostname: letters, digits, '-', '_', '.' */
static int
jp_rc_hostname_valid(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > JP_RC_HOST_MAX || !jp_rc_is_alnum(s[0])) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!jp_rc_is_alnum(s[i]) && s[i] != '-' && s[i] != '_'
            && s[i] != '.')
        {
            return 0;
        }
    }

    return 1;
}


static int
jp_rc_host_valid(const char *s, size_t len)
{
    if (memchr(s, ':', len) != NULL) {
        return jp_rc_ipv6_valid(s, len);
    }

    return jp_rc_hostname_valid(s, len);
}


/* the slot map ----------------------------------------------------------- */

static void
jp_rc_err(char *err, size_t errlen, const char *fmt, size_t range,
    size_t node, const char *what)
{
    if (err == NULL || errlen == 0) {
        return;
    }

    snprintf(err, errlen, fmt, range, node, what);
}


#define JP_RC_FAIL(fmt, what)                                               \
    do {                                                                    \
        jp_rc_err(err, errlen, "CLUSTER SLOTS: range %zu, node %zu: " fmt,  \
                  r, ni, what);                                             \
        goto failed;                                                        \
    } while (0)


static int
jp_rc_str(const jp_resp_value_t *v)
{
    return v->type == JP_RESP_STRING && (v->str != NULL || v->len == 0);
}


/*
 * One node entry: [endpoint, port, id?, metadata?, ...]. Returns NULL on
 * success, else what is wrong.
 */
static const char *
jp_rc_entry(const jp_resp_value_t *v, const char *origin,
    jp_rc_entry_t *e)
{
    const jp_resp_value_t  *m, *k;
    size_t                  i, pairs;

    memset(e, 0, sizeof(*e));

    if (v->type != JP_RESP_ARRAY || v->elements < 2 || v->element == NULL) {
        return "not an array of endpoint and port";
    }

    /* the endpoint */
    if (v->element[0].type == JP_RESP_NIL
        || (jp_rc_str(&v->element[0]) && v->element[0].len == 0))
    {
        if (origin == NULL || origin[0] == '\0') {
            return "empty endpoint and no origin host";
        }

        e->host = origin;
        e->host_len = strlen(origin);

        if (!jp_rc_host_valid(e->host, e->host_len)) {
            return "bad origin host";
        }

    } else if (!jp_rc_str(&v->element[0])) {
        return "endpoint is not a string";

    } else if (v->element[0].len == 1 && v->element[0].str[0] == '?') {
        e->unknown = 1;

    } else {
        e->host = v->element[0].str;
        e->host_len = v->element[0].len;

        if (!jp_rc_host_valid(e->host, e->host_len)) {
            return "bad endpoint";
        }
    }

    /* the port */
    if (v->element[1].type != JP_RESP_INTEGER) {
        return "port is not an integer";
    }

    if (v->element[1].integer < 0 || v->element[1].integer > 65535) {
        return "port out of range";
    }

    e->port = (unsigned) v->element[1].integer;

    if (e->port == 0) {
        e->unknown = 1;
    }

    /* the node id (Redis 4 and later) */
    if (v->elements > 2) {
        if (v->element[2].type == JP_RESP_NIL) {
            /* none */

        } else if (!jp_rc_str(&v->element[2])) {
            return "node id is not a string";

        } else if (v->element[2].len != 0) {
            if (v->element[2].len != JP_RC_ID_LEN) {
                return "node id is not 40 hex digits";
            }

            for (i = 0; i < JP_RC_ID_LEN; i++) {
                if (!jp_rc_is_hex(v->element[2].str[i])) {
                    return "node id is not 40 hex digits";
                }
            }

            e->id = v->element[2].str;
            e->id_len = JP_RC_ID_LEN;
        }
    }

    /* the metadata (Redis 7): a flat array of pairs, or a RESP3 map */
    if (v->elements > 3) {
        m = &v->element[3];

        if ((m->type != JP_RESP_ARRAY && m->type != JP_RESP_MAP)
            || (m->elements % 2) != 0
            || (m->elements != 0 && m->element == NULL))
        {
            return "metadata is not a map";
        }

        pairs = m->elements / 2;

        for (i = 0; i < pairs; i++) {
            k = &m->element[2 * i];

            if (!jp_rc_str(k)) {
                return "metadata key is not a string";
            }

            if (k->len == 8 && memcmp(k->str, "hostname", 8) == 0) {
                if (!jp_rc_str(&m->element[2 * i + 1])) {
                    return "hostname is not a string";
                }

                e->hostname = m->element[2 * i + 1].str;
                e->hostname_len = m->element[2 * i + 1].len;

                if (e->hostname_len != 0
                    && !jp_rc_hostname_valid(e->hostname, e->hostname_len))
                {
                    return "bad hostname";
                }
            }
        }
    }

    return NULL;
}


static int
jp_rc_node_match(const jp_rc_node_int_t *n, const char *host,
    size_t host_len, unsigned port)
{
    return n->pub.port == port && strlen(n->pub.host) == host_len
           && memcmp(n->pub.host, host, host_len) == 0;
}


static int
jp_rc_node_find(const jp_rc_map_t *map, const char *host, size_t host_len,
    unsigned port)
{
    size_t  i;

    for (i = 0; i < map->nnodes; i++) {
        if (jp_rc_node_match(&map->nodes[i], host, host_len, port)) {
            return (int) i;
        }
    }

    return -1;
}


/*
 * Places an entry: its node's index, or -1 with what is wrong. owner is
 * JP_RC_NO_OWNER for a primary, else the primary's index.
 */
static int
jp_rc_place(jp_rc_map_t *map, const jp_rc_entry_t *e, int owner,
    const char **what)
{
    jp_rc_node_int_t  *n;
    char              *p;
    int                i;

    i = jp_rc_node_find(map, e->host, e->host_len, e->port);

    if (i >= 0) {
        n = &map->nodes[i];

        if (strlen(n->pub.id) != e->id_len
            || memcmp(n->pub.id, e->id, e->id_len) != 0)
        {
            *what = "the same address with another node id";
            return -1;
        }

        if (owner == JP_RC_NO_OWNER) {
            if (!n->pub.primary) {
                *what = "a replica named as a primary";
                return -1;
            }

        } else if (n->pub.primary || n->owner != owner) {
            *what = owner == i ? "a primary named as its own replica"
                    : n->pub.primary ? "a primary named as a replica"
                    : "a replica of two primaries";
            return -1;
        }

        return i;
    }

    if (map->nnodes >= map->max_nodes) {
        *what = "too many nodes";
        return -1;
    }

    /* a node id names one node: a second address for it is a conflict */
    if (e->id_len != 0) {
        for (i = 0; i < (int) map->nnodes; i++) {
            if (strlen(map->nodes[i].pub.id) == e->id_len
                && memcmp(map->nodes[i].pub.id, e->id, e->id_len) == 0)
            {
                *what = "one node id at two addresses";
                return -1;
            }
        }
    }

    p = malloc(e->host_len + e->id_len + e->hostname_len + 3);
    if (p == NULL) {
        *what = "out of memory";
        return -1;
    }

    n = &map->nodes[map->nnodes];
    n->mem = p;

    memcpy(p, e->host, e->host_len);
    p[e->host_len] = '\0';
    n->pub.host = p;
    p += e->host_len + 1;

    if (e->id_len) {
        memcpy(p, e->id, e->id_len);
    }
    p[e->id_len] = '\0';
    n->pub.id = p;
    p += e->id_len + 1;

    if (e->hostname_len) {
        memcpy(p, e->hostname, e->hostname_len);
    }
    p[e->hostname_len] = '\0';
    n->pub.hostname = p;

    n->pub.port = e->port;
    n->pub.primary = (owner == JP_RC_NO_OWNER);
    n->owner = owner;

    return (int) map->nnodes++;
}


jp_rc_map_t *
jp_rc_map_build(const jp_rc_map_conf_t *conf, const jp_resp_value_t *reply,
    char *err, size_t errlen)
{
    const jp_resp_value_t  *range;
    jp_rc_entry_t           e;
    jp_rc_map_t            *map;
    const char             *what;
    long long               start, end;
    size_t                  r, ni, max;
    int                     primary, i;
    unsigned                s;

    r = 0;
    ni = 0;

    max = conf->max_nodes ? conf->max_nodes : JP_RC_MAX_NODES;
    if (max > JP_RC_MAX_NODES_HARD) {
        max = JP_RC_MAX_NODES_HARD;
    }

    map = calloc(1, sizeof(jp_rc_map_t));
    if (map == NULL) {
        if (err != NULL && errlen != 0) {
            snprintf(err, errlen, "CLUSTER SLOTS: out of memory");
        }

        return NULL;
    }

    map->generation = conf->generation;
    map->max_nodes = max;
    memset(map->slot_owner, 0xff, sizeof(map->slot_owner));

    if (reply->type != JP_RESP_ARRAY
        || (reply->elements != 0 && reply->element == NULL))
    {
        JP_RC_FAIL("%s", reply->type == JP_RESP_ERROR
                         ? "an error reply" : "not an array");
    }

    if (reply->elements > JP_RC_SLOTS) {
        JP_RC_FAIL("%s", "more ranges than slots");
    }

    map->nodes = calloc(max, sizeof(jp_rc_node_int_t));
    if (map->nodes == NULL) {
        JP_RC_FAIL("%s", "out of memory");
    }

    for (r = 0; r < reply->elements; r++) {
        range = &reply->element[r];
        ni = 0;

        if (range->type != JP_RESP_ARRAY || range->elements < 3
            || range->element == NULL)
        {
            JP_RC_FAIL("%s", "not an array of start, end, primary");
        }

        if (range->element[0].type != JP_RESP_INTEGER
            || range->element[1].type != JP_RESP_INTEGER)
        {
            JP_RC_FAIL("%s", "start or end is not an integer");
        }

        start = range->element[0].integer;
        end = range->element[1].integer;

        if (start < 0 || end < 0 || start >= JP_RC_SLOTS
            || end >= JP_RC_SLOTS)
        {
            JP_RC_FAIL("%s", "slot out of 0..16383");
        }

        if (start > end) {
            JP_RC_FAIL("%s", "start after end");
        }

        primary = -1;

        for (ni = 0; ni + 2 < range->elements; ni++) {
            what = jp_rc_entry(&range->element[ni + 2], conf->origin_host,
                               &e);
            if (what != NULL) {
                JP_RC_FAIL("%s", what);
            }

            /*
             * a primary nobody can reach ("?" while hostnames spread by
             * gossip, port 0): its slots are not covered and its replicas
             * are not listed (but checked); a replica nobody can reach
             * is not ours to use
             */
            if (e.unknown || (ni > 0 && primary < 0)) {
                continue;
            }

            i = jp_rc_place(map, &e, ni == 0 ? JP_RC_NO_OWNER : primary,
                            &what);
            if (i < 0) {
                JP_RC_FAIL("%s", what);
            }

            if (ni == 0) {
                primary = i;
            }
        }

        ni = 0;

        if (primary < 0) {
            /* the slots stay uncovered, but they may not overlap */
            for (s = (unsigned) start; s <= (unsigned) end; s++) {
                if (map->slot_owner[s] != JP_RC_NONE
                    || jp_rc_bit(map->unreachable, s))
                {
                    JP_RC_FAIL("%s", "overlaps an earlier range");
                }

                map->unreachable[s / 8] |= (uint8_t) (1u << (s % 8));
            }

            map->unknown += (unsigned) (end - start + 1);
            continue;
        }

        for (s = (unsigned) start; s <= (unsigned) end; s++) {
            if (map->slot_owner[s] != JP_RC_NONE
                || jp_rc_bit(map->unreachable, s))
            {
                JP_RC_FAIL("%s", "overlaps an earlier range");
            }

            map->slot_owner[s] = (uint16_t) primary;
        }

        map->covered += (unsigned) (end - start + 1);
    }

    return map;

failed:

    jp_rc_map_free(map);
    return NULL;
}


void
jp_rc_map_free(jp_rc_map_t *map)
{
    size_t  i;

    if (map == NULL) {
        return;
    }

    if (map->nodes != NULL) {
        for (i = 0; i < map->nnodes; i++) {
            free(map->nodes[i].mem);
        }

        free(map->nodes);
    }

    free(map);
}


uint64_t
jp_rc_map_generation(const jp_rc_map_t *map)
{
    return map->generation;
}


unsigned
jp_rc_map_covered(const jp_rc_map_t *map)
{
    return map->covered;
}


unsigned
jp_rc_map_unknown(const jp_rc_map_t *map)
{
    return map->unknown;
}


const jp_rc_node_t *
jp_rc_map_primary(const jp_rc_map_t *map, unsigned slot)
{
    if (slot >= JP_RC_SLOTS || map->slot_owner[slot] == JP_RC_NONE) {
        return NULL;
    }

    return &map->nodes[map->slot_owner[slot]].pub;
}


size_t
jp_rc_map_replicas(const jp_rc_map_t *map, unsigned slot,
    const jp_rc_node_t **out, size_t n)
{
    size_t  i, found;
    int     owner;

    if (slot >= JP_RC_SLOTS || map->slot_owner[slot] == JP_RC_NONE) {
        return 0;
    }

    owner = map->slot_owner[slot];
    found = 0;

    for (i = 0; i < map->nnodes; i++) {
        if (!map->nodes[i].pub.primary && map->nodes[i].owner == owner) {
            if (found < n) {
                out[found] = &map->nodes[i].pub;
            }

            found++;
        }
    }

    return found;
}


size_t
jp_rc_map_nodes(const jp_rc_map_t *map)
{
    return map->nnodes;
}


const jp_rc_node_t *
jp_rc_map_node(const jp_rc_map_t *map, size_t i)
{
    return i < map->nnodes ? &map->nodes[i].pub : NULL;
}


const jp_rc_node_t *
jp_rc_map_find(const jp_rc_map_t *map, const char *host, unsigned port)
{
    int  i;

    i = jp_rc_node_find(map, host, strlen(host), port);

    return i < 0 ? NULL : &map->nodes[i].pub;
}


int
jp_rc_map_next_range(const jp_rc_map_t *map, unsigned *cursor,
    unsigned *start, unsigned *end, const jp_rc_node_t **primary)
{
    unsigned  s;
    uint16_t  owner;

    for (s = *cursor; s < JP_RC_SLOTS; s++) {
        if (map->slot_owner[s] != JP_RC_NONE) {
            break;
        }
    }

    if (s >= JP_RC_SLOTS) {
        *cursor = JP_RC_SLOTS;
        return 0;
    }

    owner = map->slot_owner[s];
    *start = s;

    while (s + 1 < JP_RC_SLOTS && map->slot_owner[s + 1] == owner) {
        s++;
    }

    *end = s;
    *primary = &map->nodes[owner].pub;
    *cursor = s + 1;

    return 1;
}


static int
jp_rc_same_addr(const jp_rc_node_t *a, const jp_rc_node_t *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}


int
jp_rc_map_same(const jp_rc_map_t *a, const jp_rc_map_t *b)
{
    const jp_rc_node_int_t  *n;
    const jp_rc_node_t      *pa, *pb;
    unsigned                 s;
    size_t                   i;
    int                      j;

    if (a->covered != b->covered || a->nnodes != b->nnodes) {
        return 0;
    }

    for (s = 0; s < JP_RC_SLOTS; s++) {
        pa = jp_rc_map_primary(a, s);
        pb = jp_rc_map_primary(b, s);

        if (pa == NULL || pb == NULL) {
            if (pa != pb) {
                return 0;
            }

            continue;
        }

        if (!jp_rc_same_addr(pa, pb)) {
            return 0;
        }
    }

    /* every node of a has the same role (and primary) in b */
    for (i = 0; i < a->nnodes; i++) {
        n = &a->nodes[i];
        j = jp_rc_node_find(b, n->pub.host, strlen(n->pub.host),
                            n->pub.port);

        if (j < 0 || b->nodes[j].pub.primary != n->pub.primary) {
            return 0;
        }

        if (!n->pub.primary
            && !jp_rc_same_addr(&a->nodes[n->owner].pub,
                                &b->nodes[b->nodes[j].owner].pub))
        {
            return 0;
        }
    }

    return 1;
}


/* the errors of a cluster ------------------------------------------------ */

static int
jp_rc_word(const char *p, size_t len, const char *word)
{
    size_t  n = strlen(word);

    return len >= n && memcmp(p, word, n) == 0 && (len == n || p[n] == ' ');
}


/* digits only, no sign, no leading zero but "0": the value or -1 */
static long
jp_rc_number(const char *p, size_t len, long max)
{
    long    v = 0;
    size_t  i;

    if (len == 0 || len > 5 || (len > 1 && p[0] == '0')) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        v = v * 10 + (p[i] - '0');
    }

    return v <= max ? v : -1;
}


static jp_rc_err_t
jp_rc_parse_redirect(const char *p, size_t len, jp_rc_redirect_t *out)
{
    const char  *sp, *colon, *host;
    size_t       host_len;
    long         slot, port;

    /* "<slot> <endpoint>:<port>" */
    sp = memchr(p, ' ', len);
    if (sp == NULL) {
        return JP_RC_ERR_MALFORMED;
    }

    slot = jp_rc_number(p, (size_t) (sp - p), JP_RC_SLOTS - 1);
    if (slot < 0) {
        return JP_RC_ERR_MALFORMED;
    }

    len -= (size_t) (sp + 1 - p);
    p = sp + 1;

    if (memchr(p, ' ', len) != NULL) {
        return JP_RC_ERR_MALFORMED;
    }

    /* the port follows the last colon */
    for (colon = p + len; colon > p && colon[-1] != ':'; colon--) {
        /* void */
    }

    if (colon == p) {
        return JP_RC_ERR_MALFORMED;
    }

    port = jp_rc_number(colon, (size_t) (p + len - colon), 65535);
    if (port <= 0) {
        return JP_RC_ERR_MALFORMED;
    }

    host = p;
    host_len = (size_t) (colon - 1 - p);

    if (host_len >= 2 && host[0] == '[') {
        if (host[host_len - 1] != ']') {
            return JP_RC_ERR_MALFORMED;
        }

        host++;
        host_len -= 2;

        if (memchr(host, ':', host_len) == NULL
            || !jp_rc_ipv6_valid(host, host_len))
        {
            return JP_RC_ERR_MALFORMED;
        }

    } else if (host_len != 0 && !jp_rc_host_valid(host, host_len)) {
        return JP_RC_ERR_MALFORMED;
    }

    out->slot = (unsigned) slot;
    out->port = (unsigned) port;
    out->host_len = host_len;
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';

    return out->kind;
}


jp_rc_err_t
jp_rc_parse_error(const char *msg, size_t len, jp_rc_redirect_t *out)
{
    jp_rc_err_t  kind;

    memset(out, 0, sizeof(*out));

    if (msg == NULL) {
        return JP_RC_ERR_NONE;
    }

    if (len > 0 && msg[0] == '-') {
        msg++;
        len--;
    }

    if (len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n') {
        len -= 2;
    }

    if (jp_rc_word(msg, len, "MOVED")) {
        out->kind = JP_RC_ERR_MOVED;
        msg += 5;
        len -= 5;

    } else if (jp_rc_word(msg, len, "ASK")) {
        out->kind = JP_RC_ERR_ASK;
        msg += 3;
        len -= 3;

    } else {
        out->kind = jp_rc_word(msg, len, "TRYAGAIN") ? JP_RC_ERR_TRYAGAIN
                    : jp_rc_word(msg, len, "CLUSTERDOWN")
                      ? JP_RC_ERR_CLUSTERDOWN
                    : jp_rc_word(msg, len, "CROSSSLOT") ? JP_RC_ERR_CROSSSLOT
                    : JP_RC_ERR_NONE;
        return out->kind;
    }

    if (len < 1 || msg[0] != ' ') {
        kind = JP_RC_ERR_MALFORMED;

    } else {
        kind = jp_rc_parse_redirect(msg + 1, len - 1, out);
    }

    if (kind == JP_RC_ERR_MALFORMED) {
        memset(out, 0, sizeof(*out));
        out->kind = JP_RC_ERR_MALFORMED;
    }

    return kind;
}


const char *
jp_rc_err_name(jp_rc_err_t kind)
{
    switch (kind) {
    case JP_RC_ERR_NONE:
        return "none";
    case JP_RC_ERR_MOVED:
        return "MOVED";
    case JP_RC_ERR_ASK:
        return "ASK";
    case JP_RC_ERR_TRYAGAIN:
        return "TRYAGAIN";
    case JP_RC_ERR_CLUSTERDOWN:
        return "CLUSTERDOWN";
    case JP_RC_ERR_CROSSSLOT:
        return "CROSSSLOT";
    case JP_RC_ERR_MALFORMED:
        return "malformed";
    }

    return "unknown";
}


int
jp_rc_map_moved_to(jp_rc_map_t *map, unsigned slot, const jp_rc_node_t *node)
{
    size_t  i;

    if (slot >= JP_RC_SLOTS || node == NULL) {
        return -1;
    }

    for (i = 0; i < map->nnodes; i++) {
        if (&map->nodes[i].pub == node) {
            break;
        }
    }

    if (i == map->nnodes || !node->primary) {
        return 0;
    }

    if (map->slot_owner[slot] == (uint16_t) i) {
        return 1;
    }

    if (map->slot_owner[slot] == JP_RC_NONE) {
        map->covered++;
    }

    map->slot_owner[slot] = (uint16_t) i;
    map->generation++;

    return 1;
}


int
jp_rc_map_moved(jp_rc_map_t *map, const jp_rc_redirect_t *r)
{
    const jp_rc_node_t  *node;

    if (r->kind != JP_RC_ERR_MOVED || r->host_len == 0) {
        return -1;
    }

    node = jp_rc_map_find(map, r->host, r->port);
    if (node == NULL) {
        return 0;
    }

    return jp_rc_map_moved_to(map, r->slot, node);
}


/* commands and key groups ------------------------------------------------ */

static int
jp_rc_is_name(const char *arg, size_t len, const char *name)
{
    char    c;
    size_t  i, n;

    n = strlen(name);

    if (len != n) {
        return 0;
    }

    /* names are upper case letters and '_' */
    for (i = 0; i < n; i++) {
        c = arg[i];

        if (c >= 'a' && c <= 'z') {
            c -= 'a' - 'A';
        }

        if (c != name[i]) {
            return 0;
        }
    }

    return 1;
}


static int
jp_rc_is_one_of(const char *arg, size_t len, const char *const *names)
{
    for ( /* void */ ; *names; names++) {
        if (jp_rc_is_name(arg, len, *names)) {
            return 1;
        }
    }

    return 0;
}


/* the commands of a node rather than of a key: any node answers them */
static const char *const  jp_rc_keyless[] = {
    "PING", "ECHO", "PUBLISH", "TIME", "ROLE", "INFO", "SCRIPT", "FUNCTION",
    "MULTI", "EXEC", "DISCARD", "UNWATCH", "ASKING", "READONLY",
    "READWRITE", "AUTH", "HELLO", "SELECT", "CLIENT", "CONFIG", "CLUSTER",
    "COMMAND", "DBSIZE", "SCAN", "KEYS", "RANDOMKEY", "WAIT", "SUBSCRIBE",
    "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "FLUSHALL", "FLUSHDB",
    "LASTSAVE", "SAVE", "BGSAVE", "BGREWRITEAOF", "SLOWLOG", "LATENCY",
    "DEBUG", "MONITOR", "QUIT", "RESET", "SHUTDOWN", "SWAPDB", "LOLWUT",
    NULL
};

static const char *const  jp_rc_scripts[] = {
    "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO", NULL
};

static const char *const  jp_rc_all_keys[] = {
    "MGET", "DEL", "UNLINK", "EXISTS", "TOUCH", "WATCH", NULL
};

static const char *const  jp_rc_pairs[] = {
    "MSET", "MSETNX", NULL
};


int
jp_rc_command_slot(int argc, const char *const *argv, const size_t *argvlen)
{
    int                 i, step, first, last;
    long                numkeys;
    size_t              k;
    jp_rc_slot_check_t  c;

    if (argc < 2 || jp_rc_is_one_of(argv[0], argvlen[0], jp_rc_keyless)) {
        return JP_RC_NOT_COVERED;
    }

    step = 1;
    first = 1;
    last = 1;

    if (jp_rc_is_one_of(argv[0], argvlen[0], jp_rc_scripts)) {
        if (argc < 3 || argvlen[2] == 0 || argvlen[2] > 9) {
            return JP_RC_BAD_COMMAND;
        }

        numkeys = 0;

        for (k = 0; k < argvlen[2]; k++) {
            if (argv[2][k] < '0' || argv[2][k] > '9') {
                return JP_RC_BAD_COMMAND;
            }

            numkeys = numkeys * 10 + (argv[2][k] - '0');
        }

        if (numkeys > argc - 3) {
            return JP_RC_BAD_COMMAND;
        }

        first = 3;
        last = 3 + (int) numkeys - 1;

    } else if (jp_rc_is_one_of(argv[0], argvlen[0], jp_rc_all_keys)) {
        last = argc - 1;

    } else if (jp_rc_is_one_of(argv[0], argvlen[0], jp_rc_pairs)) {
        last = argc - 1;
        step = 2;
    }

    jp_rc_slot_check_init(&c);

    for (i = first; i <= last; i += step) {
        if (jp_rc_slot_check_add(&c, argv[i], argvlen[i]) == JP_RC_CROSSSLOT)
        {
            break;
        }
    }

    return c.slot;
}


int
jp_rc_namespace_ok(const char *ns, size_t nslen)
{
    return memchr(ns, '{', nslen) == NULL && memchr(ns, '}', nslen) == NULL;
}


int
jp_rc_group_prefix(char *dst, size_t cap, const char *ns, size_t nslen,
    const char *group, int cluster)
{
    size_t  glen, len;
    char   *p;

    glen = strlen(group);
    len = cluster ? 2 * nslen + glen + 2 : nslen;

    if (len + 1 > cap || (cluster && !jp_rc_namespace_ok(ns, nslen))) {
        return -1;
    }

    p = dst;
    memcpy(p, ns, nslen);
    p += nslen;

    if (cluster) {
        *p++ = '{';
        memcpy(p, ns, nslen);
        p += nslen;
        memcpy(p, group, glen);
        p += glen;
        *p++ = '}';
    }

    *p = '\0';

    return (int) len;
}
