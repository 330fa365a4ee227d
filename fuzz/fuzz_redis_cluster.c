/*
 * libFuzzer target: what a Redis Cluster node sends us (jp_redis_cluster).
 * The first byte selects:
 *
 *   even: the rest is a RESP reply (RESP2, and RESP3's map and null),
 *         read into a jp_resp_value_t tree and given to the slot-map
 *         builder; a map that is built must be consistent;
 *   odd:  the rest is an error reply's text for jp_rc_parse_error; a
 *         MOVED or ASK it accepts must print and parse back the same.
 *
 * The RESP reader is this target's own (the module and cachectl convert
 * hiredis's replies instead); it bounds depth and size.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_redis_cluster.h"
#include "fuzz_seed.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);


static const char  *const fuzz_seeds[] = {
    "\x00*3\r\n"
    "*4\r\n:0\r\n:5460\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:30001\r\n"
    "$40\r\ne7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:30004\r\n"
    "$40\r\nffffffffffffffffffffffffffffffffffffffff\r\n*0\r\n"
    "*3\r\n:5461\r\n:10922\r\n"
    "*3\r\n$3\r\n::1\r\n:30002\r\n"
    "$40\r\n67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1\r\n"
    "*4\r\n:10923\r\n:16383\r\n"
    "*4\r\n$19\r\nredis-3.example.com\r\n:30003\r\n"
    "$40\r\n292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f\r\n"
    "*2\r\n$8\r\nhostname\r\n$19\r\nredis-3.example.com\r\n"
    "*3\r\n_\r\n:30006\r\n$0\r\n\r\n",
    "\x02*2\r\n*3\r\n:0\r\n:99\r\n*2\r\n$-1\r\n:7001\r\n"
    "*4\r\n:100\r\n:100\r\n*2\r\n$0\r\n\r\n:7002\r\n*2\r\n$1\r\n?\r\n:7003\r\n",
    "\x04*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$1\r\nh\r\n:1\r\n$0\r\n\r\n"
    "%1\r\n$8\r\nhostname\r\n$1\r\nh\r\n",
    /* a node without id, then nodes with one (ids compared) */
    "\x00*2\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n"
    "*4\r\n:2\r\n:3\r\n*3\r\n$1\r\ng\r\n:1\r\n"
    "$40\r\ne7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca\r\n"
    "*3\r\n$1\r\nf\r\n:1\r\n"
    "$40\r\n67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1\r\n",
    "\x01MOVED 3999 127.0.0.1:6381",
    "\x01-ASK 3999 [::1]:6381\r\n",
    "\x01MOVED 16383 ::1:6381",
    "\x01""ASK 1 fe80::1%eth0:7000",
    "\x01MOVED 12182 redis-3.example.com:6379",
    "\x01MOVED 7 :6380",
    "\x01TRYAGAIN Multiple keys request during rehashing of slot",
    "\x01""CLUSTERDOWN The cluster is down",
    "\x01""CROSSSLOT Keys in request don't hash to the same slot",
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_seed_corpora(*argc, *argv, fuzz_seeds,
                      sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]), 1);

    return 0;
}


/* a small RESP reader ---------------------------------------------------- */

#define POOL_MAX   4096
#define DEPTH_MAX  8

static jp_resp_value_t  pool[POOL_MAX];
static size_t           used;


typedef struct {
    const char  *p;
    const char  *end;
} reader_t;


/* a line: up to "\r\n" or "\n"; its length, -1 if there is none */
static long
line(reader_t *r, const char **start)
{
    const char  *nl;
    long         len;

    nl = memchr(r->p, '\n', (size_t) (r->end - r->p));
    if (nl == NULL) {
        return -1;
    }

    *start = r->p;
    len = (long) (nl - r->p);
    if (len > 0 && nl[-1] == '\r') {
        len--;
    }

    r->p = nl + 1;

    return len;
}


static int
number(const char *s, long len, long long *out)
{
    long long  v = 0;
    long       i = 0;
    int        neg = 0;

    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }

    if (i == len || len - i > 18) {
        return -1;
    }

    for ( /* void */ ; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        v = v * 10 + (s[i] - '0');
    }

    *out = neg ? -v : v;

    return 0;
}


static int
read_value(reader_t *r, jp_resp_value_t *v, int depth)
{
    const char  *s;
    long long    n;
    long         len;
    size_t       i, count;
    char         type;

    if (r->p >= r->end || depth > DEPTH_MAX) {
        return -1;
    }

    type = *r->p++;
    len = line(r, &s);
    if (len < 0) {
        return -1;
    }

    memset(v, 0, sizeof(*v));

    switch (type) {

    case ':':
        v->type = JP_RESP_INTEGER;
        return number(s, len, &v->integer);

    case '+':
    case '-':
        v->type = type == '+' ? JP_RESP_STATUS : JP_RESP_ERROR;
        v->str = s;
        v->len = (size_t) len;
        return 0;

    case '_':
        v->type = JP_RESP_NIL;
        return len == 0 ? 0 : -1;

    case '$':
        if (number(s, len, &n) != 0 || n < -1) {
            return -1;
        }

        if (n == -1) {
            v->type = JP_RESP_NIL;
            return 0;
        }

        if (n > r->end - r->p) {
            return -1;
        }

        v->type = JP_RESP_STRING;
        v->str = r->p;
        v->len = (size_t) n;
        r->p += n;

        /* the line end after the data */
        if (r->p < r->end && *r->p == '\r') {
            r->p++;
        }

        if (r->p >= r->end || *r->p != '\n') {
            return -1;
        }

        r->p++;
        return 0;

    case '*':
    case '%':
        if (number(s, len, &n) != 0 || n < -1) {
            return -1;
        }

        if (n == -1) {
            v->type = JP_RESP_NIL;
            return 0;
        }

        count = (size_t) n * (type == '%' ? 2 : 1);
        if (n > POOL_MAX || count > POOL_MAX - used) {
            return -1;
        }

        v->type = type == '%' ? JP_RESP_MAP : JP_RESP_ARRAY;
        v->element = count ? &pool[used] : NULL;
        v->elements = count;
        used += count;

        for (i = 0; i < count; i++) {
            if (read_value(r, &pool[v->element - pool + i], depth + 1)
                != 0)
            {
                return -1;
            }
        }

        return 0;

    default:
        return -1;
    }
}


