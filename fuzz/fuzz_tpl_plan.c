/*
 * libFuzzer target: plans of anonymous pages give what a full render
 * gives, for another request (another query, URL, timezone and clock).
 * The body is fuzz_tpl_plan.h; the host is fuzz_tpl.c's (fuzz_tpl_host.h).
 */

#define FUZZ_PLAN_FLAGS   0
#define FUZZ_PLAN_FILES
#define FUZZ_PLAN_USER0                                                      \
    "{\"firstName\":\"\",\"isAuthenticated\":false,"                          \
    "\"preferences\":{\"timezone\":\"UTC\"}}"
#define FUZZ_PLAN_USER1                                                      \
    "{\"firstName\":\"\",\"isAuthenticated\":false,"                          \
    "\"preferences\":{\"timezone\":\"Europe/Berlin\"}}"

#include "fuzz_tpl_plan.h"
