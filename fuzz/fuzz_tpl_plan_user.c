/*
 * libFuzzer target: plans of signed-in users' pages (JP_TPL_USER_DYNAMIC,
 * as the module renders them) give what a full render gives, for another
 * user (other names, roles, admin or not, preferences, query and clock).
 * The body is fuzz_tpl_plan.h; fuzz_tpl_plan.c is the same for anonymous
 * pages.
 */

#include "jp_tpl.h"

#define FUZZ_PLAN_FLAGS   JP_TPL_USER_DYNAMIC
#define FUZZ_PLAN_FILES                                                      \
    { "who.tmpl", "<b>{{user.firstName}}</b>{{#each user.roles}}{{this}}"    \
                  "{{/each}}{{app.site.name}}" },
#define FUZZ_PLAN_USER0                                                      \
    "{\"firstName\":\"Ada\",\"username\":\"ada\","                          \
    "\"roles\":[\"user\",\"admin\"],"                                        \
    "\"hasRole\":{\"user\":true,\"admin\":true},\"isAdmin\":true,"             \
    "\"isAuthenticated\":true,\"timezone\":\"UTC\","                          \
    "\"preferences\":{\"theme\":\"dark\",\"timezone\":\"UTC\"}}"
#define FUZZ_PLAN_USER1                                                      \
    "{\"firstName\":\"<i>Bob\",\"username\":\"bob\",\"roles\":[\"user\"],"   \
    "\"hasRole\":{\"user\":true},\"isAdmin\":false,"                          \
    "\"isAuthenticated\":true,\"timezone\":\"Europe/Berlin\","                \
    "\"preferences\":{\"timezone\":\"Europe/Berlin\"}}"

#include "fuzz_tpl_plan.h"
