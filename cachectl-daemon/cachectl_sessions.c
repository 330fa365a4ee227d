/*
 * Session upkeep (see cachectl_sessions.h); the sessions commands are in
 * cachectl_sessions_cli.c.
 *
 * jPulse's sessions are connect-redis JSON under <ns>sess:<sid>
 * (contract 4.3). The daemon walks them in passes, at most one every
 * --session-pass-interval seconds; a pass is a resumable SCAN, a budget
 * of keys per step, and for each session it:
 *   - gives a session without a TTL one (the cookie's expiry, else
 *     --session-default-ttl);
 *   - enforces an absolute lifetime (--session-max-age, 0: none), counted
 *     from the first time cachectl saw the session; the first-seen record
 *     (<ns>cachectl:sessfirst, "<ms> <userId>") also remembers whose
 *     index the session is in;
 *   - adds it to its user's index <ns>sessidx:<userId>, a set with a TTL,
 *     and takes it out of the index of the user it belonged to before.
 * Then the pass walks the first-seen records (HSCAN) and drops those of
 * the sessions that are gone, with their index entries.
 *
 * Every step returns within a few ms (a time budget), so the daemon's
 * loop keeps publishing and heartbeating however many keys there are.
 * Between passes the step only checks, once a second, that no revoked
 * session has come back (<ns>cachectl:revoked, written by "sessions
 * revoke"): one EVAL.
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jp_registry.h"
#include "jp_session.h"

#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_sessions.h"
#include "cachectl_sessions_int.h"
#include "cachectl_sync.h"


#define CACHECTL_SESSION_TICK_MS    100     /* between two steps of a walk */
#define CACHECTL_SESSION_BUSY_MS    20      /* between two cleanup steps */
#define CACHECTL_SESSION_STEP_MS    5       /* the time budget of a step */
#define CACHECTL_SESSION_RETRY_MS   5000    /* after an error reply */
#define CACHECTL_SESSION_SCAN_MAX   1000    /* SCAN COUNT at most */
#define CACHECTL_SESSION_HSCAN      500     /* HSCAN COUNT */
#define CACHECTL_SESSION_CLEAN_MAX  1000    /* records checked in a step */
#define CACHECTL_REVOKED_CHECK_MS   1000
#define CACHECTL_REVOKED_BATCH      500     /* tombstones checked an EVAL */

/* a session's lifetime when --session-max-age is 0: jPulse's store TTL */
#define CACHECTL_SESSION_LIFE_S     86400
#define CACHECTL_TOMBSTONE_MAX_S    (30 * 86400)


/*
 * Lua: s, the session in v decoded (nil when it is not JSON). Node's
 * JSON.stringify() writes a lone UTF-16 surrogate (a name cut inside a
 * pair, or sent so) as \udXXX, which cjson refuses: the session must
 * still be found by its user id, so a second try reads every surrogate
 * escape as U+FFFD, as cachectl_session_load() does.
 */
#define CACHECTL_SESSION_LUA_DECODE                                           \
    "local ok, s = pcall(cjson.decode, v) "                                   \
    "if not ok then "                                                         \
    "  ok, s = pcall(cjson.decode, (string.gsub(v, "                          \
    "              '\\\\u[dD][89a-fA-F]%x%x', '\\\\ufffd'))) "                \
    "end "                                                                    \
    "if not ok then s = nil end "


/*
 * The revoked sessions that came back (an in-flight request's SET at its
 * end recreates the key): deleted again, with their first-seen record and
 * index entry. KEYS[1] <ns>cachectl:revoked, KEYS[2] <ns>cachectl:
 * sessfirst; ARGV: "<ns>sess:", "<ns>sessidx:", offset, count. Returns
 * {next offset (0: from the start), deleted sids...}.
 */
static const char  cachectl_revoked_script[] =
    JP_REGISTRY_LUA_PROLOGUE
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end "
    "local t = redis.call('TIME') "
    "local now = t[1] * 1000 + math.floor(t[2] / 1000) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', "
    "           string.format('%.0f', now)) "
    "local off = tonumber(ARGV[3]) "
    "local n = tonumber(ARGV[4]) "
    "local ids = redis.call('ZRANGE', KEYS[1], off, off + n - 1) "
    "local out = {#ids < n and 0 or off + #ids} "
    "for _, sid in ipairs(ids) do "
    "  local v = redis.pcall('GET', ARGV[1] .. sid) "
    "  if type(v) == 'string' then "
    "    redis.call('DEL', ARGV[1] .. sid) "
    "    redis.call('HDEL', KEYS[2], sid) "
    CACHECTL_SESSION_LUA_DECODE
    "    if type(s) == 'table' and type(s.user) == 'table' "
    "       and type(s.user.id) == 'string' then "
    "      redis.call('SREM', ARGV[2] .. s.user.id, sid) "
    "    end "
    "    out[#out + 1] = sid "
    "  end "
    "end "
    "return out";


/*
 * The same check in a cluster, where the sessions are in slots of their
 * own: only the tombstones of the batch, alive ones. KEYS[1] <ns>{...}
 * cachectl:revoked; ARGV: offset, count. Returns {next offset, sids...};
 * cachectl then deletes those whose session exists, and their records.
 */
static const char  cachectl_revoked_ids_script[] =
    JP_REGISTRY_LUA_PROLOGUE
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end "
    "local t = redis.call('TIME') "
    "local now = t[1] * 1000 + math.floor(t[2] / 1000) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', "
    "           string.format('%.0f', now)) "
    "local off = tonumber(ARGV[1]) "
    "local n = tonumber(ARGV[2]) "
    "local ids = redis.call('ZRANGE', KEYS[1], off, off + n - 1) "
    "local out = {#ids < n and 0 or off + #ids} "
    "for _, sid in ipairs(ids) do out[#out + 1] = sid end "
    "return out";


/*
 * Revokes one session: a tombstone first (so that the session cannot come
 * back), then the session, its first-seen record and its index entry.
 * KEYS[1] <ns>cachectl:revoked, KEYS[2] <ns>sess:<sid>, KEYS[3] <ns>
 * cachectl:sessfirst; ARGV: sid, tombstone TTL ms, "<ns>sessidx:", the
 * user the session must belong to ("": any), "1" for a dry run, "1" for
 * a tombstone even when the session is gone. Returns {1 revoked (or would
 * be) | 0 no session | -1 another user's, user id}.
 *
 * The daemon passes that last "1": its walk read the session alive past
 * the age limit, but the TTL it cut to that limit may run out before this
 * script runs (a round trip later); the first-seen record then goes with
 * no tombstone, and a request in flight that saves the session again
 * would give it a whole new life.
 */
