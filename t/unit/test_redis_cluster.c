/* Unit tests: libjpulse/jp_redis_cluster.c */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "jp_redis_cluster.h"

#include "redis_keyslot_table.h"


/* reply trees as compound literals */
#define V_INT(n)  { .type = JP_RESP_INTEGER, .integer = (n) }
#define V_STR(s)  { .type = JP_RESP_STRING, .str = (s), .len = sizeof(s) - 1 }
#define V_NIL     { .type = JP_RESP_NIL }
#define V_ERR(s)  { .type = JP_RESP_ERROR, .str = (s), .len = sizeof(s) - 1 }
#define V_ARR(...)                                                          \
    { .type = JP_RESP_ARRAY,                                                \
      .element = (const jp_resp_value_t[]) { __VA_ARGS__ },                \
      .elements = sizeof((const jp_resp_value_t[]) { __VA_ARGS__ })         \
                  / sizeof(jp_resp_value_t) }
#define V_MAP(...)                                                          \
    { .type = JP_RESP_MAP,                                                  \
      .element = (const jp_resp_value_t[]) { __VA_ARGS__ },                 \
      .elements = sizeof((const jp_resp_value_t[]) { __VA_ARGS__ })         \
                  / sizeof(jp_resp_value_t) }
#define V_EMPTY   { .type = JP_RESP_ARRAY }

#define ID_A  "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"
#define ID_B  "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"
#define ID_C  "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f"
#define ID_D  "ffffffffffffffffffffffffffffffffffffffff"
#define ID_E  "0000000000000000000000000000000000000000"
#define ID_F  "1111111111111111111111111111111111111111"

#define NODE(h, p, id)  V_ARR(V_STR(h), V_INT(p), V_STR(id), V_EMPTY)

static char  err[256];


static jp_rc_map_t *
build(const jp_resp_value_t *reply, const char *origin, unsigned max)
{
    jp_rc_map_conf_t  conf = { origin, max, 7 };

    err[0] = '\0';

    return jp_rc_map_build(&conf, reply, err, sizeof(err));
}


/* fails the reply, with a message naming what */
static void
refused(const jp_resp_value_t *reply, const char *what)
{
    jp_rc_map_t  *map;

    map = build(reply, "10.0.0.9", 0);
    if (map != NULL) {
        jp_rc_map_free(map);
        fail_msg("accepted; expected: %s", what);
    }

    if (strstr(err, what) == NULL) {
        fail_msg("error \"%s\", expected \"%s\"", err, what);
    }
}


/* hash slots ------------------------------------------------------------ */

static void
test_crc16(void **state)
{
    /* CRC16 XMODEM's check value, and the spec's example */
    assert_int_equal(jp_rc_crc16("123456789", 9), 0x31c3);
    assert_int_equal(jp_rc_crc16("", 0), 0);
    assert_int_equal(jp_rc_key_slot("123456789", 9), 0x31c3 & 16383);
}


static void
test_keyslot_table(void **state)
{
    size_t  i, n;

    n = sizeof(redis_keyslots) / sizeof(redis_keyslots[0]);
    assert_true(n > 300);

    for (i = 0; i < n; i++) {
        if (jp_rc_key_slot(redis_keyslots[i].key, redis_keyslots[i].len)
            != redis_keyslots[i].slot)
        {
            fail_msg("key %zu (%zu bytes): %u, Redis says %u", i,
                     redis_keyslots[i].len,
                     jp_rc_key_slot(redis_keyslots[i].key,
                                    redis_keyslots[i].len),
                     redis_keyslots[i].slot);
        }
    }
}


#define SLOT(s)  jp_rc_key_slot(s, sizeof(s) - 1)

static void
test_hash_tags(void **state)
{
    assert_int_equal(SLOT("{user1000}.following"), SLOT("user1000"));
    assert_int_equal(SLOT("{user1000}.followers"), SLOT("user1000"));
    assert_int_equal(SLOT("foo{bar}{zap}"), SLOT("bar"));
    assert_int_equal(SLOT("foo{{bar}}zap"), SLOT("{bar"));
    assert_int_equal(SLOT("a{b{c}d}e"), SLOT("b{c"));
    assert_int_equal(SLOT("jp:{tpl}:a"), SLOT("jp:{tpl}index"));

    /* an empty tag: the whole key */
    assert_int_equal(SLOT("foo{}{bar}"),
                     jp_rc_crc16("foo{}{bar}", 10) & 16383);
    assert_int_equal(SLOT("{}"), jp_rc_crc16("{}", 2) & 16383);
    assert_int_equal(SLOT("{a"), jp_rc_crc16("{a", 2) & 16383);

    /* bytes after a NUL count */
    assert_int_not_equal(jp_rc_key_slot("a\0b", 3), SLOT("a"));
    assert_int_equal(jp_rc_key_slot("{a}\0b", 5), SLOT("a"));
}


static void
test_keys_slot(void **state)
{
    const void          *keys[3] = { "jp:{tpl}:x", "jp:{tpl}index",
                                     "jp:{tpl}gen" };
    size_t               lens[3] = { 10, 13, 11 };
    const void          *bad[3] = { "jp:{tpl}:x", "jp:tplindex", "a" };
    size_t               blens[3] = { 10, 11, 1 };
    jp_rc_slot_check_t   c;

    assert_int_equal(jp_rc_keys_slot(keys, lens, 3), SLOT("tpl"));
    assert_int_equal(jp_rc_keys_slot(keys, lens, 1), SLOT("tpl"));
    assert_int_equal(jp_rc_keys_slot(keys, lens, 0), JP_RC_NOT_COVERED);
    assert_int_equal(jp_rc_keys_slot(bad, blens, 3), JP_RC_CROSSSLOT);
    assert_int_equal(jp_rc_keys_slot(bad, blens, 2), JP_RC_CROSSSLOT);

    jp_rc_slot_check_init(&c);
    assert_int_equal(c.slot, JP_RC_NOT_COVERED);
    assert_int_equal(jp_rc_slot_check_add(&c, "{x}1", 4), SLOT("x"));
    assert_int_equal(jp_rc_slot_check_add(&c, "{x}2", 4), SLOT("x"));
    assert_int_equal(jp_rc_slot_check_add(&c, "y", 1), JP_RC_CROSSSLOT);
    /* sticks, even for a key of the first slot */
    assert_int_equal(jp_rc_slot_check_add(&c, "x", 1), JP_RC_CROSSSLOT);
}


