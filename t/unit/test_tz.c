/*
 * Unit tests: jp_tz.c, the TZif reader (name jail, transitions, the POSIX
 * footer rule, broken files, the cache, threads). The system's tzdata
 * gives the real zones; files built here give the corner cases.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "jp_tz.h"


static char  dir[64];


static int32_t
off_at(const char *name, int64_t t)
{
    int32_t  off;

    if (jp_tz_offset(name, strlen(name), t, &off) != 0) {
        return -999999;
    }

    return off;
}


static int
setup_system(void **state)
{
    unsetenv("TZDIR");
    setenv("TZ", "UTC", 1);
    jp_tz_flush();

    return 0;
}


static void
test_name_jail(void **state)
{
    int32_t      off;
    size_t       i;
    char         big[JP_TZ_NAME_MAX + 2];
    const char  *bad[] = {
        "", "/etc/localtime", "../etc/passwd", "America/../../etc/passwd",
        "America//New_York", "America/", ".", "zone.tab", "a b", "a\\b",
        "Europe/London\n", "%2e%2e", "tzdata.zi"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(jp_tz_offset(bad[i], strlen(bad[i]), 0, &off), -1);
    }

    memset(big, 'A', sizeof(big));
    assert_int_equal(jp_tz_name_check(big, JP_TZ_NAME_MAX), 0);
    assert_int_equal(jp_tz_name_check(big, JP_TZ_NAME_MAX + 1), -1);

    /* a NUL inside the length is not a shorter name */
    assert_int_equal(jp_tz_offset("UTC\0x", 5, 0, &off), -1);
    assert_int_equal(jp_tz_offset("UTCx", 3, 0, &off), 0);

    assert_int_equal(jp_tz_name_check("Etc/GMT+5", 9), 0);
    assert_int_equal(jp_tz_name_check("America/Port-au-Prince", 22), 0);
}


/* 2025-01-18T14:53:20Z and friends, against the system's tzdata */
static void
test_system_zones(void **state)
{
    assert_int_equal(off_at("UTC", 1737212000), 0);
    assert_int_equal(off_at("America/New_York", 1737212000), -5 * 3600);
    assert_int_equal(off_at("America/New_York", 1752850400), -4 * 3600);
    assert_int_equal(off_at("Asia/Kolkata", 1737212000), 19800);
    assert_int_equal(off_at("Asia/Kathmandu", 1737212000), 20700);
    assert_int_equal(off_at("America/St_Johns", 1737212000), -12600);
    assert_int_equal(off_at("Etc/GMT+5", 1737212000), -5 * 3600);

    /* Europe/Berlin 2025-03-30: 01:00Z is the change */
    assert_int_equal(off_at("Europe/Berlin", 1743296399), 3600);
    assert_int_equal(off_at("Europe/Berlin", 1743296400), 7200);

    /* local mean time before the first transition: -4:56:02 */
    assert_int_equal(off_at("America/New_York", -3786825600LL), -17762);

    /* far after the last transition: the footer rule (2100) */
    assert_int_equal(off_at("America/New_York", 4118097600LL), -4 * 3600);
    assert_int_equal(off_at("America/New_York", 4102488000LL), -5 * 3600);
    assert_int_equal(off_at("Australia/Sydney", 4102488000LL), 11 * 3600);
    assert_int_equal(off_at("Australia/Sydney", 4118097600LL), 10 * 3600);

    /* the edges of JavaScript's range (+275760-09-13: summer time) */
    assert_int_equal(off_at("America/New_York", 8640000000000LL),
                     -4 * 3600);
    assert_int_equal(off_at("America/New_York", -8640000000000LL), -17762);

    assert_int_equal(off_at("No/Such_Zone", 0), -999999);

    /* Intl's names: any case, links too; not the posix/ and right/ trees */
    assert_int_equal(off_at("asia/TOKYO", 0), 9 * 3600);
    assert_int_equal(off_at("US/Eastern", 1737212000), -5 * 3600);
    assert_int_equal(off_at("utc", 0), 0);
    assert_int_equal(off_at("posix/Asia/Tokyo", 0), -999999);
    assert_int_equal(off_at("right/UTC", 0), -999999);
    assert_int_equal(off_at("zone1970.tab", 0), -999999);
}