const char  cachectl_revoke_script[] =
    JP_REGISTRY_LUA_PROLOGUE
    "local v = redis.pcall('GET', KEYS[2]) "
    "if type(v) ~= 'string' then "
    "  if ARGV[6] == '1' then "
    JP_REGISTRY_LUA_ADD("KEYS[1]", "ARGV[1]", "ARGV[2]")
    "  end "
    "  return {0, ''} "
    "end "
    "local uid = '' "
    CACHECTL_SESSION_LUA_DECODE
    "if type(s) == 'table' and type(s.user) == 'table' "
    "   and type(s.user.id) == 'string' then uid = s.user.id end "
    "if ARGV[4] ~= '' and uid ~= ARGV[4] then return {-1, uid} end "
    "if ARGV[5] == '1' then return {1, uid} end "
    JP_REGISTRY_LUA_ADD("KEYS[1]", "ARGV[1]", "ARGV[2]")
    "redis.call('DEL', KEYS[2]) "
    "redis.call('HDEL', KEYS[3], ARGV[1]) "
    "if uid ~= '' then redis.call('SREM', ARGV[3] .. uid, ARGV[1]) end "
    "return {1, uid}";


/*
 * A tombstone for a session already gone. KEYS[1] <ns>cachectl:revoked;
 * ARGV: sid, tombstone TTL ms.
 */
const char  cachectl_tombstone_script[] =
    JP_REGISTRY_LUA_PROLOGUE
    JP_REGISTRY_LUA_ADD("KEYS[1]", "ARGV[1]", "ARGV[2]")
    "return 1";


static const char *cachectl_sessions_safe(char *buf, size_t size,
    const char *s);
static void cachectl_sessions_refused(cachectl_sessions_t *ss,
    const char *what, redisReply *r);
static int cachectl_sessions_scan_reply(cachectl_sessions_t *ss,
    const char *what, redisReply *r);
static int cachectl_sessions_append(redisContext *c, size_t *queued,
    const char *fmt, ...);
static int cachectl_sessions_drain(cachectl_sessions_t *ss, redisContext *c,
    size_t n, char *err, size_t size);
static int cachectl_sessions_revoked(cachectl_sessions_t *ss,
    cachectl_conf_t *conf, redisContext *c, char *err, size_t size);
static int cachectl_sessions_revoked_split(cachectl_sessions_t *ss,
    cachectl_conf_t *conf, redisContext *c, redisReply *ids, json_t *back,
    char *err, size_t size);
static int cachectl_sessions_walk(cachectl_sessions_t *ss,
    cachectl_conf_t *conf, redisContext *c, char *err, size_t size);
static int cachectl_sessions_check(cachectl_sessions_t *ss,
    cachectl_conf_t *conf, redisContext *c, redisReply *keys, int64_t now,
    char *err, size_t size);
static int cachectl_sessions_cleanup(cachectl_sessions_t *ss,
    cachectl_conf_t *conf, redisContext *c, char *err, size_t size);


void
cachectl_sessions_init(cachectl_sessions_t *ss, const char *instance_id)
{
    memset(ss, 0, sizeof(cachectl_sessions_t));
    snprintf(ss->instance_id, sizeof(ss->instance_id), "%s", instance_id);
    snprintf(ss->cursor, sizeof(ss->cursor), "0");
    snprintf(ss->hcursor, sizeof(ss->hcursor), "0");
}


json_t *
cachectl_sessions_stats(cachectl_sessions_t *ss)
{
    int64_t  now, next;

    now = cachectl_mono_ms();
    next = ss->phase == CACHECTL_SESSIONS_IDLE && ss->pass_at > now
           ? ss->pass_at - now : 0;

    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I,"
                     " s:I, s:I, s:I, s:I, s:I, s:s?}",
                     "live", (json_int_t) ss->live,
                     "passes", (json_int_t) ss->passes,
                     "scanned", (json_int_t) ss->scanned,
                     "ttlSet", (json_int_t) ss->ttl_set,
                     "expired", (json_int_t) ss->expired,
                     "indexed", (json_int_t) ss->indexed,
                     "lastPass", (json_int_t) ss->last_pass_ms,
                     "phase", ss->phase == CACHECTL_SESSIONS_WALK ? "walk"
                              : ss->phase == CACHECTL_SESSIONS_CLEANUP
                              ? "cleanup" : "idle",
                     "lastPassTook", (json_int_t) ss->last_pass_took,
                     "nextPassIn", (json_int_t) next,
                     "cleaned", (json_int_t) ss->cleaned,
                     "cleanupSteps", (json_int_t) ss->cleanup_steps,
                     "unindexed", (json_int_t) ss->unindexed,
                     "revived", (json_int_t) ss->revived,
                     "refusals", (json_int_t) ss->refusals,
                     "error", ss->error[0] ? ss->error : NULL);
}


/* "2026-11-26T03:00:00.000Z" -> ms since the epoch; 0 when not that */