/* the slot map ---------------------------------------------------------- */

static void
test_map_three_primaries(void **state)
{
    const jp_resp_value_t  reply = V_ARR(
        V_ARR(V_INT(0), V_INT(5460), NODE("127.0.0.1", 30001, ID_A),
              NODE("127.0.0.1", 30004, ID_D)),
        V_ARR(V_INT(5461), V_INT(10922), NODE("127.0.0.1", 30002, ID_B),
              NODE("127.0.0.1", 30005, ID_E)),
        V_ARR(V_INT(10923), V_INT(16383), NODE("127.0.0.1", 30003, ID_C),
              NODE("127.0.0.1", 30006, ID_F)));
    const jp_rc_node_t    *p, *reps[4];
    jp_rc_map_t           *map;
    unsigned               cursor, start, end, n;

    map = build(&reply, NULL, 0);
    assert_non_null(map);

    assert_int_equal(jp_rc_map_generation(map), 7);
    assert_int_equal(jp_rc_map_covered(map), 16384);
    assert_int_equal(jp_rc_map_nodes(map), 6);

    p = jp_rc_map_primary(map, 0);
    assert_string_equal(p->host, "127.0.0.1");
    assert_int_equal(p->port, 30001);
    assert_string_equal(p->id, ID_A);
    assert_string_equal(p->hostname, "");
    assert_true(p->primary);
    assert_ptr_equal(jp_rc_map_primary(map, 5460), p);
    assert_int_equal(jp_rc_map_primary(map, 5461)->port, 30002);
    assert_int_equal(jp_rc_map_primary(map, 16383)->port, 30003);
    assert_null(jp_rc_map_primary(map, 16384));
    assert_null(jp_rc_map_primary(map, (unsigned) -1));

    /* "foo" is 12182 */
    assert_int_equal(jp_rc_map_primary(map, SLOT("foo"))->port, 30003);

    assert_int_equal(jp_rc_map_replicas(map, 100, reps, 4), 1);
    assert_int_equal(reps[0]->port, 30004);
    assert_false(reps[0]->primary);
    assert_int_equal(jp_rc_map_replicas(map, 100, reps, 0), 1);
    assert_int_equal(jp_rc_map_replicas(map, 16384, reps, 4), 0);

    assert_ptr_equal(jp_rc_map_find(map, "127.0.0.1", 30005),
                     jp_rc_map_node(map, 3));
    assert_null(jp_rc_map_find(map, "127.0.0.1", 30007));
    assert_null(jp_rc_map_node(map, 6));

    cursor = 0;
    n = 0;
    while (jp_rc_map_next_range(map, &cursor, &start, &end, &p)) {
        assert_int_equal(start, n == 0 ? 0 : n == 1 ? 5461 : 10923);
        assert_int_equal(end, n == 0 ? 5460 : n == 1 ? 10922 : 16383);
        assert_int_equal(p->port, 30001 + n);
        n++;
    }
    assert_int_equal(n, 3);
    assert_false(jp_rc_map_next_range(map, &cursor, &start, &end, &p));

    jp_rc_map_free(map);
    jp_rc_map_free(NULL);
}


static void
test_map_fragments_and_gaps(void **state)
{
    /* after a reshard: one primary owns several ranges, some slots none */
    const jp_resp_value_t  reply = V_ARR(
        V_ARR(V_INT(100), V_INT(199), NODE("10.0.0.2", 6379, ID_B)),
        V_ARR(V_INT(0), V_INT(49), NODE("10.0.0.1", 6379, ID_A)),
        V_ARR(V_INT(50), V_INT(99), NODE("10.0.0.1", 6379, ID_A)),
        V_ARR(V_INT(300), V_INT(300), NODE("10.0.0.1", 6379, ID_A)),
        V_ARR(V_INT(16383), V_INT(16383), NODE("10.0.0.2", 6379, ID_B)));
    const jp_rc_node_t    *p;
    jp_rc_map_t           *map;
    unsigned               cursor, start, end;

    map = build(&reply, NULL, 0);
    assert_non_null(map);

    assert_int_equal(jp_rc_map_covered(map), 202);
    assert_int_equal(jp_rc_map_nodes(map), 2);
    assert_null(jp_rc_map_primary(map, 200));
    assert_null(jp_rc_map_primary(map, 16382));
    assert_string_equal(jp_rc_map_primary(map, 300)->host, "10.0.0.1");

    cursor = 0;
    assert_true(jp_rc_map_next_range(map, &cursor, &start, &end, &p));
    assert_int_equal(start, 0);
    assert_int_equal(end, 99);      /* 0-49 and 50-99: one range */
    assert_string_equal(p->host, "10.0.0.1");
    assert_true(jp_rc_map_next_range(map, &cursor, &start, &end, &p));
    assert_int_equal(start, 100);
    assert_int_equal(end, 199);
    assert_true(jp_rc_map_next_range(map, &cursor, &start, &end, &p));
    assert_int_equal(start, 300);
    assert_int_equal(end, 300);
    assert_true(jp_rc_map_next_range(map, &cursor, &start, &end, &p));
    assert_int_equal(start, 16383);
    assert_int_equal(end, 16383);
    assert_false(jp_rc_map_next_range(map, &cursor, &start, &end, &p));

    jp_rc_map_free(map);
}


