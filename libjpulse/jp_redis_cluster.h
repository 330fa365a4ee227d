/*
 * Redis Cluster for the module (jpulse_redis cluster=) and cachectl
 * (redis-cluster=): everything a cluster client needs that is not I/O.
 *
 *   - the hash slot of a key: CRC16 (XMODEM) mod 16384 with hash tags;
 *   - the slot map, built from a CLUSTER SLOTS reply given as a neutral
 *     tree (jp_resp_value_t: the module converts hiredis's async replies
 *     to it, cachectl its sync ones), validated, bounded in memory;
 *   - the errors a cluster answers with: MOVED, ASK (parsed), TRYAGAIN,
 *     CLUSTERDOWN, CROSSSLOT (classified);
 *   - the multi-key check: do all keys of a command share a slot;
 *   - which slot a command goes to, and the hash-tagged key groups of
 *     docs/protocol.md ("Redis Cluster").
 *
 * No hiredis types and no allocation but the map's (malloc/free).
 */

#ifndef JP_REDIS_CLUSTER_H
#define JP_REDIS_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#define JP_RC_SLOTS           16384
#define JP_RC_NOT_COVERED     (-1)

/* the map's default bound of distinct nodes (primaries and replicas) */
#define JP_RC_MAX_NODES       1000
#define JP_RC_MAX_NODES_HARD  16384

/* an endpoint: a hostname or an address (IPv6 without brackets) */
#define JP_RC_HOST_MAX        255
#define JP_RC_ID_LEN          40


/* hash slots ---------------------------------------------------------- */

/* CRC16-CCITT XMODEM: polynomial 0x1021, initial 0, no reflection */
uint16_t jp_rc_crc16(const void *data, size_t len);

/*
 * The slot of a key: if the key has a '{' followed later by a '}' with at
 * least one byte between the first '{' and the first '}' after it, only
 * those bytes are hashed; else the whole key.
 */
unsigned jp_rc_key_slot(const void *key, size_t len);

/*
 * The multi-key check, before a command with several keys is sent:
 * JP_RC_NOT_COVERED if n is 0, -2 if two keys hash to different slots
 * (Redis would answer CROSSSLOT), else their one slot.
 */
#define JP_RC_CROSSSLOT       (-2)

int jp_rc_keys_slot(const void *const *keys, const size_t *lens, size_t n);

/* the same, one key at a time: init with JP_RC_NOT_COVERED */
typedef struct {
    int  slot;          /* JP_RC_NOT_COVERED, JP_RC_CROSSSLOT or a slot */
} jp_rc_slot_check_t;

#define jp_rc_slot_check_init(c)  ((c)->slot = JP_RC_NOT_COVERED)

/* returns the check's slot after this key (JP_RC_CROSSSLOT sticks) */
int jp_rc_slot_check_add(jp_rc_slot_check_t *c, const void *key,
    size_t len);


/* a reply as a neutral tree -------------------------------------------- */

typedef enum {
    JP_RESP_NIL = 0,
    JP_RESP_INTEGER,
    JP_RESP_STRING,         /* bulk string or verbatim */
    JP_RESP_STATUS,         /* +OK */
    JP_RESP_ERROR,          /* -ERR ... */
    JP_RESP_ARRAY,          /* also RESP3 sets */
    JP_RESP_MAP,            /* RESP3 map: elements are key, value, ... */
    JP_RESP_OTHER           /* double, bool, ...: never valid here */
} jp_resp_type_t;

typedef struct jp_resp_value_s  jp_resp_value_t;

struct jp_resp_value_s {
    jp_resp_type_t          type;
    long long               integer;    /* JP_RESP_INTEGER */
    const char             *str;        /* STRING, STATUS, ERROR: not */
    size_t                  len;        /* NUL-terminated necessarily */
    const jp_resp_value_t  *element;    /* ARRAY, MAP: contiguous */
    size_t                  elements;   /* MAP: 2 per pair */
};


/* the slot map --------------------------------------------------------- */

typedef struct {
    const char  *host;      /* where to connect: address or hostname */
    const char  *id;        /* 40 hex digits, "" when the reply had none */
    const char  *hostname;  /* the "hostname" metadata, "" when none */
    unsigned     port;      /* 1..65535 */
    unsigned     primary;   /* 1: serves slots as a primary */
} jp_rc_node_t;