int64_t
cachectl_iso_ms(const char *s)
{
    int        ms;
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    ms = 0;

    if (s == NULL
        || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6)
    {
        return 0;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    return (int64_t) timegm(&tm) * 1000 + ms;
}


/*
 * A session as jPulse wrote it, NULL when it is not JSON. Node's
 * JSON.stringify() writes what jansson refuses: a NUL as \u0000, a lone
 * UTF-16 surrogate as \udXXX, an integer past 2^63 as its digits. Such a
 * session must still be found by its user id (revoke-user), so a second
 * try reads every surrogate escape as U+FFFD, as the Lua scripts do
 * (CACHECTL_SESSION_LUA_DECODE), and big integers as reals.
 */

json_t *
cachectl_session_load(const char *s, size_t len)
{
    char    *p;
    size_t   i;
    json_t  *sess;

    sess = json_loadb(s, len, JSON_ALLOW_NUL, NULL);

    if (sess != NULL || len < 6) {
        return sess;
    }

    p = malloc(len);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len);

    for (i = 0; i + 6 <= len; i++) {
        if (p[i] == '\\' && p[i + 1] == 'u'
            && (p[i + 2] == 'd' || p[i + 2] == 'D')
            && p[i + 3] != '\0' && strchr("89abcdefABCDEF", p[i + 3]) != NULL
            && isxdigit((unsigned char) p[i + 4])
            && isxdigit((unsigned char) p[i + 5]))
        {
            memcpy(p + i + 2, "fffd", 4);
            i += 5;
        }
    }

    sess = json_loadb(p, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    free(p);

    return sess;
}


/* user.id, when it is a usable key part */

const char *
cachectl_session_user(json_t *sess)
{
    json_t  *id;

    id = json_object_get(json_object_get(sess, "user"), "id");

    /* a NUL inside would make it another user's id in C strings */
    return json_is_string(id) && json_string_length(id)
           && json_string_length(id) < CACHECTL_SID_MAX
           && strlen(json_string_value(id)) == json_string_length(id)
           ? json_string_value(id) : NULL;
}


/* for a log line: ids come from clients, a newline must not forge one */

static const char *
cachectl_sessions_safe(char *buf, size_t size, const char *s)
{
    size_t  i;

    for (i = 0; s[i] != '\0' && i + 1 < size; i++) {
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }

    buf[i] = '\0';

    return buf;
}


/*
 * How long a session can live: the absolute limit, or without one the
 * TTL jPulse's store gives; the index and the tombstones live this long.
 */

long
cachectl_sessions_life(cachectl_conf_t *conf)
{
    return conf->session_max_age_s > 0 ? conf->session_max_age_s
                                       : CACHECTL_SESSION_LIFE_S;
}


/*
 * The module's per-worker session caches (and anything else listening)
 * drop these sessions: without the event a worker could keep serving a
 * revoked session from its cache until the entry's own TTL. The event
 * names each session by its sid's digest, never the sid: jPulse forwards
 * controller:* broadcasts to anonymous WebSocket clients.
 */

int
cachectl_sessions_publish(redisContext *c, cachectl_conf_t *conf,
    const char *instance_id, json_t *sids, size_t *queued)
{
    int          rc;
    char        *text, digest[JP_SESSION_DIGEST_LEN + 1];
    json_t      *msg, *batch, *v;
    size_t       i, j, n;
    const char  *sid;

    n = json_array_size(sids);

    for (i = 0; i < n; i += CACHECTL_REVOKED_EVENT_SIDS) {
        batch = json_array();
        if (batch == NULL) {
            return -1;
        }

        for (j = i; j < n && j < i + CACHECTL_REVOKED_EVENT_SIDS; j++) {
            v = json_array_get(sids, j);
            sid = json_string_value(v);

            if (sid == NULL
                || jp_session_sid_digest((const unsigned char *) sid,
                                         json_string_length(v), digest)
                   != 0
                || json_array_append_new(batch, json_string(digest)) != 0)
            {
                json_decref(batch);
                return -1;
            }
        }

        msg = json_pack("{s:s, s:{s:o}, s:s, s:I}",
                        "channel", "controller:session:cache:revoked",
                        "data", "digests", batch, "instanceId", instance_id,
                        "timestamp", (json_int_t) cachectl_now_ms());
        text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
        json_decref(msg);

        if (text == NULL) {
            return -1;
        }

        rc = cachectl_redis_append(c, "PUBLISH %sbc:controller:session:cache:"
                                "revoked %s", conf->ns, text);
        free(text);

        if (rc != REDIS_OK) {
            return -1;
        }

        (*queued)++;
    }

    return 0;
}


/* a tombstone lasts as long as the session could have lived (protocol.md) */

long
cachectl_sessions_tombstone(cachectl_conf_t *conf)
{
    long  life;

    life = cachectl_sessions_life(conf) + conf->session_pass_s;

    if (conf->session_max_age_s == 0
        && life < conf->session_default_ttl_s)
    {
        life = conf->session_default_ttl_s;
    }

    return life > CACHECTL_TOMBSTONE_MAX_S ? CACHECTL_TOMBSTONE_MAX_S : life;
}


static void
cachectl_sessions_refused(cachectl_sessions_t *ss, const char *what,
    redisReply *r)
{
    char  msg[sizeof(ss->error)];

    ss->refusals++;
    snprintf(msg, sizeof(msg), "%s: %.*s", what, (int) r->len, r->str);

    /* once per new error: a refusal tends to repeat every step */
    if (strcmp(msg, ss->error) != 0) {
        cachectl_log(CACHECTL_ERR, "sessions: Redis refused %s", msg);
        memcpy(ss->error, msg, sizeof(msg));
    }
}


/*
 * 0 when r, a SCAN or HSCAN reply, has a cursor and a batch; else 1, an
 * error reply counted as Redis refusing what: the step retries later.
 */

static int
cachectl_sessions_scan_reply(cachectl_sessions_t *ss, const char *what,
    redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_ARRAY)
    {
        if (r->type == REDIS_REPLY_ERROR) {
            cachectl_sessions_refused(ss, what, r);
        }

        return 1;
    }

    return 0;
}


static int
cachectl_sessions_append(redisContext *c, size_t *queued, const char *fmt,
    ...)
{
    int      rc;
    va_list  ap;

    va_start(ap, fmt);
    rc = cachectl_redis_vappend(c, fmt, ap);
    va_end(ap);

    if (rc != REDIS_OK) {
        return -1;
    }

    (*queued)++;

    return 0;
}


/* the replies of n pipelined writes: nothing else may use the connection */

static int
cachectl_sessions_drain(cachectl_sessions_t *ss, redisContext *c, size_t n,
    char *err, size_t size)
{
    void    *rp;
    size_t   i;

    for (i = 0; i < n; i++) {
        if (cachectl_redis_reply(c, &rp) != REDIS_OK) {
            snprintf(err, size, "Redis: %s", cachectl_redis_errstr(c));
            return -1;
        }

        if (((redisReply *) rp)->type == REDIS_REPLY_ERROR) {
            cachectl_sessions_refused(ss, "upkeep", rp);
        }

        freeReplyObject(rp);
    }

    return 0;
}


