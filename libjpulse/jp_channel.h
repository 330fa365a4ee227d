/*
 * jPulse broadcast channel names (jpulse-contract.md 4.4):
 *   layer:component:domain:action[:...]   layer is model, view, controller
 *
 * Channels travel as "<ns>bc:<channel>"; both rules are jPulse's, so that
 * what we publish is accepted by Node peers and the other way round.
 */

#ifndef JP_CHANNEL_H
#define JP_CHANNEL_H

#include <stddef.h>

#define JP_CHANNEL_MAX  256

/*
 * The general rule, on publish and dispatch:
 *   ^(model|view|controller)((:[\w.\-]+){3,16}|(:[\w.\-]+){1,15}:\*)$
 */
int jp_channel_valid(const char *name, size_t len);

/*
 * The stricter rule of the REST endpoint:
 *   ^(controller|model|view)(:[\w\-]+){3,}$
 */
int jp_channel_valid_rest(const char *name, size_t len);

/*
 * Channels the module itself acts on, which a client must not be able to
 * publish on by default (ngx_http_jpulse_broadcast.c):
 *   controller:cache:invalidate:*     every worker revalidates its caches
 *   controller:health:metrics:*       instances in the cluster view,
 *                                     ...:shutdown:<id> removes one
 *   controller:config:data:changed    every worker re-reads the config
 */
int jp_channel_reserved(const char *name, size_t len);

#endif /* JP_CHANNEL_H */
