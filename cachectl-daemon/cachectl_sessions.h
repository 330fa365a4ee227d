/*
 * Session upkeep (jPulse/connect-redis sessions, contract 4.3) and the
 * "cachectl sessions" commands.
 */

#ifndef CACHECTL_SESSIONS_H
#define CACHECTL_SESSIONS_H

#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "cachectl_conf.h"


typedef struct {
    char        cursor[32];     /* where the resumable SCAN stands */
    uint64_t    passes;
    uint64_t    scanned;
    uint64_t    ttl_set;
    uint64_t    expired;        /* removed: past the absolute lifetime */
    uint64_t    indexed;        /* with a user id, in the last pass */
    uint64_t    pass_indexed;
    uint64_t    live;           /* seen in the last complete pass */
    uint64_t    pass_live;
    int64_t     last_pass_ms;
} cachectl_sessions_t;


void cachectl_sessions_init(cachectl_sessions_t *ss);

/* at most budget keys of the SCAN; -1 when Redis failed */
int cachectl_sessions_step(cachectl_sessions_t *ss, cachectl_conf_t *conf,
    redisContext *c, long budget, char *err, size_t size);

json_t *cachectl_sessions_stats(cachectl_sessions_t *ss);

/* cachectl sessions count|list|show|revoke|revoke-user */
int cachectl_sessions_cli(cachectl_conf_t *conf);


#endif /* CACHECTL_SESSIONS_H */