static void
test_server_zone(void **state)
{
    setenv("TZ", ":Asia/Tokyo", 1);
    jp_tz_flush();
    assert_string_equal(jp_tz_server(), "Asia/Tokyo");

    setenv("TZ", "Not/AZone", 1);
    jp_tz_flush();
    /* /etc/localtime then, or UTC: a zone either way */
    assert_true(off_at(jp_tz_server(), 0) != -999999
                || strcmp(jp_tz_server(), "UTC") == 0);

    setenv("TZ", "UTC", 1);
    jp_tz_flush();
    assert_string_equal(jp_tz_server(), "UTC");
}


/* a TZif file: v is '\0' or '2'; the 64-bit part repeats the data */
static size_t
tzif(unsigned char *b, char v, const int64_t *at, const unsigned char *idx,
    size_t nt, const int32_t *types, size_t ntypes, const char *footer)
{
    int       pass;
    size_t    n, i, k;
    uint32_t  c;

    n = 0;

    for (pass = 0; pass < (v == '2' ? 2 : 1); pass++) {
        memcpy(b + n, "TZif", 4);
        b[n + 4] = (unsigned char) v;
        memset(b + n + 5, 0, 15);

        for (k = 0; k < 6; k++) {
            c = k == 3 ? (uint32_t) nt : k == 4 ? (uint32_t) ntypes
                         : k == 5 ? 4 : 0;
            b[n + 20 + k * 4] = (unsigned char) (c >> 24);
            b[n + 21 + k * 4] = (unsigned char) (c >> 16);
            b[n + 22 + k * 4] = (unsigned char) (c >> 8);
            b[n + 23 + k * 4] = (unsigned char) c;
        }

        n += 44;

        for (i = 0; i < nt; i++) {
            for (k = 0; k < (pass ? 8u : 4u); k++) {
                b[n++] = (unsigned char) ((uint64_t) at[i]
                                          >> (8 * ((pass ? 7 : 3) - k)));
            }
        }

        for (i = 0; i < nt; i++) {
            b[n++] = idx[i];
        }

        for (i = 0; i < ntypes; i++) {
            b[n++] = (unsigned char) ((uint32_t) types[i] >> 24);
            b[n++] = (unsigned char) ((uint32_t) types[i] >> 16);
            b[n++] = (unsigned char) ((uint32_t) types[i] >> 8);
            b[n++] = (unsigned char) types[i];
            b[n++] = 0;
            b[n++] = 0;
        }

        memcpy(b + n, "ABC", 4);
        n += 4;
    }

    if (footer != NULL) {
        n += (size_t) sprintf((char *) b + n, "\n%s\n", footer);
    }

    return n;
}


static void
put(const char *name, const unsigned char *b, size_t n)
{
    FILE  *f;
    char   path[256];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}


static int
setup_dir(void **state)
{
    strcpy(dir, "/tmp/test_tz.XXXXXX");
    assert_non_null(mkdtemp(dir));
    setenv("TZDIR", dir, 1);
    setenv("TZ", "UTC", 1);
    jp_tz_flush();

    return 0;
}


static int
teardown_dir(void **state)
{
    char  cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    unsetenv("TZDIR");
    jp_tz_flush();

    return 0;
}


