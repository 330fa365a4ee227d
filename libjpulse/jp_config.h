/*
 * jPulse's merged app config (.jpulse/app.json) as the templates see it:
 * the contextFilter rules (contract 5.4) and the few settings the render
 * path reads.
 */

#ifndef JP_CONFIG_H
#define JP_CONFIG_H

#include <jansson.h>


/*
 * A copy of config without the paths in remove ("a.b" at that place,
 * "**.b" any key b at any depth), then with the paths in allow put back
 * from config. The lists come from
 * controller.handlebar.contextFilter.{withoutAuth|withAuth,alwaysAllow}
 * when config has them, else jPulse's defaults. NULL on no memory.
 */
json_t *jp_config_context(json_t *config, int authenticated);

/* the string at a dotted path, or def */
const char *jp_config_str(json_t *config, const char *path, const char *def);

/* the integer at a dotted path, or def */
long long jp_config_int(json_t *config, const char *path, long long def);

/* the value at a dotted path (borrowed), or NULL */
json_t *jp_config_get(json_t *config, const char *path);

/*
 * siteConfig as templates may see it: a copy without what jPulse's schema
 * filter removes for anonymous users (email.smtp*, any key ending in
 * "pass", manifest.license.key), normalised as jPulse does (null -> "").
 * NULL on no memory.
 */
json_t *jp_config_site(json_t *site);

/*
 * The same for a signed-in user when authenticated: jPulse's withAuth
 * filter keeps email.smtpServer, smtpPort and smtpUser (still no key
 * ending in "pass", no manifest.license.key).
 */
json_t *jp_config_site_for(json_t *site, int authenticated);

#endif /* JP_CONFIG_H */
