/*
 * hiredis' replies as libjpulse's neutral tree (jp_resp_value_t), for
 * jp_redis_cluster, which takes no hiredis types. Shared by cachectl's
 * cluster client and t/unit/jp_cluster_tool, so that the tool tests the
 * conversion cachectl runs.
 */

#ifndef CACHECTL_RESP_H
#define CACHECTL_RESP_H

#include <hiredis/hiredis.h>

#include "jp_redis_cluster.h"


/*
 * 0, or -1 (out of memory); the strings stay the reply's. Either way
 * cachectl_resp_tree_free() frees what was built.
 */
int cachectl_resp_tree(const redisReply *r, jp_resp_value_t *v);
void cachectl_resp_tree_free(const jp_resp_value_t *v);


#endif /* CACHECTL_RESP_H */