static void
test_map_endpoints(void **state)
{
    /* NULL and "" endpoints, IPv6, a hostname, metadata, RESP3 map */
    const jp_resp_value_t  reply = V_ARR(
        V_ARR(V_INT(0), V_INT(99),
              V_ARR(V_NIL, V_INT(7001), V_STR(ID_A)),
              V_ARR(V_STR("::1"), V_INT(7004), V_STR(ID_D),
                    V_ARR(V_STR("ip"), V_STR("::1")))),
        V_ARR(V_INT(100), V_INT(199),
              V_ARR(V_STR(""), V_INT(7002), V_STR(ID_B)),
              V_ARR(V_STR("fe80::1%eth0"), V_INT(7005), V_STR(ID_E))),
        V_ARR(V_INT(200), V_INT(299),
              V_ARR(V_STR("redis-3.example.com"), V_INT(7003), V_STR(ID_C),
                    V_MAP(V_STR("ip"), V_STR("10.1.1.3"),
                          V_STR("hostname"),
                          V_STR("redis-3.example.com"))),
              V_ARR(V_STR("2001:db8::10.1.1.6"), V_INT(7006))));
    const jp_rc_node_t    *p, *r[2];
    jp_rc_map_t           *map;

    map = build(&reply, "10.0.0.9", 0);
    assert_non_null(map);

    p = jp_rc_map_primary(map, 0);
    assert_string_equal(p->host, "10.0.0.9");
    assert_int_equal(p->port, 7001);
    assert_int_equal(jp_rc_map_replicas(map, 0, r, 2), 1);
    assert_string_equal(r[0]->host, "::1");

    p = jp_rc_map_primary(map, 150);
    assert_string_equal(p->host, "10.0.0.9");
    assert_int_equal(p->port, 7002);
    assert_int_equal(jp_rc_map_replicas(map, 150, r, 2), 1);
    assert_string_equal(r[0]->host, "fe80::1%eth0");

    p = jp_rc_map_primary(map, 299);
    assert_string_equal(p->host, "redis-3.example.com");
    assert_string_equal(p->hostname, "redis-3.example.com");
    assert_int_equal(jp_rc_map_replicas(map, 299, r, 2), 1);
    assert_string_equal(r[0]->host, "2001:db8::10.1.1.6");
    assert_string_equal(r[0]->id, "");      /* Redis 3 sent no id */

    jp_rc_map_free(map);

    /* without the origin, a NULL endpoint cannot be resolved */
    assert_null(build(&reply, NULL, 0));
    assert_non_null(strstr(err, "empty endpoint and no origin host"));
    assert_null(build(&reply, "", 0));
}


static void
test_map_unknown_replicas(void **state)
{
    /* "?" (hostname endpoints without a hostname) and port 0: skipped */
    const jp_resp_value_t  reply = V_ARR(
        V_ARR(V_INT(0), V_INT(16383), NODE("10.0.0.1", 6379, ID_A),
              NODE("?", 6379, ID_B), NODE("10.0.0.3", 0, ID_C),
              NODE("10.0.0.4", 6379, ID_D)));
    const jp_rc_node_t    *r[4];
    jp_rc_map_t           *map;

    map = build(&reply, NULL, 0);
    assert_non_null(map);
    assert_int_equal(jp_rc_map_nodes(map), 2);
    assert_int_equal(jp_rc_map_replicas(map, 9, r, 4), 1);
    assert_string_equal(r[0]->host, "10.0.0.4");
    jp_rc_map_free(map);
}


static void
test_map_unknown_primary(void **state)
{
    /* a primary without endpoint: its range is not covered */
    const jp_resp_value_t  reply = V_ARR(
        V_ARR(V_INT(0), V_INT(99), NODE("?", 6379, ID_A),
              NODE("10.0.0.4", 6379, ID_D)),
        V_ARR(V_INT(100), V_INT(199), NODE("10.0.0.2", 0, ID_B)),
        V_ARR(V_INT(200), V_INT(16383), NODE("10.0.0.3", 6379, ID_C)));
    const jp_resp_value_t  overlap = V_ARR(
        V_ARR(V_INT(0), V_INT(99), NODE("?", 6379, ID_A)),
        V_ARR(V_INT(99), V_INT(199), NODE("10.0.0.2", 1, ID_B)));
    const jp_resp_value_t  overlap2 = V_ARR(
        V_ARR(V_INT(0), V_INT(99), NODE("10.0.0.2", 1, ID_B)),
        V_ARR(V_INT(99), V_INT(199), NODE("?", 6379, ID_A)));
    const jp_resp_value_t  bad_replica = V_ARR(
        V_ARR(V_INT(0), V_INT(99), NODE("?", 6379, ID_A), V_INT(1)));
    const jp_rc_node_t    *r[2];
    jp_rc_map_t           *map;

    map = build(&reply, NULL, 0);
    assert_non_null(map);
    assert_int_equal(jp_rc_map_covered(map), 16184);
    assert_int_equal(jp_rc_map_unknown(map), 200);
    assert_null(jp_rc_map_primary(map, 0));
    assert_null(jp_rc_map_primary(map, 150));
    assert_int_equal(jp_rc_map_replicas(map, 0, r, 2), 0);
    assert_int_equal(jp_rc_map_nodes(map), 1);
    assert_string_equal(jp_rc_map_primary(map, 200)->host, "10.0.0.3");
    jp_rc_map_free(map);

    refused(&overlap, "range 1, node 0: overlaps an earlier range");
    refused(&overlap2, "range 1, node 0: overlaps an earlier range");
    /* the rest of the range is still checked */
    refused(&bad_replica, "range 0, node 1: not an array of endpoint");
}


