/*
 * The instance registry (docs/protocol.md): a sorted set <ns>metrics:registry
 * of instance ids, each scored with the time (ms, Redis's clock) its
 * heartbeat key <ns>metrics:instance:<id> expires. Readers take the live
 * members and MGET their keys: a bounded number of commands however many
 * other keys Redis holds.
 *
 * Every time is Redis's own (TIME): writers and readers on hosts whose
 * clocks disagree still agree on who is alive.
 */

#ifndef JP_REGISTRY_H
#define JP_REGISTRY_H


/*
 * Not "metrics:instances": jPulse's Node instances SADD themselves to a set
 * of that name at connect; a sorted set there would fail both sides.
 */
#define JP_REGISTRY_KEY  "metrics:registry"

/* the most instances one reader lists */
#define JP_REGISTRY_MAX  1024

/*
 * Lua, first in a script that writes after calling TIME: Redis before 5
 * refuses such writes unless the script replicates its effects.
 */
#define JP_REGISTRY_LUA_PROLOGUE                                              \
    "if redis.replicate_commands then redis.replicate_commands() end "

/*
 * Lua: registers member m in the registry z for ttl ms, drops the members
 * whose time has passed, and lets z expire with its last member. z, m and
 * ttl are Lua expressions (e.g. "KEYS[3]", "ARGV[7]").
 */
#define JP_REGISTRY_LUA_ADD(z, m, ttl)                                        \
    "local jp_t = redis.call('TIME') "                                        \
    "local jp_now = jp_t[1] * 1000 + math.floor(jp_t[2] / 1000) "             \
    "redis.call('ZREMRANGEBYSCORE', " z ", '-inf', "                          \
    "           string.format('%.0f', jp_now)) "                              \
    "redis.call('ZADD', " z ", string.format('%.0f', jp_now + " ttl "), "     \
    m ") "                                                                    \
    "local jp_last = redis.call('ZRANGE', " z ", -1, -1, 'WITHSCORES') "      \
    "redis.call('PEXPIREAT', " z ", jp_last[2]) "

/*
 * A whole script for readers: KEYS[1] the registry, ARGV[1] the most ids
 * to return. The ids whose time has not passed, soonest to expire first.
 */
#define JP_REGISTRY_LUA_LIVE                                                  \
    "local t = redis.call('TIME') "                                           \
    "local now = t[1] * 1000 + math.floor(t[2] / 1000) "                      \
    "return redis.call('ZRANGEBYSCORE', KEYS[1], "                            \
    "                  '(' .. string.format('%.0f', now), '+inf', "           \
    "                  'LIMIT', 0, ARGV[1])"


#endif /* JP_REGISTRY_H */
