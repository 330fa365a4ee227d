/*
 * The publisher's lease (docs/protocol.md, "<ns>cachectl:lease"): one
 * cachectl per namespace publishes the view tree; another one that starts
 * with other views would otherwise cut the index to its own tree. The
 * holder renews it with its heartbeat; a killed holder's lease runs out
 * and a standby takes over.
 */

#ifndef CACHECTL_LEASE_H
#define CACHECTL_LEASE_H

#include <hiredis/hiredis.h>

#include "cachectl_conf.h"


#define CACHECTL_LEASE_KEY  "cachectl:lease"

#define CACHECTL_LEASE_OURS     1   /* taken or renewed */
#define CACHECTL_LEASE_OTHER    0   /* held by holder */
#define CACHECTL_LEASE_FAILED  -1   /* err filled; connection broken */
#define CACHECTL_LEASE_ERROR   -2   /* err filled: Redis answered an error */

/*
 * Takes the lease for id, or renews it when id holds it, for ttl_ms.
 * holder receives whoever holds it after the call.
 */
int cachectl_lease_acquire(redisContext *c, cachectl_conf_t *conf,
    const char *id, long long ttl_ms, char *holder, size_t hsize, char *err,
    size_t esize);

/*
 * Takes the lease from "from" (a holder known to be dead: a daemon of
 * this host whose pid is gone), only if "from" still holds it.
 */
int cachectl_lease_steal(redisContext *c, cachectl_conf_t *conf,
    const char *id, long long ttl_ms, const char *from, char *err,
    size_t esize);

/* gives the lease up when id holds it (a graceful stop) */
int cachectl_lease_release(redisContext *c, cachectl_conf_t *conf,
    const char *id, char *err, size_t esize);

/* who holds it: 1 (holder and its remaining ms filled), 0 nobody, <0 */
int cachectl_lease_holder(redisContext *c, cachectl_conf_t *conf,
    char *holder, size_t hsize, long long *pttl, char *err, size_t esize);


#endif /* CACHECTL_LEASE_H */