static void
test_map_empty(void **state)
{
    const jp_resp_value_t  reply = V_EMPTY;
    jp_rc_map_t           *map;

    /* a fresh node without slots: valid, nothing covered */
    map = build(&reply, NULL, 0);
    assert_non_null(map);
    assert_int_equal(jp_rc_map_covered(map), 0);
    assert_int_equal(jp_rc_map_nodes(map), 0);
    assert_null(jp_rc_map_primary(map, 0));
    jp_rc_map_free(map);
}


static void
test_map_refused(void **state)
{
    const jp_resp_value_t  not_array = V_STR("x");
    const jp_resp_value_t  error = V_ERR("ERR This instance has cluster "
                                         "support disabled");
    const jp_resp_value_t  range_not_array = V_ARR(V_INT(1));
    const jp_resp_value_t  no_primary = V_ARR(V_ARR(V_INT(0), V_INT(1)));
    const jp_resp_value_t  start_str = V_ARR(
        V_ARR(V_STR("0"), V_INT(1), NODE("h", 1, ID_A)));
    const jp_resp_value_t  past_end = V_ARR(
        V_ARR(V_INT(0), V_INT(16384), NODE("h", 1, ID_A)));
    const jp_resp_value_t  negative = V_ARR(
        V_ARR(V_INT(-1), V_INT(5), NODE("h", 1, ID_A)));
    const jp_resp_value_t  huge = V_ARR(
        V_ARR(V_INT(0), V_INT(1LL << 40), NODE("h", 1, ID_A)));
    const jp_resp_value_t  reversed = V_ARR(
        V_ARR(V_INT(6), V_INT(5), NODE("h", 1, ID_A)));
    const jp_resp_value_t  overlap = V_ARR(
        V_ARR(V_INT(0), V_INT(100), NODE("h", 1, ID_A)),
        V_ARR(V_INT(100), V_INT(200), NODE("g", 1, ID_B)));
    const jp_resp_value_t  overlap_same = V_ARR(
        V_ARR(V_INT(0), V_INT(100), NODE("h", 1, ID_A)),
        V_ARR(V_INT(50), V_INT(60), NODE("h", 1, ID_A)));
    const jp_resp_value_t  port_big = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h", 65536, ID_A)));
    const jp_resp_value_t  port_neg = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h", -1, ID_A)));
    const jp_resp_value_t  port_str = V_ARR(
        V_ARR(V_INT(0), V_INT(1), V_ARR(V_STR("h"), V_STR("6379"))));
    const jp_resp_value_t  short_id = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h", 1, "abc")));
    const jp_resp_value_t  bad_id = V_ARR(
        V_ARR(V_INT(0), V_INT(1),
              NODE("h", 1, "g7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")));
    const jp_resp_value_t  id_int = V_ARR(
        V_ARR(V_INT(0), V_INT(1), V_ARR(V_STR("h"), V_INT(1), V_INT(3))));
    const jp_resp_value_t  host_space = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("a b", 1, ID_A)));
    const jp_resp_value_t  host_dash = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("-h", 1, ID_A)));
    const jp_resp_value_t  host_bracket = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("[::1]", 1, ID_A)));
    const jp_resp_value_t  host_v6 = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("::g", 1, ID_A)));
    const jp_resp_value_t  host_int = V_ARR(
        V_ARR(V_INT(0), V_INT(1), V_ARR(V_INT(1), V_INT(1))));
    const jp_resp_value_t  host_nul = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h\0x", 1, ID_A)));
    const jp_resp_value_t  node_short = V_ARR(
        V_ARR(V_INT(0), V_INT(1), V_ARR(V_STR("h"))));
    const jp_resp_value_t  meta_odd = V_ARR(
        V_ARR(V_INT(0), V_INT(1),
              V_ARR(V_STR("h"), V_INT(1), V_STR(ID_A), V_ARR(V_STR("ip")))));
    const jp_resp_value_t  meta_str = V_ARR(
        V_ARR(V_INT(0), V_INT(1),
              V_ARR(V_STR("h"), V_INT(1), V_STR(ID_A), V_STR("ip"))));
    const jp_resp_value_t  meta_key = V_ARR(
        V_ARR(V_INT(0), V_INT(1),
              V_ARR(V_STR("h"), V_INT(1), V_STR(ID_A),
                    V_ARR(V_INT(1), V_STR("x")))));
    const jp_resp_value_t  bad_hostname = V_ARR(
        V_ARR(V_INT(0), V_INT(1),
              V_ARR(V_STR("h"), V_INT(1), V_STR(ID_A),
                    V_ARR(V_STR("hostname"), V_STR("a/b")))));
    const jp_resp_value_t  hostname_int = V_ARR(
        V_ARR(V_INT(0), V_INT(1),
              V_ARR(V_STR("h"), V_INT(1), V_STR(ID_A),
                    V_ARR(V_STR("hostname"), V_INT(1)))));
    const jp_resp_value_t  two_ids = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h", 1, ID_A)),
        V_ARR(V_INT(2), V_INT(3), NODE("h", 1, ID_B)));
    const jp_resp_value_t  id_twice = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h", 1, ID_A)),
        V_ARR(V_INT(2), V_INT(3), NODE("g", 1, ID_A)));
    const jp_resp_value_t  id_after_none = V_ARR(
        V_ARR(V_INT(0), V_INT(1), V_ARR(V_STR("h"), V_INT(1))),
        V_ARR(V_INT(2), V_INT(3), NODE("g", 1, ID_A)),
        V_ARR(V_INT(4), V_INT(5), NODE("f", 1, ID_A)));
    const jp_resp_value_t  replica_as_primary = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h", 1, ID_A), NODE("r", 1, ID_D)),
        V_ARR(V_INT(2), V_INT(3), NODE("r", 1, ID_D)));
    const jp_resp_value_t  primary_as_replica = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h", 1, ID_A)),
        V_ARR(V_INT(2), V_INT(3), NODE("g", 1, ID_B), NODE("h", 1, ID_A)));
    const jp_resp_value_t  own_replica = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h", 1, ID_A), NODE("h", 1, ID_A)));
    const jp_resp_value_t  two_primaries = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h", 1, ID_A), NODE("r", 1, ID_D)),
        V_ARR(V_INT(2), V_INT(3), NODE("g", 1, ID_B), NODE("r", 1, ID_D)));
    const jp_resp_value_t  too_many = V_ARR(
        V_ARR(V_INT(0), V_INT(1), NODE("h", 1, ID_A), NODE("r", 1, ID_D)),
        V_ARR(V_INT(2), V_INT(3), NODE("g", 1, ID_B)));

    refused(&not_array, "not an array");
    refused(&error, "an error reply");
    refused(&range_not_array, "not an array of start, end, primary");
    refused(&no_primary, "not an array of start, end, primary");
    refused(&start_str, "start or end is not an integer");
    refused(&past_end, "slot out of 0..16383");
    refused(&negative, "slot out of 0..16383");
    refused(&huge, "slot out of 0..16383");
    refused(&reversed, "start after end");
    refused(&overlap, "range 1, node 0: overlaps an earlier range");
    refused(&overlap_same, "overlaps an earlier range");
    refused(&port_big, "port out of range");
    refused(&port_neg, "port out of range");
    refused(&port_str, "port is not an integer");
    refused(&short_id, "node id is not 40 hex digits");
    refused(&bad_id, "node id is not 40 hex digits");
    refused(&id_int, "node id is not a string");
    refused(&host_space, "bad endpoint");
    refused(&host_dash, "bad endpoint");
    refused(&host_bracket, "bad endpoint");
    refused(&host_v6, "bad endpoint");
    refused(&host_int, "endpoint is not a string");
    refused(&host_nul, "bad endpoint");
    refused(&node_short, "not an array of endpoint and port");
    refused(&meta_odd, "metadata is not a map");
    refused(&meta_str, "metadata is not a map");
    refused(&meta_key, "metadata key is not a string");
    refused(&bad_hostname, "bad hostname");
    refused(&hostname_int, "hostname is not a string");
    refused(&two_ids, "the same address with another node id");
    refused(&id_twice, "one node id at two addresses");
    refused(&id_after_none, "range 2, node 0: one node id at two");
    refused(&replica_as_primary, "a replica named as a primary");
    refused(&primary_as_replica, "a primary named as a replica");
    refused(&own_replica, "a primary named as its own replica");
    refused(&two_primaries, "a replica of two primaries");

    assert_null(build(&too_many, NULL, 2));
    assert_non_null(strstr(err, "range 1, node 0: too many nodes"));
    assert_null(build(&error, NULL, 2));

    /* errlen 0 and a NULL err are fine */
    {
        jp_rc_map_conf_t  conf = { NULL, 0, 0 };

        assert_null(jp_rc_map_build(&conf, &overlap, NULL, 0));
        assert_null(jp_rc_map_build(&conf, &overlap, err, 0));
    }
}