int
cachectl_sessions_step(cachectl_sessions_t *ss, cachectl_conf_t *conf,
    redisContext *c, char *err, size_t size)
{
    int      rc;
    int64_t  now;

    now = cachectl_mono_ms();
    rc = 0;

    if (now >= ss->revoked_at) {
        rc = cachectl_sessions_revoked(ss, conf, c, err, size);
        if (rc == -1) {
            ss->next_at = now + CACHECTL_SESSION_TICK_MS;
            return -1;
        }

        /* refused (no EVAL for us?): the passes go on regardless */
        ss->revoked_at = now + (rc == 0 ? CACHECTL_REVOKED_CHECK_MS
                                        : CACHECTL_SESSION_RETRY_MS);
        rc = 0;
    }

    if (ss->phase == CACHECTL_SESSIONS_IDLE && now >= ss->pass_at)
    {
        ss->phase = CACHECTL_SESSIONS_WALK;
        ss->pass_start = now;
        ss->pass_refusals = ss->refusals;
        ss->pass_at = now + conf->session_pass_s * 1000;
        snprintf(ss->cursor, sizeof(ss->cursor), "0");
    }

    if (ss->phase == CACHECTL_SESSIONS_WALK) {
        rc = cachectl_sessions_walk(ss, conf, c, err, size);

    } else if (ss->phase == CACHECTL_SESSIONS_CLEANUP) {
        rc = cachectl_sessions_cleanup(ss, conf, c, err, size);
    }

    now = cachectl_mono_ms();

    if (rc == -1) {
        ss->next_at = now + CACHECTL_SESSION_TICK_MS;
        return -1;
    }

    if (rc == 1) {
        /* an error reply: where it stands, a while later */
        ss->next_at = now + CACHECTL_SESSION_RETRY_MS;
        return 0;
    }

    switch (ss->phase) {

    case CACHECTL_SESSIONS_WALK:
        ss->next_at = now + CACHECTL_SESSION_TICK_MS;
        break;

    case CACHECTL_SESSIONS_CLEANUP:
        ss->next_at = now + CACHECTL_SESSION_BUSY_MS;
        break;

    default:
        ss->next_at = ss->pass_at < ss->revoked_at ? ss->pass_at
                                                   : ss->revoked_at;
    }

    if (ss->next_at > ss->revoked_at) {
        ss->next_at = ss->revoked_at;
    }

    return rc;
}


/* 0, 1 when Redis refused (an error reply), -1 when the connection broke */

static int
cachectl_sessions_revoked(cachectl_sessions_t *ss, cachectl_conf_t *conf,
    redisContext *c, char *err, size_t size)
{
    int          rc;
    char         off[32], sess[CACHECTL_NS_MAX + 8];
    char         idx[CACHECTL_GROUP_MAX + 16], safe[16];
    json_t      *back;
    size_t       i, queued;
    redisReply  *r;

    snprintf(off, sizeof(off), "%ld", ss->revoked_off);
    snprintf(sess, sizeof(sess), "%ssess:", conf->ns);
    snprintf(idx, sizeof(idx), "%ssessidx:", conf->sx);

    r = conf->redis_cluster != NULL
        ? cachectl_redis_cmd(c, err, size, "EVAL %s 1 %scachectl:revoked "
                             "%s %d", cachectl_revoked_ids_script, conf->sx,
                             off, CACHECTL_REVOKED_BATCH)
        : cachectl_redis_cmd(c, err, size, "EVAL %s 2 %scachectl:revoked "
                             "%scachectl:sessfirst %s %s %s %d",
                             cachectl_revoked_script, conf->sx, conf->sx,
                             sess, idx, off, CACHECTL_REVOKED_BATCH);
    if (r == NULL) {
        return -1;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1
        || r->element[0]->type != REDIS_REPLY_INTEGER)
    {
        if (r->type == REDIS_REPLY_ERROR) {
            cachectl_sessions_refused(ss, "revoked check", r);
        }

        freeReplyObject(r);
        return 1;
    }

    ss->revoked_off = (long) r->element[0]->integer;

    if (r->elements < 2) {
        freeReplyObject(r);
        return 0;
    }

    back = json_array();

    if (conf->redis_cluster != NULL) {
        rc = back ? cachectl_sessions_revoked_split(ss, conf, c, r, back,
                                                    err, size)
                  : -1;
        freeReplyObject(r);

        if (rc != 0 || json_array_size(back) == 0) {
            json_decref(back);
            return rc;
        }

        goto publish;
    }

    for (i = 1; i < r->elements; i++) {
        ss->revived++;
        cachectl_log(CACHECTL_WARN, "revoked session %s... came back: "
                     "deleted again",
                     cachectl_sessions_safe(safe, 13, r->element[i]->str));

        if (r->element[i]->type == REDIS_REPLY_STRING) {
            json_array_append_new(back, json_stringn(r->element[i]->str,
                                                     r->element[i]->len));
        }
    }

    freeReplyObject(r);

publish:

    /* a worker may have cached it while it was back */
    queued = 0;
    rc = back ? cachectl_sessions_publish(c, conf, ss->instance_id, back,
                                          &queued)
              : -1;
    json_decref(back);

    if (rc != 0) {
        snprintf(err, size, "out of memory");
        return -1;
    }

    return cachectl_sessions_drain(ss, c, queued, err, size);
}


/*
 * The cluster's half of the check: GET of each tombstoned session (its
 * own slot), then for those that exist the DEL and their records (the
 * sess group), pipelined. The sids deleted go to back. 0, or -1.
 */