static void
test_footer_rules(void **state)
{
    size_t          n;
    unsigned char   b[4096];
    const int32_t   std5[] = { -5 * 3600 };
    const int32_t   two[] = { 3600, 7200 };
    const int64_t   at[] = { 0, 1000 };
    const unsigned char  idx[] = { 1, 0 };

    /* no transitions: the rule alone (2025-07-01 and 2025-01-01) */
    n = tzif(b, '2', NULL, NULL, 0, std5, 1, "EST5EDT,M3.2.0,M11.1.0");
    put("R1", b, n);
    assert_int_equal(off_at("R1", 1751371200), -4 * 3600);
    assert_int_equal(off_at("R1", 1735732800), -5 * 3600);
    /* 2025-03-09 07:00Z is 02:00 EST */
    assert_int_equal(off_at("R1", 1741503599), -5 * 3600);
    assert_int_equal(off_at("R1", 1741503600), -4 * 3600);
    /* 2025-11-02 06:00Z is 02:00 EDT */
    assert_int_equal(off_at("R1", 1762063199), -4 * 3600);
    assert_int_equal(off_at("R1", 1762063200), -5 * 3600);

    /* DST without rules: the US ones; the southern hemisphere; <names> */
    n = tzif(b, '2', NULL, NULL, 0, std5, 1, "EST5EDT");
    put("R2", b, n);
    assert_int_equal(off_at("R2", 1751371200), -4 * 3600);

    n = tzif(b, '2', NULL, NULL, 0, std5, 1,
             "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
    put("R3", b, n);
    assert_int_equal(off_at("R3", 1735732800), 11 * 3600);
    assert_int_equal(off_at("R3", 1751371200), 10 * 3600 + 1800);

    /* Jn, n and times past 24h, negative times */
    n = tzif(b, '2', NULL, NULL, 0, std5, 1, "XST3XDT,J60/25,300/-1");
    put("R4", b, n);
    assert_int_equal(off_at("R4", 1735732800), -3 * 3600);
    assert_int_equal(off_at("R4", 1751371200), -2 * 3600);

    /* a rule we cannot read: the last transition holds */
    n = tzif(b, '2', at, idx, 2, two, 2, "junk,,");
    put("R5", b, n);
    assert_int_equal(off_at("R5", -1), 3600);
    assert_int_equal(off_at("R5", 0), 7200);
    assert_int_equal(off_at("R5", 999), 7200);
    assert_int_equal(off_at("R5", 5000000000LL), 3600);

    /* version 1: 32-bit data only, no footer */
    n = tzif(b, '\0', at, idx, 2, two, 2, NULL);
    put("V1", b, n);
    assert_int_equal(off_at("V1", 500), 7200);
    assert_int_equal(off_at("V1", 2000), 3600);
}


static void
test_broken_files(void **state)
{
    size_t          n, cut;
    unsigned char   b[4096];
    const int32_t   two[] = { 3600, 7200 };
    const int32_t   huge[] = { 100 * 3600 };
    const int64_t   at[] = { 0, 1000 };
    const int64_t   back[] = { 1000, 0 };
    const unsigned char  idx[] = { 1, 0 };
    const unsigned char  bad_idx[] = { 1, 5 };

    n = tzif(b, '2', at, idx, 2, two, 2, "CET-1");

    /* every truncation is refused, none is read past its end */
    for (cut = 0; cut < n - 7; cut++) {
        put("T", b, cut);
        jp_tz_flush();
        assert_int_equal(off_at("T", 0), -999999);
    }

    n = tzif(b, '2', back, idx, 2, two, 2, "CET-1");
    put("B1", b, n);
    assert_int_equal(off_at("B1", 0), -999999);

    n = tzif(b, '2', at, bad_idx, 2, two, 2, "CET-1");
    put("B2", b, n);
    assert_int_equal(off_at("B2", 0), -999999);

    n = tzif(b, '2', NULL, NULL, 0, huge, 1, NULL);
    put("B3", b, n);
    assert_int_equal(off_at("B3", 0), -999999);

    n = tzif(b, '2', at, idx, 2, two, 2, "CET-1");
    b[22] = 0x7f;                   /* isutcnt: larger than the file */
    put("B4", b, n);
    assert_int_equal(off_at("B4", 0), -999999);

    memcpy(b, "TZiX", 4);
    put("B5", b, n);
    assert_int_equal(off_at("B5", 0), -999999);
}


/* more names than the cache holds: evicted ones are read again */
static void
test_cache(void **state)
{
    int             i, round;
    char            name[16];
    size_t          n;
    unsigned char   b[1024];
    int32_t         t[1];

    for (i = 0; i < 3 * JP_TZ_CACHE; i++) {
        t[0] = i * 60;
        n = tzif(b, '2', NULL, NULL, 0, t, 1, NULL);
        snprintf(name, sizeof(name), "Z%d", i);
        put(name, b, n);
    }

    for (round = 0; round < 3; round++) {
        for (i = 0; i < 3 * JP_TZ_CACHE; i++) {
            snprintf(name, sizeof(name), "Z%d", i);
            assert_int_equal(off_at(name, 0), i * 60);
            assert_int_equal(off_at("Nope", 0), -999999);
        }
    }
}


/* with tzdata.zi, a zone once read stays: visitors choosing more zones
 * than the small cache holds never send a request back to the disk */
static void
test_known_zones_kept(void **state)
{
    size_t      i, before, after;
    int32_t     off;

    static const char  *const  zones[] = {
        "Africa/Abidjan", "Africa/Cairo", "Africa/Lagos", "Africa/Nairobi",
        "America/Anchorage", "America/Bogota", "America/Chicago",
        "America/Denver", "America/Halifax", "America/Lima",
        "America/Los_Angeles", "America/Mexico_City", "America/New_York",
        "America/Phoenix", "America/Santiago", "America/Sao_Paulo",
        "America/St_Johns", "America/Toronto", "Asia/Bangkok", "Asia/Dhaka",
        "Asia/Dubai", "Asia/Hong_Kong", "Asia/Jakarta", "Asia/Jerusalem",
        "Asia/Karachi", "Asia/Kathmandu", "Asia/Kolkata", "Asia/Manila",
        "Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Asia/Tehran",
        "Asia/Tokyo", "Atlantic/Azores", "Australia/Adelaide",
        "Australia/Sydney", "Europe/Berlin", "Europe/London",
        "Europe/Moscow", "Europe/Paris", "Pacific/Auckland",
        "Pacific/Honolulu"
    };

    (void) state;

    assert_true(sizeof(zones) / sizeof(zones[0]) > JP_TZ_CACHE);

    for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        assert_int_equal(jp_tz_offset(zones[i], strlen(zones[i]), 0, &off),
                         0);
    }

    before = jp_tz_files_read();

    for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        assert_int_equal(jp_tz_offset(zones[i], strlen(zones[i]), 0, &off),
                         0);
    }

    after = jp_tz_files_read();
    assert_int_equal(after, before);
}


static void *
worker(void *arg)
{
    int       i;
    intptr_t  bad;

    bad = 0;

    for (i = 0; i < 2000; i++) {
        bad += off_at("America/New_York", 1737212000) != -5 * 3600;
        bad += off_at("Asia/Tokyo", 1737212000) != 9 * 3600;
        bad += off_at((i & 1) ? "Bad/One" : "Europe/London", 1737212000)
               != ((i & 1) ? -999999 : 0);
    }

    return (void *) bad;
}


static void
test_threads(void **state)
{
    int        i;
    void      *bad;
    pthread_t  th[4];

    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, worker, NULL), 0);
    }

    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], &bad), 0);
        assert_null(bad);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup(test_name_jail, setup_system),
        cmocka_unit_test_setup(test_system_zones, setup_system),
        cmocka_unit_test_setup(test_server_zone, setup_system),
        cmocka_unit_test_setup_teardown(test_footer_rules, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_broken_files, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_cache, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup(test_threads, setup_system),
        cmocka_unit_test_setup(test_known_zones_kept, setup_system),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