static void
test_map_max_nodes(void **state)
{
    jp_resp_value_t   ranges[100], nodes[100][2], *e;
    jp_rc_map_conf_t  conf = { NULL, 100, 0 };
    jp_resp_value_t   reply;
    jp_rc_map_t      *map;
    char              hosts[100][16];
    size_t            i;

    /* 100 primaries of 100 ranges: the bound is exact */
    for (i = 0; i < 100; i++) {
        snprintf(hosts[i], sizeof(hosts[i]), "10.0.%zu.1", i);
        e = nodes[i];
        e[0] = (jp_resp_value_t) { .type = JP_RESP_STRING, .str = hosts[i],
                                   .len = strlen(hosts[i]) };
        e[1] = (jp_resp_value_t) { .type = JP_RESP_INTEGER,
                                   .integer = 6379 };

        ranges[i] = (jp_resp_value_t) { .type = JP_RESP_ARRAY,
                                        .elements = 3 };
    }

    {
        jp_resp_value_t  parts[100][3];

        for (i = 0; i < 100; i++) {
            parts[i][0] = (jp_resp_value_t) { .type = JP_RESP_INTEGER,
                                              .integer = (long long) i };
            parts[i][1] = parts[i][0];
            parts[i][2] = (jp_resp_value_t) { .type = JP_RESP_ARRAY,
                                              .element = nodes[i],
                                              .elements = 2 };
            ranges[i].element = parts[i];
        }

        reply = (jp_resp_value_t) { .type = JP_RESP_ARRAY,
                                    .element = ranges, .elements = 100 };

        map = jp_rc_map_build(&conf, &reply, err, sizeof(err));
        assert_non_null(map);
        assert_int_equal(jp_rc_map_nodes(map), 100);
        assert_int_equal(jp_rc_map_covered(map), 100);
        assert_string_equal(jp_rc_map_primary(map, 42)->host, "10.0.42.1");
        jp_rc_map_free(map);

        conf.max_nodes = 99;
        assert_null(jp_rc_map_build(&conf, &reply, err, sizeof(err)));
        assert_non_null(strstr(err, "range 99, node 0: too many nodes"));
    }
}