static int
cachectl_sessions_revoked_split(cachectl_sessions_t *ss,
    cachectl_conf_t *conf, redisContext *c, redisReply *ids, json_t *back,
    char *err, size_t size)
{
    int          rc;
    char         safe[16];
    void        *rp;
    json_t      *sess;
    size_t       i, queued;
    redisReply  *g, *e;
    const char  *uid;

    for (i = 1; i < ids->elements; i++) {
        e = ids->element[i];

        if (e->type != REDIS_REPLY_STRING
            || cachectl_redis_append(c, "GET %ssess:%b", conf->ns, e->str,
                                     e->len) != REDIS_OK)
        {
            /* the appended ones are lost with the connection */
            snprintf(err, size, "out of memory");
            return -1;
        }
    }

    queued = 0;
    rc = 0;

    for (i = 1; i < ids->elements; i++) {
        if (cachectl_redis_reply(c, &rp) != REDIS_OK) {
            snprintf(err, size, "Redis: %s", cachectl_redis_errstr(c));
            return -1;
        }

        g = rp;
        e = ids->element[i];

        if (g->type == REDIS_REPLY_STRING && rc == 0) {
            sess = cachectl_session_load(g->str, g->len);
            uid = cachectl_session_user(sess);

            ss->revived++;
            cachectl_log(CACHECTL_WARN, "revoked session %s... came back: "
                         "deleted again",
                         cachectl_sessions_safe(safe, 13, e->str));

            if (cachectl_sessions_append(c, &queued, "DEL %ssess:%b",
                                         conf->ns, e->str, e->len) != 0
                || cachectl_sessions_append(c, &queued,
                       "HDEL %scachectl:sessfirst %b", conf->sx, e->str,
                       e->len) != 0
                || (uid != NULL
                    && cachectl_sessions_append(c, &queued,
                           "SREM %ssessidx:%s %b", conf->sx, uid, e->str,
                           e->len) != 0)
                || json_array_append_new(back, json_stringn(e->str, e->len))
                   != 0)
            {
                snprintf(err, size, "out of memory");
                rc = -1;
            }

            json_decref(sess);
        }

        freeReplyObject(g);
    }

    if (rc != 0) {
        return rc;
    }

    return cachectl_sessions_drain(ss, c, queued, err, size);
}


/* a few SCAN batches of the pass, within the step's budget */

static int
cachectl_sessions_walk(cachectl_sessions_t *ss, cachectl_conf_t *conf,
    redisContext *c, char *err, size_t size)
{
    int          rc;
    long         budget, done;
    int64_t      now, deadline;
    redisReply  *r;

    deadline = cachectl_mono_ms() + CACHECTL_SESSION_STEP_MS;
    budget = conf->session_scan_rate * CACHECTL_SESSION_TICK_MS / 1000 + 1;
    done = 0;

    /* Redis's clock: the records are compared by every host's daemon */
    r = cachectl_redis_cmd(c, err, size, "TIME");
    if (r == NULL) {
        return -1;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        if (r->type == REDIS_REPLY_ERROR) {
            cachectl_sessions_refused(ss, "TIME", r);
        }

        freeReplyObject(r);
        return 1;
    }

    now = atoll(r->element[0]->str) * 1000
          + atoll(r->element[1]->str) / 1000;
    freeReplyObject(r);

    ss->clock_ms = now;
    ss->clock_mono = cachectl_mono_ms();

    if (strcmp(ss->cursor, "0") == 0) {
        /*
         * The pass starts: the module's touch reads the limit here, so
         * that no EXPIRE of its own extends a session past it. It lives
         * three passes and a minute: a daemon that stopped takes its
         * limit with it.
         */
        r = conf->session_max_age_s > 0
            ? cachectl_redis_cmd(c, err, size,
                  "SET %scachectl:sessmaxage %lld PX %lld", conf->sx,
                  (long long) conf->session_max_age_s * 1000,
                  (long long) conf->session_pass_s * 3000 + 60000)
            : cachectl_redis_cmd(c, err, size,
                  "DEL %scachectl:sessmaxage", conf->sx);
        if (r == NULL) {
            return -1;
        }

        if (r->type == REDIS_REPLY_ERROR) {
            cachectl_sessions_refused(ss, "max-age key", r);
        }

        freeReplyObject(r);
    }

    do {
        /* a batch is a few ms of pipelined commands, whatever the rate */
        r = cachectl_redis_scan(c, ss->cursor, err, size,
                                "MATCH %ssess:* COUNT %ld", conf->ns,
                                budget < 100 ? 100
                               : budget > CACHECTL_SESSION_SCAN_MAX
                               ? CACHECTL_SESSION_SCAN_MAX : budget);
        if (r == NULL) {
            return -1;
        }

        if (cachectl_sessions_scan_reply(ss, "SCAN", r) != 0) {
            freeReplyObject(r);
            return 1;
        }

        snprintf(ss->cursor, sizeof(ss->cursor), "%s", r->element[0]->str);
        done += r->element[1]->elements;

        rc = cachectl_sessions_check(ss, conf, c, r->element[1], now, err,
                                     size);
        freeReplyObject(r);

        if (rc != 0) {
            return rc;
        }

        if (strcmp(ss->cursor, "0") == 0) {
            /* every session seen: now the records of those gone */
            ss->phase = CACHECTL_SESSIONS_CLEANUP;
            snprintf(ss->hcursor, sizeof(ss->hcursor), "0");
            ss->cleanup_steps = 0;
            ss->live = ss->pass_live;
            ss->pass_live = 0;
            ss->indexed = ss->pass_indexed;
            ss->pass_indexed = 0;
            break;
        }

    } while (done < budget && cachectl_mono_ms() < deadline);

    return 0;
}


/*
 * The sessions of a batch past --session-max-age, in a cluster: the
 * tombstones first, each reply read, then the deletions of those whose
 * tombstone applied, and only those go into removed (the event). A
 * refused tombstone leaves its session to the next pass: deleted without
 * one, a request in flight would save it again as a new session.
 */