/* the slot map ----------------------------------------------------------- */

static void
check_map(const jp_rc_map_t *map)
{
    const jp_rc_node_t  *p, *reps[4];
    unsigned             s, covered, cursor, start, end, ranged;
    size_t               i, n;

    covered = 0;

    for (s = 0; s < JP_RC_SLOTS; s++) {
        p = jp_rc_map_primary(map, s);
        if (p == NULL) {
            if (jp_rc_map_replicas(map, s, reps, 4) != 0) {
                abort();
            }

            continue;
        }

        covered++;

        if (!p->primary || p->port == 0 || p->port > 65535
            || p->host[0] == '\0' || strlen(p->host) > JP_RC_HOST_MAX
            || jp_rc_map_find(map, p->host, p->port) != p)
        {
            abort();
        }

        n = jp_rc_map_replicas(map, s, reps, 4);

        for (i = 0; i < n && i < 4; i++) {
            if (reps[i]->primary || reps[i] == p) {
                abort();
            }
        }
    }

    if (covered != jp_rc_map_covered(map)
        || covered + jp_rc_map_unknown(map) > JP_RC_SLOTS)
    {
        abort();
    }

    cursor = 0;
    ranged = 0;

    while (jp_rc_map_next_range(map, &cursor, &start, &end, &p)) {
        if (start > end || end >= JP_RC_SLOTS
            || jp_rc_map_primary(map, start) != p
            || jp_rc_map_primary(map, end) != p)
        {
            abort();
        }

        ranged += end - start + 1;
    }

    if (ranged != covered || !jp_rc_map_same(map, map)) {
        abort();
    }

    for (i = 0; i < jp_rc_map_nodes(map); i++) {
        p = jp_rc_map_node(map, i);

        if (strlen(p->id) != 0 && strlen(p->id) != JP_RC_ID_LEN) {
            abort();
        }
    }
}


static void
fuzz_map(const uint8_t *data, size_t size, unsigned max_nodes)
{
    jp_rc_map_conf_t   conf = { "10.0.0.9", max_nodes, 1 };
    jp_resp_value_t    root;
    jp_rc_redirect_t   r;
    jp_rc_map_t       *map, *again;
    reader_t           rd;
    char               err[128];

    used = 0;
    rd.p = (const char *) data;
    rd.end = rd.p + size;

    if (read_value(&rd, &root, 0) != 0) {
        return;
    }

    map = jp_rc_map_build(&conf, &root, err, sizeof(err));
    if (map == NULL) {
        if (err[0] == '\0') {
            abort();
        }

        return;
    }

    check_map(map);

    again = jp_rc_map_build(&conf, &root, NULL, 0);
    if (again == NULL || !jp_rc_map_same(map, again)) {
        abort();
    }

    /* a MOVED to the first node, for a slot taken from the input */
    if (jp_rc_map_nodes(map) > 0) {
        r.kind = JP_RC_ERR_MOVED;
        r.slot = (unsigned) (size * 7919) % JP_RC_SLOTS;
        r.port = jp_rc_map_node(map, 0)->port;
        r.host_len = strlen(jp_rc_map_node(map, 0)->host);
        memcpy(r.host, jp_rc_map_node(map, 0)->host, r.host_len + 1);

        if (jp_rc_map_moved(again, &r) != 1
            || jp_rc_map_primary(again, r.slot) != jp_rc_map_node(again, 0))
        {
            abort();
        }

        check_map(again);
    }

    jp_rc_map_free(again);
    jp_rc_map_free(map);
}


/* the redirects ---------------------------------------------------------- */

static void
fuzz_redirect(const uint8_t *data, size_t size)
{
    jp_rc_redirect_t  r, back;
    jp_rc_err_t       kind;
    char              text[600];
    int               n;

    kind = jp_rc_parse_error((const char *) data, size, &r);

    if (kind != r.kind) {
        abort();
    }

    if (kind != JP_RC_ERR_MOVED && kind != JP_RC_ERR_ASK) {
        if (r.host_len != 0 || r.port != 0 || r.slot != 0
            || r.host[0] != '\0')
        {
            abort();
        }

        return;
    }

    if (r.slot >= JP_RC_SLOTS || r.port == 0 || r.port > 65535
        || r.host_len > JP_RC_HOST_MAX || strlen(r.host) != r.host_len)
    {
        abort();
    }

    /* as Redis would print it, bracketed when it is IPv6 */
    n = snprintf(text, sizeof(text),
                 strchr(r.host, ':') ? "%s %u [%s]:%u" : "%s %u %s:%u",
                 kind == JP_RC_ERR_MOVED ? "MOVED" : "ASK", r.slot, r.host,
                 r.port);

    if (jp_rc_parse_error(text, (size_t) n, &back) != kind
        || back.slot != r.slot || back.port != r.port
        || strcmp(back.host, r.host) != 0)
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }

    if (data[0] & 1) {
        fuzz_redirect(data + 1, size - 1);

    } else {
        /* the other bits of the selector: a tight node bound at times */
        fuzz_map(data + 1, size - 1, (data[0] >> 1) % 8);
    }

    return 0;
}