static void
test_map_same_and_moved(void **state)
{
    const jp_resp_value_t  before = V_ARR(
        V_ARR(V_INT(0), V_INT(8191), NODE("10.0.0.1", 6379, ID_A),
              NODE("10.0.0.3", 6379, ID_C)),
        V_ARR(V_INT(8192), V_INT(16383), NODE("10.0.0.2", 6379, ID_B)));
    const jp_resp_value_t  reordered = V_ARR(
        V_ARR(V_INT(8192), V_INT(16383), NODE("10.0.0.2", 6379, ID_B)),
        V_ARR(V_INT(0), V_INT(4095), NODE("10.0.0.1", 6379, ID_A),
              NODE("10.0.0.3", 6379, ID_C)),
        V_ARR(V_INT(4096), V_INT(8191), NODE("10.0.0.1", 6379, ID_A),
              NODE("10.0.0.3", 6379, ID_C)));
    const jp_resp_value_t  resharded = V_ARR(
        V_ARR(V_INT(0), V_INT(8190), NODE("10.0.0.1", 6379, ID_A),
              NODE("10.0.0.3", 6379, ID_C)),
        V_ARR(V_INT(8191), V_INT(16383), NODE("10.0.0.2", 6379, ID_B)));
    const jp_resp_value_t  failed_over = V_ARR(
        V_ARR(V_INT(0), V_INT(8191), NODE("10.0.0.3", 6379, ID_C),
              NODE("10.0.0.1", 6379, ID_A)),
        V_ARR(V_INT(8192), V_INT(16383), NODE("10.0.0.2", 6379, ID_B)));
    jp_rc_map_t           *a, *b, *c, *d;
    jp_rc_redirect_t       r;

    a = build(&before, NULL, 0);
    b = build(&reordered, NULL, 0);
    c = build(&resharded, NULL, 0);
    d = build(&failed_over, NULL, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);

    assert_true(jp_rc_map_same(a, b));
    assert_true(jp_rc_map_same(b, a));
    assert_false(jp_rc_map_same(a, c));
    assert_false(jp_rc_map_same(a, d));
    assert_false(jp_rc_map_same(d, a));

    /* MOVED 8191 to the other known primary: patched */
    assert_int_equal(jp_rc_parse_error("MOVED 8191 10.0.0.2:6379", 24, &r),
                     JP_RC_ERR_MOVED);
    assert_int_equal(jp_rc_map_moved(a, &r), 1);
    assert_int_equal(jp_rc_map_generation(a), 8);
    assert_true(jp_rc_map_same(a, c));
    assert_int_equal(jp_rc_map_moved(a, &r), 1);       /* no change */
    assert_int_equal(jp_rc_map_generation(a), 8);

    /* to a replica, to a stranger: refresh */
    jp_rc_parse_error("MOVED 1 10.0.0.3:6379", 21, &r);
    assert_int_equal(jp_rc_map_moved(a, &r), 0);
    jp_rc_parse_error("MOVED 1 10.0.0.4:6379", 21, &r);
    assert_int_equal(jp_rc_map_moved(a, &r), 0);

    /* not for a MOVED with a host */
    jp_rc_parse_error("ASK 1 10.0.0.2:6379", 19, &r);
    assert_int_equal(jp_rc_map_moved(a, &r), -1);
    jp_rc_parse_error("MOVED 1 :6379", 13, &r);
    assert_int_equal(jp_rc_map_moved(a, &r), -1);
    assert_int_equal(jp_rc_map_moved_to(a, 1, jp_rc_map_find(a, "10.0.0.2",
                                                             6379)), 1);
    assert_string_equal(jp_rc_map_primary(a, 1)->host, "10.0.0.2");
    assert_int_equal(jp_rc_map_moved_to(a, 1, NULL), -1);
    assert_int_equal(jp_rc_map_moved_to(a, 16384, jp_rc_map_node(a, 0)),
                     -1);
    /* a node of another map */
    assert_int_equal(jp_rc_map_moved_to(a, 1, jp_rc_map_node(b, 0)), 0);

    jp_rc_map_free(a);
    jp_rc_map_free(b);
    jp_rc_map_free(c);
    jp_rc_map_free(d);
}


static void
test_map_moved_uncovered(void **state)
{
    const jp_resp_value_t  reply = V_ARR(
        V_ARR(V_INT(0), V_INT(0), NODE("10.0.0.1", 6379, ID_A)));
    jp_rc_map_t           *map;
    jp_rc_redirect_t       r;

    map = build(&reply, NULL, 0);
    assert_non_null(map);
    jp_rc_parse_error("MOVED 5 10.0.0.1:6379", 21, &r);
    assert_int_equal(jp_rc_map_moved(map, &r), 1);
    assert_int_equal(jp_rc_map_covered(map), 2);
    assert_int_equal(jp_rc_map_primary(map, 5)->port, 6379);
    jp_rc_map_free(map);
}


/* the errors ------------------------------------------------------------ */

typedef struct {
    const char   *msg;
    jp_rc_err_t   kind;
    unsigned      slot;
    const char   *host;
    unsigned      port;
} redirect_case_t;

