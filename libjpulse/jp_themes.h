/*
 * jPulse's theme list (appConfig.system.themes) and a theme's colour
 * scheme, from the view roots through a template host (jp_tpl_host_t):
 * themes/<name>.json describes a theme, themes/<name>.css styles it.
 */

#ifndef JP_THEMES_H
#define JP_THEMES_H

#include <jansson.h>

#include "jp_tpl.h"


/* theme files read at most; more are ignored (a bounded walk) */
#define JP_THEMES_MAX  256

/*
 * The list as jPulse gives it: for each themes/<name>.json of the roots (the
 * first root having a name wins), sorted, a JSON object whose name,
 * label, description, author, version and source are non-empty strings,
 * whose name is [A-Za-z0-9_-]+ and the file's, whose source is framework,
 * plugin or site, and whose themes/<name>.css and .png exist gives
 * {name, label, description, author, version, source[, pluginName],
 * colorScheme}, trimmed. "light" and "dark" are added when missing. The
 * order: light, dark, then the others by name as JavaScript's
 * localeCompare() sorts ASCII names. *schemes (when not NULL) gets
 * {name: "light"|"dark"} for every themes/<name>.css found, for the
 * colour scheme of a theme that is not listed. NULL on no memory.
 */
json_t *jp_themes_discover(const jp_tpl_host_t *host, json_t **schemes);

/*
 * "dark" or "light" from a theme's CSS: the first
 * "--jp-theme-color-scheme: light|dark;", else the first
 * "color-scheme: light|dark;" at the start or after white space, '{' or
 * ';' (any case, white space around ':' and before ';'), else "light".
 */
const char *jp_themes_color_scheme(const char *css, size_t len);


#endif /* JP_THEMES_H */