typedef struct jp_rc_map_s  jp_rc_map_t;

typedef struct {
    /*
     * the host the CLUSTER SLOTS command was sent to: a NULL or ""
     * endpoint means "the node that answered, at this port"
     */
    const char  *origin_host;
    unsigned     max_nodes;     /* 0: JP_RC_MAX_NODES */
    uint64_t     generation;    /* given to the map: the caller's count */
} jp_rc_map_conf_t;

/*
 * Builds a map from a CLUSTER SLOTS reply:
 *
 *   [ [start, end, [host, port, id?, meta?], [replica ...] ...], ... ]
 *
 * Every range must lie in 0..16383 with start <= end and overlap no other;
 * slots no range names are "not covered". A node needs a port in
 * 0..65535 and, if present, an id of 40 hex digits; one with an unknown
 * endpoint ("?", port 0: Redis 7 while a hostname spreads) is skipped:
 * a replica is left out, a primary's range is not covered
 * (jp_rc_map_unknown). A malformed entry fails the reply. A node (host,
 * port) is the same node wherever it appears and must keep its id; a node
 * may be the primary of several ranges but not a replica of another
 * primary at the same time. An empty or NULL endpoint is conf's
 * origin_host.
 *
 * Returns NULL with a message in err (which may be NULL) on any error,
 * including allocation failures.
 */
jp_rc_map_t *jp_rc_map_build(const jp_rc_map_conf_t *conf,
    const jp_resp_value_t *reply, char *err, size_t errlen);

void jp_rc_map_free(jp_rc_map_t *map);

uint64_t jp_rc_map_generation(const jp_rc_map_t *map);

/* how many of the 16384 slots have a primary */
unsigned jp_rc_map_covered(const jp_rc_map_t *map);

/*
 * how many slots the reply gave a primary without a known endpoint ("?"
 * or port 0): not covered either; worth a refresh a little later
 */
unsigned jp_rc_map_unknown(const jp_rc_map_t *map);

/* the primary of a slot, NULL if not covered (or slot out of range) */
const jp_rc_node_t *jp_rc_map_primary(const jp_rc_map_t *map,
    unsigned slot);

/* the replicas of a slot's primary: how many; up to n stored in out */
size_t jp_rc_map_replicas(const jp_rc_map_t *map, unsigned slot,
    const jp_rc_node_t **out, size_t n);

/* every node once, in the order the reply first named them */
size_t jp_rc_map_nodes(const jp_rc_map_t *map);
const jp_rc_node_t *jp_rc_map_node(const jp_rc_map_t *map, size_t i);

/* a node by address, NULL if the map has none */
const jp_rc_node_t *jp_rc_map_find(const jp_rc_map_t *map,
    const char *host, unsigned port);

/*
 * The covered ranges of the map in slot order, coalesced (adjacent slots
 * of one primary are one range): set *cursor to 0, then call while it
 * returns 1 (0: no more ranges).
 */
int jp_rc_map_next_range(const jp_rc_map_t *map, unsigned *cursor,
    unsigned *start, unsigned *end, const jp_rc_node_t **primary);

/*
 * 1 if both maps route every slot to the same primary (host, port) and
 * list the same replicas: a refresh that changed nothing.
 */
int jp_rc_map_same(const jp_rc_map_t *a, const jp_rc_map_t *b);


/* the errors of a cluster ---------------------------------------------- */

typedef enum {
    JP_RC_ERR_NONE = 0,     /* not a cluster error: the command's own */
    JP_RC_ERR_MOVED,        /* the slot moved for good: refresh the map
                               (or jp_rc_map_moved) and resend there */
    JP_RC_ERR_ASK,          /* the slot is migrating: send ASKING, then
                               the command, to that node, once; the map
                               stays as it is */
    JP_RC_ERR_TRYAGAIN,     /* multi-key command during a migration:
                               resend after a short delay */
    JP_RC_ERR_CLUSTERDOWN,  /* the cluster cannot serve: back off, then
                               refresh the map */
    JP_RC_ERR_CROSSSLOT,    /* our bug: keys of several slots */
    JP_RC_ERR_MALFORMED     /* MOVED/ASK we could not parse: treat as a
                               failed command and refresh the map */
} jp_rc_err_t;