static const redirect_case_t  redirects[] = {
    { "MOVED 3999 127.0.0.1:6381", JP_RC_ERR_MOVED, 3999, "127.0.0.1",
      6381 },
    { "ASK 3999 127.0.0.1:6381", JP_RC_ERR_ASK, 3999, "127.0.0.1", 6381 },
    { "-MOVED 3999 127.0.0.1:6381", JP_RC_ERR_MOVED, 3999, "127.0.0.1",
      6381 },
    { "-ASK 0 127.0.0.1:1\r\n", JP_RC_ERR_ASK, 0, "127.0.0.1", 1 },
    { "MOVED 16383 [::1]:6381", JP_RC_ERR_MOVED, 16383, "::1", 6381 },
    { "MOVED 1 ::1:6381", JP_RC_ERR_MOVED, 1, "::1", 6381 },
    { "ASK 1 2001:db8::7:65535", JP_RC_ERR_ASK, 1, "2001:db8::7", 65535 },
    { "MOVED 1 [fe80::1%eth0]:7000", JP_RC_ERR_MOVED, 1, "fe80::1%eth0",
      7000 },
    { "MOVED 12182 redis-3.example.com:6379", JP_RC_ERR_MOVED, 12182,
      "redis-3.example.com", 6379 },
    { "MOVED 12182 redis_3:6379", JP_RC_ERR_MOVED, 12182, "redis_3", 6379 },
    { "MOVED 7 :6380", JP_RC_ERR_MOVED, 7, "", 6380 },
    { "TRYAGAIN Multiple keys request during rehashing of slot",
      JP_RC_ERR_TRYAGAIN, 0, "", 0 },
    { "CLUSTERDOWN The cluster is down", JP_RC_ERR_CLUSTERDOWN, 0, "", 0 },
    { "CLUSTERDOWN Hash slot not served", JP_RC_ERR_CLUSTERDOWN, 0, "", 0 },
    { "-CLUSTERDOWN", JP_RC_ERR_CLUSTERDOWN, 0, "", 0 },
    { "CROSSSLOT Keys in request don't hash to the same slot",
      JP_RC_ERR_CROSSSLOT, 0, "", 0 },
    { "ERR unknown command 'X'", JP_RC_ERR_NONE, 0, "", 0 },
    { "READONLY You can't write against a read only replica.",
      JP_RC_ERR_NONE, 0, "", 0 },
    { "", JP_RC_ERR_NONE, 0, "", 0 },
    { "MOVEDX 1 h:1", JP_RC_ERR_NONE, 0, "", 0 },
    { "moved 1 h:1", JP_RC_ERR_NONE, 0, "", 0 },
    { "ASKING", JP_RC_ERR_NONE, 0, "", 0 },
    { "TRYAGAINX", JP_RC_ERR_NONE, 0, "", 0 },

    /* garbage after MOVED and ASK */
    { "MOVED", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED ", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "ASK 3999", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 3999 ", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 3999 127.0.0.1", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 3999 127.0.0.1:", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 16384 h:1", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 99999 h:1", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 123456 h:1", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED -1 h:1", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED +1 h:1", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 01 h:1", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED x h:1", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 h:0", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 h:65536", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 h:99999", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 h:06379", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 h:63 79", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 h:1x", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED  1 h:1", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1  h:1", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 h:1 ", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 h:1 extra", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 h:1\n", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 [::1:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 [::1]6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 []:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 [127.0.0.1]:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 :::::::::1:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 ::g:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 a/b:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 -h:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 .h:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED 1 h\t:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "MOVED\t1 h:6381", JP_RC_ERR_NONE, 0, "", 0 },
    { "ASK 1 fe80::1%:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
    { "ASK 1 ::1%e/0:6381", JP_RC_ERR_MALFORMED, 0, "", 0 },
};


static void
test_redirects(void **state)
{
    const redirect_case_t  *c;
    jp_rc_redirect_t        r;
    size_t                  i;

    for (i = 0; i < sizeof(redirects) / sizeof(redirects[0]); i++) {
        c = &redirects[i];

        if (jp_rc_parse_error(c->msg, strlen(c->msg), &r) != c->kind
            || r.kind != c->kind || r.slot != c->slot
            || strcmp(r.host, c->host) != 0 || r.host_len != strlen(c->host)
            || r.port != c->port)
        {
            fail_msg("\"%s\": %s %u \"%s\" %u, expected %s %u \"%s\" %u",
                     c->msg, jp_rc_err_name(r.kind), r.slot, r.host, r.port,
                     jp_rc_err_name(c->kind), c->slot, c->host, c->port);
        }
    }

    /* a NUL inside, a length short of the string, NULL */
    assert_int_equal(jp_rc_parse_error("MOVED 1 h\0:1", 12, &r),
                     JP_RC_ERR_MALFORMED);
    assert_int_equal(jp_rc_parse_error("MOVED 1 h:16379", 12, &r),
                     JP_RC_ERR_MOVED);
    assert_int_equal(r.port, 16);
    assert_int_equal(jp_rc_parse_error(NULL, 0, &r), JP_RC_ERR_NONE);
    assert_int_equal(jp_rc_parse_error("-", 1, &r), JP_RC_ERR_NONE);

    assert_string_equal(jp_rc_err_name(JP_RC_ERR_ASK), "ASK");
    assert_string_equal(jp_rc_err_name(JP_RC_ERR_MALFORMED), "malformed");
    assert_string_equal(jp_rc_err_name((jp_rc_err_t) 99), "unknown");
}


static void
test_redirect_long_host(void **state)
{
    char              msg[600];
    jp_rc_redirect_t  r;
    int               n;

    /* 255 bytes of host fit, 256 do not */
    n = snprintf(msg, sizeof(msg), "ASK 1 %.*s:1", 255,
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "a");
    assert_int_equal(jp_rc_parse_error(msg, (size_t) n, &r), JP_RC_ERR_ASK);
    assert_int_equal(r.host_len, 255);

    n = snprintf(msg, sizeof(msg), "ASK 1 b%.*s:1", 255,
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "a");
    assert_int_equal(jp_rc_parse_error(msg, (size_t) n, &r),
                     JP_RC_ERR_MALFORMED);
    assert_int_equal(r.host_len, 0);
}


static int
cmd_slot(const char *line)
{
    const char  *argv[16];
    size_t       argvlen[16];
    char         buf[256], *p, *save;
    int          argc;

    snprintf(buf, sizeof(buf), "%s", line);

    argc = 0;

    for (p = strtok_r(buf, " ", &save); p && argc < 16;
         p = strtok_r(NULL, " ", &save))
    {
        argv[argc] = p;
        argvlen[argc] = strlen(p);
        argc++;
    }

    return jp_rc_command_slot(argc, argv, argvlen);
}


static void
test_command_slot(void **state)
{
    int  a, b;

    a = (int) jp_rc_key_slot("a", 1);
    b = (int) jp_rc_key_slot("b", 1);
    assert_int_not_equal(a, b);

    assert_int_equal(cmd_slot("GET a"), a);
    assert_int_equal(cmd_slot("get b"), b);
    assert_int_equal(cmd_slot("HSET a b c"), a);
    assert_int_equal(cmd_slot("MGET a a"), a);
    assert_int_equal(cmd_slot("MGET a b"), JP_RC_CROSSSLOT);
    assert_int_equal(cmd_slot("DEL {b}x {b}y b"), b);
    assert_int_equal(cmd_slot("MSET a b a c"), a);
    assert_int_equal(cmd_slot("MSET a 1 b 2"), JP_RC_CROSSSLOT);
    assert_int_equal(cmd_slot("EVAL s 1 a b"), a);
    assert_int_equal(cmd_slot("evalsha s 2 {a}1 a b"), a);
    assert_int_equal(cmd_slot("EVAL s 2 a b"), JP_RC_CROSSSLOT);
    assert_int_equal(cmd_slot("EVAL s 0 a b"), JP_RC_NOT_COVERED);
    assert_int_equal(cmd_slot("EVAL_RO s 1 b"), b);
    assert_int_equal(cmd_slot("EVAL s 3 a b"), JP_RC_BAD_COMMAND);
    assert_int_equal(cmd_slot("EVAL s x a"), JP_RC_BAD_COMMAND);
    assert_int_equal(cmd_slot("EVAL s"), JP_RC_BAD_COMMAND);
    assert_int_equal(cmd_slot("EVAL s -1 a"), JP_RC_BAD_COMMAND);
    assert_int_equal(cmd_slot("FCALL f 9999999999 a"), JP_RC_BAD_COMMAND);
    assert_int_equal(cmd_slot("PUBLISH a b"), JP_RC_NOT_COVERED);
    assert_int_equal(cmd_slot("ping"), JP_RC_NOT_COVERED);
    assert_int_equal(cmd_slot("SCRIPT LOAD a"), JP_RC_NOT_COVERED);
    assert_int_equal(cmd_slot("CLUSTER SLOTS"), JP_RC_NOT_COVERED);
    assert_int_equal(cmd_slot("EXEC"), JP_RC_NOT_COVERED);
    assert_int_equal(cmd_slot("EXPIRE a 10"), a);
    assert_int_equal(cmd_slot("GETX"), JP_RC_NOT_COVERED);
}


static void
test_group_prefix(void **state)
{
    char  buf[64];

    assert_int_equal(jp_rc_group_prefix(buf, sizeof(buf), "jp:s:", 5,
                                        JP_RC_GROUP_L2, 0), 5);
    assert_string_equal(buf, "jp:s:");
    assert_int_equal(jp_rc_group_prefix(buf, sizeof(buf), "jp:s:", 5,
                                        JP_RC_GROUP_L2, 1), 14);
    assert_string_equal(buf, "jp:s:{jp:s:l2}");
    assert_int_equal(jp_rc_group_prefix(buf, sizeof(buf), "jp:s:", 5,
                                        JP_RC_GROUP_METRICS, 1),
                     (int) (10 + JP_RC_GROUP_EXTRA));
    assert_string_equal(buf, "jp:s:{jp:s:metrics}");

    /* the tag decides the slot: every key of a group shares one */
    assert_int_equal(jp_rc_key_slot("jp:s:{jp:s:l2}tpl:a", 19),
                     jp_rc_key_slot("jp:s:{jp:s:l2}gen", 17));

    /* 14 bytes and the NUL need 15 */
    assert_int_equal(jp_rc_group_prefix(buf, 14, "jp:s:", 5,
                                        JP_RC_GROUP_L2, 1), -1);
    assert_int_equal(jp_rc_group_prefix(buf, 15, "jp:s:", 5,
                                        JP_RC_GROUP_L2, 1), 14);
    assert_int_equal(jp_rc_group_prefix(buf, sizeof(buf), "a{b}:", 5,
                                        JP_RC_GROUP_L2, 1), -1);
    assert_int_equal(jp_rc_group_prefix(buf, sizeof(buf), "a{b}:", 5,
                                        JP_RC_GROUP_L2, 0), 5);
    assert_int_equal(jp_rc_namespace_ok("a}", 2), 0);
    assert_int_equal(jp_rc_namespace_ok("jp:", 3), 1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_crc16),
        cmocka_unit_test(test_keyslot_table),
        cmocka_unit_test(test_hash_tags),
        cmocka_unit_test(test_keys_slot),
        cmocka_unit_test(test_map_three_primaries),
        cmocka_unit_test(test_map_fragments_and_gaps),
        cmocka_unit_test(test_map_endpoints),
        cmocka_unit_test(test_map_unknown_replicas),
        cmocka_unit_test(test_map_unknown_primary),
        cmocka_unit_test(test_map_empty),
        cmocka_unit_test(test_map_refused),
        cmocka_unit_test(test_map_max_nodes),
        cmocka_unit_test(test_map_same_and_moved),
        cmocka_unit_test(test_map_moved_uncovered),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_redirect_long_host),
        cmocka_unit_test(test_command_slot),
        cmocka_unit_test(test_group_prefix),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
