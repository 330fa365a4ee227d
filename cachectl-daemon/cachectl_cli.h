/*
 * cachectl's ops commands: status, sync, invalidate, get, instances,
 * watch. Tables for people, --json for scripts.
 */

#ifndef CACHECTL_CLI_H
#define CACHECTL_CLI_H

#include "cachectl_conf.h"


int cachectl_status(cachectl_conf_t *conf);
int cachectl_sync(cachectl_conf_t *conf);
int cachectl_invalidate(cachectl_conf_t *conf);
int cachectl_get(cachectl_conf_t *conf);
int cachectl_instances(cachectl_conf_t *conf);
int cachectl_watch(cachectl_conf_t *conf);


#endif /* CACHECTL_CLI_H */