static int
cachectl_sessions_aged(cachectl_sessions_t *ss, cachectl_conf_t *conf,
    redisContext *c, redisReply *keys, json_t *aged, json_t *removed,
    char *err, size_t size)
{
    char         rec[32], safe[CACHECTL_SID_MAX], who[CACHECTL_SID_MAX + 32];
    void        *rp;
    size_t       i, k, queued, prefix;
    json_t      *v;
    const char  *key, *sid, *uid;

    prefix = strlen(conf->ns) + 5;
    queued = 0;

    snprintf(rec, sizeof(rec), "%lld",
             (long long) cachectl_sessions_tombstone(conf) * 1000);

    json_array_foreach(aged, i, v) {
        k = (size_t) json_integer_value(json_object_get(v, "i"));
        sid = keys->element[k]->str + prefix;

        if (cachectl_sessions_append(c, &queued,
                "EVAL %s 1 %scachectl:revoked %s %s",
                cachectl_tombstone_script, conf->sx, sid, rec) != 0)
        {
            snprintf(err, size, "out of memory");
            return -1;
        }
    }

    json_array_foreach(aged, i, v) {
        if (cachectl_redis_reply(c, &rp) != REDIS_OK) {
            snprintf(err, size, "Redis: %s", cachectl_redis_errstr(c));
            return -1;
        }

        if (((redisReply *) rp)->type == REDIS_REPLY_ERROR) {
            cachectl_sessions_refused(ss, "tombstone", rp);
            json_object_set_new(v, "refused", json_true());
        }

        freeReplyObject(rp);
    }

    queued = 0;

    json_array_foreach(aged, i, v) {
        if (json_is_true(json_object_get(v, "refused"))) {
            continue;
        }

        k = (size_t) json_integer_value(json_object_get(v, "i"));
        key = keys->element[k]->str;
        sid = key + prefix;
        uid = json_string_value(json_object_get(v, "uid"));

        if (cachectl_sessions_append(c, &queued, "DEL %s", key) != 0
            || cachectl_sessions_append(c, &queued,
                   "HDEL %scachectl:sessfirst %s", conf->sx, sid) != 0
            || (uid && cachectl_sessions_append(c, &queued,
                   "SREM %ssessidx:%s %s", conf->sx, uid, sid) != 0))
        {
            snprintf(err, size, "out of memory");
            return -1;
        }

        json_array_append_new(removed, json_string(sid));

        ss->expired++;
        cachectl_log(CACHECTL_INFO, "session %s... of user %s removed: "
                     "older than %lds", cachectl_sessions_safe(safe, 13, sid),
                     uid ? cachectl_sessions_safe(who, sizeof(who), uid) : "-",
                     conf->session_max_age_s);
    }

    return cachectl_sessions_drain(ss, c, queued, err, size);
}


/* the sessions of one SCAN batch; now is Redis's clock */

