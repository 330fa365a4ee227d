/*
 * What the session upkeep (cachectl_sessions.c) and the sessions commands
 * (cachectl_sessions_cli.c) share, defined in cachectl_sessions.c. Not
 * part of the public API.
 */

#ifndef CACHECTL_SESSIONS_INT_H
#define CACHECTL_SESSIONS_INT_H

#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "cachectl_conf.h"


#define CACHECTL_SID_MAX            256

/*
 * sessions in one revocation event at most: a message stays under 7 KB,
 * far below what a worker parses of one (64 KB, 1,000 digests)
 */
#define CACHECTL_REVOKED_EVENT_SIDS 100


/*
 * Revokes one session, a tombstone first. "sessions revoke" runs it, and
 * so does the walk for a session past --session-max-age: a request in
 * flight must not bring either back.
 */
extern const char  cachectl_revoke_script[];
extern const char  cachectl_tombstone_script[];

/* both must read a session alike, or revoke-user misses what is indexed */
json_t *cachectl_session_load(const char *s, size_t len);
const char *cachectl_session_user(json_t *sess);

/*
 * Appends (pipelined) the PUBLISH of the revocation event of sids (a JSON
 * array of strings) on <ns>bc:controller:session:cache:revoked, jPulse's
 * broadcast shape, data.digests their jp_session_sid_digest()s,
 * CACHECTL_REVOKED_EVENT_SIDS a message; *queued counts the replies due.
 * 0, or -1 out of memory.
 */
int cachectl_sessions_publish(redisContext *c, cachectl_conf_t *conf,
    const char *instance_id, json_t *sids, size_t *queued);

/* "2026-11-26T03:00:00.000Z" (a Date as JSON) -> ms; 0 when not that */
int64_t cachectl_iso_ms(const char *s);

/* seconds: how long a session can live; its user's index lives as long */
long cachectl_sessions_life(cachectl_conf_t *conf);

/* seconds: the tombstones of the walk and of revoke last alike */
long cachectl_sessions_tombstone(cachectl_conf_t *conf);

/*
 * A node's word (a SCAN reply, an index's members) kept to what can be
 * used: strings without a NUL and, when prefix is the length of
 * "<ns>sess:", keys that start with it and go on; the rest freed, the
 * array compacted. Returns how many are left.
 */
size_t cachectl_sessions_keep(redisReply *names, const char *ns,
    size_t prefix);


#endif /* CACHECTL_SESSIONS_INT_H */
