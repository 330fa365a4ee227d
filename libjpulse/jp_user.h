/*
 * Who a signed-in user is to jPulse (contract 4.3, 5.4): the user object
 * templates see, jPulse's role test (AuthController.isAuthorized) and its
 * effective admin roles (ConfigModel.getEffectiveAdminRoles).
 */

#ifndef JP_USER_H
#define JP_USER_H

#include <stddef.h>

#include <jansson.h>


/*
 * siteConfig's general.adminRoles, sorted, when general.roles and
 * general.adminRoles are both arrays (as jPulse caches them), else
 * ["admin","root"]. A new reference; NULL on no memory.
 */
json_t *jp_user_admin_roles(json_t *site);

/*
 * isAuthorized: a signed-in user whose roles (an array) hold a string of
 * required; anyone else only when required holds "_public". required is
 * an array of strings.
 */
int jp_user_authorized(json_t *roles, int authenticated, json_t *required);

/* the same for one role of len bytes */
int jp_user_has_role(json_t *roles, const char *role, size_t len);

/*
 * user.* as jPulse's view controller builds it, in its key order: id,
 * username, firstName, nickName, lastName, email (the session's value
 * when truthy, else ""), initials ("?"), roles, hasRole, isAuthenticated,
 * isAdmin (authorized for admin_roles), preferences ({}), timezone.
 * suser is the session's user object (NULL or not an object: the
 * anonymous user); values are shared, not copied. NULL on no memory.
 */
json_t *jp_user_context(json_t *suser, int authenticated, json_t *admin_roles,
    const char *tz, size_t tz_len);

/* JavaScript's truthiness of a JSON value (NULL: undefined) */
int jp_user_truthy(json_t *v);

#endif /* JP_USER_H */
