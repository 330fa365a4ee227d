/*
 * What the session upkeep (cachectl_sessions.c) and the sessions commands
 * (cachectl_sessions_cli.c) share, defined in cachectl_sessions.c. Not
 * part of the public API.
 */

#ifndef CACHECTL_SESSIONS_INT_H
#define CACHECTL_SESSIONS_INT_H

#include <jansson.h>

#include "cachectl_conf.h"


#define CACHECTL_SID_MAX            256


/*
 * Revokes one session, a tombstone first. "sessions revoke" runs it, and
 * so does the walk for a session past --session-max-age: a request in
 * flight must not bring either back.
 */
extern const char  cachectl_revoke_script[];

/* both must read a session alike, or revoke-user misses what is indexed */
json_t *cachectl_session_load(const char *s, size_t len);
const char *cachectl_session_user(json_t *sess);

/* seconds: the tombstones of the walk and of revoke last alike */
long cachectl_sessions_tombstone(cachectl_conf_t *conf);


#endif /* CACHECTL_SESSIONS_INT_H */