static int
cachectl_sessions_check(cachectl_sessions_t *ss, cachectl_conf_t *conf,
    redisContext *c, redisReply *keys, int64_t now, char *err, size_t size)
{
    int           k, have;
    char         *key, *sid, *end, rec[CACHECTL_SID_MAX + 32];
    char          safe[CACHECTL_SID_MAX];
    void         *rp[3];
    size_t        i, n, prefix, queued;
    json_t       *sess, *removed, *aged;
    int64_t       first, remaining, expires, want, pttl, max;
    redisReply   *get, *t, *f;
    const char   *uid, *ruid;

    prefix = strlen(conf->ns) + 5;
    max = (int64_t) conf->session_max_age_s * 1000;
    queued = 0;

    /* a SCAN reply is a node's word: only strings "<ns>sess:<sid>" */
    n = cachectl_sessions_keep(keys, conf->ns, prefix);

    removed = json_array();
    aged = json_array();

    if (removed == NULL || aged == NULL) {
        json_decref(removed);
        json_decref(aged);
        snprintf(err, size, "out of memory");
        return -1;
    }

    for (i = 0; i < n; i++) {
        key = keys->element[i]->str;

        if (cachectl_redis_append(c, "GET %s", key) != REDIS_OK
            || cachectl_redis_append(c, "PTTL %s", key) != REDIS_OK
            || cachectl_redis_append(c, "HGET %scachectl:sessfirst %s",
                                  conf->sx, key + prefix) != REDIS_OK)
        {
            json_decref(removed);
            snprintf(err, size, "out of memory");
            return -1;
        }
    }

    for (i = 0; i < n; i++) {
        for (k = 0; k < 3; k++) {
            if (cachectl_redis_reply(c, &rp[k]) != REDIS_OK) {
                snprintf(err, size, "Redis: %s", cachectl_redis_errstr(c));
                while (k--) {
                    freeReplyObject(rp[k]);
                }
                json_decref(removed);
                return -1;
            }
        }

        get = rp[0];
        t = rp[1];
        f = rp[2];
        key = keys->element[i]->str;
        sid = key + prefix;
        sess = NULL;

        ss->scanned++;

        first = now;
        ruid = NULL;
        have = 0;

        if (f->type == REDIS_REPLY_STRING) {
            first = strtoll(f->str, &end, 10);

            /* a record that is not ours counts as none: rewritten */
            if (end != f->str && first > 0 && first < now + 86400000) {
                have = 1;
                ruid = (*end == ' ' && end[1] != '\0') ? end + 1 : NULL;

            } else {
                first = now;
            }
        }

        if (get->type == REDIS_REPLY_ERROR) {
            /* not a session: another type under the pattern */
            goto next;
        }

        if (get->type != REDIS_REPLY_STRING) {
            /* gone since the SCAN: forget it */
            if (f->type == REDIS_REPLY_STRING
                && (cachectl_sessions_append(c, &queued,
                        "HDEL %scachectl:sessfirst %s", conf->sx, sid) != 0
                    || (ruid && cachectl_sessions_append(c, &queued,
                        "SREM %ssessidx:%s %s", conf->sx, ruid, sid) != 0)))
            {
                goto nomem;
            }

            goto next;
        }

        sess = cachectl_session_load(get->str, get->len);
        uid = cachectl_session_user(sess);

        if (!have) {
            snprintf(rec, sizeof(rec), "%lld%s%s", (long long) now,
                     uid ? " " : "", uid ? uid : "");

            if (cachectl_sessions_append(c, &queued,
                    f->type == REDIS_REPLY_STRING
                    ? "HSET %scachectl:sessfirst %s %s"
                    : "HSETNX %scachectl:sessfirst %s %s", conf->sx, sid,
                    rec) != 0)
            {
                goto nomem;
            }

        } else if ((uid == NULL) != (ruid == NULL)
                   || (uid && strcmp(uid, ruid) != 0))
        {
            /* another user's now (or none): out of the old index */
            snprintf(rec, sizeof(rec), "%lld%s%s", (long long) first,
                     uid ? " " : "", uid ? uid : "");

            if (cachectl_sessions_append(c, &queued,
                    "HSET %scachectl:sessfirst %s %s", conf->sx, sid, rec)
                != 0)
            {
                goto nomem;
            }

            if (ruid) {
                if (cachectl_sessions_append(c, &queued,
                        "SREM %ssessidx:%s %s", conf->sx, ruid, sid) != 0)
                {
                    goto nomem;
                }

                ss->unindexed++;
            }
        }

        if (max > 0 && now - first >= max) {
            /*
             * As "sessions revoke" does, with a tombstone: a request in
             * flight ends with a SET of the session, which would be new
             * to us and live a whole --session-max-age again. The plain
             * deletions after it are no-ops, unless Redis refuses scripts
             * (an ACL): the age limit holds then too.
             */
            snprintf(rec, sizeof(rec), "%lld",
                     (long long) cachectl_sessions_tombstone(conf) * 1000);

            /*
             * In a cluster the session is in a slot of its own: the
             * tombstones of the batch after it (cachectl_sessions_aged),
             * the plain deletions only of those that applied, which is
             * docs/protocol.md's split
             */
            if (conf->redis_cluster != NULL) {
                if (json_array_append_new(aged, json_pack("{s:I, s:s?}",
                        "i", (json_int_t) i, "uid", uid)) != 0)
                {
                    goto nomem;
                }

                goto next;
            }

            if (cachectl_sessions_append(c, &queued,
                       "EVAL %s 3 %scachectl:revoked %s "
                       "%scachectl:sessfirst %s %s %ssessidx: %s %s %s",
                       cachectl_revoke_script, conf->sx, key, conf->sx, sid,
                       rec, conf->sx, "", "0", "1") != 0
                || cachectl_sessions_append(c, &queued, "DEL %s", key) != 0
                || cachectl_sessions_append(c, &queued,
                       "HDEL %scachectl:sessfirst %s", conf->sx, sid) != 0
                || (uid && cachectl_sessions_append(c, &queued,
                       "SREM %ssessidx:%s %s", conf->sx, uid, sid) != 0))
            {
                goto nomem;
            }

            /* a sid that is not UTF-8 cannot be in a JSON event */
            json_array_append_new(removed, json_string(sid));

            ss->expired++;
            cachectl_log(CACHECTL_INFO, "session %s... of user %s "
                         "removed: older than %lds",
                         cachectl_sessions_safe(safe, 13, sid),
                         uid ? cachectl_sessions_safe(rec, sizeof(rec), uid)
                             : "-",
                         conf->session_max_age_s);
            goto next;
        }

        remaining = max > 0 ? max - (now - first) : 0;
        pttl = t->type == REDIS_REPLY_INTEGER ? t->integer : -2;

        if (pttl == -1) {
            /* connect-redis's own rule: the cookie's expiry */
            expires = cachectl_iso_ms(json_string_value(json_object_get(
                          json_object_get(sess, "cookie"), "expires")));

            want = expires > now ? expires - now
                                 : conf->session_default_ttl_s * 1000;

            if (remaining > 0 && want > remaining) {
                want = remaining;
            }

            if (cachectl_sessions_append(c, &queued, "PEXPIRE %s %lld", key,
                                         (long long) want) != 0)
            {
                goto nomem;
            }

            ss->ttl_set++;

        } else if (remaining > 0 && pttl > remaining + 1000) {
            if (cachectl_sessions_append(c, &queued, "PEXPIRE %s %lld", key,
                                         (long long) remaining) != 0)
            {
                goto nomem;
            }
        }

        if (uid != NULL) {
            if (cachectl_sessions_append(c, &queued, "SADD %ssessidx:%s %s",
                                         conf->sx, uid, sid) != 0
                || cachectl_sessions_append(c, &queued,
                       "EXPIRE %ssessidx:%s %ld", conf->sx, uid,
                       cachectl_sessions_life(conf)) != 0)
            {
                goto nomem;
            }

            ss->pass_indexed++;
        }

        ss->pass_live++;

    next:

        json_decref(sess);

        for (k = 0; k < 3; k++) {
            freeReplyObject(rp[k]);
        }
    }

    /*
     * After the scripts that removed them, on the same connection; in a
     * cluster the sessions are on other connections: their replies
     * first, so that no worker reads a session again after the event
     */
    if (conf->redis_cluster != NULL && json_array_size(aged) > 0) {
        if (cachectl_sessions_drain(ss, c, queued, err, size) != 0
            || cachectl_sessions_aged(ss, conf, c, keys, aged, removed, err,
                                      size) != 0)
        {
            json_decref(removed);
            json_decref(aged);
            return -1;
        }

        queued = 0;
    }

    json_decref(aged);

    k = cachectl_sessions_publish(c, conf, ss->instance_id, removed,
                                  &queued);
    json_decref(removed);

    if (k != 0) {
        snprintf(err, size, "out of memory");
        return -1;
    }

    return cachectl_sessions_drain(ss, c, queued, err, size);

nomem:

    /* the replies still due make the connection useless: drop it */
    json_decref(sess);
    json_decref(removed);
    json_decref(aged);

    for (k = 0; k < 3; k++) {
        freeReplyObject(rp[k]);
    }

    snprintf(err, size, "out of memory");

    return -1;
}


/*
 * The first-seen records of sessions that are gone, a few HSCAN batches a
 * step: EXISTS for each field, then one HDEL of the dead ones and their
 * index entries, all pipelined.
 */

