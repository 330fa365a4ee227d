/*
 * Session upkeep (jPulse/connect-redis sessions, contract 4.3,
 * cachectl_sessions.c) and the "cachectl sessions" commands
 * (cachectl_sessions_cli.c).
 */

#ifndef CACHECTL_SESSIONS_H
#define CACHECTL_SESSIONS_H

#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "jp_identity.h"

#include "cachectl_conf.h"


/* where the upkeep stands between two steps */
#define CACHECTL_SESSIONS_IDLE     0    /* waiting for the next pass */
#define CACHECTL_SESSIONS_WALK     1    /* SCAN of <ns>sess:* */
#define CACHECTL_SESSIONS_CLEANUP  2    /* HSCAN of the first-seen records */


typedef struct {
    int         phase;
    char        cursor[32];     /* where the resumable SCAN stands */
    char        hcursor[32];    /* where the cleanup's HSCAN stands */
    int64_t     next_at;        /* mono ms: when the step wants to run */
    int64_t     pass_at;        /* mono ms: the next pass may start */
    int64_t     pass_start;     /* mono ms: the running pass started */
    int64_t     revoked_at;     /* mono ms: the next tombstone check */
    long        revoked_off;    /* where that check stands in the set */
    uint64_t    passes;
    uint64_t    scanned;
    uint64_t    ttl_set;
    uint64_t    expired;        /* removed: past the absolute lifetime */
    uint64_t    indexed;        /* with a user id, in the last pass */
    uint64_t    pass_indexed;
    uint64_t    live;           /* seen in the last complete pass */
    uint64_t    pass_live;
    uint64_t    cleaned;        /* first-seen records of gone sessions */
    uint64_t    cleanup_steps;  /* steps the last (or running) cleanup took */
    uint64_t    unindexed;      /* stale members dropped from an index */
    uint64_t    revived;        /* revoked sessions that came back: deleted */
    uint64_t    refusals;       /* error replies from Redis */
    uint64_t    pass_refusals;  /* refusals when the pass started */
    int64_t     last_pass_ms;   /* wall clock, for status readers */
    int64_t     last_pass_took;
    int64_t     clock_ms;       /* Redis's clock (TIME) at clock_mono */
    int64_t     clock_mono;
    char        error[256];     /* the last error reply */
    char        instance_id[JP_INSTANCE_ID_MAX];  /* of the events */
} cachectl_sessions_t;


/* instance_id: the daemon's, in the revocation events it publishes */
void cachectl_sessions_init(cachectl_sessions_t *ss, const char *instance_id);

/*
 * One step of the upkeep, a few ms of work at most; ss->next_at says when
 * the next one is due (cachectl_mono_ms()). 0, or -1 when the connection
 * failed. An error reply from Redis is not a failure: it is counted,
 * logged once and shown in the stats, and the step retries later.
 */
int cachectl_sessions_step(cachectl_sessions_t *ss, cachectl_conf_t *conf,
    redisContext *c, char *err, size_t size);

json_t *cachectl_sessions_stats(cachectl_sessions_t *ss);

/* cachectl sessions count|list|show|revoke|revoke-user */
int cachectl_sessions_cli(cachectl_conf_t *conf);


#endif /* CACHECTL_SESSIONS_H */
