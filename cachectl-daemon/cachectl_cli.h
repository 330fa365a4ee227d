/*
 * cachectl's ops commands: status, sync, invalidate, get, instances,
 * watch. Tables for people, --json for scripts.
 */

#ifndef CACHECTL_CLI_H
#define CACHECTL_CLI_H

#include <hiredis/hiredis.h>

#include "cachectl_conf.h"


int cachectl_status(cachectl_conf_t *conf);
int cachectl_sync(cachectl_conf_t *conf);
int cachectl_invalidate(cachectl_conf_t *conf);
int cachectl_get(cachectl_conf_t *conf);
int cachectl_instances(cachectl_conf_t *conf);
int cachectl_watch(cachectl_conf_t *conf);

/*
 * With --redis-sentinel, after a one-shot command's writes: WAIT for the
 * replicas. rc when acknowledged (or rc is a usage/failure code);
 * CACHECTL_EXIT_UNREPLICATED, said on stderr, when not.
 */
int cachectl_cli_replicated(cachectl_conf_t *conf, redisContext *c,
    int rc);

/* s appended to buf at *len, control characters escaped: one line */
void cachectl_cli_esc(char *buf, size_t size, size_t *len, const char *s);


#endif /* CACHECTL_CLI_H */
