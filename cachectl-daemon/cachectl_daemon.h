/*
 * cachectl daemon: watch, validate, publish; heartbeat; session upkeep.
 */

#ifndef CACHECTL_DAEMON_H
#define CACHECTL_DAEMON_H

#include <jansson.h>

#include "cachectl_conf.h"


int cachectl_daemon(cachectl_conf_t *conf);

/*
 * this process's heartbeat blob (docs/protocol.md, kind "cachectl");
 * uptime_ms from the monotonic clock
 */
json_t *cachectl_daemon_blob(const char *instance_id, int64_t uptime_ms,
    json_t *stats);


#endif /* CACHECTL_DAEMON_H */