typedef struct {
    jp_rc_err_t  kind;
    unsigned     slot;                      /* MOVED, ASK */
    unsigned     port;                      /* MOVED, ASK: 1..65535 */
    size_t       host_len;                  /* 0: the node that answered */
    char         host[JP_RC_HOST_MAX + 1];  /* NUL-terminated, IPv6
                                               without brackets */
} jp_rc_redirect_t;

/*
 * Classifies an error reply's text, as hiredis gives it ("MOVED 3999
 * 127.0.0.1:6381") or as the wire has it ("-MOVED ...\r\n"):
 *
 *   MOVED <slot> <endpoint>:<port>    ASK <slot> <endpoint>:<port>
 *
 * The endpoint is an IPv4 address, an IPv6 one bare ("::1:6381": the port
 * follows the last colon) or in brackets ("[::1]:6381"), a hostname, or
 * empty (":6381", Redis 7 with an unknown endpoint: the node that
 * answered). The other kinds are recognised by their first word. Returns
 * out->kind; out may not be NULL.
 */
jp_rc_err_t jp_rc_parse_error(const char *msg, size_t len,
    jp_rc_redirect_t *out);

const char *jp_rc_err_name(jp_rc_err_t kind);

/*
 * After a MOVED: points the slot at the node the redirect names, if the
 * map knows it as a primary (then returns 1 and moves the generation on
 * by one); 0 if it does not (refresh the map); -1 if the redirect is not a
 * MOVED with a host (host_len 0 needs the answering node's address: look
 * it up with jp_rc_map_find and use jp_rc_map_moved_to).
 */
int jp_rc_map_moved(jp_rc_map_t *map, const jp_rc_redirect_t *r);

int jp_rc_map_moved_to(jp_rc_map_t *map, unsigned slot,
    const jp_rc_node_t *node);


/* commands and key groups ------------------------------------------------ */

/* jp_rc_command_slot: numkeys of EVAL/FCALL is not a count of the args */
#define JP_RC_BAD_COMMAND     (-3)

/*
 * The slot a command must go to, from its arguments (argv[0] the name,
 * any case): JP_RC_NOT_COVERED when the command names no key (PING,
 * PUBLISH, TIME, ROLE, INFO, SCRIPT, MULTI, EXEC, CLUSTER, SUBSCRIBE ...:
 * any node serves it), JP_RC_CROSSSLOT when its keys are in several
 * slots, JP_RC_BAD_COMMAND when EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL
 * or FCALL_RO has a numkeys that is not a number no greater than the
 * arguments that follow. Where the keys are:
 *
 *   EVAL* FCALL*                       the numkeys arguments after it
 *   MGET DEL UNLINK EXISTS TOUCH WATCH every argument
 *   MSET MSETNX                        every other argument
 *   any other command                  argv[1]
 */
int jp_rc_command_slot(int argc, const char *const *argv,
    const size_t *argvlen);

/*
 * The key groups of docs/protocol.md ("Redis Cluster"): keys one command,
 * transaction or script touches together. In cluster mode every key of a
 * group carries the hash tag {<ns><group>} right after the namespace.
 */
#define JP_RC_GROUP_L2        "l2"
#define JP_RC_GROUP_METRICS   "metrics"
#define JP_RC_GROUP_SESS      "sess"

/* the longest group prefix is 2 * ns + this */
#define JP_RC_GROUP_EXTRA     (sizeof("{" JP_RC_GROUP_METRICS "}") - 1)

/*
 * Writes the prefix of the group's keys into dst (NUL-terminated):
 * "<ns>{<ns><group>}" when cluster is set, "<ns>" otherwise. Returns its
 * length, or -1 when it does not fit in cap bytes (with the NUL) or,
 * in cluster mode, when ns holds a '{' or a '}' (the tag would not be the
 * first one of the key: refuse such a namespace at load).
 */
int jp_rc_group_prefix(char *dst, size_t cap, const char *ns, size_t nslen,
    const char *group, int cluster);

/* 1 if ns can carry the group tags (no '{', no '}') */
int jp_rc_namespace_ok(const char *ns, size_t nslen);

#endif /* JP_REDIS_CLUSTER_H */