static int
cachectl_sessions_cleanup(cachectl_sessions_t *ss, cachectl_conf_t *conf,
    redisContext *c, char *err, size_t size)
{
    int           rc;
    char         *dead, *end, key[CACHECTL_GROUP_MAX + 24];
    void         *rp;
    json_t       *late;
    size_t        i, n, gone, queued, checked, *lens;
    int64_t       deadline, now, first, max, tomb, left;
    redisReply   *r, *fields, *e;
    const char  **argv;

    deadline = cachectl_mono_ms() + CACHECTL_SESSION_STEP_MS;
    checked = 0;
    ss->cleanup_steps++;

    snprintf(key, sizeof(key), "%scachectl:sessfirst", conf->sx);
    tomb = (int64_t) cachectl_sessions_tombstone(conf) * 1000;
    max = (int64_t) conf->session_max_age_s * 1000;

    do {
        r = cachectl_redis_cmd(c, err, size, "HSCAN %s %s COUNT %d", key,
                               ss->hcursor, CACHECTL_SESSION_HSCAN);
        if (r == NULL) {
            return -1;
        }

        if (cachectl_sessions_scan_reply(ss, "HSCAN", r) != 0) {
            freeReplyObject(r);
            return 1;
        }

        snprintf(ss->hcursor, sizeof(ss->hcursor), "%s", r->element[0]->str);
        fields = r->element[1];
        n = fields->elements / 2;
        checked += n;

        dead = calloc(n + 1, 1);
        argv = malloc((n + 2) * sizeof(char *));
        lens = malloc((n + 2) * sizeof(size_t));
        late = json_array();

        if (dead == NULL || argv == NULL || lens == NULL || late == NULL) {
            free(dead);
            free(argv);
            free(lens);
            json_decref(late);
            freeReplyObject(r);
            snprintf(err, size, "out of memory");
            return -1;
        }

        for (i = 0; i < n; i++) {
            if (cachectl_redis_append(c, "EXISTS %ssess:%b", conf->ns,
                                   fields->element[i * 2]->str,
                                   fields->element[i * 2]->len)
                != REDIS_OK)
            {
                /* the appended ones are lost with the connection */
                rc = -1;
                snprintf(err, size, "out of memory");
                goto done;
            }
        }

        gone = 0;
        rc = 0;

        for (i = 0; i < n; i++) {
            if (cachectl_redis_reply(c, &rp) != REDIS_OK) {
                snprintf(err, size, "Redis: %s", cachectl_redis_errstr(c));
                rc = -1;
                goto done;
            }

            e = rp;
            dead[i] = (e->type == REDIS_REPLY_INTEGER && e->integer == 0);
            gone += dead[i];
            freeReplyObject(e);
        }

        /* Redis's clock once the EXISTS answered, from the walk's TIME */
        now = ss->clock_ms + (cachectl_mono_ms() - ss->clock_mono);
        queued = 0;

        if (gone) {
            argv[0] = "HDEL";
            lens[0] = 4;
            argv[1] = key;
            lens[1] = strlen(key);
            gone = 2;

            for (i = 0; i < n; i++) {
                if (!dead[i]) {
                    continue;
                }

                argv[gone] = fields->element[i * 2]->str;
                lens[gone++] = fields->element[i * 2]->len;

                /* "<ms> <userId>": its index holds it too */
                first = strtoll(fields->element[i * 2 + 1]->str, &end, 10);

                /*
                 * Gone at the age limit: its TTL, cut to the limit by a
                 * pass, ran out. A request in flight that saves it again
                 * once this record is gone would make it a new session:
                 * a tombstone, as when the walk removes it, for what is
                 * left of the life it would have had from the limit on
                 * (a record dead for longer, left by a daemon that was
                 * stopped, needs none: no flood of tombstones).
                 */
                left = tomb - (now - first - max);

                /* within a second of it: a pass cuts no TTL closer */
                if (max > 0 && first > 0 && now - first + 1000 >= max
                    && left > 0)
                {
                    if (cachectl_sessions_append(c, &queued,
                            "EVAL %s 1 %scachectl:revoked %b %lld",
                            cachectl_tombstone_script, conf->sx,
                            fields->element[i * 2]->str,
                            fields->element[i * 2]->len, (long long) left)
                        != 0)
                    {
                        rc = -1;
                        snprintf(err, size, "out of memory");
                        goto done;
                    }

                    /* a worker may still hold it in its cache */
                    json_array_append_new(late,
                        json_stringn(fields->element[i * 2]->str,
                                     fields->element[i * 2]->len));
                }

                if (*end == ' ' && end[1] != '\0'
                    && cachectl_sessions_append(c, &queued,
                           "SREM %ssessidx:%s %b", conf->sx, end + 1,
                           fields->element[i * 2]->str,
                           fields->element[i * 2]->len) != 0)
                {
                    rc = -1;
                    snprintf(err, size, "out of memory");
                    goto done;
                }
            }

            if (cachectl_redis_append_argv(c, (int) gone, argv, lens)
                != REDIS_OK)
            {
                rc = -1;
                snprintf(err, size, "out of memory");
                goto done;
            }

            queued++;
            ss->cleaned += gone - 2;

            /* in a cluster: the tombstones written before the event */
            if (conf->redis_cluster != NULL && json_array_size(late) > 0) {
                rc = cachectl_sessions_drain(ss, c, queued, err, size);
                queued = 0;

                if (rc != 0) {
                    goto done;
                }
            }

            if (cachectl_sessions_publish(c, conf, ss->instance_id, late,
                                          &queued) != 0)
            {
                rc = -1;
                snprintf(err, size, "out of memory");
                goto done;
            }
        }

        rc = cachectl_sessions_drain(ss, c, queued, err, size);

    done:

        free(dead);
        free(argv);
        free(lens);
        json_decref(late);
        freeReplyObject(r);

        if (rc != 0) {
            return rc;
        }

        if (strcmp(ss->hcursor, "0") == 0) {
            ss->phase = CACHECTL_SESSIONS_IDLE;
            ss->passes++;
            ss->last_pass_ms = cachectl_now_ms();
            ss->last_pass_took = cachectl_mono_ms() - ss->pass_start;

            /* a pass without a refusal: what status shows is over */
            if (ss->refusals == ss->pass_refusals) {
                ss->error[0] = '\0';
            }

            /* a pass longer than the interval: the next waits a tick */
            if (ss->pass_at < cachectl_mono_ms()) {
                ss->pass_at = cachectl_mono_ms() + CACHECTL_SESSION_TICK_MS;
            }

            break;
        }

    } while (checked < CACHECTL_SESSION_CLEAN_MAX
             && cachectl_mono_ms() < deadline);

    return 0;
}


size_t
cachectl_sessions_keep(redisReply *names, const char *ns, size_t prefix)
{
    size_t       i, n;
    redisReply  *e;

    n = 0;

    for (i = 0; i < names->elements; i++) {
        e = names->element[i];

        if (e->type != REDIS_REPLY_STRING || e->str == NULL
            || strlen(e->str) != e->len
            || (prefix && (e->len <= prefix
                           || memcmp(e->str, ns, prefix - 5) != 0
                           || memcmp(e->str + prefix - 5, "sess:", 5) != 0)))
        {
            continue;
        }

        names->element[n++] = e;
    }

    for (i = n; i < names->elements; i++) {
        freeReplyObject(names->element[i]);
        names->element[i] = NULL;
    }

    names->elements = n;

    return n;
}
